"""Prefect artifacts of every run: the per-language ledger, the sampling table, the vocabulary fit,
training and evaluation results. Rows are built by pure functions (tested without Prefect); the
`publish_*` functions create the artifacts and must run inside a flow or task run.

Artifact keys are fixed, so the Artifacts page shows each one's history across runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from prefect.artifacts import create_markdown_artifact, create_table_artifact

from xlmforge.flows.vocab_fit import VocabFit
from xlmforge.pipelines.common.ledger import Ledger

LEDGER_KEY = "corpus-ledger"
SAMPLING_KEY = "sampling-table"
VOCAB_FIT_KEY = "vocab-fit"
TRAINING_KEY = "pretrain-run"
RETRIEVAL_KEY = "retrieval-accuracy"
PERPLEXITY_KEY = "validation-perplexity"
EXPORT_KEY = "hf-export"
ZERO_SHOT_KEY = "zero-shot-transfer"


def ledger_rows(ledger: Ledger, build: str) -> list[dict[str, Any]]:
    """The ledger of one corpus build, one row per language and stage (languages together)."""
    order = {stage: i for i, stage in enumerate(ledger.stages)}
    rows = sorted(ledger.rows(), key=lambda r: (r.lang, order[r.stage]))
    return [
        {
            "build": build, "lang": r.lang, "stage": r.stage, "in": r.num_in, "kept": r.num_kept,
            "dropped": r.num_dropped,
            "reasons": ", ".join(f"{reason} {n}" for reason, n in sorted(r.dropped.items(), key=lambda kv: -kv[1])),
        }
        for r in rows
    ]  # fmt: skip


def sampling_markdown(report_markdown: str, chart_path: str, manifest_path: str, plan_reason: str) -> str:
    """The shard build's per-language report (p, q, fertility...) with where its chart and manifest are."""
    return (
        f"{report_markdown.rstrip()}\n\n"
        f"p-against-q chart: `{chart_path}`  \nmanifest: `{manifest_path}`  \ncorpus: {plan_reason}\n"
    )


def vocab_fit_rows(fits: Iterable[VocabFit]) -> list[dict[str, Any]]:
    return [
        {
            "lang": f.lang, "new": f.new, "segments sampled": f.num_segments,
            "pieces/segment": round(f.tokens_per_segment, 2), "pieces/word": round(f.tokens_per_word, 2),
            "unknown": f"{f.unknown_rate:.2%}", "byte fallback": f"{f.byte_fallback_rate:.2%}", "warning": f.warning,
        }
        for f in fits
    ]  # fmt: skip


def retrieval_rows(scores: Mapping[str, Mapping[str, Any]], pivot: str) -> list[dict[str, Any]]:
    return [
        {"lang": lang, "pairs": s["num_pairs"], f"{lang}->{pivot}": round(s["to_pivot"], 4),
         f"{pivot}->{lang}": round(s["from_pivot"], 4)}
        for lang, s in sorted(scores.items())
    ]  # fmt: skip


def perplexity_rows(perplexity: Mapping[str, float]) -> list[dict[str, Any]]:
    rows = []
    for name, value in sorted(perplexity.items()):
        objective, lang = name.split("/", 1)
        rows.append({"objective": objective, "lang": lang, "perplexity": round(value, 3)})
    return rows


def zero_shot_rows(scores: Mapping[str, Mapping[str, Any]], train_langs: list[str]) -> list[dict[str, Any]]:
    """Per language: examples, accuracy, macro-F1 and the majority baseline; the training language first."""
    order = sorted(scores, key=lambda lang: (lang not in train_langs, lang))
    return [
        {"lang": lang, "setting": "trained on" if lang in train_langs else "zero-shot",
         "examples": scores[lang]["num_examples"], "accuracy": round(scores[lang]["accuracy"], 4),
         "macro-F1": round(scores[lang]["macro_f1"], 4), "majority baseline": round(scores[lang]["majority"], 4)}
        for lang in order
    ]  # fmt: skip


def zero_shot_markdown(rows: list[dict[str, Any]], average: Mapping[str, float], classifier: str) -> str:
    """The per-language table as markdown, with the zero-shot average and where the classifier is."""
    lines = ["# Zero-shot transfer", "", "| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(str(value) for value in row.values()) + " |" for row in rows]
    if average:
        num = sum(row["setting"] == "zero-shot" for row in rows)
        lines += ["", f"zero-shot average over {num} language{'s' * (num != 1)}: accuracy {average['accuracy']:.4f}, "
                  f"macro-F1 {average['macro_f1']:.4f} (majority baseline {average['majority']:.4f})"]  # fmt: skip
    return "\n".join(lines + ["", f"classifier: `{classifier}`", ""])


def publish_ledger(rows: list[dict[str, Any]], description: str) -> None:
    create_table_artifact(rows, key=LEDGER_KEY, description=description)


def publish_sampling(markdown: str) -> None:
    create_markdown_artifact(markdown, key=SAMPLING_KEY, description="Language sampling table of the shard build")


def publish_vocab_fit(fits: list[VocabFit]) -> None:
    create_table_artifact(
        vocab_fit_rows(fits), key=VOCAB_FIT_KEY, description="How the kept vocabulary fits each language"
    )


def publish_training(checkpoint: str, step: int, command: list[str], seconds: float, reused: bool) -> None:
    how = "reused from the cache (nothing changed)" if reused else f"trained in {seconds:.0f} s"
    create_markdown_artifact(
        f"# Pretraining\n\ncheckpoint: `{checkpoint}` (step {step}), {how}\n\ncommand: `{' '.join(command)}`\n",
        key=TRAINING_KEY,
        description="The checkpoint of the last pretraining run",
    )


def publish_evaluation(scores: Mapping[str, Mapping[str, Any]], perplexity: Mapping[str, float], pivot: str) -> None:
    if scores:
        create_table_artifact(
            retrieval_rows(scores, pivot), key=RETRIEVAL_KEY, description="Held-out bitext retrieval accuracy"
        )
    if perplexity:
        create_table_artifact(perplexity_rows(perplexity), key=PERPLEXITY_KEY, description="Validation perplexity")


def publish_zero_shot(scores: Mapping[str, Mapping[str, Any]], train_langs: list[str], average: Mapping[str, float],
                      classifier: str) -> None:  # fmt: skip
    rows = zero_shot_rows(scores, train_langs)
    create_table_artifact(rows, key=ZERO_SHOT_KEY, description="Fine-tuned accuracy and macro-F1 per language")
    create_markdown_artifact(zero_shot_markdown(rows, average, classifier), key=f"{ZERO_SHOT_KEY}-summary",
                             description="Zero-shot transfer of the fine-tuned classifier")  # fmt: skip


def publish_export(out_dir: str, checkpoint: str) -> None:
    create_markdown_artifact(
        f"# Export\n\n`{out_dir}` (transformers XLMWithLMHeadModel and tokenizer) from `{checkpoint}`\n",
        key=EXPORT_KEY,
        description="The exported model",
    )
