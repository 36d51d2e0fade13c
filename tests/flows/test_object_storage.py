"""`xlmforge run` with every path in an S3-compatible bucket: a real S3 API (moto's server) on loopback,
configured the documented way (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL), and one
input read over plain HTTP."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

import xlmforge
from tests.flows.flow_corpora import shards_config, write_yaml
from xlmforge.cli.main import app

BUCKET = "xlmforge-e2e"
RUN = {
    "model": {"preset": "tiny", "dim": 32, "max_positions": 128},
    "data": {"seq_len": 64, "max_sentence_len": 24, "tokens_per_batch": 512},
    "objectives": {"mlm_steps": "auto"},
    "train": {"max_steps": 4, "log_every": 1, "checkpoint_every": 2, "num_valid_batches": 2, "tensorboard": True},
}


def bucket_files(prefix: str = "") -> dict[str, tuple[str, object]]:
    """Key -> (ETag, last modified) of every object under `prefix` (an ETag follows the content)."""
    import boto3

    pages = boto3.client("s3").get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return {item["Key"]: (item["ETag"], item["LastModified"]) for page in pages for item in page.get("Contents", [])}


def read_object(key: str) -> bytes:
    import boto3

    return boto3.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read()


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_run_reads_and_writes_everything_in_a_bucket(prefect_harness, s3_endpoint, django_texts, tmp_path,
                                                     monkeypatch):  # fmt: skip
    import boto3

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    for name in ("deu.txt", "fra.txt", "spa.txt", "eng-deu.tsv", "eng-spa.tsv"):
        public = {"ACL": "public-read"} if name == "fra.txt" else {}  # read over plain HTTP, without credentials
        s3.upload_file(str(django_texts / name), BUCKET, f"input/{name}", ExtraArgs=public)
    s3_input = f"s3://{BUCKET}/input"
    sources = [{"name": "django-deu", "path": f"{s3_input}/deu.txt", "language": "deu"},
               # moto serves objects at path-style URLs: an http:// input from the same server
               {"name": "django-fra", "path": f"{s3_endpoint}/{BUCKET}/input/fra.txt", "language": "fra"},
               {"name": "django-spa", "path": f"{s3_input}/spa.txt", "language": "spa"}]
    sources += [{"name": f"django-eng-{lang}", "kind": "bitext", "path": f"{s3_input}/eng-{lang}.tsv",
                 "languages": ["eng", lang]} for lang in ("deu", "spa")]  # fmt: skip
    configs = tmp_path / "configs"
    configs.mkdir()
    # two hash partitions per dedup stage, not 16: every work file is a few requests to the server
    few = {"num_partitions": 2}
    corpus = write_yaml(configs / "corpus.yaml", {"name": "bucket", "sources": sources, "identical_dedup": few,
                                                  "exact_dedup": few, "near_dedup": few, "pair_dedup": few})
    shards = shards_config(configs / "shards.yaml")
    run = write_yaml(configs / "run.yaml", RUN)
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)  # a URL taken for a local path would show up here as an "s3:" folder
    # training runs in a child process: the same xlmforge as this test's, wherever the working directory is
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(Path(xlmforge.__file__).parents[1]),
                                                      os.environ.get("PYTHONPATH", "")]))

    result = CliRunner().invoke(app, ["run", corpus, f"s3://{BUCKET}/out", "--run-config", run, "--shards", shards])
    assert result.exit_code == 0, result.output[-5000:]

    files = bucket_files("out/")
    manifest = json.loads(read_object("out/shards/manifest.json"))
    assert set(manifest["sampling"]["languages"]) >= {"deu", "fra", "spa"}
    assert all(f"out/shards/{shard['path']}" in files for shard in manifest["shards"])
    assert any(k.startswith("out/corpus/") and k.endswith("/corpus.json") for k in files)
    (run_dir,) = {k.split("/")[2] for k in files if k.startswith("out/runs/")}
    runs = f"out/runs/{run_dir}"
    assert {f"{runs}/run.yaml", f"{runs}/step-00000004.pt", f"{runs}/step-00000004.pt.sha256"} <= set(files)
    assert any(k.startswith(f"{runs}/tensorboard/events.out.tfevents.") for k in files)
    (evaluation,) = [k for k in files if k.startswith("out/eval/") and k.endswith("-step4-test.json")]
    assert {"mlm/deu", "mlm/fra"} <= set(json.loads(read_object(evaluation))["perplexity"])
    exported = {k.removeprefix("out/export/hf/") for k in files if k.startswith("out/export/hf/")}
    assert {"config.json", "model.safetensors", "tokenizer.json", "spm.model", "xlmforge.json"} <= exported
    assert not any(".tmp-" in k for k in files)  # no temporary object left behind
    local = [p for p in (work, tmp_path, Path(os.getcwd())) for p in p.rglob("s3:*")]
    assert not local, local

    # a rerun reads everything back from the bucket and does no work: the same contents, nothing retrained
    again = CliRunner().invoke(app, ["run", corpus, f"s3://{BUCKET}/out", "--run-config", run, "--shards", shards])
    assert again.exit_code == 0, again.output[-5000:]
    after = bucket_files("out/")
    assert {k: etag for k, (etag, _) in after.items()} == {k: etag for k, (etag, _) in files.items()}
    heavy = [k for k in files if k.endswith((".pt", ".arrow", ".tar", ".safetensors"))]
    assert heavy and all(after[k] == files[k] for k in heavy)  # same time stamp: not uploaded again
