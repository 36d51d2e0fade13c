"""A build that extends earlier builds reads only its own sources and deduplicates against theirs."""

import os

import pyarrow as pa

from xlmforge.pipelines.corpus.config import CorpusConfig
from xlmforge.pipelines.jobs.corpus import build_corpus


def texts(directory):
    return [
        r["text"]
        for f in sorted(directory.rglob("*.arrow"))
        for r in pa.ipc.open_file(pa.memory_map(str(f))).read_all().to_pylist()
    ]


def snapshot(directory):
    return {str(p): (p.stat().st_mtime_ns, p.stat().st_size) for p in directory.rglob("*") if p.is_file()}


def test_new_language_is_deduplicated_against_the_existing_corpus(tmp_path):
    german = [f"Das ist der deutsche Satz Nummer {i} über das Wetter in Berlin." for i in range(40)]
    french = [f"Voici la phrase française numéro {i} sur la météo à Paris." for i in range(40)]
    (tmp_path / "deu.txt").write_text("\n".join(german) + "\n")
    first = CorpusConfig(sources=[{"name": "de", "path": str(tmp_path / "deu.txt"), "language": "deu"}])
    base = build_corpus(first, str(tmp_path / "gen0"))
    before = snapshot(tmp_path / "gen0")

    # The new sources: French, and German that repeats five sentences (one with a small edit).
    copies = [german[0].upper(), *german[1:4], german[4].replace("Berlin", "Bonn")]
    (tmp_path / "fra.txt").write_text("\n".join(french) + "\n")
    (tmp_path / "deu-more.txt").write_text("\n".join(copies) + "\n")
    second = CorpusConfig(sources=[{"name": "fr", "path": str(tmp_path / "fra.txt"), "language": "fra"},
                                   {"name": "de2", "path": str(tmp_path / "deu-more.txt"), "language": "deu"}])
    result = build_corpus(second, str(tmp_path / "gen1"), base_dirs=[str(tmp_path / "gen0")])

    assert snapshot(tmp_path / "gen0") == before  # nothing of the first build was touched
    assert result.ledger.total("read", "in") == 45  # only the new sources were read
    assert set(texts(tmp_path / "gen1" / "segments")) == set(french)
    rejected = {r.stage: r.dropped for r in result.ledger.rows() if r.dropped}
    assert rejected == {"exact_dedup": {"exact_duplicate": 4}, "near_dedup": {"near_duplicate": 1}}
    assert base.segments_by_lang == {"deu": 40} and result.segments_by_lang == {"fra": 40}
    assert os.path.exists(tmp_path / "gen1" / "corpus.json")


def test_source_digests_follow_content_not_paths(tmp_path):
    from xlmforge.pipelines.corpus.config import CorpusConfig
    from xlmforge.pipelines.corpus.digest import processing_digest, source_digest

    (tmp_path / "a.txt").write_text("eins\n")
    config = CorpusConfig(sources=[{"name": "s", "path": str(tmp_path / "*.txt"), "language": "deu"}])
    before = source_digest(config.sources[0])
    assert source_digest(config.sources[0]) == before
    (tmp_path / "a.txt").write_text("zwei\n")
    assert source_digest(config.sources[0]) != before
    moved = tmp_path / "moved"
    moved.mkdir()
    (moved / "a.txt").write_text("zwei\n")
    relocated = CorpusConfig(sources=[{"name": "s", "path": str(moved / "*.txt"), "language": "deu"}])
    assert source_digest(relocated.sources[0]) == source_digest(config.sources[0])
    stricter = config.model_copy(update={"filters": config.filters.model_copy(update={"min_chars": 10})})
    assert processing_digest(config) != processing_digest(stricter)
