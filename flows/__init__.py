"""xlmforge flows: Prefect orchestration of the corpus build, the shard build and training.

Importing the package sets the Prefect environment first (analytics off, ephemeral mode), so every
entry point that imports a flow runs Prefect the same way.
"""

from flows.settings import apply_prefect_defaults, show_progress_logs

apply_prefect_defaults()
show_progress_logs()
