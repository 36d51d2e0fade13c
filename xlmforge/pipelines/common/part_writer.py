"""Writing a part row by row, with its rejects and its ledger counts: what the readers produce."""

from __future__ import annotations

from xlmforge.pipelines.common.layout import BuildLayout
from xlmforge.pipelines.common.ledger import IN, KEPT
from xlmforge.pipelines.common.parts import (
    ArrowFileWriter,
    LazyRejectsWriter,
    Part,
    RecordKind,
    StageCounter,
    count_rejects,
)
from xlmforge.pipelines.common.rows import RowBatcher, segment_id
from xlmforge.schemas.records import REJECT_SCHEMA

_BATCH_ROWS = 8192


class PartWriter:
    """Collects the rows of one part of `kind` and the rejects made while producing them."""

    def __init__(self, kind: RecordKind, stage: str, layout: BuildLayout, part_id: str):
        self.kind, self.stage, self.part_id = kind, stage, part_id
        self.counter = StageCounter(stage)
        self._rows, self._rejects = RowBatcher(kind.schema), RowBatcher(REJECT_SCHEMA)
        self._writer = ArrowFileWriter(layout.part(stage, part_id), kind.schema)
        self._rejects_writer = LazyRejectsWriter(layout.rejected(stage, part_id))

    def add(self, ledger_lang: str, /, **row) -> None:
        """A row of the part, counted in the ledger under `ledger_lang` (a language or a pair)."""
        self._rows.add(**row)
        self.counter.counts[(self.stage, ledger_lang, IN)] += 1
        if len(self._rows) >= _BATCH_ROWS:
            self._flush_rows()

    def extend(self, ledger_lang: str, columns: dict[str, list]) -> None:
        """Many rows of the part at once, all counted under `ledger_lang`."""
        self._rows.extend(columns)
        self.counter.counts[(self.stage, ledger_lang, IN)] += len(next(iter(columns.values())))
        if len(self._rows) >= _BATCH_ROWS:
            self._flush_rows()

    def reject(
        self, source: str, doc_id: str, lang: str, text: str, reason: str, detail: str, position: int = 0, **where
    ) -> None:
        """Input that never became a row; it gets an id of its own from its source, document and position."""
        record_id = segment_id(f"{source}/{lang}", doc_id, position)
        self._rejects.add(
            segment_id=record_id, source=source, doc_id=doc_id, position=position, lang=lang, text=text,
            stage=self.stage, reason=reason, detail=detail, **where,
        )  # fmt: skip
        self.counter.counts[(self.stage, lang, IN)] += 1
        if len(self._rejects) >= _BATCH_ROWS:
            self._flush_rejects()

    def _flush_rows(self) -> None:
        batch = self._rows.flush()
        self._writer.write(batch)
        self.counter.add(self.kind.langs(batch), KEPT)

    def _flush_rejects(self) -> None:
        rejected = self._rejects.flush()
        if rejected.num_rows:
            self._rejects_writer.write(rejected)
            count_rejects(self.counter, rejected)

    def close(self) -> Part:
        self._flush_rows()
        self._flush_rejects()
        self._writer.close()
        self._rejects_writer.__exit__(None, None, None)
        return Part(self.part_id, self._writer.path, self._writer.num_rows, self.counter.frozen())

    def abort(self, error: BaseException) -> None:
        self._writer.abort(error)
        self._rejects_writer.__exit__(type(error), error, error.__traceback__)

    def __enter__(self) -> PartWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc is not None:
            self.abort(exc)
