"""Small labelled tasks over the tiny corpus's sentences (imported by name: keep this module name unique).

Single text: does the sentence's object come from the first half of the object list ("near") or the
second ("far")? Text pair: is `text_pair` the translation of the English `text` ("yes") or the
translation of a neighbouring sentence ("no")?
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.training.xlm_corpus import PHRASES, sentences

NUM_OBJECTS = len(PHRASES["en"][2])


def object_label(index: int) -> str:
    """Sentences run over (subject, verb, object); the object is the fastest-changing part."""
    return "near" if index % NUM_OBJECTS < NUM_OBJECTS // 2 else "far"


def write_tsv(path: Path, rows: list[dict[str, str]]) -> Path:
    columns = list(rows[0])
    path.write_text("\n".join(["\t".join(columns)] + ["\t".join(row[c] for c in columns) for row in rows]) + "\n",
                    encoding="utf-8")  # fmt: skip
    return path


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


def object_rows(lang: str, indices: range) -> list[dict[str, str]]:
    texts = sentences(lang)
    return [{"text": texts[i], "label": object_label(i), "lang": lang} for i in indices]


def pair_rows(lang: str, indices: range) -> list[dict[str, str]]:
    """Alternately the true pair (en i, xx i) and a hard negative (en i, xx i+1)."""
    english, other = sentences("en"), sentences(lang)
    rows = []
    for i in indices:
        match = i % 2 == 0
        rows.append({"text": english[i], "text_pair": other[i if match else (i + 1) % len(other)],
                     "label": "yes" if match else "no", "lang": f"en-{lang}"})  # fmt: skip
    return rows


def pretrain_tiny(root: Path) -> Path:
    """A 2-step pretraining checkpoint on the tiny corpus (en, fr, de), for tests outside tests/training."""
    from tests.training.xlm_corpus import write_tiny_corpus
    from tests.training.xlm_runs import tiny_run
    from xlmforge.training.loop import train

    return Path(train(tiny_run(write_tiny_corpus(root / "corpus"), root / "run", train={"max_steps": 2})).checkpoint)
