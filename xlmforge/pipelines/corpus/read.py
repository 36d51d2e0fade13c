"""Read + decode: monolingual input into parts of segments, with unreadable input rejected.

Plain text is one segment per line, a blank line ending a document; JSONL is one document per line,
its text split into segments at line breaks. A document is identified by its file and the byte
offset where it starts, or by its JSONL id field.
"""

from __future__ import annotations

from collections.abc import Iterator

import apache_beam as beam

from xlmforge.pipelines.common.layout import BuildLayout
from xlmforge.pipelines.common.part_writer import PartWriter
from xlmforge.pipelines.common.parts import Part, Segments
from xlmforge.pipelines.common.rows import segment_id
from xlmforge.pipelines.corpus.config import ReadConfig
from xlmforge.pipelines.corpus.inputs import TextInput
from xlmforge.pipelines.corpus.lines import (
    REJECT_TEXT_CHARS,
    BadLine,
    RecordProblem,
    decoded_lines,
    document_id,
    json_strings,
)

STAGE = "read"
_FLUSH_ROWS = 8192


class _TextReader:
    """Reads one monolingual input range into a part of segments."""

    def __init__(self, item: TextInput, out: PartWriter):
        self.item, self.out = item, out
        self.source, self.lang = item.source, item.lang
        self.doc_id, self.position = "", 0
        # Segments are collected column by column: the per-line path is the reader's hot loop.
        self.texts: list[str] = []
        self.doc_ids: list[str] = []
        self.positions: list[int] = []

    def read(self, read: ReadConfig) -> None:
        for file in self.item.files:
            self.file, self.doc_id = file, ""
            self._read_file(read)
        self._flush()

    def _read_file(self, read: ReadConfig) -> None:
        for line in decoded_lines(self.file, read):
            if len(self.texts) >= _FLUSH_ROWS:
                self._flush()
            if isinstance(line, BadLine):
                self._reject(line.text, line.offset, line.reason, line.detail)
            elif self.source.format == "jsonl":
                self._json_document(line.text, line.offset)
            elif not line.text.strip():
                self.doc_id = ""  # a blank line ends the document
            else:
                if not self.doc_id:
                    self.doc_id, self.position = f"{self.file.relpath}@{line.offset}", 0
                self._segment(line.text)

    def _flush(self) -> None:
        if not self.texts:
            return
        name, lang = self.source.name, self.lang
        ids = [segment_id(name, doc, position) for doc, position in zip(self.doc_ids, self.positions)]
        columns = {"segment_id": ids, "source": [name] * len(ids), "doc_id": self.doc_ids,
                   "position": self.positions, "lang": [lang] * len(ids), "text": self.texts}  # fmt: skip
        self.out.extend(lang, columns)
        self.texts, self.doc_ids, self.positions = [], [], []

    def _json_document(self, line: str, offset: int) -> None:
        if not line.strip():
            return
        try:
            (text,), record = json_strings(line, [self.source.text_field])
        except RecordProblem as problem:
            self._reject(line[:REJECT_TEXT_CHARS], offset, problem.reason, problem.detail)
            return
        # The file and offset make the id unique even where the JSON ids repeat (per file, per crawl).
        self.doc_id, self.position = document_id(self.file.relpath, offset, record, self.source.id_field), 0
        segments = [segment for segment in text.split("\n") if segment.strip()]
        if not segments:
            self._reject(line[:REJECT_TEXT_CHARS], offset, "empty_document", "the document has no text")
        for segment in segments:
            self._segment(segment)

    def _segment(self, text: str) -> None:
        self.texts.append(text)
        self.doc_ids.append(self.doc_id)
        self.positions.append(self.position)
        self.position += 1

    def _reject(self, text: str, offset: int, reason: str, detail: str) -> None:
        doc_id = f"{self.file.relpath}@{offset}"
        self.out.reject(self.source.name, doc_id, self.lang, text, reason, detail, file=self.file.path, offset=offset)


class _ReadText(beam.DoFn):
    def __init__(self, read: ReadConfig, layout: BuildLayout):
        self.read, self.layout = read, layout

    def process(self, item: TextInput) -> Iterator[Part]:
        with PartWriter(Segments, STAGE, self.layout, item.part_id) as out:
            _TextReader(item, out).read(self.read)
            yield out.close()


class ReadSegments(beam.PTransform):
    """Read monolingual input ranges into parts of segments; unreadable input becomes rejects."""

    def __init__(self, read: ReadConfig, layout: BuildLayout):
        super().__init__()
        self.read, self.layout = read, layout

    def expand(self, inputs):
        return (
            inputs | "SpreadInputs" >> beam.Reshuffle() | "ReadRanges" >> beam.ParDo(_ReadText(self.read, self.layout))
        )
