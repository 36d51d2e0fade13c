"""Builds the weights of the confusable-group discriminator (confusable.py) from real text.

Training text per member, normalized as the normalize stage does by default:
- NTREX-128 (`<data>/ntrex/<lang>.txt`, CC BY-SA 4.0): news, the same sentences in every member;
- the Tatoeba-Challenge test sets (`<data>/tatoeba/<lang>-eng.tsv.gz`, CC BY 2.0 FR), only the tuning
  half: a sentence whose normalized text has an odd xxh64 (`held_out`) is in the half
  bench/data_quality.py measures on, and is never read here;
- Django's translation catalogs (the installed `django` package, BSD-3-Clause): short interface
  strings, the only text there is of nno and dan, and of Latin-script Serbian (`sr_Latn`).
A source trains a group only if it has text of every member, and then gives each member as many
lines as it has of the smallest (a seeded-hash sample), so that no member owns a domain: Bokmål
trained on news and Danish on interface strings called five of six Danish sentences written to check it
Bokmål. So nob/nno/dan is trained on Django's catalogs alone. hbs (Serbo-Croatian) has no text in
any source and is not a candidate of its group. zho/yue/wuu is not trained: a first version lifted
yue 0.63 -> 0.91 on the Tatoeba tuning half (2-fold) but sent 9 % of Mandarin to yue or wuu (lid.176
alone: 1 %), which in a crawl where Mandarin outnumbers Cantonese would fill yue with Mandarin;
lid.176 decides that group. Smoothing, n-gram orders and pruning were chosen by 2-fold
cross-validation on the tuning half.

The weights are derived from the three sources and distributed under CC BY-SA 4.0, with attribution
to NTREX-128 (Microsoft), Tatoeba and Django. The output is deterministic (sorted keys, weights
rounded to 3 decimals, gzip without a timestamp): the same data and Django release give the same
bytes, which tests check against WEIGHTS_SHA256.

    python -m xlmforge.pipelines.corpus.confusable_training --data ../shared/data \
        --out xlmforge/pipelines/corpus/confusable_weights.json.gz
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import gzip
import importlib.metadata
import io
import json
import logging
import math
import re
from pathlib import Path

import xxhash

from xlmforge.core.languages import languages
from xlmforge.pipelines.corpus.config import NormalizeConfig
from xlmforge.pipelines.corpus.confusable import MAX_CHARS, NGRAM_ORDERS, features
from xlmforge.pipelines.corpus.normalize import normalize_text

log = logging.getLogger(__name__)

# The groups of LanguageIdConfig.confusable that are trained, each member with the Django locales
# written in it; the first member is the reference the weights are relative to.
GROUPS: tuple[tuple[tuple[str, tuple[str, ...]], ...], ...] = (
    (("bos", ("bs",)), ("hrv", ("hr",)), ("srp", ("sr", "sr_Latn"))),
    (("ind", ("id",)), ("msa", ("ms",))),
    (("nob", ("nb",)), ("nno", ("nn",)), ("dan", ("da",))),
)
SOURCES = ("django", "ntrex", "tatoeba")
SAMPLE_SEED = 12
SMOOTHING = 0.05  # added to every feature's count in every member (Lidstone)
MIN_WEIGHT = 0.05  # |log ratio| below this is dropped: it moves no decision and costs bytes
DECIMALS = 3
_PLACEHOLDER = re.compile(r"%(\([^)]*\))?[-#0 +]*\d*(\.\d+)?[sdifr%]|\{[^}]*\}|<[^>]*>")


def held_out(text: str) -> bool:
    """Whether a (normalized) Tatoeba sentence is in the half no model, threshold or choice is tuned on."""
    return xxhash.xxh64_intdigest(text.encode()) % 2 == 1


def tatoeba_label(label: str, file_lang: str) -> str:
    """The project's code for a Tatoeba label ("srp_Cyrl" -> srp); a variety the project does not list
    (cmn, pes, zsm, swh, arq, ...) counts as the file's language."""
    code = label.split("_")[0]
    return code if code in languages() else file_lang


def _normalized(texts: list[str]) -> list[str]:
    config = NormalizeConfig()
    return [line for line in (normalize_text(text, config) for text in texts) if line]


def ntrex_lines(lang: str, data_dir: Path) -> list[str]:
    path = data_dir / "ntrex" / f"{lang}.txt"
    return _normalized(path.read_text(encoding="utf-8").splitlines()) if path.exists() else []


def tatoeba_tuning_lines(data_dir: Path) -> dict[str, list[str]]:
    """Gold language -> the tuning half of the Tatoeba sentences labelled with it, over every file."""
    by_gold = collections.defaultdict(list)
    for path in sorted((data_dir / "tatoeba").glob("*-eng.tsv.gz")):
        file_lang = path.name.split("-")[0]
        with gzip.open(path, "rt", encoding="utf-8") as f:
            rows = [line.rstrip("\n").split("\t") for line in f][1:]
        rows = [row for row in rows if len(row) == 3]
        for (label, _, _), text in zip(rows, (normalize_text(row[1], NormalizeConfig()) for row in rows)):
            if text and not held_out(text):
                by_gold[tatoeba_label(label, file_lang)].append(text)
    return by_gold


def django_lines(locale: str) -> list[str]:
    """The translated strings of every catalog of `locale` in the installed Django, placeholders removed."""
    import django
    import polib

    root = Path(django.__file__).parent
    lines = []
    for path in sorted(root.glob(f"**/locale/{locale}/LC_MESSAGES/*.po")):
        for entry in polib.pofile(str(path)):
            if entry.obsolete or "fuzzy" in entry.flags:
                continue
            for text in [entry.msgstr, *(entry.msgstr_plural[k] for k in sorted(entry.msgstr_plural))]:
                lines.append(_PLACEHOLDER.sub(" ", text))
    return _normalized(lines)


def sample(lines: list[str], size: int) -> list[str]:
    """`size` of `lines`, the same ones on every run: those with the smallest seeded hashes."""
    return sorted(lines, key=lambda line: (xxhash.xxh64_intdigest(line.encode(), seed=SAMPLE_SEED), line))[:size]


@dataclasses.dataclass(frozen=True)
class GroupText:
    members: tuple[str, ...]
    lines: dict[str, dict[str, list[str]]]  # member -> source -> lines


def training_text(data_dir: Path) -> list[GroupText]:
    tatoeba = tatoeba_tuning_lines(data_dir)
    groups = []
    for group in GROUPS:
        lines = {
            member: {
                "django": [line for locale in locales for line in django_lines(locale)],
                "ntrex": ntrex_lines(member, data_dir),
                "tatoeba": tatoeba.get(member, []),
            }
            for member, locales in group
        }
        trained = tuple(member for member, _ in group if any(lines[member].values()))
        # A source trains a group only where it has text of every trained member: a domain that one
        # member alone is trained on is read as that member.
        # Each source then gives every member as many lines as it has of the smallest: with all 2,122
        # Indonesian Tatoeba sentences against 259 Malay, Malay recall was 0.60, balanced 0.72 (2-fold
        # on the tuning half).
        sizes = {source: min(len(lines[m][source]) for m in trained) for source in SOURCES}
        balanced = {m: {s: sample(lines[m][s], sizes[s]) for s in SOURCES if sizes[s]} for m in trained}
        groups.append(GroupText(trained, balanced))
    return groups


def group_weights(text: GroupText) -> dict[str, dict[str, float]]:
    """Member (all but the first) -> feature -> log p(feature | member) - log p(feature | first member)."""
    counts = {m: collections.Counter(f for s in text.lines[m].values() for line in s for f in features(line))
              for m in text.members}  # fmt: skip
    # Every feature seen: dropping those seen < 3 times cost nob 0.70 -> 0.65 (2-fold on the Tatoeba
    # tuning half) to save 40 % of a 0.55 MB file.
    vocabulary = sorted(set().union(*counts.values()))

    def log_probs(member_counts: collections.Counter) -> dict[str, float]:
        mass = sum(member_counts[f] for f in vocabulary) + SMOOTHING * len(vocabulary)
        return {f: math.log((member_counts[f] + SMOOTHING) / mass) for f in vocabulary}

    reference = log_probs(counts[text.members[0]])
    weights = {}
    for member in text.members[1:]:
        member_log_probs = log_probs(counts[member])
        ratios = {f: round(member_log_probs[f] - reference[f], DECIMALS) for f in vocabulary}
        weights[member] = {f: r for f, r in ratios.items() if abs(r) >= MIN_WEIGHT}
    return weights


def build_weights(data_dir: Path) -> bytes:
    """The gzipped JSON weights file, byte for byte the same for the same data and Django release."""
    groups = []
    for text in training_text(data_dir):
        if len(text.members) < 2:
            continue
        sizes = {m: {source: len(lines) for source, lines in text.lines[m].items()} for m in text.members}
        groups.append({"members": list(text.members), "lines": sizes, "weights": group_weights(text)})
        log.info("group %s: %s", "/".join(text.members), sizes)
    document = {
        "model": "multinomial naive Bayes, log ratios to the first member",
        "features": {
            "orders": list(NGRAM_ORDERS),
            "max_chars": MAX_CHARS,
            "words": True,
            "smoothing": SMOOTHING,
            "min_weight": MIN_WEIGHT,
        },
        "django": importlib.metadata.version("django"),
        "licence": "CC BY-SA 4.0 (derived from NTREX-128 CC BY-SA 4.0, Tatoeba CC BY 2.0 FR, Django BSD-3-Clause)",
        "groups": groups,
    }
    payload = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=9, mtime=0, filename="") as f:
        f.write(payload)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="the shared data directory (ntrex/, tatoeba/)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if not (args.data / "ntrex").is_dir() or not (args.data / "tatoeba").is_dir():
        raise SystemExit(f"no ntrex/ and tatoeba/ under {args.data}: pass --data ../shared/data")
    logging.basicConfig(level=logging.INFO, format="%(message)s", force=True)
    data = build_weights(args.data)
    args.out.write_bytes(data)
    log.info("wrote %s (%d bytes)", args.out, len(data))


if __name__ == "__main__":
    main()
