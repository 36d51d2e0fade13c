"""Write: kept records as Arrow IPC files, segments partitioned by language under
segments/lang=<code>/, sentence pairs by language pair under bitext/pair=<src>-<tgt>/."""

from __future__ import annotations

from collections.abc import Iterator

import apache_beam as beam
import pyarrow.compute as pc

from xlmforge.pipelines.common.layout import BuildLayout
from xlmforge.pipelines.common.ledger import IN, KEPT
from xlmforge.pipelines.common.parts import (
    ArrowFileWriter,
    Pairs,
    Part,
    RecordKind,
    Segments,
    StageCounter,
    read_batches,
)
from xlmforge.schemas.records import with_metadata

STAGE = "write"


class _WritePartByLanguage(beam.DoFn):
    def __init__(self, layout: BuildLayout, metadata: dict, kind: RecordKind, stage: str):
        self.layout, self.metadata, self.kind, self.stage = layout, metadata, kind, stage

    def _path(self, lang: str, part_id: str) -> str:
        if self.kind is Pairs:
            return self.layout.pairs_of(lang, part_id)
        return self.layout.segments_of(lang, part_id)

    def process(self, part: Part) -> Iterator[Part]:
        schema = with_metadata(self.kind.schema, **self.metadata)
        counter = StageCounter(self.stage)
        writers: dict[str, ArrowFileWriter] = {}
        try:
            for batch in read_batches(part.path, self.kind.schema):
                langs = self.kind.langs(batch)
                counter.add(langs, IN)
                for lang in sorted(pc.unique(langs).to_pylist()):
                    rows = batch.filter(pc.equal(langs, lang))
                    if lang not in writers:
                        writers[lang] = ArrowFileWriter(self._path(lang, part.part_id), schema)
                    writers[lang].write(rows)
                    counter.add(langs.filter(pc.equal(langs, lang)), KEPT)
        except BaseException as err:
            for writer in writers.values():
                writer.abort(err)
            raise
        for writer in writers.values():
            writer.close()
        yield Part(part.part_id, self.layout.root, sum(w.num_rows for w in writers.values()), counter.frozen())


class WriteSegments(beam.PTransform):
    """Write kept records as Arrow files partitioned by language (or pair); `metadata` goes into each
    file's schema."""

    def __init__(self, layout: BuildLayout, metadata: dict, kind: RecordKind = Segments, stage: str = STAGE):
        super().__init__()
        self.layout, self.metadata, self.kind, self.stage = layout, metadata, kind, stage

    def expand(self, parts):
        return parts | "WriteByLanguage" >> beam.ParDo(
            _WritePartByLanguage(self.layout, self.metadata, self.kind, self.stage)
        )
