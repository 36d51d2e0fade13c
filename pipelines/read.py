"""Read + decode: monolingual input into parts of segments, with unreadable input rejected.

Plain text is one segment per line, a blank line ending a document; JSONL is one document per line,
its text split into segments at line breaks. A document is identified by its file and the byte
offset where it starts, or by its JSONL id field.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import apache_beam as beam

from pipelines.config import ReadConfig
from pipelines.inputs import TextInput
from pipelines.layout import BuildLayout
from pipelines.lines import REJECT_TEXT_CHARS, BadLine, decoded_lines
from pipelines.part_writer import PartWriter
from pipelines.parts import Part, Segments
from pipelines.segments import segment_id

STAGE = "read"


class _TextReader:
    """Reads one monolingual input range into a part of segments."""

    def __init__(self, item: TextInput, out: PartWriter):
        self.item, self.out = item, out
        self.source, self.lang = item.source, item.lang
        self.doc_id, self.position = "", 0

    def read(self, read: ReadConfig) -> None:
        for line in decoded_lines(self.item.file, read):
            if isinstance(line, BadLine):
                self._reject(line.text, line.offset, line.reason, line.detail)
            elif self.source.format == "jsonl":
                self._json_document(line.text, line.offset)
            elif not line.text.strip():
                self.doc_id = ""  # a blank line ends the document
            else:
                if not self.doc_id:
                    self.doc_id, self.position = f"{self.item.file.relpath}@{line.offset}", 0
                self._segment(line.text)

    def _json_document(self, line: str, offset: int) -> None:
        if not line.strip():
            return
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            self._reject(line[:REJECT_TEXT_CHARS], offset, "bad_json", str(err))
            return
        text = record.get(self.source.text_field) if isinstance(record, dict) else None
        if not isinstance(text, str):
            detail = f"no string field {self.source.text_field!r} in the JSON object"
            self._reject(line[:REJECT_TEXT_CHARS], offset, "missing_text_field", detail)
            return
        doc = record.get(self.source.id_field) if self.source.id_field else None
        self.doc_id, self.position = (str(doc) if doc is not None else f"{self.item.file.relpath}@{offset}"), 0
        for segment in text.split("\n"):
            if segment.strip():
                self._segment(segment)

    def _segment(self, text: str) -> None:
        name = self.source.name
        self.out.add(
            self.lang, segment_id=segment_id(name, self.doc_id, self.position), source=name, doc_id=self.doc_id,
            position=self.position, lang=self.lang, text=text,
        )  # fmt: skip
        self.position += 1

    def _reject(self, text: str, offset: int, reason: str, detail: str) -> None:
        doc_id = f"{self.item.file.relpath}@{offset}"
        self.out.reject(
            self.source.name, doc_id, self.lang, text, reason, detail, file=self.item.file.path, offset=offset
        )


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
