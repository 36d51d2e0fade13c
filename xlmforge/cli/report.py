"""Human-readable views of a build's ledger, for the terminal (rich) and for markdown artifacts."""

from __future__ import annotations

from rich.table import Table

from xlmforge.core.languages import languages
from xlmforge.pipelines.common.ledger import IN, KEPT, Ledger


def stage_rows(ledger: Ledger) -> list[tuple[str, int, str, str]]:
    """(stage, in, kept, dropped by reason) summed over languages, in stage order; a stage that changes
    the unit of counting (sentence alignment) shows what it passes on beside what it keeps."""
    rows = []
    for stage in ledger.stages:
        dropped: dict[str, int] = {}
        for row in ledger.rows():
            if row.stage == stage:
                for reason, n in row.dropped.items():
                    dropped[reason] = dropped.get(reason, 0) + n
        reasons = ", ".join(f"{reason} {n:,}" for reason, n in sorted(dropped.items(), key=lambda kv: -kv[1]))
        kept, passed_on = ledger.total(stage, KEPT), ledger.passed_on(stage)
        shown = f"{kept:,}" + (f" -> {passed_on:,} pairs" if passed_on != kept else "")
        rows.append((stage, ledger.total(stage, IN), shown, reasons or "-"))
    return rows


def ledger_table(ledger: Ledger) -> Table:
    table = Table(title="Ledger (per stage; per language in ledger.json)", title_justify="left")
    for name, justify in (("stage", "left"), ("in", "right"), ("kept", "right"), ("dropped by reason", "left")):
        table.add_column(name, justify=justify)
    for stage, num_in, num_kept, reasons in stage_rows(ledger):
        table.add_row(stage, f"{num_in:,}", num_kept, reasons)
    return table


def segments_table(segments_by_lang: dict[str, int]) -> Table:
    table = Table(title="Segments written per language", title_justify="left")
    for name, justify in (("lang", "left"), ("name", "left"), ("segments", "right"), ("share", "right")):
        table.add_column(name, justify=justify)
    total = sum(segments_by_lang.values()) or 1
    known = languages()
    for lang, n in sorted(segments_by_lang.items(), key=lambda kv: -kv[1]):
        table.add_row(lang, known[lang].name if lang in known else "", f"{n:,}", f"{n / total:.1%}")
    return table


def pairs_table(pairs_by_lang: dict[str, int]) -> Table:
    table = Table(title="Sentence pairs written per language pair", title_justify="left")
    for name, justify in (("pair", "left"), ("pairs", "right")):
        table.add_column(name, justify=justify)
    for pair, n in sorted(pairs_by_lang.items(), key=lambda kv: -kv[1]):
        table.add_row(pair, f"{n:,}")
    return table
