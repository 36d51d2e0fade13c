"""Write: the kept segments, partitioned by language, as Arrow IPC files under segments/lang=<code>/."""

from __future__ import annotations

from collections.abc import Iterator

import apache_beam as beam
import pyarrow.compute as pc

from pipelines.layout import BuildLayout
from pipelines.ledger import IN, KEPT
from pipelines.parts import ArrowFileWriter, Part, StageCounter, read_batches
from schemas.records import SEGMENT_SCHEMA, with_metadata

STAGE = "write"


class _WritePartByLanguage(beam.DoFn):
    def __init__(self, layout: BuildLayout, metadata: dict):
        self.layout, self.metadata = layout, metadata

    def process(self, part: Part) -> Iterator[Part]:
        schema = with_metadata(SEGMENT_SCHEMA, **self.metadata)
        counter = StageCounter(STAGE)
        writers: dict[str, ArrowFileWriter] = {}
        try:
            for batch in read_batches(part.path):
                counter.add(batch.column("lang"), IN)
                for lang in sorted(pc.unique(batch.column("lang")).to_pylist()):
                    rows = batch.filter(pc.equal(batch.column("lang"), lang))
                    if lang not in writers:
                        writers[lang] = ArrowFileWriter(self.layout.segments_of(lang, part.part_id), schema)
                    writers[lang].write(rows)
                    counter.add(rows.column("lang"), KEPT)
        except BaseException as err:
            for writer in writers.values():
                writer.abort(err)
            raise
        for writer in writers.values():
            writer.close()
        yield Part(part.part_id, self.layout.segments, sum(w.num_rows for w in writers.values()), counter.frozen())


class WriteSegments(beam.PTransform):
    """Write kept segments as Arrow files partitioned by language; `metadata` goes into each file's schema."""

    def __init__(self, layout: BuildLayout, metadata: dict):
        super().__init__()
        self.layout, self.metadata = layout, metadata

    def expand(self, parts):
        return parts | "WriteByLanguage" >> beam.ParDo(_WritePartByLanguage(self.layout, self.metadata))
