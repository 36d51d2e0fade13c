"""Evaluation data for the bitext stages: perturbed NTREX document pairs with gold beads, link scores.

NTREX-128 is line-parallel across languages and made of ordered news articles. A document pair is a
run of consecutive lines; the English side is kept and the other side perturbed so the gold
alignment holds every bead kind: two adjacent lines merged (2-1), a line dropped (1-0), a line split
in two (1-2), a line from at least 100 lines away inserted (0-1). Alignment quality is the precision
and recall of links, the (source unit, target unit) pairs that the beads connect.
"""

from __future__ import annotations

import bisect
import dataclasses
import gzip
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import xxhash

from xlmforge.core.scripts import char_stats
from xlmforge.pipelines.bitext.align import align_sentences
from xlmforge.pipelines.bitext.sentences import SPACE_SEPARATED_SCRIPTS, sentence_spans
from xlmforge.pipelines.corpus.config import AlignConfig

#: The shared evaluation data, `../shared/data` from the repository root.
DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data"

GoldBead = tuple[tuple[int, ...], tuple[int, ...]]
_UNSPACED_JOIN_SCRIPTS = frozenset({"Hani", "Hira", "Kana"})
_CLAUSE_MARKS = ",;:，、；：،؛"
# Inserted lines come from this many lines away or more: another article, even in a whole-file document.
_INSERT_MIN_DISTANCE = 100


@dataclasses.dataclass(frozen=True)
class PerturbConfig:
    """How document pairs are cut from NTREX and how their target side is perturbed."""

    doc_lines: int = 40
    merge: float = 0.08  # per source line: merged with the next one on the target side (2-1)
    drop: float = 0.04  # dropped from the target side (1-0)
    split: float = 0.05  # split in two on the target side (1-2)
    insert: float = 0.03  # followed by a target line from at least 100 lines away (0-1)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.doc_lines < 2:
            raise ValueError(f"doc_lines must be at least 2, got {self.doc_lines}")
        rates = {"merge": self.merge, "drop": self.drop, "split": self.split, "insert": self.insert}
        for name, rate in rates.items():
            if not 0 <= rate <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {rate}")
        if self.merge + self.drop + self.split > 1:
            raise ValueError(f"merge + drop + split must not exceed 1, got {self.merge + self.drop + self.split}")


@dataclasses.dataclass(frozen=True)
class DocumentPair:
    """Source units, perturbed target units and the gold beads between them."""

    src: tuple[str, ...]
    tgt: tuple[str, ...]
    gold: tuple[GoldBead, ...]


@dataclasses.dataclass(frozen=True)
class LinkCounts:
    """Predicted, gold and correct links; add them up over documents for micro-averaged scores."""

    predicted: int = 0
    gold: int = 0
    correct: int = 0

    def __add__(self, other: LinkCounts) -> LinkCounts:
        return LinkCounts(self.predicted + other.predicted, self.gold + other.gold, self.correct + other.correct)

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.correct / self.gold if self.gold else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def read_ntrex(lang: str, data_dir: Path = DATA_DIR) -> list[str]:
    """The NTREX-128 lines of `lang` (ISO 639-3)."""
    return (data_dir / "ntrex" / f"{lang}.txt").read_text(encoding="utf-8").splitlines()


def read_tatoeba(lang: str, data_dir: Path = DATA_DIR) -> list[tuple[str, str, str]]:
    """(label, text, eng) rows of the Tatoeba test pairs of `lang` with English."""
    with gzip.open(data_dir / "tatoeba" / f"{lang}-eng.tsv.gz", "rt", encoding="utf-8") as f:
        rows = [line.rstrip("\n").split("\t") for line in f]
    return [(row[0], row[1], row[2]) for row in rows[1:] if len(row) == 3]


def _joiner(text: str) -> str:
    """The separator between two sentences of `text`'s script: none for Chinese and Japanese."""
    return "" if char_stats([text]).dominant_script()[0] in _UNSPACED_JOIN_SCRIPTS else " "


def split_unit(text: str, lang: str) -> tuple[str, str] | None:
    """`text` cut in two near its middle: at a sentence end, else a clause mark, else a space."""
    middle = len(text) / 2
    ends = [end for _, end in sentence_spans(text, lang)[:-1]]
    clause = [i + 1 for i, ch in enumerate(text) if ch in _CLAUSE_MARKS]
    spaces = [i for i, ch in enumerate(text) if ch == " "]
    for candidates in (ends, clause, spaces):
        # Pieces under a fifth of the line are not what a translator would make a sentence.
        inner = [c for c in candidates if len(text) / 5 <= c <= 4 * len(text) / 5]
        if inner:
            cut = min(inner, key=lambda c: abs(c - middle))
            return text[:cut].strip(), text[cut:].strip()
    return None


def perturbed_document_pairs(
    src_lines: Sequence[str], tgt_lines: Sequence[str], tgt_lang: str, config: PerturbConfig
) -> list[DocumentPair]:
    """Document pairs cut from line-parallel `src_lines`/`tgt_lines`, the target side perturbed."""
    if len(src_lines) != len(tgt_lines):
        raise ValueError(f"line-parallel input expected, got {len(src_lines)} and {len(tgt_lines)} lines")
    if config.insert and len(tgt_lines) <= 2 * _INSERT_MIN_DISTANCE:
        raise ValueError(f"insert needs more than {2 * _INSERT_MIN_DISTANCE} lines, got {len(tgt_lines)}")
    rng = np.random.default_rng(xxhash.xxh64_intdigest(f"{tgt_lang}:{config.seed}".encode()))
    pairs = []
    for start in range(0, len(src_lines) - config.doc_lines + 1, config.doc_lines):
        end = start + config.doc_lines
        tgt: list[str] = []
        gold: list[GoldBead] = []
        k = start
        while k < end:
            draw = rng.random()
            if draw < config.drop:
                gold.append(((k - start,), ()))
                k += 1
                continue
            if draw < config.drop + config.merge and k + 1 < end:
                gold.append(((k - start, k + 1 - start), (len(tgt),)))
                tgt.append(tgt_lines[k] + _joiner(tgt_lines[k]) + tgt_lines[k + 1])
                k += 2
            elif draw < config.drop + config.merge + config.split and (pieces := split_unit(tgt_lines[k], tgt_lang)):
                gold.append(((k - start,), (len(tgt), len(tgt) + 1)))
                tgt.extend(pieces)
                k += 1
            else:
                gold.append(((k - start,), (len(tgt),)))
                tgt.append(tgt_lines[k])
                k += 1
            if rng.random() < config.insert:
                distance = _INSERT_MIN_DISTANCE + int(rng.integers(0, len(tgt_lines) - 2 * _INSERT_MIN_DISTANCE))
                gold.append(((), (len(tgt),)))
                tgt.append(tgt_lines[(k + distance) % len(tgt_lines)])
        pairs.append(DocumentPair(tuple(src_lines[start:end]), tuple(tgt), tuple(gold)))
    return pairs


def links(beads: Iterable[tuple[Sequence[int], Sequence[int]]]) -> set[tuple[int, int]]:
    """The (source, target) index pairs connected by `beads`; 1-0 and 0-1 beads connect none."""
    return {(s, t) for src, tgt in beads for s in src for t in tgt}


def score_links(predicted: set[tuple[int, int]], gold: set[tuple[int, int]]) -> LinkCounts:
    """Counts for precision and recall of `predicted` links against `gold` ones."""
    return LinkCounts(predicted=len(predicted), gold=len(gold), correct=len(predicted & gold))


#: How the aligner gets its sentences: the gold units themselves; the units split one line each;
#: or the units run into paragraphs of up to `PARAGRAPH_UNITS` and split. A paragraph also ends
#: after a unit without final punctuation (a headline stands on its own line), except in Thai and
#: Lao, which have no final punctuation: there the splitter has only spaces to go by.
Segmentation = Literal["units", "lines", "paragraphs"]
PARAGRAPH_UNITS = 4
_FINAL_MARKS = ".!?…。！？।؟۔።"
_CLOSING_MARKS = "\"'”’»」』)）"


def _ends_paragraph(unit: str) -> bool:
    """Whether a paragraph ends after `unit`: it has no final punctuation in a script that has some."""
    if char_stats([unit]).dominant_script()[0] in SPACE_SEPARATED_SCRIPTS:
        return False
    return not unit.rstrip().rstrip(_CLOSING_MARKS).endswith(tuple(_FINAL_MARKS))


def _document(units: Sequence[str], units_per_paragraph: int) -> tuple[str, list[tuple[int, int]]]:
    """The text of `units` in paragraphs of up to `units_per_paragraph` lines, and each unit's span."""
    parts, spans, position, in_paragraph = [], [], 0, 0
    for index, unit in enumerate(units):
        if index:
            new_paragraph = in_paragraph == units_per_paragraph or _ends_paragraph(units[index - 1])
            separator = "\n" if new_paragraph else _joiner(units[index - 1])
            in_paragraph = 0 if new_paragraph else in_paragraph
            parts.append(separator)
            position += len(separator)
        parts.append(unit)
        in_paragraph += 1
        spans.append((position, position + len(unit)))
        position += len(unit)
    return "".join(parts), spans


def _sentences_with_units(
    units: Sequence[str], lang: str, segmentation: Segmentation
) -> tuple[list[str], list[list[int]]]:
    """The sentences the aligner sees, each with the units it overlaps."""
    if segmentation == "units":
        return list(units), [[index] for index in range(len(units))]
    text, unit_spans = _document(units, 1 if segmentation == "lines" else PARAGRAPH_UNITS)
    unit_starts = [start for start, _ in unit_spans]
    sentences, owners = [], []
    for start, end in sentence_spans(text, lang):
        first = bisect.bisect_right(unit_starts, start) - 1
        last = bisect.bisect_left(unit_starts, end) - 1
        sentences.append(text[start:end])
        owners.append(list(range(first, last + 1)))
    return sentences, owners


def predicted_unit_links(
    pair: DocumentPair, src_lang: str, tgt_lang: str, config: AlignConfig, segmentation: Segmentation
) -> set[tuple[int, int]]:
    """Links between units found by the aligner, projected from the sentences it aligned."""
    src, src_owners = _sentences_with_units(pair.src, src_lang, segmentation)
    tgt, tgt_owners = _sentences_with_units(pair.tgt, tgt_lang, segmentation)
    sentence_links = links((b.src, b.tgt) for b in align_sentences(src, tgt, config))
    return {(su, tu) for s, t in sentence_links for su in src_owners[s] for tu in tgt_owners[t]}
