"""Beam pipeline options: any runner's flags pass through unchanged; the default runner is named."""

from __future__ import annotations

from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

DEFAULT_RUNNER = "FnApiRunner"  # the DirectRunner's batch engine; DirectRunner itself first tries to download Prism


def pipeline_options(pipeline_args: list[str]) -> PipelineOptions:
    """Beam options from command-line flags (`--runner FlinkRunner ...`), DirectRunner when none is named."""
    options = PipelineOptions(list(pipeline_args))
    if not options.view_as(StandardOptions).runner:
        options.view_as(StandardOptions).runner = DEFAULT_RUNNER
    return options
