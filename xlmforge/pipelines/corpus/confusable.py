"""A second opinion inside groups of close languages that lid.176 cannot tell apart.

lid.176 names the group right (Bosnian/Croatian/Serbian, Malay/Indonesian, Bokmål/Nynorsk/Danish)
but picks the member little better than chance on short text. Inside each group a multinomial naive
Bayes over words and their space-padded character 1-4-grams picks the member. Its weights are package
data (`confusable_weights.json.gz`, built by `python -m xlmforge.pipelines.corpus.confusable_training`,
which documents the training text): for each member but the group's first, log p(feature | member)
- log p(feature | first member). A group member without training text (hbs) is not a candidate: text
lid.176 calls hbs is given to bos, hrv or srp. A group without weights (zho/yue/wuu, see
confusable_training.py) is left to lid.176.

The weights are derived from NTREX-128 (CC BY-SA 4.0), the tuning half of the Tatoeba-Challenge test
sets (CC BY 2.0 FR) and Django's translation catalogs (BSD-3-Clause), and are distributed under
CC BY-SA 4.0 with attribution to all three.
"""

from __future__ import annotations

import functools
import gzip
import json
import re
from collections.abc import Iterable
from importlib import resources
from itertools import repeat

WEIGHTS_FILE = "confusable_weights.json.gz"
# The sha256 of the shipped weights file: tests/pipelines/corpus/test_confusable.py checks the file
# against it and checks that rebuilding from ../shared/data gives the same bytes.
WEIGHTS_SHA256 = "e78a6a1f6120568998d9986e4a0948d1b9c8ea39b4b57faedd2150ef7545e5ae"
MAX_CHARS = 300  # the opening of a line decides; longer lines only cost more
NGRAM_ORDERS = (1, 2, 3, 4)
_WORD = re.compile(r"[^\W\d_]+")  # runs of letters: digits and punctuation say nothing of the member


def words(text: str) -> list[str]:
    """The lowercased runs of letters in the opening `MAX_CHARS` characters of `text`."""
    return _WORD.findall(text[:MAX_CHARS].lower())


def word_features(word: str) -> list[str]:
    """The character 1-4-grams of `word` padded with spaces, and the word itself (as `<word>`)."""
    padded = f" {word} "
    return [padded[i : i + n] for n in NGRAM_ORDERS for i in range(len(padded) - n + 1)] + [f"<{word}>"]


def features(text: str) -> list[str]:
    """Every feature of `text`: the model is a sum over its words."""
    return [feature for word in words(text) for feature in word_features(word)]


@functools.cache
def shipped_weights() -> dict:
    """The weights file shipped with the package, parsed."""
    data = resources.files(__package__).joinpath(WEIGHTS_FILE).read_bytes()
    return json.loads(gzip.decompress(data))


class GroupDiscriminator:
    """Naive Bayes over the trained members of one confusable group (or some of them)."""

    # A line's score is the sum of its words' scores, so each word's is computed once and memoized:
    # text is Zipfian, most words of a line were seen before, and a seen word costs one lookup.
    MAX_MEMOIZED_WORDS = 200_000

    def __init__(self, members: list[str], reference: str, weights: dict[str, dict[str, float]]):
        # Weights are log ratios to `reference`, whose own score is 0: the argmax over any subset of
        # the trained members is the argmax of their likelihoods.
        self.members = members
        self._reference = reference if reference in members else None
        self._scored = [m for m in members if m != reference]  # the members with weights
        self._weights = [weights[m] for m in self._scored]
        self._word_scores: list[dict[str, float]] = [{} for _ in self._scored]

    def _memoize(self, new_words: set[str]) -> None:
        if len(self._word_scores[0]) + len(new_words) > self.MAX_MEMOIZED_WORDS:
            for scores in self._word_scores:
                scores.clear()
        for word in new_words:
            grams = word_features(word)
            for weights, scores in zip(self._weights, self._word_scores):
                scores[word] = sum(map(weights.get, grams, repeat(0.0)))

    def member_of(self, text: str) -> str | None:
        """The most likely member, None when no word of `text` moves the decision."""
        line_words = words(text)
        new_words = {word for word in line_words if word not in self._word_scores[0]}
        if new_words:
            self._memoize(new_words)
        scores = {m: sum(map(s.__getitem__, line_words)) for m, s in zip(self._scored, self._word_scores)}
        if not any(scores.values()):
            return None
        if self._reference is not None:
            scores[self._reference] = 0.0
        return max(self.members, key=scores.__getitem__)


class ConfusableResolver:
    """Picks the member of a confusable group a text is written in."""

    def __init__(self, groups: Iterable[Iterable[str]]):
        self._discriminators: dict[str, GroupDiscriminator] = {}  # any member code -> its group's model
        for group in map(tuple, groups):
            for trained in shipped_weights()["groups"]:
                members = [m for m in trained["members"] if m in group]
                if len(members) >= 2:
                    model = GroupDiscriminator(members, trained["members"][0], trained["weights"])
                    self._discriminators.update(dict.fromkeys(group, model))

    def covers(self, code: str) -> bool:
        return code in self._discriminators

    def resolve(self, text: str, code: str) -> str:
        """The member of `code`'s group that `text` is written in (`code` when the model has no answer)."""
        return self._discriminators[code].member_of(text) or code
