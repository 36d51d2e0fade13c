"""Exact and near duplicates planted into real news text are found, and little else is removed."""

import json
import random

import pyarrow as pa
import pytest

from xlmforge.pipelines.common.comparison import comparison_key
from xlmforge.pipelines.corpus.config import CorpusConfig, NormalizeConfig
from xlmforge.pipelines.corpus.minhash import jaccard, shingles
from xlmforge.pipelines.corpus.normalize import normalize_text
from xlmforge.pipelines.jobs.corpus import build_corpus

LANGS = ["eng", "deu", "rus", "ara", "hin", "zho", "jpn", "tha"]
UNSPACED = {"zho", "jpn", "tha"}
NUM_BASE, NUM_EXACT, NUM_NEAR = 400, 30, 30


def exact_variant(text: str, rng: random.Random) -> str:
    """The same text up to case, punctuation and spacing."""
    variant = text.upper() if rng.random() < 0.5 else text.lower()
    return "  " + variant.rstrip(".!?。") + (" !" if rng.random() < 0.5 else "")


def near_variant(text: str, lang: str, rng: random.Random) -> str | None:
    """The text with one word (or, in unspaced scripts, one character) deleted; None if too short."""
    if lang in UNSPACED:
        if len(text) < 30:
            return None
        i = rng.randrange(5, len(text) - 5)
        return text[:i] + text[i + 1 :]
    words = text.split()
    if len(words) < 14:
        return None
    del words[rng.randrange(1, len(words) - 1)]
    return " ".join(words)


def normal(text):
    return normalize_text(text, NormalizeConfig())


def shingle_set(text):
    return shingles(text, 2, 3)


@pytest.mark.slow
def test_planted_duplicates_recall_and_precision(shared_data, tmp_path):
    rng = random.Random(7)
    planted = []  # (kind, original, copy)
    sources = []
    for lang in LANGS:
        text = (shared_data / "ntrex" / f"{lang}.txt").read_text()
        lines = [normal(line) for line in text.splitlines() if line.strip()]
        base = lines[:NUM_BASE]
        copies = []
        for original in rng.sample(base, NUM_EXACT):
            copies.append(exact_variant(original, rng))
            planted.append(("exact", original, copies[-1]))
        candidates = [t for t in base if near_variant(t, lang, random.Random(0))]
        for original in rng.sample(candidates, NUM_NEAR):
            copies.append(near_variant(original, lang, rng))
            planted.append(("near", original, copies[-1]))
        for name, texts in ((f"{lang}-base", base), (f"{lang}-copies", copies)):
            (tmp_path / f"{name}.txt").write_text("\n".join(texts) + "\n")
            sources.append({"name": name, "path": str(tmp_path / f"{name}.txt"), "language": lang})
    config = CorpusConfig(
        sources=sources,
        language_id={"enabled": False},
        filters={
            f: None
            for f in (
                "min_chars",
                "max_chars",
                "min_letter_ratio",
                "max_digit_punct_ratio",
                "max_char_run",
                "max_repeated_word_ratio",
                "min_script_share",
            )
        },
    )
    result = build_corpus(config, str(tmp_path / "out"))
    kept = [
        r["text"]
        for f in (tmp_path / "out" / "segments").rglob("*.arrow")
        for r in pa.ipc.open_file(pa.memory_map(str(f))).read_all().to_pylist()
    ]
    removed = [
        r
        for f in (tmp_path / "out" / "rejects").rglob("*.arrow")
        for r in pa.ipc.open_file(pa.memory_map(str(f))).read_all().to_pylist()
    ]
    assert {r["reason"] for r in removed} <= {"identical_copy", "exact_duplicate", "near_duplicate"}

    removed_texts = {r["text"] for r in removed}
    recall = {}
    for kind in ("exact", "near"):
        pairs = [
            (a, b)
            for k, a, b in planted
            if k == kind and (kind == "exact" or jaccard(shingle_set(a), shingle_set(b)) >= 0.8)
        ]
        recall[kind] = sum(normal(a) in removed_texts or normal(b) in removed_texts for a, b in pairs) / len(pairs)

    # A removal is correct when a kept segment is the same text (exact) or shares >= 80% of its shingles (near).
    kept_keys = {comparison_key(t) for t in kept}
    kept_sets = [shingle_set(t) for t in kept]
    index: dict[int, list[int]] = {}
    for i, s in enumerate(kept_sets):
        for h in s.tolist():
            index.setdefault(h, []).append(i)

    def has_kept_partner(row):
        if row["reason"] in ("identical_copy", "exact_duplicate"):
            return comparison_key(row["text"]) in kept_keys
        mine = shingle_set(row["text"])
        candidates = {i for h in mine.tolist() for i in index.get(h, ())}
        return any(jaccard(mine, kept_sets[i]) >= 0.8 for i in candidates)

    precision = sum(map(has_kept_partner, removed)) / len(removed)
    print(
        f"\nplanted duplicates: recall exact {recall['exact']:.3f}, near {recall['near']:.3f}; "
        f"precision of removals {precision:.3f} ({len(removed)} removed, {result.ledger.total('read', 'in')} read)"
    )
    (tmp_path / "dedup_quality.json").write_text(json.dumps({"recall": recall, "precision": precision}))
    assert recall["exact"] == 1.0
    assert recall["near"] >= 0.9
    assert precision >= 0.97
