"""The terminal side of the flow commands: log lines that say which run they come from, a rich
progress display (the running flow and task, training steps), and user mistakes as one message."""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)

USER_ERRORS = (ValueError, FileNotFoundError, FileExistsError)  # ConfigError is a ValueError
_FLOW = re.compile(r"Beginning (?:sub)?flow run '[^']*' for flow '([^']+)'")
_STEP = re.compile(r"step (\d+)/(\d+) \|")


def fail(message: str, code: int = 2) -> None:
    console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


class _NoUserErrorTracebacks(logging.Filter):
    """Prefect logs every failed run with its traceback; for a user's mistake the message is enough."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], USER_ERRORS):
            record.exc_info = record.exc_text = None
        return True


class _FlowProgress(logging.Handler):
    """Turns the flows' log records into a progress display: flow and task now running, training steps."""

    def __init__(self, progress: Progress):
        super().__init__()
        self.progress, self.flow = progress, ""
        self.stage = progress.add_task("starting Prefect", total=None)
        self.steps: int | None = None

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if found := _FLOW.search(message):
            self.flow = found.group(1)
        if found := _STEP.search(message):
            done, total = int(found.group(1)), int(found.group(2))
            if self.steps is None:
                self.steps = self.progress.add_task("training steps", total=total)
            self.progress.update(self.steps, completed=done, total=total)
        task = getattr(record, "task_run_name", "")
        self.progress.update(self.stage, description=f"{self.flow} {task}".strip() or "starting Prefect")


def _log_format() -> logging.Formatter:
    """Prefect's console format (the time and level come from the rich handler)."""
    from prefect.logging.formatters import PrefectFormatter

    return PrefectFormatter(
        "%(name)s - %(message)s", flow_run_fmt="Flow run %(flow_run_name)r - %(message)s",
        task_run_fmt="Task run %(task_run_name)r - %(message)s",
    )  # fmt: skip


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Configs, paths and parameters that are wrong become one message each (exit code 2)."""
    from prefect.exceptions import ParameterTypeError

    from xlmforge.pipelines.common.ledger import LedgerError

    try:
        yield
    except USER_ERRORS as err:
        fail(str(err))
    except ParameterTypeError as err:
        fail(f"invalid option: {err}")
    except LedgerError as err:
        fail(f"a build finished but its records do not reconcile; nothing is trustworthy here:\n{err}", code=1)


@contextlib.contextmanager
def flow_run() -> Iterator[None]:
    """Around a flow call: a progress display, log lines that name their run, user errors as one
    message (no traceback)."""
    root = logging.getLogger()
    previous = root.handlers[:]
    progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), console=console, transient=True)  # fmt: skip
    lines = RichHandler(console=console, show_path=False, markup=False, log_time_format="%H:%M:%S")
    lines.setFormatter(_log_format())
    for handler_filter in [f for handler in previous for f in handler.filters] + [_NoUserErrorTracebacks()]:
        lines.addFilter(handler_filter)
    root.handlers = [lines, _FlowProgress(progress)]
    try:
        with user_errors(), progress:
            yield
    finally:
        root.handlers = previous
