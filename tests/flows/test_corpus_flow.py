"""The build-corpus flow on real text (Django's translations): a rerun does no work and says so; an
added language is built alone and deduplicated against the rest, which is reused from the cache;
a changed source forces a full rebuild; lost outputs are rebuilt; artifacts are published."""

import json
import shutil

import pyarrow as pa
import pytest

from tests.flows.flow_corpora import mono, pairs, shards_config, write_yaml
from xlmforge.flows.corpus import build_corpus, digest_sources
from xlmforge.flows.generations import read_record
from xlmforge.pipelines.common.ledger import Ledger
from xlmforge.pipelines.corpus.config import load_corpus_config


def corpus_files(out_dir):
    """corpus.json, ledger.json and every Arrow file of the corpus builds, with their mtimes."""
    return {str(p.relative_to(out_dir)): p.stat().st_mtime_ns for p in (out_dir / "corpus").rglob("*")
            if p.is_file() and p.name != "generations.json"}  # fmt: skip


def arrow_rows(directory):
    return sum(pa.ipc.open_file(pa.memory_map(str(p))).num_records for p in directory.rglob("*.arrow"))


def read_artifacts(key):
    """Artifacts of a key, newest first."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    with get_client(sync_client=True) as client:
        return client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])), sort=ArtifactSort.CREATED_DESC
        )  # newest first


def test_source_digests_follow_the_bytes_not_the_path(django_texts, tmp_path):
    copy = tmp_path / "deu.txt"
    shutil.copy(django_texts / "deu.txt", copy)
    config = load_corpus_config(write_yaml(tmp_path / "c.yaml", {"sources": [mono("deu", tmp_path)]}))
    before = digest_sources.fn(config)
    copy.write_text(copy.read_text() + "Noch ein Satz.\n")
    assert digest_sources.fn(config)["django-deu"] != before["django-deu"]


def test_rerun_does_no_work_and_a_new_language_is_built_alone(prefect_harness, django_texts, tmp_path, caplog):
    shards, out = shards_config(tmp_path / "shards.yaml"), tmp_path / "out"
    first = [mono("deu", django_texts), mono("fra", django_texts), pairs("deu", django_texts)]
    config = write_yaml(tmp_path / "corpus.yaml", {"name": "t", "sources": first})
    built = build_corpus(config, str(out), shards)
    assert built.built == ["monolingual (generation 0)", "parallel (generation 0)", "shards"] and not built.reused
    files = corpus_files(out)
    manifest = (out / "shards" / "manifest.json").read_bytes()

    caplog.clear()
    again = build_corpus(config, str(out), shards)
    assert again.built == [] and len(again.reused) == 3
    assert "nothing changed: all 3 stages were reused from the cache; no work done" in caplog.text
    assert corpus_files(out) == files and (out / "shards" / "manifest.json").read_bytes() == manifest

    added = [mono("spa", django_texts), pairs("spa", django_texts)]
    config = write_yaml(tmp_path / "corpus.yaml", {"name": "t", "sources": first + added})
    grown = build_corpus(config, str(out), shards, vocab_policy="keep")
    assert grown.built == ["monolingual (generation 1)", "parallel (generation 1)", "shards"]
    assert grown.reused == ["monolingual (generation 0)", "parallel (generation 0)"]
    assert grown.reason.startswith("generation 1: 2 new source(s) (django-eng-spa, django-spa)")
    # Nothing of the other languages was recomputed: their files are untouched...
    assert {k: v for k, v in corpus_files(out).items() if k in files} == files
    # ...and the new generation read only the new sources and holds only Spanish.
    record = read_record(str(out / "corpus"))
    new_mono = out / "corpus" / record.generations[1].directory("monolingual")
    ledger = Ledger.from_json(json.loads((new_mono / "ledger.json").read_text()))
    num_lines = sum(1 for line in (django_texts / "spa.txt").read_text().splitlines() if line.strip())
    assert ledger.total("read", "in") == num_lines
    assert sorted(p.name for p in (new_mono / "segments").iterdir()) == ["lang=spa"]
    new_pairs = out / "corpus" / record.generations[1].directory("parallel")
    assert sorted(p.name for p in (new_pairs / "bitext").iterdir()) == ["pair=eng-spa"]
    # The sampling table and manifest cover every language now.
    sampling = json.loads((out / "shards" / "manifest.json").read_text())["sampling"]
    assert set(sampling["languages"]) == {"deu", "fra", "spa"} and set(sampling["pairs"]) == {"eng-deu", "eng-spa"}
    assert [row["lang"] for row in grown.vocab_fit if row["new"]] == ["spa"]
    # vocab_policy=keep: the grown build encodes with the first build's vocabulary, token ids unchanged.
    grown_manifest = json.loads((out / "shards" / "manifest.json").read_text())
    assert grown_manifest["vocab"]["sha256"] == json.loads(manifest)["vocab"]["sha256"]
    assert (out / "shards" / "sampling.png").stat().st_size > 0

    ledger_artifact = read_artifacts("corpus-ledger")[0]
    rows = json.loads(ledger_artifact.data)
    assert {r["build"] for r in rows} == {"g0/monolingual", "g0/parallel", "g1/monolingual", "g1/parallel"}
    assert {"deu", "fra", "spa", "eng-deu", "eng-spa"} <= {r["lang"] for r in rows}
    assert "| spa | mono |" in read_artifacts("sampling-table")[0].data
    assert read_artifacts("vocab-fit")


@pytest.mark.slow
def test_changed_source_rebuilds_everything_and_lost_outputs_are_rebuilt(prefect_harness, django_texts, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(django_texts, data)
    shards, out = shards_config(tmp_path / "shards.yaml"), tmp_path / "out"
    config = write_yaml(tmp_path / "corpus.yaml", {"sources": [mono("deu", data), mono("fra", data)]})
    first = build_corpus(config, str(out), shards)
    old_dir = out / "corpus" / first.generations[0].directory("monolingual")

    (out / "shards" / "manifest.json").unlink()
    repaired = build_corpus(config, str(out), shards)
    assert repaired.built == ["shards"] and repaired.reused == ["monolingual (generation 0)"]

    (data / "deu.txt").write_text((data / "deu.txt").read_text() + "Ein ganz neuer Satz über das Wetter.\n")
    rebuilt = build_corpus(config, str(out), shards)
    assert rebuilt.reason == "full rebuild: the files or settings of already built source(s) django-deu changed"
    assert rebuilt.built == ["monolingual (generation 0)", "shards"]
    assert not old_dir.exists() and len(list((out / "corpus").glob("monolingual-*"))) == 1
