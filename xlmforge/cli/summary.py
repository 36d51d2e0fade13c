"""What a build under OUT_DIR holds, for the terminal: generations, the per-language table (segments,
tokens, fertility, p, q), evaluation and zero-shot fine-tuning results and where every output is.
Reads files only (no Prefect)."""

from __future__ import annotations

import json
from collections.abc import Iterable

from rich.console import Group
from rich.table import Table

from xlmforge.core import storage
from xlmforge.core.languages import languages
from xlmforge.flows.generations import KINDS, read_record
from xlmforge.flows.layout import OutputLayout
from xlmforge.pipelines.common.ledger import Ledger
from xlmforge.pipelines.shards.layout import ShardsLayout
from xlmforge.pipelines.shards.report import report_rows
from xlmforge.schemas.manifest import ShardManifest


def generations_table(out_dir: str) -> Table | None:
    layout = OutputLayout.of(out_dir)
    record = read_record(layout.corpus)
    if record is None:
        return None
    table = Table(title=f"Corpus generations ({layout.corpus})", title_justify="left")
    for name in ("generation", "sources", "builds", "segments", "pairs"):
        table.add_column(name, justify="right" if name in ("segments", "pairs") else "left")
    for generation in record.generations:
        segments = pairs = 0
        for kind in KINDS:
            if kind in generation.builds:
                path = storage.join(layout.corpus, generation.directory(kind), "corpus.json")
                metadata = json.loads(storage.read_bytes(path))
                segments, pairs = segments + metadata["num_segments"], pairs + metadata["num_pairs"]
        dirs = "\n".join(generation.directory(k) for k in KINDS if k in generation.builds)
        table.add_row(str(generation.number), _names(sorted(generation.sources)), dirs, f"{segments:,}", f"{pairs:,}")
    return table


def _names(names: list[str], shown: int = 4) -> str:
    more = f", ... ({len(names)} in all)" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def languages_table(out_dir: str) -> Table | None:
    """Per language and pair of the shards' train split: segments, tokens, fertility, p and q."""
    layout = ShardsLayout(OutputLayout.of(out_dir).shards)
    if not storage.exists(layout.manifest):
        return None
    manifest = ShardManifest.model_validate_json(storage.read_bytes(layout.manifest))
    ledger = Ledger.from_json(json.loads(storage.read_bytes(layout.ledger)))
    sampling = manifest.sampling
    table = Table(title=f"Per language (train split; fertility = tokens per segment; p by {sampling.unit}, "
                  f"q ∝ p^{sampling.alpha}; full report in {layout.report})", title_justify="left")  # fmt: skip
    for name in ("language", "name", "kind", "segments", "tokens", "fertility", "p", "q"):
        table.add_column(name, justify="left" if name in ("language", "name", "kind") else "right")
    known = languages()
    for row in report_rows(manifest, ledger):
        name = known[row.key].name if row.key in known else ""
        table.add_row(row.key, name, row.kind, f"{row.num_segments:,}", f"{row.num_tokens:,}", f"{row.fertility:.1f}",
                      f"{row.p:.4f}", f"{row.q:.4f}")  # fmt: skip
    return table


def evaluation_table(evaluation: dict) -> Table:
    """Retrieval per language against the pivot, with MLM and TLM perplexity; the median MLM perplexity."""
    pivot, retrieval = evaluation["pivot"], evaluation["retrieval"]
    perplexity = {tuple(name.split("/", 1)): value for name, value in evaluation["perplexity"].items()}
    mlm = sorted(v for (objective, _), v in perplexity.items() if objective == "mlm")
    notes = [f"median MLM perplexity over {len(mlm)} languages: {mlm[len(mlm) // 2]:.1f}"] if mlm else []
    if retrieval:
        mean, chance = retrieval_against_chance(retrieval)
        notes.insert(0, f"mean retrieval {mean:.1%}, {mean / chance:.1f}x chance ({chance:.1%})")
    table = Table(
        title=f"Evaluation on the held-out {evaluation['split']} split (retrieval chance level: 1/pairs)",
        title_justify="left", caption="; ".join([*notes, f"everything in {evaluation.get('path', '')}"]),
        caption_justify="left",
    )  # fmt: skip
    for name in ("language", "pairs", f"x->{pivot}", f"{pivot}->x", "x chance", "MLM ppl", f"TLM ppl ({pivot}-x)"):
        table.add_column(name, justify="left" if name == "language" else "right")
    for lang in sorted(retrieval) or sorted(lang for objective, lang in perplexity if objective == "mlm"):
        score = retrieval.get(lang)
        cells = [f"{score['num_pairs']:,}", f"{score['to_pivot']:.1%}", f"{score['from_pivot']:.1%}",
                 f"{mean_accuracy(score) * score['num_pairs']:.1f}"] if score else ["", "", "", ""]  # fmt: skip
        tlm = perplexity.get(("tlm", f"{pivot}-{lang}"), perplexity.get(("tlm", f"{lang}-{pivot}")))
        table.add_row(lang, *cells, _number(perplexity.get(("mlm", lang))), _number(tlm))
    return table


def zero_shot_table(result: dict) -> Table:
    """Accuracy and macro-F1 per language of a fine-tuned classifier, the training language first."""
    from xlmforge.flows.artifacts import zero_shot_rows

    average = result["zero_shot_average"]
    caption = (f"zero-shot average: accuracy {average['accuracy']:.1%}, macro-F1 {average['macro_f1']:.1%} "
               f"(majority baseline {average['majority']:.1%}); " if average else "")  # fmt: skip
    table = Table(
        title=f"Fine-tuned on {', '.join(result['train_langs'])} (labels {', '.join(result['labels'])}; best epoch "
        f"{result['best_epoch']}), scored per language", title_justify="left",
        caption=f"{caption}everything in {result['path']}", caption_justify="left",
    )  # fmt: skip
    for name in ("language", "setting", "examples", "accuracy", "macro-F1", "majority baseline"):
        table.add_column(name, justify="left" if name in ("language", "setting") else "right")
    for row in zero_shot_rows(result["scores"], result["train_langs"]):
        table.add_row(row["lang"], row["setting"], f"{row['examples']:,}", f"{row['accuracy']:.1%}",
                      f"{row['macro-F1']:.1%}", f"{row['majority baseline']:.1%}")  # fmt: skip
    return table


def mean_accuracy(score: dict) -> float:
    """Retrieval accuracy of one language (an evaluation's RetrievalScore as a dict), both directions averaged."""
    return (score["to_pivot"] + score["from_pivot"]) / 2


def retrieval_against_chance(retrieval: dict[str, dict]) -> tuple[float, float]:
    """Mean retrieval accuracy over the languages, and the mean chance level (1/pairs) it compares with."""
    mean = sum(mean_accuracy(score) for score in retrieval.values()) / len(retrieval)
    return mean, sum(1 / score["num_pairs"] for score in retrieval.values()) / len(retrieval)


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def latest_evaluation(out_dir: str) -> dict | None:
    found = storage.match(storage.join(OutputLayout.of(out_dir).eval, "*.json"), allow_empty=True)
    if not found:
        return None
    newest = max(found, key=lambda info: _mtime(info.path))
    return json.loads(storage.read_bytes(newest.path))


def _mtime(path: str) -> float:
    from apache_beam.io.filesystems import FileSystems

    return FileSystems.last_updated(path)


def locations(items: Iterable[tuple[str, str]]) -> Table:
    table = Table(title="Where everything is", title_justify="left", show_header=False)
    table.add_column("what")
    table.add_column("path", overflow="fold")
    for what, path in items:
        table.add_row(what, path)
    return table


def build_summary(out_dir: str) -> Group:
    """Every table that OUT_DIR has the files for."""
    tables = [generations_table(out_dir), languages_table(out_dir)]
    evaluation = latest_evaluation(out_dir)
    if evaluation:
        tables.append(evaluation_table(evaluation))
    return Group(*(t for t in tables if t is not None))
