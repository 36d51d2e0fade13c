"""Parts: Arrow IPC files of records, the unit of work that flows between the corpus build stages.

A Beam element is a `Part` (a file reference with its counts), not a record: the stages stream a
part's record batches from one file to the next, so per-element runner cost is paid per part and
memory stays bounded by a batch; shuffles carry references to key files (`pipelines.common.spill`). Each
stage writes its kept rows to a new part and its dropped rows, with reasons, to a rejects file; the
counts of both are the stage's ledger entries.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Iterator, Sequence

import apache_beam as beam
import pyarrow as pa
import pyarrow.compute as pc

from xlmforge.core import storage
from xlmforge.pipelines.common.layout import BuildLayout
from xlmforge.pipelines.common.ledger import DROPPED, IN, KEPT
from xlmforge.schemas.bitext import BITEXT_SCHEMA
from xlmforge.schemas.records import REJECT_SCHEMA, SEGMENT_SCHEMA, check_schema

BATCH_ROWS = 8192


class Segments:
    """Parts of monolingual segments (SEGMENT_SCHEMA), counted under their language."""

    schema = SEGMENT_SCHEMA
    id_column = "segment_id"

    @staticmethod
    def langs(batch: pa.RecordBatch) -> pa.Array:
        return batch.column("lang")

    @staticmethod
    def reject_columns(batch: pa.RecordBatch) -> dict[str, pa.Array]:
        return {name: batch.column(name) for name in ("segment_id", "source", "doc_id", "position", "lang", "text")}


class Pairs:
    """Parts of sentence pairs (BITEXT_SCHEMA), counted under their language pair "src-tgt"."""

    schema = BITEXT_SCHEMA
    id_column = "pair_id"

    @staticmethod
    def langs(batch: pa.RecordBatch) -> pa.Array:
        return pc.binary_join_element_wise(batch.column("src_lang"), batch.column("tgt_lang"), "-")

    @staticmethod
    def reject_columns(batch: pa.RecordBatch) -> dict[str, pa.Array]:
        """A rejected pair keeps both sides in the text, separated by a tab."""
        columns = {name: batch.column(name) for name in ("source", "doc_id", "position")}
        text = pc.binary_join_element_wise(batch.column("src_text"), batch.column("tgt_text"), "\t")
        return {"segment_id": batch.column("pair_id"), **columns, "lang": Pairs.langs(batch), "text": text}


RecordKind = type[Segments] | type[Pairs]


@dataclasses.dataclass(frozen=True, slots=True)
class Part:
    """An Arrow file of records written by one stage, with that stage's ledger counts for it."""

    part_id: str
    path: str
    num_rows: int
    counts: tuple[tuple[tuple[str, str, str], int], ...] = ()  # ((stage, lang, outcome), n)
    existing: bool = False  # a file of an earlier build: deduplicated against, never rewritten


@dataclasses.dataclass(frozen=True)
class Decision:
    """What a stage does to a batch: the rows transformed, and for each row a reject reason or None."""

    batch: pa.RecordBatch  # same rows as the input, possibly with changed columns
    reasons: Sequence[str | None]
    details: Sequence[str | None] | None = None


def read_batches(path: str, schema: pa.Schema = SEGMENT_SCHEMA) -> Iterator[pa.RecordBatch]:
    """The record batches of an Arrow IPC file, checked against `schema`."""
    source = pa.memory_map(path) if storage.is_local(path) else pa.BufferReader(storage.read_bytes(path))
    with source, pa.ipc.open_file(source) as reader:
        check_schema(reader.schema, schema, path)
        for i in range(reader.num_record_batches):
            yield reader.get_batch(i)


def count_rows(path: str) -> int:
    return sum(batch.num_rows for batch in read_batches(path, _schema_of(path)))


def _schema_of(path: str) -> pa.Schema:
    source = pa.memory_map(path) if storage.is_local(path) else pa.BufferReader(storage.read_bytes(path))
    with source, pa.ipc.open_file(source) as reader:
        name = (reader.schema.metadata or {}).get(b"xlmforge.schema", b"")
    return {b"reject": REJECT_SCHEMA, b"bitext": BITEXT_SCHEMA}.get(name, SEGMENT_SCHEMA)


class ArrowFileWriter:
    """Writes record batches to an Arrow IPC file atomically; the file exists only once closed cleanly."""

    def __init__(self, path: str, schema: pa.Schema):
        self.path, self.schema, self.num_rows = path, schema, 0
        # Not flushed to disk one by one: the build flushes once before it records completion.
        self._file = storage.atomic_write(path, durable=False)
        self._writer = pa.ipc.new_file(self._file.__enter__(), schema)

    def write(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows:
            self._writer.write_batch(batch.cast(self.schema) if batch.schema != self.schema else batch)
            self.num_rows += batch.num_rows

    def close(self) -> None:
        self._writer.close()
        self._file.__exit__(None, None, None)

    def abort(self, error: BaseException) -> None:
        self._file.__exit__(type(error), error, error.__traceback__)

    def __enter__(self) -> ArrowFileWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc is None:
            self.close()
        else:
            self.abort(exc)


def rejects_batch(
    batch: pa.RecordBatch,
    stage: str,
    reasons: Sequence[str],
    details: Sequence[str | None],
    kind: RecordKind = Segments,
) -> pa.RecordBatch:
    """Rows of a batch of `kind` as reject rows with the stage, reasons and details."""
    num_rows = batch.num_rows
    columns = kind.reject_columns(batch)
    columns["stage"] = pa.array([stage] * num_rows, pa.string())
    columns["reason"] = pa.array(reasons, pa.string())
    columns["detail"] = pa.array(details, pa.string())
    columns["file"] = pa.nulls(num_rows, pa.string())
    columns["offset"] = pa.nulls(num_rows, pa.int64())
    return pa.RecordBatch.from_pydict(columns, schema=REJECT_SCHEMA)


class StageCounter:
    """Ledger counts of one stage on one part."""

    def __init__(self, stage: str):
        self.stage = stage
        self.counts: Counter = Counter()

    def add(self, langs: pa.Array | Sequence[str], outcome: str) -> None:
        values = langs if isinstance(langs, pa.Array) else pa.array(langs, pa.string())
        for item in pc.value_counts(values).to_pylist():
            self.counts[(self.stage, item["values"], outcome)] += item["counts"]

    def frozen(self) -> tuple[tuple[tuple[str, str, str], int], ...]:
        return tuple(sorted(self.counts.items()))


def rewrite_part(
    part: Part,
    stage: str,
    layout: BuildLayout,
    decide: Callable[[pa.RecordBatch], Decision],
    kind: RecordKind = Segments,
) -> Part:
    """Stream `part` through `decide`: kept rows to a new part of `stage`, dropped rows to its rejects.

    Rows are counted by the language they had when they entered the stage.
    """
    counter = StageCounter(stage)
    out_path = layout.part(stage, part.part_id)
    rejects = LazyRejectsWriter(layout.rejected(stage, part.part_id))
    with ArrowFileWriter(out_path, kind.schema) as kept_writer, rejects:
        for batch in read_batches(part.path, kind.schema):
            decision = decide(batch)
            if decision.batch.num_rows != batch.num_rows:  # a stage's bug, or records would vanish uncounted
                raise RuntimeError(f"{stage} returned {decision.batch.num_rows} rows for {batch.num_rows}")
            dropped = pa.array([r is not None for r in decision.reasons], pa.bool_())
            langs = kind.langs(batch)
            counter.add(langs, IN)
            kept_writer.write(decision.batch.filter(pc.invert(dropped)))
            counter.add(langs.filter(pc.invert(dropped)), KEPT)
            if pc.any(dropped).as_py():
                indices = [i for i, r in enumerate(decision.reasons) if r is not None]
                details = decision.details or [None] * batch.num_rows
                rejected = rejects_batch(
                    batch.take(indices),
                    stage,
                    [decision.reasons[i] for i in indices],
                    [details[i] for i in indices],
                    kind,
                )
                rejects.write(rejected)
                count_rejects(counter, rejected)
    return Part(part.part_id, out_path, kept_writer.num_rows, counter.frozen())


class RewritePart(beam.DoFn):
    """Rewrites each part through a batch decider: any picklable callable batch -> Decision, with an
    optional `setup()` that runs once per worker (to load a model, say)."""

    def __init__(
        self,
        stage: str,
        decider: Callable[[pa.RecordBatch], Decision],
        layout: BuildLayout,
        kind: RecordKind = Segments,
    ):
        self.stage, self.decider, self.layout, self.kind = stage, decider, layout, kind

    def setup(self) -> None:
        if hasattr(self.decider, "setup"):
            self.decider.setup()

    def process(self, part: Part) -> Iterator[Part]:
        yield rewrite_part(part, self.stage, self.layout, self.decider, self.kind)


class StageTransform(beam.PTransform):
    """A corpus build stage over parts, configured by its section of the corpus config.

    The same stage can run in more than one chain (monolingual text, bitext, document pairs): its
    ledger rows and work files are then named `<chain>/<stage>`.
    """

    stage: str

    def __init__(self, config, layout: BuildLayout, chain: str = "", existing=None):
        super().__init__()
        self.config, self.layout = config, layout
        self.stage_name = f"{chain}/{self.stage}" if chain else self.stage
        # Parts of earlier builds that deduplication compares against (a PCollection), or None.
        self.existing = existing


class RewriteEachPart(StageTransform):
    """A stage that rewrites every part on its own through the batch decider `decider()` returns."""

    kind: RecordKind = Segments

    def decider(self) -> Callable[[pa.RecordBatch], Decision]:
        raise NotImplementedError

    def expand(self, parts):
        decider = RewritePart(self.stage_name, self.decider(), self.layout, self.kind)
        return parts | "RewriteParts" >> beam.ParDo(decider)


def count_rejects(counter: StageCounter, rejected: pa.RecordBatch) -> None:
    """Count written reject rows under their language and reason."""
    for reason in pc.unique(rejected.column("reason")).to_pylist():
        mask = pc.equal(rejected.column("reason"), reason)
        counter.add(rejected.column("lang").filter(mask), DROPPED + reason)


class LazyRejectsWriter:
    """A rejects file that is only created when the first reject is written."""

    def __init__(self, path: str):
        self.path = path
        self._writer: ArrowFileWriter | None = None

    def write(self, batch: pa.RecordBatch) -> None:
        if self._writer is None:
            self._writer = ArrowFileWriter(self.path, REJECT_SCHEMA)
        self._writer.write(batch)

    def __enter__(self) -> LazyRejectsWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._writer is not None:
            self._writer.__exit__(exc_type, exc, tb)
