"""The `xlmforge` command line."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import typer
from rich.console import Console


def _configure_logging() -> None:
    """Warnings and our own progress only; Beam's import-time note about GCP client libraries is noise here."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger().handlers[0].addFilter(lambda record: "apitools not found" not in record.getMessage())
    logging.getLogger("xlmforge").setLevel(logging.INFO)


_configure_logging()

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from xlmforge.cli.commands import register
from xlmforge.cli.report import ledger_table, pairs_table, segments_table
from xlmforge.core.config import ConfigError
from xlmforge.pipelines.common.layout import BuildLayout
from xlmforge.pipelines.common.ledger import LedgerError
from xlmforge.pipelines.corpus.config import load_corpus_config
from xlmforge.pipelines.corpus.inputs import plan_inputs
from xlmforge.pipelines.jobs.corpus import build_corpus, parts_per_stage, stage_progress

app = typer.Typer(
    help="Multilingual text to training-ready shards and cross-lingual (XLM) pretraining. "
    "New here? Start with `xlmforge demo`.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True, soft_wrap=True)


@app.callback()
def _commands() -> None:
    """xlmforge: build corpora and shards with Beam, orchestrate with Prefect, pretrain XLM models with torch."""


_PASS_THROUGH = {"allow_extra_args": True, "ignore_unknown_options": True}


def _fail(message: str, code: int = 2) -> None:
    console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


class _StageProgress:
    """Shows how many parts each stage has finished, read from the build's work directory."""

    def __init__(self, layout: BuildLayout, num_parts: dict[str, int]):
        self.layout, self.num_parts = layout, num_parts
        self._stop = threading.Event()
        self._progress = Progress(
            TextColumn("{task.description:<12}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )

    def __enter__(self) -> _StageProgress:
        tasks = {stage: self._progress.add_task(stage, total=n) for stage, n in self.num_parts.items()}
        self._progress.start()
        self._thread = threading.Thread(target=self._poll, args=(tasks,), daemon=True)
        self._thread.start()
        return self

    def _poll(self, tasks: dict) -> None:
        while not self._stop.wait(0.5):
            for stage, done in stage_progress(self.layout, list(self.num_parts)).items():
                self._progress.update(tasks[stage], completed=done)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._progress.stop()


@app.command("build-corpus", context_settings=_PASS_THROUGH)
def build_corpus_command(
    ctx: typer.Context,
    config: Path = typer.Argument(..., help="Corpus config file (YAML or TOML) naming the sources."),
    out_dir: str = typer.Argument(..., help="Output directory (local path or any Beam filesystem URL)."),
    overwrite: bool = typer.Option(False, help="Replace an earlier build in OUT_DIR."),
    keep_work: bool = typer.Option(False, help="Keep the intermediate parts of every stage under OUT_DIR/work."),
) -> None:
    """Build a clean corpus as one Beam job (no Prefect): monolingual and parallel text, read,
    normalized, deduplicated, language-identified, filtered, document pairs aligned.

    Extra options go to Beam unchanged, e.g. `--direct_running_mode=multi_processing
    --direct_num_workers=2`, or `--runner FlinkRunner --flink_master=host:8081`.
    """
    try:
        corpus = load_corpus_config(str(config))
        inputs = plan_inputs(corpus)
        with _StageProgress(BuildLayout(out_dir), parts_per_stage(corpus, inputs)):
            result = build_corpus(corpus, out_dir, ctx.args, overwrite=overwrite, keep_work=keep_work, inputs=inputs)
    except (ConfigError, ValueError, FileExistsError) as err:
        _fail(str(err))
    except LedgerError as err:
        _fail(f"the build finished but its records do not reconcile; nothing is trustworthy here:\n{err}", code=1)
    out = Console()
    out.print(ledger_table(result.ledger))
    if result.segments_by_lang:
        out.print(segments_table(result.segments_by_lang))
    if result.pairs_by_lang:
        out.print(pairs_table(result.pairs_by_lang))
    out.print(
        f"{sum(result.segments_by_lang.values()):,} segments in {os.path.join(out_dir, 'segments')}, "
        f"{sum(result.pairs_by_lang.values()):,} sentence pairs in {os.path.join(out_dir, 'bitext')}, "
        f"{result.num_rejects:,} rejects in {os.path.join(out_dir, 'rejects')}, "
        f"ledger in {os.path.join(out_dir, 'ledger.json')} ({result.seconds:.1f} s)"
    )


register(app)  # build, train, evaluate, export, finetune, run, stats, serve, demo (cli/commands.py)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
