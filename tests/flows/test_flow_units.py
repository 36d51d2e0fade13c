"""The logic under the flows, without a Prefect server: generation plans, cache keys and their
validation, launch commands, run config resolution, the vocabulary fit, artifact rows, and task
bodies through `.fn()`."""

import io
import sys
import textwrap
from pathlib import Path

import pytest
import sentencepiece as spm
from prefect.logging import disable_run_logger
from pydantic import ValidationError

from tests.flows.flow_corpora import mono, pairs
from xlmforge.flows import artifacts
from xlmforge.flows.caching import StageOutput, digest, is_transient
from xlmforge.flows.generations import plan_generations
from xlmforge.flows.pretrain import LaunchOptions, PretrainSpec, launch_command, resolve_run_config, train_model
from xlmforge.flows.vocab_fit import vocab_fit
from xlmforge.pipelines.common.ledger import Ledger, chain
from xlmforge.pipelines.corpus.config import CorpusConfig


def config(*sources) -> CorpusConfig:
    return CorpusConfig.model_validate({"name": "t", "sources": list(sources)})


def test_generations_build_only_added_sources_and_rebuild_all_when_one_changes(tmp_path):
    deu, fra, spa = (mono(lang, tmp_path) for lang in ("deu", "fra", "spa"))
    first = plan_generations(config(deu, pairs("deu", tmp_path)), {"django-deu": "a", "django-eng-deu": "b"}, "p", None)
    assert first.reason == "first build" and first.new.number == 0
    assert set(first.new.builds) == {"monolingual", "parallel"}

    same = plan_generations(config(deu, pairs("deu", tmp_path)), {"django-deu": "a", "django-eng-deu": "b"}, "p",
                            first.record)  # fmt: skip
    assert same.new is None and same.record == first.record and same.reason.startswith("nothing changed")

    digests = {"django-deu": "a", "django-eng-deu": "b", "django-fra": "c", "django-spa": "d"}
    added = plan_generations(config(deu, pairs("deu", tmp_path), fra, spa), digests, "p", first.record)
    assert added.new.number == 1 and set(added.new.sources) == {"django-fra", "django-spa"}
    assert list(added.new.builds) == ["monolingual"] and added.base == first.record.generations
    assert added.record.generations[0] == first.new  # the first generation, its keys and directories, unchanged
    assert added.new.directory("monolingual") not in first.record.directories()

    changed = plan_generations(config(deu, pairs("deu", tmp_path), fra, spa), digests | {"django-deu": "A"}, "p",
                               added.record)  # fmt: skip
    assert changed.reason == "full rebuild: the files or settings of already built source(s) django-deu changed"
    assert [g.number for g in changed.record.generations] == [0] and len(changed.new.sources) == 4

    removed = plan_generations(config(deu, fra), {"django-deu": "a", "django-fra": "c"}, "p", added.record)
    assert "django-eng-deu, django-spa were removed" in removed.reason
    settings = plan_generations(config(deu, pairs("deu", tmp_path)), first.new.sources, "q", first.record)
    assert settings.reason.startswith("full rebuild: the processing settings")


def test_a_cached_output_counts_only_while_its_marker_file_is_unchanged(tmp_path):
    marker = tmp_path / "corpus.json"
    marker.write_text("{}")
    output = StageOutput(stage="s", key="k", path=str(tmp_path), marker=str(marker), marker_sha256=digest_of(marker))
    assert output.intact()
    marker.write_text('{"changed": true}')
    assert not output.intact()
    marker.unlink()
    assert not output.intact()
    assert digest({"a": 1, "b": 2}) == digest({"b": 2, "a": 1}) != digest({"a": 1, "b": 3})


def digest_of(path):
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_only_transient_io_errors_are_retried():
    assert is_transient(ConnectionResetError()) and is_transient(TimeoutError()) and is_transient(OSError("EIO"))
    assert not any(map(is_transient, [FileNotFoundError(), PermissionError(), ValueError(), RuntimeError()]))


def test_launch_uses_torchrun_for_more_than_one_process():
    assert launch_command("run.yaml", LaunchOptions(), num_gpus=0) == [
        sys.executable, "-m", "xlmforge.training.loop", "--config", "run.yaml"]  # fmt: skip
    four = launch_command("run.yaml", LaunchOptions(), num_gpus=4)
    assert four[1:3] == ["-m", "torch.distributed.run"] and "--nproc_per_node=4" in four and "--standalone" in four
    nodes = launch_command("r.yaml", LaunchOptions(nnodes=2, node_rank=1, rdzv_endpoint="node0:29500"), num_gpus=8)
    assert {"--nnodes=2", "--node_rank=1", "--rdzv_endpoint=node0:29500", "--nproc_per_node=8"} <= set(nodes)
    assert "--standalone" not in nodes and nodes[-4:] == ["-m", "xlmforge.training.loop", "--config", "r.yaml"]
    with pytest.raises(ValidationError, match="needs rdzv_endpoint"):
        LaunchOptions(nnodes=2)
    with pytest.raises(ValidationError, match="node_rank 2 must be below nnodes 2"):
        LaunchOptions(nnodes=2, node_rank=2, rdzv_endpoint="h:1")


def test_vocab_fit_flags_a_new_script_that_falls_back_to_bytes():
    model = io.BytesIO()
    latin = [f"the cat number {i} sees a red house and a green boat" for i in range(300)]
    spm.SentencePieceTrainer.train(sentence_iterator=iter(latin), model_writer=model, vocab_size=300,
                                   byte_fallback=True, character_coverage=1.0, minloglevel=2)  # fmt: skip
    texts = {"eng": latin[:50], "rus": ["кошка видит красный дом и зелёную лодку"] * 20}
    fits = {f.lang: f for f in vocab_fit(model.getvalue(), texts, {"rus"})}
    assert not fits["eng"].new and fits["eng"].byte_fallback_rate == 0 and not fits["eng"].warning
    assert fits["rus"].new and fits["rus"].byte_fallback_rate > 0.5
    assert "byte fallbacks" in fits["rus"].warning and "the median of the vocabulary's languages" in fits["rus"].warning
    rows = artifacts.vocab_fit_rows(fits.values())
    assert rows[1]["lang"] == "rus" and rows[1]["warning"]


def test_ledger_rows_are_per_language_and_stage():
    ledger = Ledger(chain("read", "filters"), {("read", "deu", "in"): 5, ("read", "deu", "kept"): 5,
                                               ("filters", "deu", "in"): 5, ("filters", "deu", "kept"): 3,
                                               ("filters", "deu", "dropped:too_short"): 2})  # fmt: skip
    rows = artifacts.ledger_rows(ledger, "g0/monolingual")
    assert [(r["stage"], r["in"], r["kept"], r["dropped"]) for r in rows] == [("read", 5, 5, 0), ("filters", 5, 3, 2)]
    assert rows[1]["reasons"] == "too_short 2" and rows[0]["build"] == "g0/monolingual"


FAKE_TRAINING = textwrap.dedent("""
    import pathlib, sys, time
    out = pathlib.Path(sys.argv[1])
    for step in (1, 2):
        print(f"2026-01-01 00:00:00,000 INFO __main__: step {step}/2 | loss 1.0", flush=True)
        (out / f"step-{step:08d}.pt").write_bytes(b"weights")
        (out / f"step-{step:08d}.pt.sha256").write_text("digest")
    (out / "step-00000003.pt").write_bytes(b"no digest file: incomplete")
    time.sleep(float(sys.argv[2]))
""")


@pytest.mark.parametrize("sleep", [0, 60])
def test_training_child_is_streamed_and_its_newest_complete_checkpoint_recorded(tmp_path, sleep):
    command = [sys.executable, "-c", FAKE_TRAINING, str(tmp_path), str(sleep)]
    spec = PretrainSpec(key="k", config_path="run.yaml", out_dir=str(tmp_path), command=command,
                        time_limit_minutes=0.05 if sleep else None)  # fmt: skip
    with disable_run_logger():
        output = train_model.fn(spec)
    assert output.path == str(tmp_path / "step-00000002.pt") and output.summary["step"] == 2 and output.intact()
    assert output.seconds < 30


def test_a_failed_training_run_raises_with_its_exit_code(tmp_path):
    spec = PretrainSpec(key="k", config_path="run.yaml", out_dir=str(tmp_path),
                        command=[sys.executable, "-c", "raise SystemExit(3)"])  # fmt: skip
    with disable_run_logger(), pytest.raises(RuntimeError, match="exit code 3"):
        train_model.fn(spec)


def test_resolve_run_config(tmp_path):
    run = tmp_path / "run.yaml"
    run.write_text("model: {preset: tiny}\nobjectives: {mlm_steps: [deu]}\ntrain: {max_steps: 5}\n")
    config = resolve_run_config(str(run), "gs://b/manifest.json", "/runs/a", 7)
    assert (config.data.manifest, config.train.out_dir, config.train.max_steps) == ("gs://b/manifest.json",
                                                                                      "/runs/a", 7)  # fmt: skip
    with pytest.raises(ValueError, match=r"run.yaml: invalid run config:\s+data.manifest: Field required"):
        resolve_run_config(str(run), None, None, None)


def test_prefect_yaml_deployments_name_real_flows_with_valid_parameters():
    import yaml
    from prefect.flows import load_flow_from_entrypoint

    root = Path(__file__).resolve().parents[2]
    project = yaml.safe_load((root / "prefect.yaml").read_text())
    assert {d["name"] for d in project["deployments"]} == {"nightly", "weekly"}
    for deployment in project["deployments"]:
        flow = load_flow_from_entrypoint(str(root / deployment["entrypoint"]))
        flow.validate_parameters(deployment["parameters"])  # raises on a wrong name or type
        assert [s["cron"] for s in deployment["schedules"]]


def test_a_scheduled_end_to_end_run_continues_training_only_with_a_kept_vocabulary(tmp_path):
    from xlmforge.flows.deploy import deployments
    from xlmforge.flows.end_to_end import end_to_end

    corpus, run = tmp_path / "corpus.yaml", tmp_path / "run.yaml"
    _, scheduled = deployments(str(corpus), str(tmp_path / "out"), run_config=str(run), vocab_policy="keep",
                               continue_training=True)  # fmt: skip
    assert (scheduled.parameters["vocab_policy"], scheduled.parameters["continue_training"]) == ("keep", True)
    end_to_end.validate_parameters(scheduled.parameters)
    with pytest.raises(ValueError, match="continue_training needs vocab_policy='keep'"):
        deployments(str(corpus), str(tmp_path / "out"), run_config=str(run), continue_training=True)
