"""Benchmark input for the corpus build: the shared NTREX text replicated with small perturbations."""

from __future__ import annotations

import json
import random
from pathlib import Path


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


def write_benchmark_input(
    ntrex_dir: Path, dest: Path, target_mb: float, seed: int = 0
) -> tuple[list[Path], list[Path], int]:
    """Plain-text and JSONL copies of the same lines (one file per language and round); returns
    (text files, jsonl files, bytes of text). Round 0 is the original; later rounds edit half the lines."""
    rng = random.Random(seed)
    sources = {
        p.stem: [line.strip() for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]
        for p in sorted(ntrex_dir.glob("*.txt"))
    }
    vocabularies = {lang: sorted({w for line in lines for w in line.split()}) for lang, lines in sources.items()}
    (dest / "text").mkdir(parents=True, exist_ok=True)
    (dest / "jsonl").mkdir(parents=True, exist_ok=True)
    text_files, jsonl_files, num_bytes, round_ = [], [], 0, 0
    while num_bytes < target_mb * 1e6:
        for lang, lines in sources.items():
            out = (
                lines
                if round_ == 0
                else [perturb(line, vocabularies[lang], rng) if rng.random() < 0.5 else line for line in lines]
            )
            text = "\n".join(out) + "\n"
            text_files.append(dest / "text" / f"{lang}-{round_:03d}.txt")
            text_files[-1].write_text(text, encoding="utf-8")
            jsonl_files.append(dest / "jsonl" / f"{lang}-{round_:03d}.jsonl")
            jsonl_files[-1].write_text(
                "".join(json.dumps({"text": line}, ensure_ascii=False) + "\n" for line in out), encoding="utf-8"
            )
            num_bytes += len(text.encode())
        round_ += 1
    return text_files, jsonl_files, num_bytes
