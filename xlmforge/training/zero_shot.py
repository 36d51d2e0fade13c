"""Zero-shot transfer scores of a fine-tuned classifier: accuracy and macro-F1 per language of the
evaluation files, beside the majority-class baseline (the accuracy of always answering the most
frequent label of that language)."""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Sequence
from pathlib import Path

from xlmforge.training.finetune import load_classifier, predict, read_checked


@dataclasses.dataclass(frozen=True)
class LanguageScore:
    lang: str
    num_examples: int
    accuracy: float
    macro_f1: float  # mean F1 over the labels that occur in the gold labels or the predictions
    majority: float  # accuracy of always predicting this language's most frequent label


def macro_f1(gold: Sequence[int], predicted: Sequence[int]) -> float:
    """Unweighted mean of per-label F1 (as scikit-learn's f1_score(average="macro"))."""
    scores = []
    for label in sorted(set(gold) | set(predicted)):
        true_positive = sum(g == p == label for g, p in zip(gold, predicted, strict=True))
        num_gold, num_predicted = sum(g == label for g in gold), sum(p == label for p in predicted)
        scores.append(2 * true_positive / (num_gold + num_predicted))
    return sum(scores) / len(scores)


def language_score(lang: str, gold: Sequence[int], predicted: Sequence[int]) -> LanguageScore:
    correct = sum(g == p for g, p in zip(gold, predicted, strict=True))
    majority = collections.Counter(gold).most_common(1)[0][1]
    return LanguageScore(lang, len(gold), correct / len(gold), macro_f1(gold, predicted), majority / len(gold))


@dataclasses.dataclass(frozen=True)
class ZeroShotScores:
    """The scores of a classifier per language, and their mean over the languages it was not trained on."""

    labels: list[str]
    train_langs: list[str]
    by_lang: dict[str, LanguageScore]
    transfer_average: dict[str, float]  # accuracy, macro_f1, majority; empty without such a language


def zero_shot_scores(classifier: str | Path, eval_files: Sequence[str], batch_size: int = 64) -> ZeroShotScores:
    """Scores per language (the `lang` column) over all evaluation files together."""
    model, task, tree = load_classifier(classifier)
    by_lang: dict[str, tuple[list[int], list[int]]] = {}
    for path in eval_files:
        examples = [task.encode(example) for example in read_checked(path, task).examples]
        for example, label in zip(examples, predict(model, examples, batch_size).tolist(), strict=True):
            gold, predicted = by_lang.setdefault(example.lang, ([], []))
            gold.append(example.label)
            predicted.append(label)
    scores = {lang: language_score(lang, *by_lang[lang]) for lang in sorted(by_lang)}
    train_langs = list(tree["train_langs"])
    transferred = [score for lang, score in scores.items() if lang not in train_langs]
    return ZeroShotScores(task.labels, train_langs, scores, average(transferred) if transferred else {})


def average(scores: Sequence[LanguageScore]) -> dict[str, float]:
    """Mean accuracy, macro-F1 and majority baseline over languages (each language counts once)."""
    return {name: sum(getattr(s, name) for s in scores) / len(scores) for name in ("accuracy", "macro_f1", "majority")}
