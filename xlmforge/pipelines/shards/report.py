"""The shard build report: per language (and pair) segments, tokens, fertility, p and q; a p-vs-q chart."""

from __future__ import annotations

import dataclasses
import io

from rich.table import Table

from xlmforge.pipelines.common.ledger import Ledger
from xlmforge.pipelines.shards.encode import DECONTAMINATE
from xlmforge.pipelines.shards.splits import REASON as DECONTAMINATED
from xlmforge.schemas.manifest import SamplingTable, ShardManifest


@dataclasses.dataclass(frozen=True)
class LanguageReport:
    key: str  # language code, or "src-tgt"
    kind: str  # mono | bitext
    num_segments: int  # train records
    num_tokens: int  # train tokens (both sides of a pair)
    num_valid: int
    num_test: int
    num_decontaminated: int
    p: float
    q: float

    @property
    def fertility(self) -> float:
        """Tokens per segment (per pair for bitext)."""
        return self.num_tokens / self.num_segments if self.num_segments else 0.0


def report_rows(manifest: ShardManifest, ledger: Ledger) -> list[LanguageReport]:
    """One row per language, then one per pair, from the manifest's sampling table and the ledger."""
    fmt = manifest.shards[0].format if manifest.shards else "arrow"
    held_out = {}
    for shard in manifest.shards:
        if shard.format == fmt and shard.split != "train":
            held_out[(shard.lang, shard.split)] = held_out.get((shard.lang, shard.split), 0) + shard.num_records
    decontaminated = {
        row.lang: row.dropped.get(DECONTAMINATED, 0) for row in ledger.rows() if row.stage == DECONTAMINATE
    }
    rows = []
    for kind, table in (("mono", manifest.sampling.languages), ("bitext", manifest.sampling.pairs)):
        for key, entry in table.items():
            rows.append(
                LanguageReport(
                    key,
                    kind,
                    entry.num_segments,
                    entry.num_tokens,
                    held_out.get((key, "valid"), 0),
                    held_out.get((key, "test"), 0),
                    decontaminated.get(key, 0),
                    entry.p,
                    entry.q,
                )
            )
    return rows


_COLUMNS = ("language", "kind", "segments", "tokens", "fertility", "valid", "test", "decontaminated", "p", "q")


def _cells(row: LanguageReport) -> tuple[str, ...]:
    return (
        row.key,
        row.kind,
        f"{row.num_segments:,}",
        f"{row.num_tokens:,}",
        f"{row.fertility:.2f}",
        f"{row.num_valid:,}",
        f"{row.num_test:,}",
        f"{row.num_decontaminated:,}",
        f"{row.p:.4f}",
        f"{row.q:.4f}",
    )


def report_table(rows: list[LanguageReport], sampling: SamplingTable) -> Table:
    """The report for the terminal (rich)."""
    title = f"Shards per language (train split; p by {sampling.unit}, q ∝ p^{sampling.alpha})"
    table = Table(title=title, title_justify="left")
    for name in _COLUMNS:
        table.add_column(name, justify="left" if name in ("language", "kind") else "right")
    for row in rows:
        table.add_row(*_cells(row))
    return table


def report_markdown(rows: list[LanguageReport], sampling: SamplingTable) -> str:
    """The report as a markdown table, written beside the manifest."""
    lines = [
        "# Shard build report",
        "",
        f"Train split per language and pair; fertility = tokens per segment; p by {sampling.unit}, "
        f"q ∝ p^{sampling.alpha} "
        "(normalized separately over languages and over pairs). valid/test: held-out records; decontaminated: "
        "training records dropped because their text is held out somewhere.",
        "",
        "| " + " | ".join(_COLUMNS) + " |",
        "|" + "|".join("---" if name in ("language", "kind") else "---:" for name in _COLUMNS) + "|",
    ]
    lines += ["| " + " | ".join(_cells(row)) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def sampling_chart(rows: list[LanguageReport], sampling: SamplingTable) -> bytes:
    """A PNG bar chart of p against q per language and pair."""
    import matplotlib  # imported on use: slow to import, and only the driver draws

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    width = max(6.0, 0.5 * len(rows) + 2)
    figure, axes = plt.subplots(figsize=(width, 4), dpi=100)
    positions = range(len(rows))
    axes.bar([x - 0.2 for x in positions], [r.p for r in rows], width=0.4, label="p (share of data)")
    axes.bar([x + 0.2 for x in positions], [r.q for r in rows], width=0.4, label=f"q ∝ p^{sampling.alpha} (sampling)")
    axes.set_xticks(list(positions), [r.key for r in rows], rotation=60, ha="right")
    num_languages = sum(r.kind == "mono" for r in rows)
    if 0 < num_languages < len(rows):  # p and q are normalized over languages and over pairs apart
        axes.axvline(num_languages - 0.5, color="grey", linestyle="--", linewidth=1)
    axes.set_ylabel("probability")
    axes.set_title("Sampling: data share p vs sampling probability q")
    axes.legend()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    plt.close(figure)
    return buffer.getvalue()
