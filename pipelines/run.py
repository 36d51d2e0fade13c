"""Running a corpus build: plan, run the Beam pipeline on any runner, then check and record the ledger."""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections import Counter

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from pipelines import storage
from pipelines.config import CorpusConfig
from pipelines.corpus import BuildCorpus, existing_parts, flow
from pipelines.inputs import Inputs, plan_inputs
from pipelines.layout import BuildLayout
from pipelines.ledger import KEPT, Ledger, LedgerError
from pipelines.parts import count_rows

log = logging.getLogger(__name__)

DEFAULT_RUNNER = "FnApiRunner"  # the DirectRunner's batch engine; DirectRunner itself first tries to download Prism


@dataclasses.dataclass(frozen=True)
class BuildResult:
    out_dir: str
    ledger: Ledger
    segments_by_lang: dict[str, int]
    pairs_by_lang: dict[str, int]
    num_rejects: int
    seconds: float


def pipeline_options(pipeline_args: list[str]) -> PipelineOptions:
    """Beam options from command-line flags (`--runner FlinkRunner ...`), DirectRunner when none is named."""
    options = PipelineOptions(list(pipeline_args))
    if not options.view_as(StandardOptions).runner:
        options.view_as(StandardOptions).runner = DEFAULT_RUNNER
    return options


def prepare_output(layout: BuildLayout, overwrite: bool) -> None:
    """Refuse to write over a complete earlier build unless told to, then clear what a new build writes.

    A build that never finished (killed, or failed) left no corpus.json: it is cleared without asking.
    """
    previous = [p for p in (layout.metadata, layout.segments, layout.bitext, layout.rejects, layout.work)
                if storage.exists(p)]  # fmt: skip
    if storage.exists(layout.metadata) and not overwrite:
        raise FileExistsError(
            f"{layout.root} already holds a corpus build; choose another output directory or pass --overwrite"
        )
    if previous and not storage.exists(layout.metadata):
        log.warning("%s holds a build that did not finish; starting it again", layout.root)
    for path in previous + [layout.ledger]:
        storage.delete_tree(path)


def build_corpus(
    config: CorpusConfig,
    out_dir: str,
    pipeline_args: list[str] = (),
    *,
    overwrite: bool = False,
    keep_work: bool = False,
    base_dirs: list[str] = (),
    inputs: Inputs | None = None,
) -> BuildResult:
    """Run the corpus build into `out_dir`; raises LedgerError if any record is unaccounted for.

    With `base_dirs` (earlier, complete builds), only the config's sources are read and their records
    are deduplicated against those builds' outputs, which always win; out_dir holds only the new records.
    `inputs` is the plan of `config` when the caller made it already (planning lists and counts files).
    """
    started = time.monotonic()
    layout = BuildLayout(out_dir)
    inputs = inputs or plan_inputs(config)
    existing = existing_parts(list(base_dirs))
    prepare_output(layout, overwrite)
    metadata = {"corpus": config.name, "normalization": config.normalize.model_dump(), "extends": list(base_dirs)}
    log.info("corpus build %r: %d input parts from %d sources", config.name, len(inputs), len(config.sources))
    with beam.Pipeline(options=pipeline_options(pipeline_args)) as pipeline:
        _ = pipeline | "BuildCorpus" >> BuildCorpus(config, inputs, layout, metadata, existing)
    counts = {tuple(key): n for key, n in json.loads(storage.read_bytes(layout.counts))}
    ledger = Ledger(flow(config, inputs), counts)
    ledger.check()
    segments_by_lang, pairs_by_lang = _count_rows_by(layout.segments, "lang="), _count_rows_by(layout.bitext, "pair=")
    num_rejects = sum(count_rows(info.path) for info in _arrow_files(layout.rejects))
    _check_outputs(ledger, sum(segments_by_lang.values()) + sum(pairs_by_lang.values()), num_rejects)
    if not keep_work:
        storage.delete_tree(layout.work)
    storage.flush_to_disk(out_dir)
    storage.write_bytes(layout.ledger, ledger.dumps().encode())
    # corpus.json is written last: its presence marks a complete build.
    metadata = _metadata(config, ledger, segments_by_lang, pairs_by_lang, num_rejects, list(base_dirs))
    storage.write_bytes(layout.metadata, metadata.encode())
    seconds = time.monotonic() - started
    return BuildResult(out_dir, ledger, segments_by_lang, pairs_by_lang, num_rejects, seconds)


def _count_rows_by(directory: str, partition: str) -> dict[str, int]:
    """Rows actually on disk in a partitioned output directory, per partition value."""
    rows: Counter = Counter()
    for info in _arrow_files(directory):
        rows[info.path.split(partition)[-1].split("/")[0]] += count_rows(info.path)
    return dict(sorted(rows.items()))


def _arrow_files(directory: str) -> list[storage.FileInfo]:
    return storage.match(storage.join(directory, "**", "*.arrow"), allow_empty=True)


def _check_outputs(ledger: Ledger, num_written: int, num_rejects: int) -> None:
    """The files on disk hold exactly what the ledger says was kept and dropped."""
    kept = sum(ledger.total(stage, KEPT) for stage in ledger.stages if stage.endswith("write"))
    if num_written != kept or num_rejects != ledger.total_dropped():
        raise LedgerError(
            f"output files hold {num_written} records and {num_rejects} rejects, "
            f"but the ledger counts {kept} written and {ledger.total_dropped()} dropped"
        )


def _metadata(
    config: CorpusConfig,
    ledger: Ledger,
    segments_by_lang: dict[str, int],
    pairs_by_lang: dict[str, int],
    num_rejects: int,
    base_dirs: list[str],
) -> str:
    return json.dumps(
        {
            "kind": "xlmforge.corpus",
            "schema_version": 1,
            "config": config.model_dump(mode="json"),
            "normalization": config.normalize.model_dump(),
            "segments_by_lang": segments_by_lang,
            "num_segments": sum(segments_by_lang.values()),
            "pairs_by_lang": pairs_by_lang,
            "num_pairs": sum(pairs_by_lang.values()),
            "num_rejects": num_rejects,
            "ledger_balanced": not ledger.imbalances(),
            "extends": base_dirs,  # earlier builds these records were deduplicated against
        },
        indent=2,
    )


def parts_per_stage(config: CorpusConfig, inputs: Inputs) -> dict[str, int]:
    """How many parts each stage that writes parts will write (the write stages write none)."""
    per_chain = {"bitext": len(inputs.bitext), "docpairs": len(inputs.docpairs)}
    per_chain["pairs"] = per_chain["bitext"] + per_chain["docpairs"]
    return {
        stage: per_chain.get(stage.split("/")[0], len(inputs.text)) if "/" in stage else len(inputs.text)
        for stage in flow(config, inputs)
        if not stage.endswith("write")
    }


def stage_progress(layout: BuildLayout, stage_names: list[str]) -> dict[str, int]:
    """How many parts each stage has finished so far (read from the work directory while a build runs)."""
    done = {}
    for stage in stage_names:
        directory = storage.join(layout.work, stage)
        done[stage] = len(storage.match(storage.join(directory, "*.arrow"), allow_empty=True))
    return done
