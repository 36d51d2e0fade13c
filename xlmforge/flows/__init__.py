"""Prefect flows: the corpus build, the shard build, pretraining, evaluation and export as cached,
retried tasks with artifacts and schedules. Imports pipelines, training, core and schemas; never cli.

Importing the package sets the Prefect environment first (analytics off, ephemeral mode), so every
entry point that imports a flow runs Prefect the same way.
"""

from xlmforge.flows.settings import apply_prefect_defaults, show_progress_logs

apply_prefect_defaults()
show_progress_logs()
