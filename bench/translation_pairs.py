"""Translation-pair detection from NTREX: a labelled text-pair task for `xlmforge finetune`.

Is `text_pair` the translation of the English `text`? NTREX-128 (`../shared/data/ntrex/<lang>.txt`) is
line-parallel: line i of every file translates line i of the others, and the lines are ordered news
articles. For every English line i of a split the task has two examples:

* a positive, label `yes`: (eng line i, xx line i), the true translation;
* a hard negative, label `no`: (eng line i, xx line j), j drawn from the same split, either a
  neighbour (i±1..3: the same article, so the same names and topic) or one of the three lines whose xx
  side is closest in length to xx line i (so length alone does not give it away).

Every English text thus occurs once with each label: the classes are exactly balanced and memorising
an English sentence earns nothing, so chance (and the majority baseline) is 0.5 in every language.

Splits are line ranges, so no line (in any language) of the dev or eval split is in train: train is
lines [0, dev_start), dev [dev_start, eval_start), eval [eval_start, end). Train and dev are English-German
(`lang` eng-deu); eval holds every language pair, eng-deu included, to score zero-shot transfer.
Files (TSV, columns text, text_pair, label, lang): OUT_DIR/train.tsv, dev.tsv, eval.tsv and task.json
(counts, ranges, chance level).

If the pretraining corpus is built from NTREX, its model has seen these translations (TLM reads them as
pairs). `--holdout-dir DIR` writes DIR/<lang>.txt holding only the train lines of every language: build
the pretraining corpus from those files and no dev or eval line enters pretraining.

    python -m bench.translation_pairs out/translation-pairs [--holdout-dir out/ntrex-train]
    xlmforge finetune runs/xlm/step-00010000.pt out/translation-pairs/train.tsv \\
        --dev out/translation-pairs/dev.tsv --eval out/translation-pairs/eval.tsv
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

#: The shared evaluation data, `../shared/data` from the repository root.
DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data"
PIVOT, TRAIN_LANG = "eng", "deu"
NEIGHBOURS = 3  # a neighbour negative is at most this many lines away
SIMILAR_LENGTHS = 3  # a length negative is one of this many lines closest in length
COLUMNS = ("text", "text_pair", "label", "lang")


def read_lines(path: Path) -> list[str]:
    """The lines of a text file with their whitespace collapsed (no tabs or runs of spaces in a TSV field)."""
    return [" ".join(line.split()) for line in path.read_text(encoding="utf-8").splitlines()]


def read_ntrex(data_dir: Path, lang: str) -> list[str]:
    return read_lines(data_dir / "ntrex" / f"{lang}.txt")


def hard_negative(i: int, lines: range, other: list[str], rng: random.Random) -> int:
    """A line j != i of `lines` to pair with English line i: a neighbour, or one of similar length."""
    neighbours = [j for j in range(i - NEIGHBOURS, i + NEIGHBOURS + 1) if j != i and j in lines
                  and other[j] != other[i]]  # fmt: skip
    if neighbours and rng.random() < 0.5:
        return rng.choice(neighbours)
    by_length = sorted((j for j in lines if j != i and other[j] != other[i]),
                       key=lambda j: (abs(len(other[j]) - len(other[i])), j))  # fmt: skip
    return rng.choice(by_length[:SIMILAR_LENGTHS])


def pair_rows(english: list[str], other: list[str], lang: str, lines: range, seed: int) -> list[dict[str, str]]:
    """A positive and a hard negative for every English line of `lines`."""
    rng = random.Random(f"{seed}-{lang}-{lines.start}")  # str seeds are hashed with sha512: stable across processes
    rows = []
    for i in lines:
        j = hard_negative(i, lines, other, rng)
        pair = f"{PIVOT}-{lang}"
        rows += [{"text": english[i], "text_pair": other[i], "label": "yes", "lang": pair},
                 {"text": english[i], "text_pair": other[j], "label": "no", "lang": pair}]  # fmt: skip
    return rows


def write_tsv(path: Path, rows: list[dict[str, str]]) -> None:
    """Plain tab-separated lines, no quoting (as `xlmforge finetune` reads them; texts hold no tabs)."""
    lines = ["\t".join(COLUMNS)] + ["\t".join(row[column] for column in COLUMNS) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    parser.add_argument("--langs", help="comma-separated NTREX languages to evaluate (default: all but eng)")
    parser.add_argument("--dev-start", type=int, default=1400, help="first dev line (train is the lines before)")
    parser.add_argument("--eval-start", type=int, default=1600, help="first eval line (to the end of the files)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--holdout-dir", type=Path, help="write NTREX's train lines alone here, to pretrain on")
    args = parser.parse_args()

    english = read_ntrex(args.data_dir, PIVOT)
    if not 0 < args.dev_start < args.eval_start < len(english):
        parser.error(f"need 0 < --dev-start < --eval-start < {len(english)} (the NTREX lines)")
    available = sorted(p.stem for p in (args.data_dir / "ntrex").glob("*.txt") if p.stem != PIVOT)
    langs = args.langs.split(",") if args.langs else available
    if unknown := sorted(set(langs + [TRAIN_LANG]) - set(available)):
        parser.error(f"not in {args.data_dir / 'ntrex'}: {', '.join(unknown)}")
    train_lines, dev_lines = range(0, args.dev_start), range(args.dev_start, args.eval_start)
    eval_lines = range(args.eval_start, len(english))
    texts = {lang: read_ntrex(args.data_dir, lang) for lang in sorted(set(langs) | {TRAIN_LANG})}
    for lang, lines in texts.items():
        if len(lines) != len(english):
            raise SystemExit(f"ntrex/{lang}.txt has {len(lines)} lines, ntrex/{PIVOT}.txt {len(english)}: not parallel")

    args.out_dir.mkdir(parents=True, exist_ok=True)
    splits = {
        "train": pair_rows(english, texts[TRAIN_LANG], TRAIN_LANG, train_lines, args.seed),
        "dev": pair_rows(english, texts[TRAIN_LANG], TRAIN_LANG, dev_lines, args.seed),
        "eval": [row for lang in langs for row in pair_rows(english, texts[lang], lang, eval_lines, args.seed)],
    }
    for name, rows in splits.items():
        write_tsv(args.out_dir / f"{name}.tsv", rows)
    task = {"task": "translation-pair detection (NTREX-128)", "labels": ["no", "yes"], "chance_accuracy": 0.5,
            "train_pair": f"{PIVOT}-{TRAIN_LANG}", "eval_pairs": [f"{PIVOT}-{lang}" for lang in langs],
            "lines": {"train": [0, args.dev_start], "dev": [args.dev_start, args.eval_start],
                      "eval": [args.eval_start, len(english)]},
            "num_examples": {name: len(rows) for name, rows in splits.items()}, "seed": args.seed}  # fmt: skip
    (args.out_dir / "task.json").write_text(json.dumps(task, indent=2) + "\n")
    if args.holdout_dir:
        args.holdout_dir.mkdir(parents=True, exist_ok=True)
        for lang in [PIVOT, *available]:
            lines = (args.data_dir / "ntrex" / f"{lang}.txt").read_text(encoding="utf-8").splitlines()
            (args.holdout_dir / f"{lang}.txt").write_text("\n".join(lines[: args.dev_start]) + "\n", encoding="utf-8")

    print(f"{'file':<10} {'examples':>9}  pairs (chance accuracy 0.5: every English line once with each label)")
    for name, rows in splits.items():
        print(f"{name + '.tsv':<10} {len(rows):>9}  {', '.join(sorted({row['lang'] for row in rows}))}")
    if args.holdout_dir:
        print(f"NTREX train lines [0, {args.dev_start}) of {len(available) + 1} languages in {args.holdout_dir}")


if __name__ == "__main__":
    main()
