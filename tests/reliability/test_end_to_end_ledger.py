"""Every input record of a full build (corpus, then shards) ends in exactly one place: a shard, or a
rejects output with its reason; and the ledgers of both builds reconcile with each other."""

from pathlib import Path

import pyarrow as pa
import pytest

from xlmforge.pipelines.common.ledger import KEPT
from xlmforge.pipelines.common.rows import segment_id
from xlmforge.pipelines.corpus.config import CorpusConfig
from xlmforge.pipelines.jobs.corpus import build_corpus
from xlmforge.pipelines.jobs.shards import build_shards
from xlmforge.pipelines.shards.config import ShardsConfig

LANGS = ["eng", "deu", "rus", "ara", "hin", "zho"]


def rows(directory: Path) -> list[dict]:
    return [
        r
        for f in sorted(directory.rglob("*.arrow"))
        for r in pa.ipc.open_file(pa.memory_map(str(f))).read_all().to_pylist()
    ]


@pytest.mark.slow
def test_every_record_is_in_one_place(shared_data, tmp_path):
    lines = {lang: (shared_data / "ntrex" / f"{lang}.txt").read_text().splitlines()[:250] for lang in LANGS}
    for lang in LANGS:
        (tmp_path / f"{lang}.txt").write_text("\n".join(lines[lang]) + "\n")
    (tmp_path / "pairs.tsv").write_text("".join(f"{h}\t{e}\n" for h, e in zip(lines["hin"], lines["eng"])))
    for lang in ("deu", "eng"):
        (tmp_path / "docs" / lang).mkdir(parents=True)
        for i in range(0, 100, 25):
            (tmp_path / "docs" / lang / f"d{i}.txt").write_text(" ".join(lines[lang][i : i + 25]))
    sources = [{"name": lang, "path": str(tmp_path / f"{lang}.txt"), "language": lang} for lang in LANGS]
    sources += [
        {"name": "pairs", "kind": "bitext", "path": str(tmp_path / "pairs.tsv"), "languages": ["hin", "eng"]},
        {"name": "docs", "kind": "docpairs", "path": str(tmp_path / "docs/deu/*.txt"),
         "tgt_path": str(tmp_path / "docs/eng/*.txt"), "languages": ["deu", "eng"]},
    ]  # fmt: skip
    corpus = build_corpus(CorpusConfig(sources=sources), str(tmp_path / "corpus"))
    shards = build_shards(
        [str(tmp_path / "corpus")], str(tmp_path / "shards"),
        ShardsConfig(vocab={"size": 3000}, splits={"valid_size": 10, "test_size": 10}, shards={"target_bytes": 50_000}),
    )  # fmt: skip
    corpus.ledger.check()
    shards.ledger.check()

    # Corpus: every input line became exactly one segment or one reject.
    kept = rows(tmp_path / "corpus" / "segments")
    corpus_rejects = rows(tmp_path / "corpus" / "rejects")
    read_rejects = [r for r in corpus_rejects if r["stage"] == "read"]
    assert not read_rejects  # NTREX decodes cleanly: every line has a segment id of its own
    expected = {segment_id(lang, f"{lang}.txt@0", i) for lang in LANGS for i in range(len(lines[lang]))}
    mono_rejects = [r["segment_id"] for r in corpus_rejects if "/" not in r["stage"]]
    found = [r["segment_id"] for r in kept] + mono_rejects
    assert len(found) == len(set(found)) and set(found) == expected

    # Shards: every corpus segment and pair is in exactly one shard record or shard reject.
    pairs = rows(tmp_path / "corpus" / "bitext")
    arrow_shards = rows(tmp_path / "shards" / "mono") + rows(tmp_path / "shards" / "bitext")
    in_shards = [r["segment_id"] if "segment_id" in r else r["pair_id"] for r in arrow_shards]
    shard_rejects = [r["segment_id"] for r in rows(tmp_path / "shards" / "rejects")]
    placed = in_shards + shard_rejects
    assert len(placed) == len(set(placed))
    assert set(placed) == {r["segment_id"] for r in kept} | {r["pair_id"] for r in pairs}

    # The two ledgers meet: what the corpus build wrote is what the shard build took in.
    written = corpus.ledger.total("write", KEPT) + corpus.ledger.total("pairs/write", KEPT)
    assert shards.ledger.total(shards.ledger.stages[0], "in") == written == len(kept) + len(pairs)
