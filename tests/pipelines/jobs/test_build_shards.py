"""The shard build end to end: ledger, decontamination, determinism across runners, bad input, kills, and
the training loader reading the result."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from rich.console import Console

import xlmforge.pipelines.jobs.shards as shards_run
from tests.pipelines.shard_fixtures import sentences, tiny_corpus, write_corpus
from xlmforge.pipelines.common.ledger import Ledger
from xlmforge.pipelines.common.options import pipeline_options
from xlmforge.pipelines.jobs.shards import build_shards
from xlmforge.pipelines.shards.config import ShardsConfig
from xlmforge.pipelines.shards.manifest import read_manifest
from xlmforge.pipelines.shards.report import report_table
from xlmforge.schemas.records import REJECT_SCHEMA
from xlmforge.training.config import DataConfig, ObjectivesConfig
from xlmforge.training.data import TrainLoader, count_tokens
from xlmforge.training.plan import build_plan, load_manifest

CONFIG = ShardsConfig(
    vocab={"size": 350},
    splits={"valid_size": 20, "test_size": 20},
    shards={"target_bytes": 2000, "records_per_sample": 8},
)
MULTI_PROCESSING = ["--direct_running_mode=multi_processing", "--direct_num_workers=2"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return tiny_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def built(corpus, tmp_path_factory):
    return build_shards([str(corpus)], str(tmp_path_factory.mktemp("built") / "shards"), CONFIG)


def rejects(out: Path) -> list[dict]:
    return [
        row
        for f in sorted((out / "rejects").rglob("*.arrow"))
        for row in pa.ipc.open_file(str(f)).read_all().to_pylist()
    ]


def test_every_record_is_in_a_shard_or_a_reject_and_the_ledger_balances(built):
    out = Path(built.out_dir)
    ledger = Ledger.from_json(json.loads((out / "ledger.json").read_text()))
    ledger.check()
    assert ledger.stages == ["decontaminate", "encode", "write"]
    assert ledger.total("decontaminate", "in") == 4 * 216  # eng, deu, fra segments and eng-deu pairs
    for fmt in ("arrow", "webdataset"):
        assert sum(s.num_records for s in built.manifest.shards if s.format == fmt) == ledger.total("write", "kept")
    dropped = rejects(out)
    assert len(dropped) == built.num_rejects == ledger.total_dropped() > 0
    assert all(r["reason"] == "decontaminated" for r in dropped)
    assert {(r["stage"], r["lang"]) for r in dropped} <= {("decontaminate", "deu"), ("decontaminate", "eng-deu")}
    assert not (out / "work").exists()


def test_decontamination_leaves_no_held_out_text_in_any_training_shard(built):
    from xlmforge.pipelines.common.comparison import comparison_key

    out = Path(built.out_dir)
    by_key = {}
    for shard in built.manifest.shards:
        if shard.format != "arrow":
            continue
        table = pa.ipc.open_file(str(out / shard.path)).read_all()
        by_key.setdefault(shard.split, []).append((shard.kind, shard.lang, table))
    assert by_key["valid"] and by_key["test"]
    vocab = built.manifest.vocab
    import sentencepiece as spm

    processor = spm.SentencePieceProcessor(model_file=str(out / vocab.path))

    def keys(split):
        found = set()
        for _, _, table in by_key[split]:
            for name in (c for c in table.column_names if c.endswith("tokens")):
                found |= {comparison_key(processor.decode(ids)) for ids in table.column(name).to_pylist()}
        return found

    held_out, train = keys("valid") | keys("test"), keys("train")
    assert held_out and train and not held_out & train
    report = {row.key: row for row in built.report}
    assert report["deu"].num_decontaminated + report["eng-deu"].num_decontaminated == built.num_rejects
    assert "| deu | mono |" in (out / "report.md").read_text()
    console = Console(record=True, width=200)
    console.print(report_table(built.report, built.manifest.sampling))
    text = console.export_text()
    assert "eng-deu" in text and "fertility" in text
    assert (out / "sampling.png").read_bytes().startswith(b"\x89PNG")


def test_the_manifest_lists_vocab_counts_and_the_sampling_table_of_languages_and_pairs(built):
    manifest = read_manifest(built.out_dir)  # verified against its files
    assert manifest.token_dtype == "uint16" and manifest.vocab.size == 350
    counts = np.load(Path(built.out_dir) / manifest.vocab.counts_path)
    train_tokens = sum(s.num_tokens for s in manifest.shards if s.split == "train" and s.format == "arrow")
    assert counts.shape == (350,) and counts.sum() == train_tokens and counts[:5].sum() == 0
    table = manifest.sampling
    assert set(table.languages) == {"eng", "deu", "fra"} and set(table.pairs) == {"eng-deu"}
    assert sum(e.q for e in table.languages.values()) == pytest.approx(1.0) and table.pairs["eng-deu"].q == 1.0
    assert all(s.num_samples == -(-s.num_records // 8) for s in manifest.shards if s.format == "webdataset")
    assert manifest.build["config"] == CONFIG.model_dump(mode="json")


@pytest.mark.parametrize("fmt", ["arrow", "webdataset"])
def test_the_training_loader_reads_the_build(built, fmt):
    url = f"{built.out_dir}/manifest.json"
    manifest, base = load_manifest(url)
    data = DataConfig(manifest=url, format=fmt, seq_len=32, max_sentence_len=24, tokens_per_batch=256)
    plan = build_plan(manifest, base, data, ObjectivesConfig(mlm_steps=("eng", "deu", "fra", "eng-deu", "deu-eng")))
    bundle = next(iter(TrainLoader(plan)))
    assert {batch.task.split(":")[0] for batch in bundle} == {"mlm", "tlm"} and all(b.num_tokens for b in bundle)
    assert int(count_tokens(plan).sum()) > 0


def test_same_inputs_give_byte_identical_shards_and_manifest_on_both_direct_runner_modes(corpus, built, tmp_path):
    other = build_shards([str(corpus)], str(tmp_path / "multi"), CONFIG, MULTI_PROCESSING)
    assert pipeline_options(MULTI_PROCESSING).get_all_options()["direct_running_mode"] == "multi_processing"
    first, second = Path(built.out_dir), Path(other.out_dir)
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file() and p.suffix != ".png")
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file() and p.suffix != ".png")
    assert any(f.suffix == ".tar" for f in files) and Path("manifest.json") in files
    for rel in files:
        assert (first / rel).read_bytes() == (second / rel).read_bytes(), rel


# --- bad input ---


def test_a_requested_language_without_segments_is_a_clear_error(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", {"eng": sentences("eng")})
    metadata = json.loads((corpus / "corpus.json").read_text())
    (corpus / "corpus.json").write_text(json.dumps({**metadata, "segments_by_lang": {"eng": 216, "yor": 0}}))
    config = CONFIG.model_copy(update={"languages": ("eng", "yor")})
    with pytest.raises(ValueError, match="no segments of 'yor' in .*remove them from `languages`"):
        build_shards([str(corpus)], str(tmp_path / "out"), config)
    empty = write_corpus(tmp_path / "empty", {})
    with pytest.raises(ValueError, match="no segments or sentence pairs to build shards from"):
        build_shards([str(empty)], str(tmp_path / "out"), CONFIG)
    with pytest.raises(ValueError, match="not a finished corpus build"):
        build_shards([str(tmp_path / "nothing")], str(tmp_path / "out"), CONFIG)
    assert not (tmp_path / "out").exists()


def test_held_out_sizes_too_large_for_a_language_are_a_clear_error(corpus, tmp_path):
    config = CONFIG.model_copy(update={"splits": CONFIG.splits.model_copy(update={"valid_size": 150, "test_size": 66})})
    with pytest.raises(ValueError, match=r"'deu' has 216 records.*nothing would be left to train on"):
        build_shards([str(corpus)], str(tmp_path / "out"), config)


def test_a_vocabulary_too_large_for_the_sample_is_a_clear_error_and_leaves_no_manifest(corpus, tmp_path):
    config = CONFIG.model_copy(update={"vocab": CONFIG.vocab.model_copy(update={"size": 20_000})})
    with pytest.raises(ValueError, match=r"vocab.size = 20000 is too large for the vocabulary sample of \d+ sentences"):
        build_shards([str(corpus)], str(tmp_path / "out"), config)
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_an_output_directory_holding_a_different_build_is_refused_unless_overwriting(corpus, built, tmp_path):
    out = Path(shutil.copytree(built.out_dir, tmp_path / "out"))
    other = CONFIG.model_copy(update={"sampling": CONFIG.sampling.model_copy(update={"alpha": 0.3})})
    build_shards([str(corpus)], str(out), CONFIG)  # the same build again: allowed
    with pytest.raises(FileExistsError, match="already holds a different shard build.*--overwrite"):
        build_shards([str(corpus)], str(out), other)
    assert read_manifest(str(out)).sampling.alpha == 0.5  # untouched
    assert build_shards([str(corpus)], str(out), other, overwrite=True).manifest.sampling.alpha == 0.3
    with pytest.raises(ValueError, match="holds a corpus build"):
        build_shards([str(corpus)], str(corpus), CONFIG, overwrite=True)


def test_a_failed_rebuild_removes_the_old_manifest_before_anything_else(corpus, built, tmp_path, monkeypatch):
    out = Path(shutil.copytree(built.out_dir, tmp_path / "out"))

    def crash(*args, **kwargs):
        raise RuntimeError("killed")

    monkeypatch.setattr(shards_run, "write_manifest", crash)
    with pytest.raises(RuntimeError, match="killed"):
        build_shards([str(corpus)], str(out), CONFIG)
    assert not (out / "manifest.json").exists() and any((out / "mono").rglob("*.arrow"))
    monkeypatch.undo()
    build_shards([str(corpus)], str(out), CONFIG)  # the unfinished build is the same build: rerun freely
    read_manifest(str(out))


@pytest.mark.slow
def test_a_build_killed_at_any_moment_never_leaves_a_manifest_that_lists_missing_shards(corpus, tmp_path):
    out = tmp_path / "out"
    script = (
        "import sys; sys.path[:0] = [sys.argv[1]]\n"
        "from xlmforge.pipelines.jobs.shards import build_shards\n"
        "from xlmforge.pipelines.shards.config import ShardsConfig\n"
        f"build_shards([sys.argv[2]], sys.argv[3], ShardsConfig.model_validate_json({CONFIG.model_dump_json()!r}))\n"
    )
    root = str(Path(__file__).resolve().parents[2])
    for stage in ("vocab", "mono"):  # killed after training the vocabulary, then while writing shards
        process = subprocess.Popen([sys.executable, "-c", script, root, str(corpus), str(out)], start_new_session=True)
        deadline = time.monotonic() + 60
        while not (out / stage).exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        assert not (out / "manifest.json").exists() or read_manifest(str(out))
    build_shards([str(corpus)], str(out), CONFIG)
    read_manifest(str(out))


def test_rejects_keep_their_records(tmp_path):
    texts = sentences("eng") + [" "]  # encodes to no tokens (the corpus build would have dropped it)
    corpus = write_corpus(tmp_path / "corpus", {"eng": texts}, num_files=1)
    result = build_shards([str(corpus)], str(tmp_path / "out"), CONFIG)
    (reject,) = rejects(tmp_path / "out")
    assert (reject["text"], reject["reason"], reject["stage"]) == (" ", "empty_after_encoding", "encode")
    assert result.ledger.rows()[-2].dropped == {"empty_after_encoding": 1}
    assert pa.ipc.open_file(str(next((tmp_path / "out" / "rejects").rglob("*.arrow")))).schema.equals(REJECT_SCHEMA)


def test_an_existing_vocabulary_is_kept_with_the_same_token_ids(corpus, built, tmp_path):
    out = Path(shutil.copytree(built.out_dir, tmp_path / "out"))
    own_model = str(out / "vocab" / "spm.model")
    kept = CONFIG.model_copy(update={"vocab": CONFIG.vocab.model_copy(update={"model": own_model})})
    result = build_shards([str(corpus)], str(out), kept, overwrite=True)  # its own model, read before clearing
    assert result.manifest.vocab.sha256 == built.manifest.vocab.sha256
    assert result.manifest.build["num_vocab_sample_sentences"] == 0
    first = pa.ipc.open_file(str(Path(built.out_dir) / built.manifest.shards[0].path)).read_all()
    again = pa.ipc.open_file(str(out / result.manifest.shards[0].path)).read_all()
    assert first.column("tokens").to_pylist()[:20] == again.column("tokens").to_pylist()[:20]


def test_a_kept_vocabulary_must_be_one_of_ours(corpus, tmp_path):
    (tmp_path / "bad.model").write_bytes(b"not a model")
    bad = CONFIG.model_copy(update={"vocab": CONFIG.vocab.model_copy(update={"model": str(tmp_path / "bad.model")})})
    with pytest.raises(ValueError, match="is not a SentencePiece model"):
        build_shards([str(corpus)], str(tmp_path / "out"), bad)
