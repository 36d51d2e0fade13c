"""Benchmark inputs for the corpus build: the distinct lines of the shared data, and copies planted at a
stated rate.

The base is every distinct line of ../shared/data (NTREX, both sides of Tatoeba), normalized as the
build normalizes it, no line repeated; `paragraphs` runs them together into long lines.
`with_duplicates` adds exact copies and near copies (one word replaced, inserted or deleted, or a
number added) of random lines at given rates, so the duplicate rate of an input is a stated number
rather than a side effect of how it was made to size.
"""

from __future__ import annotations

import dataclasses
import json
import random
from pathlib import Path

import numpy as np

from xlmforge.pipelines.common.comparison import key_hashes

NUM_FILES = 16  # several files per worker, so the read stage is shared out
STARTUP_LINES = 100  # an input this small measures what a build costs before it reads anything


def perturb(line: str, vocabulary: list[str], rng: random.Random) -> str:
    """A small edit of one line: a word replaced, inserted or deleted, or a number added."""
    words = line.split()
    if not words:
        return line
    i = rng.randrange(len(words))
    edit = rng.randrange(4)
    if edit == 0:
        words[i] = rng.choice(vocabulary)
    elif edit == 1:
        words.insert(i, rng.choice(vocabulary))
    elif edit == 2 and len(words) > 3:
        del words[i]
    else:
        words.append(str(rng.randrange(1000)))
    return " ".join(words)


def paragraphs(by_language: dict[str, list[str]], lines_per_paragraph: int) -> list[str]:
    """Each language's lines run together, `lines_per_paragraph` at a time, into one line of text each
    (the shape of crawled paragraphs: long lines, one language each); no line is used twice."""
    return [" ".join(lines[i:i + lines_per_paragraph]) for lines in by_language.values()
            for i in range(0, len(lines), lines_per_paragraph)]  # fmt: skip


def with_duplicates(lines: list[str], exact: float, near: float, seed: int = 0) -> list[str]:
    """`lines` with exact copies of `exact` x len(lines) random lines and near copies of `near` x len(lines),
    all in a seeded random order."""
    rng = random.Random(seed)
    vocabulary = sorted({word for line in lines for word in line.split()})
    copies = [rng.choice(lines) for _ in range(round(exact * len(lines)))]
    copies += [perturb(rng.choice(lines), vocabulary, rng) for _ in range(round(near * len(lines)))]
    out = lines + copies
    rng.shuffle(out)
    return out


@dataclasses.dataclass(frozen=True)
class InputStats:
    """What an input holds, as the benchmark states it."""

    lines: int
    megabytes: float
    distinct_keys: int  # distinct comparison keys (up to case, punctuation and spacing)
    key_duplicate_rate: float  # share of lines whose comparison key an earlier line already had

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def describe(lines: list[str]) -> InputStats:
    distinct = len(np.unique(key_hashes(lines)))
    size = sum(len(line.encode()) + 1 for line in lines)
    return InputStats(len(lines), round(size / 1e6, 2), distinct, round(1 - distinct / len(lines), 4))


def write_input(lines: list[str], dest: Path, num_files: int = NUM_FILES) -> tuple[Path, Path]:
    """The lines as `num_files` plain-text files (for xlmforge and the kernel) and the same lines as
    JSONL files (for datatrove); returns the two directories."""
    text_dir, jsonl_dir = dest / "text", dest / "jsonl"
    for directory in (text_dir, jsonl_dir):
        directory.mkdir(parents=True, exist_ok=True)
        for old in directory.iterdir():
            old.unlink()
    per_file = -(-len(lines) // num_files)
    for i in range(num_files):
        chunk = lines[i * per_file:(i + 1) * per_file]
        # One segment per line: a blank line would end a document, so there is none.
        (text_dir / f"part-{i:03d}.txt").write_text("".join(f"{line}\n" for line in chunk), encoding="utf-8")
        (jsonl_dir / f"part-{i:03d}.jsonl").write_text(
            "".join(json.dumps({"text": line}, ensure_ascii=False) + "\n" for line in chunk), encoding="utf-8")
    return text_dir, jsonl_dir


def write_startup_input(lines: list[str], dest: Path) -> Path:
    """The first `STARTUP_LINES` lines as two text files; returns their directory."""
    return write_input(lines[:STARTUP_LINES], dest, num_files=2)[0]
