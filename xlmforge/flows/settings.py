"""The Prefect environment every xlmforge entry point runs in; applied before Prefect is imported.

With no `PREFECT_API_URL` configured, Prefect starts a temporary local server (SQLite) for the
process: the demo and the tests run that way. Point `PREFECT_API_URL` at a `prefect server start`
(or Prefect Cloud) to keep run history and to schedule deployments. Values already in the
environment win, so a user can change any of these.
"""

from __future__ import annotations

import logging
import os

PREFECT_DEFAULTS = {
    # No usage analytics from the client or from a server this process starts.
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    # No server configured: run against a temporary local one instead of failing.
    "PREFECT_SERVER_ALLOW_EPHEMERAL_MODE": "true",
    # It starts in 16-18 s on a fresh home on two busy cores, near Prefect's default limit of 20 s.
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    # The stages' own progress lines go to the flow run's logs.
    "PREFECT_LOGGING_EXTRA_LOGGERS": "xlmforge",
    "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",  # the same loggers outside a run
}


def apply_prefect_defaults(environ: dict[str, str] | os._Environ = os.environ) -> dict[str, str]:
    """Set every default that `environ` does not set yet; returns `environ` (for subprocess envs too)."""
    for name, value in PREFECT_DEFAULTS.items():
        environ.setdefault(name, value)
    return environ


def prefect_env(**overrides: str) -> dict[str, str]:
    """The environment of a child process that runs Prefect (a server, a served deployment, a flow)."""
    return apply_prefect_defaults(dict(os.environ)) | overrides


def show_progress_logs() -> None:
    """INFO lines of the stages (loggers left at NOTSET would inherit the root's WARNING)."""
    logger = logging.getLogger("xlmforge")
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO)
