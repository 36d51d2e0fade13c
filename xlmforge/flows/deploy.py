"""Scheduled deployments on one machine: `build-corpus` (and optionally `end-to-end`) on a cron
schedule, served by this process (`flow.serve`). For work pools, see prefect.yaml.

Schedules need a Prefect server, not the temporary one a flow starts for itself:

    DO_NOT_TRACK=1 PREFECT_SERVER_ANALYTICS_ENABLED=false prefect server start --host 127.0.0.1 &
    export PREFECT_API_URL=http://127.0.0.1:4200/api
    xlmforge serve corpus.yaml out/ --cron "0 3 * * *"

`python -m flows.deploy ...` takes the same arguments as `xlmforge serve`.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from prefect import serve
from prefect.settings import PREFECT_API_URL

import xlmforge.flows  # noqa: F401 - the Prefect environment (analytics off) before Prefect is imported
from xlmforge.core import storage

DEFAULT_CRON = "0 3 * * *"  # every night at 03:00


def no_server_message() -> str | None:
    """Why serving cannot work here, or None when a Prefect server is configured."""
    if PREFECT_API_URL.value():
        return None
    return (
        "schedules need a Prefect server: start one with `DO_NOT_TRACK=1 PREFECT_SERVER_ANALYTICS_ENABLED=false "
        "prefect server start --host 127.0.0.1`, `export PREFECT_API_URL=http://127.0.0.1:4200/api`, then serve again"
    )


def deployments(
    corpus_config: str,
    out_dir: str,
    cron: str = DEFAULT_CRON,
    name: str = "scheduled",
    shards_config: str | None = None,
    run_config: str | None = None,
    pipeline_args: list[str] | None = None,
    vocab_policy: str = "retrain",
    continue_training: bool = False,
) -> list[Any]:
    """The build-corpus deployment, and the end-to-end one when a run config is given (same schedule).

    `continue_training` (with vocab_policy "keep"): a scheduled run whose manifest gained languages starts
    from the previous run's weights instead of from scratch."""
    from xlmforge.flows.corpus import build_corpus
    from xlmforge.flows.end_to_end import check_continue_training, end_to_end

    paths = {"corpus_config": os.path.abspath(corpus_config), "out_dir": storage.absolute(out_dir)}
    shards = {"shards_config": os.path.abspath(shards_config)} if shards_config else {}
    check_continue_training(vocab_policy, continue_training)
    corpus_params = paths | shards | {"vocab_policy": vocab_policy, "pipeline_args": list(pipeline_args or [])}
    found = [
        build_corpus.to_deployment(
            name=name, cron=cron, parameters=corpus_params, tags=["xlmforge"],
            description=f"Corpus and shards of {paths['corpus_config']} into {paths['out_dir']}",
        )
    ]  # fmt: skip
    if run_config:
        found.append(
            end_to_end.to_deployment(
                name=name, cron=cron, parameters=corpus_params | {"run_config": os.path.abspath(run_config),
                                                                  "continue_training": continue_training},
                tags=["xlmforge"], description=f"Corpus, shards, training, evaluation and export into {out_dir}",
            )
        )  # fmt: skip
    return found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve xlmforge deployments on a cron schedule (blocks).")
    parser.add_argument("corpus_config")
    parser.add_argument("out_dir")
    parser.add_argument("--cron", default=DEFAULT_CRON)
    parser.add_argument("--name", default="scheduled")
    parser.add_argument("--shards-config")
    parser.add_argument("--run-config", help="also serve end-to-end with this training run config")
    parser.add_argument("--vocab", choices=("retrain", "keep"), default="retrain")
    parser.add_argument("--continue-training", action="store_true",
                        help="with --vocab keep: a run whose manifest gained languages starts from the previous "
                        "run's weights")
    args, pipeline_args = parser.parse_known_args(argv)
    problem = no_server_message()
    if problem:
        parser.error(problem)
    serve(
        *deployments(
            args.corpus_config, args.out_dir, args.cron, args.name, args.shards_config, args.run_config, pipeline_args,
            args.vocab, args.continue_training,
        )  # fmt: skip
    )


if __name__ == "__main__":
    main()
