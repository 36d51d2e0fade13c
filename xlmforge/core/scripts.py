"""Unicode scripts and character classes, looked up for whole batches of text at once.

The filters, the near-duplicate shingler and the sentence splitter all ask per-segment questions
such as "what share of the letters is Cyrillic" or "is this CJK"; answering them character by
character in Python is too slow for the corpus build, so every code point is mapped through two
lookup tables built once per process.
"""

from __future__ import annotations

import dataclasses
import functools
import unicodedata

import numpy as np

# ISO 15924 codes. "Zyyy" (common) covers digits, punctuation, symbols, spaces and anything unlisted.
SCRIPTS: tuple[str, ...] = (
    "Zyyy", "Latn", "Grek", "Cyrl", "Armn", "Hebr", "Arab", "Thaa", "Deva", "Beng", "Guru", "Gujr",
    "Orya", "Taml", "Telu", "Knda", "Mlym", "Sinh", "Thai", "Laoo", "Tibt", "Mymr", "Geor", "Hang",
    "Ethi", "Khmr", "Hira", "Kana", "Hani",
)  # fmt: skip
SCRIPT_INDEX = {name: i for i, name in enumerate(SCRIPTS)}

#: Scripts written without spaces between words: shingled and measured by characters, not words.
UNSPACED_SCRIPTS = frozenset({"Hani", "Hira", "Kana", "Thai", "Laoo", "Khmr", "Mymr", "Tibt"})

# Code point ranges (inclusive) of the scripts above, from the Unicode block chart.
_RANGES: dict[str, tuple[tuple[int, int], ...]] = {
    "Latn": ((0x41, 0x5A), (0x61, 0x7A), (0xAA, 0xAA), (0xBA, 0xBA), (0xC0, 0xD6), (0xD8, 0xF6),
             (0xF8, 0x2AF), (0x1D00, 0x1D7F), (0x1E00, 0x1EFF), (0x2C60, 0x2C7F), (0xA720, 0xA7FF),
             (0xAB30, 0xAB6F), (0xFB00, 0xFB06), (0xFF21, 0xFF3A), (0xFF41, 0xFF5A)),
    "Grek": ((0x370, 0x3FF), (0x1F00, 0x1FFF)),
    "Cyrl": ((0x400, 0x52F), (0x1C80, 0x1C8F), (0x2DE0, 0x2DFF), (0xA640, 0xA69F)),
    "Armn": ((0x531, 0x58F), (0xFB13, 0xFB17)),
    "Hebr": ((0x591, 0x5FF), (0xFB1D, 0xFB4F)),
    "Arab": ((0x600, 0x6FF), (0x750, 0x77F), (0x870, 0x8FF), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF)),
    "Thaa": ((0x780, 0x7BF),),
    "Deva": ((0x900, 0x97F), (0xA8E0, 0xA8FF)),
    "Beng": ((0x980, 0x9FF),),
    "Guru": ((0xA00, 0xA7F),),
    "Gujr": ((0xA80, 0xAFF),),
    "Orya": ((0xB00, 0xB7F),),
    "Taml": ((0xB80, 0xBFF),),
    "Telu": ((0xC00, 0xC7F),),
    "Knda": ((0xC80, 0xCFF),),
    "Mlym": ((0xD00, 0xD7F),),
    "Sinh": ((0xD80, 0xDFF),),
    "Thai": ((0xE00, 0xE7F),),
    "Laoo": ((0xE80, 0xEFF),),
    "Tibt": ((0xF00, 0xFFF),),
    "Mymr": ((0x1000, 0x109F), (0xA9E0, 0xA9FF), (0xAA60, 0xAA7F)),
    "Geor": ((0x10A0, 0x10FF), (0x1C90, 0x1CBF), (0x2D00, 0x2D2F)),
    "Hang": ((0x1100, 0x11FF), (0x3130, 0x318F), (0xA960, 0xA97F), (0xAC00, 0xD7FF), (0xFFA0, 0xFFDC)),
    "Ethi": ((0x1200, 0x139F), (0x2D80, 0x2DDF), (0xAB00, 0xAB2F)),
    "Khmr": ((0x1780, 0x17FF), (0x19E0, 0x19FF)),
    "Hira": ((0x3041, 0x309F), (0x1B001, 0x1B11F)),
    "Kana": ((0x30A0, 0x30FF), (0x31F0, 0x31FF), (0xFF66, 0xFF9F)),
    "Hani": ((0x2E80, 0x2FDF), (0x3005, 0x3007), (0x3021, 0x3029), (0x3038, 0x303B), (0x3400, 0x4DBF),
             (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x323AF)),
}  # fmt: skip

# Character classes, coarser than Unicode general categories.
OTHER, LETTER, MARK, DIGIT, PUNCT, SYMBOL, SPACE, CONTROL = range(8)
_CLASS_OF_CATEGORY = {"L": LETTER, "M": MARK, "N": DIGIT, "P": PUNCT, "S": SYMBOL, "Z": SPACE, "C": CONTROL}
_NUM_CODE_POINTS = 0x110000
# General categories are computed up to the end of the CJK extension planes; beyond is OTHER.
_CATEGORY_LIMIT = 0x323B0


@functools.cache
def _tables() -> tuple[np.ndarray, np.ndarray]:
    """(script index, character class) for every code point; built once per process (~0.2 s)."""
    scripts = np.zeros(_NUM_CODE_POINTS, dtype=np.uint8)
    for name, ranges in _RANGES.items():
        for lo, hi in ranges:
            scripts[lo : hi + 1] = SCRIPT_INDEX[name]
    classes = np.full(_NUM_CODE_POINTS, OTHER, dtype=np.uint8)
    for cp in range(_CATEGORY_LIMIT):
        category = unicodedata.category(chr(cp))
        # Unassigned code points (Cn) are OTHER, not CONTROL.
        if category != "Cn":
            classes[cp] = _CLASS_OF_CATEGORY[category[0]]
    classes[[0x9, 0xA, 0xD]] = SPACE
    # Only letters and marks carry a script; digits and punctuation inside a block stay common.
    scripts[(classes != LETTER) & (classes != MARK)] = SCRIPT_INDEX["Zyyy"]
    return scripts, classes


def code_points(text: str) -> np.ndarray:
    """The code points of `text` as uint32."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


@dataclasses.dataclass(frozen=True)
class CharStats:
    """Per-text character counts for a batch of texts (arrays of length `len(texts)`)."""

    num_chars: np.ndarray
    by_class: np.ndarray  # (num_texts, 8) counts per character class
    letters_by_script: np.ndarray  # (num_texts, len(SCRIPTS)) letter and mark counts per script

    def count(self, char_class: int) -> np.ndarray:
        return self.by_class[:, char_class]

    def script_share(self, scripts: frozenset[str] | set[str]) -> np.ndarray:
        """Share of letters (and marks) written in any of `scripts`; 0 for texts without letters."""
        columns = [SCRIPT_INDEX[s] for s in scripts if s in SCRIPT_INDEX]
        total = self.letters_by_script.sum(axis=1)
        inside = self.letters_by_script[:, columns].sum(axis=1)
        return np.divide(inside, total, out=np.zeros(len(total)), where=total > 0)

    def dominant_script(self) -> list[str]:
        """The script with most letters in each text ("Zyyy" when it has none)."""
        letters = self.letters_by_script.copy()
        letters[:, SCRIPT_INDEX["Zyyy"]] = 0
        best = letters.argmax(axis=1)
        best[letters.max(axis=1) == 0] = SCRIPT_INDEX["Zyyy"]
        return [SCRIPTS[i] for i in best]


def char_stats(texts: list[str]) -> CharStats:
    """Character class and script counts of each text, computed in one vectorised pass."""
    scripts, classes = _tables()
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    cps = code_points("".join(texts))
    owner = np.repeat(np.arange(len(texts)), lengths)
    num_texts = len(texts)
    cls = classes[cps]
    by_class = np.bincount(owner * 8 + cls, minlength=num_texts * 8).reshape(num_texts, 8)
    is_letter = (cls == LETTER) | (cls == MARK)
    num_scripts = len(SCRIPTS)
    script_keys = owner[is_letter] * num_scripts + scripts[cps[is_letter]]
    letters_by_script = np.bincount(script_keys, minlength=num_texts * num_scripts).reshape(num_texts, num_scripts)
    return CharStats(num_chars=lengths, by_class=by_class, letters_by_script=letters_by_script)


def classes_of(cps: np.ndarray) -> np.ndarray:
    """The character class of each code point."""
    return _tables()[1][cps]


def scripts_of(cps: np.ndarray) -> np.ndarray:
    """The script index (into SCRIPTS) of each code point; "Zyyy" for non-letters."""
    return _tables()[0][cps]


# Latin-character equivalents of one letter, for comparing lengths across scripts. Measured on
# NTREX-128 as English non-space characters per letter of the script (zho, jpn, kor, amh, heb);
# scripts not listed measured within 0.8-1.1 of English, which the aligner's per-document length
# ratio absorbs.
LENGTH_WEIGHTS: dict[str, float] = {"Hani": 2.8, "Hira": 1.6, "Kana": 1.6, "Hang": 2.1, "Ethi": 1.6, "Hebr": 1.25}


@functools.cache
def _length_weight_vector() -> np.ndarray:
    return np.array([LENGTH_WEIGHTS.get(name, 1.0) for name in SCRIPTS])


def weighted_lengths(texts: list[str]) -> np.ndarray:
    """Script-aware length of each text in Latin-character equivalents; spaces and controls count 0."""
    stats = char_stats(texts)
    letters = stats.letters_by_script
    others = stats.num_chars - stats.count(SPACE) - stats.count(CONTROL) - letters.sum(axis=1)
    return others + letters @ _length_weight_vector()
