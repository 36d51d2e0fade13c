"""Task caching by content, and retries only for transient I/O.

A stage task's cache key is a digest of what determines its output: the content digests of its
inputs (source digests, the keys of the stages it reads, a checkpoint's sha256), its config, the
source of the code that computes it, and where it writes. Never a bare input path: a path stays
the same when its file changes.

A cached result is trusted only while the files it describes are intact: every `StageOutput`
names the file that marks its output complete (corpus.json, manifest.json, a checkpoint's digest
file) with that file's sha256. When the file is gone or different, the stage runs again.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from xlmforge.core import storage

log = logging.getLogger(__name__)

#: Errors that say something is wrong with the request, not with the storage or the network.
_PERMANENT_OS_ERRORS = (FileNotFoundError, FileExistsError, PermissionError, IsADirectoryError, NotADirectoryError)


def digest(*parts: Any) -> str:
    """sha256 of JSON-encoded parts (keys sorted), the one way keys are made."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


@functools.cache
def code_digest(*packages: str) -> str:
    """sha256 of the source of the packages that produce an output (e.g. "xlmforge.pipelines"):
    an output made by other code (an upgrade, a fix) is not reused."""
    digest = hashlib.sha256()
    for package in packages:
        root = Path(importlib.util.find_spec(package).submodule_search_locations[0])
        for path in sorted(p for p in root.rglob("*") if p.suffix in (".py", ".tsv") and p.is_file()):
            digest.update(f"{path.relative_to(root.parent)}\0".encode() + path.read_bytes() + b"\0")
    return digest.hexdigest()



def pipeline_code() -> str:
    """The code that decides what the corpus and shard builds produce."""
    return code_digest("xlmforge.pipelines", "xlmforge.core", "xlmforge.schemas")


def training_code() -> str:
    """The code that decides what training, evaluation and export produce."""
    return code_digest("xlmforge.training", "xlmforge.core", "xlmforge.schemas")


class StageOutput(BaseModel):
    """What a cached stage task returns: where its output is and how to tell that it is still there."""

    model_config = ConfigDict(frozen=True)

    stage: str  # e.g. "monolingual", "shards", "pretrain"
    key: str  # the cache key it was built under
    path: str  # output directory (or file)
    marker: str  # the file whose presence marks the output complete
    marker_sha256: str
    summary: dict[str, Any] = {}  # small numbers for logs and artifacts
    seconds: float = 0.0

    def intact(self) -> bool:
        try:
            return storage.exists(self.marker) and storage.file_digest(self.marker) == self.marker_sha256
        except OSError:
            return False


def key_from_spec(context: Any, parameters: dict[str, Any]) -> str:
    """cache_key_fn of the stage tasks: their `spec` parameter carries the key the flow computed."""
    return f"xlmforge-{parameters['spec'].stage}-{parameters['spec'].key}"


def is_transient(error: BaseException) -> bool:
    """Network and storage hiccups; not user mistakes, bad data or failed invariants."""
    if isinstance(error, (ConnectionError, TimeoutError)):
        return True
    return isinstance(error, OSError) and not isinstance(error, _PERMANENT_OS_ERRORS)


def retry_on_io(task: Any, task_run: Any, state: Any) -> bool:
    """retry_condition_fn: retry a failed task only when it failed on transient I/O."""
    try:
        state.result()
    except BaseException as error:  # noqa: BLE001 - the failed run's exception, classified below
        return is_transient(error)
    return False


def run_cached(
    task: Any, finished: Callable[[StageOutput], bool] = lambda output: True, **parameters: Any
) -> tuple[StageOutput, bool]:
    """Run a stage task; returns (output, reused). A cache hit runs again when its files are gone or
    changed, or when `finished` says the cached output is not the whole job (a time-limited training)."""
    state = task(**parameters, return_state=True)
    output: StageOutput = state.result()
    if state.name != "Cached":
        return output, False
    if output.intact() and finished(output):
        log.info("%s: nothing changed (key %s): reusing %s", output.stage, output.key[:12], output.path)
        return output, True
    why = "is gone or changed since" if finished(output) else "is not finished"
    log.warning("%s: the cached output at %s %s; running it again", output.stage, output.path, why)
    return task.with_options(refresh_cache=True)(**parameters), False
