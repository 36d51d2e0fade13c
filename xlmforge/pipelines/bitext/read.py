"""Read + decode for parallel text: bitext files into parts of sentence pairs, and document pairs into
parts of sentences (both sides, each under its language) for alignment.

Bitext: TSV columns, Moses-style line-aligned file pairs read side by side, or JSONL with a field per
side. Document pairs: same-named files under two directories, or JSONL with both documents; each side
is split into sentences with the script-aware splitter.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import apache_beam as beam

from xlmforge.pipelines.bitext.sentences import split_sentences
from xlmforge.pipelines.common.layout import BuildLayout
from xlmforge.pipelines.common.part_writer import PartWriter
from xlmforge.pipelines.common.parts import Pairs, Part, Segments
from xlmforge.pipelines.common.rows import segment_id
from xlmforge.pipelines.corpus.config import BitextSourceConfig, DocPairsSourceConfig, ReadConfig
from xlmforge.pipelines.corpus.inputs import PairFile, PairInput
from xlmforge.pipelines.corpus.lines import (
    REJECT_TEXT_CHARS,
    BadLine,
    FileRange,
    RecordProblem,
    TextLine,
    decoded_lines,
    document_id,
    json_strings,
)

BITEXT_READ = "bitext/read"
DOCPAIRS_READ = "docpairs/read"


class _PairReader:
    """Reads one bitext file (or range, or file pair) into a part of sentence pairs."""

    def __init__(self, item: PairFile, source: BitextSourceConfig, out: PartWriter):
        self.item, self.out, self.source = item, out, source
        self.src_lang, self.tgt_lang = source.languages

    def read(self, read: ReadConfig) -> None:
        if self.source.format == "moses":
            self._read_side_by_side(read)
            return
        for line in decoded_lines(self.item.file, read):
            doc_id = f"{self.item.file.relpath}@{line.offset}"
            if isinstance(line, BadLine):
                self._reject(doc_id, line.text, line.reason, line.detail, line.offset)
            elif line.offset == 0 and self.item.has_header or not line.text.strip():
                continue
            elif self.source.format == "jsonl":
                self._json_pair(doc_id, line)
            else:
                self._tsv_pair(doc_id, line)

    def _tsv_pair(self, doc_id: str, line: TextLine) -> None:
        fields = line.text.split("\t")
        src_column, tgt_column = self.item.columns
        if max(src_column, tgt_column) >= len(fields):
            detail = f"{len(fields)} tab-separated columns, columns {src_column} and {tgt_column} wanted"
            self._reject(doc_id, line.text[:REJECT_TEXT_CHARS], "missing_column", detail, line.offset)
        else:
            self._pair(doc_id, 0, fields[src_column], fields[tgt_column])

    def _json_pair(self, doc_id: str, line: TextLine) -> None:
        try:
            texts, _ = json_strings(line.text, [self.source.src_field, self.source.tgt_field])
        except RecordProblem as problem:
            self._reject(doc_id, line.text[:REJECT_TEXT_CHARS], problem.reason, problem.detail, line.offset)
            return
        self._pair(doc_id, 0, *texts)

    def _read_side_by_side(self, read: ReadConfig) -> None:
        """A Moses file pair: line i of one file translates line i of the other."""
        doc_id = self.item.file.relpath
        sides = itertools.zip_longest(decoded_lines(self.item.file, read), decoded_lines(self.item.tgt_file, read))
        for number, (src, tgt) in enumerate(sides):
            # Counted at planning, the sides can still part: a side that turns out binary, or damaged.
            missing = "source" if src is None else "target" if tgt is None else None
            bad = next((line for line in (src, tgt) if isinstance(line, BadLine)), None)
            if missing is not None:
                line, detail = tgt if src is None else src, f"the {missing} side ended before line {number}"
                text = line.text[:REJECT_TEXT_CHARS]
                self._reject(f"{doc_id}:{number}", text, "side_unreadable", detail, line.offset)
            elif bad is not None:
                side = "source" if bad is src else "target"
                self._reject(f"{doc_id}:{number}", bad.text, bad.reason, f"{side} side: {bad.detail}", bad.offset)
            else:
                self._pair(doc_id, number, src.text, tgt.text)

    def _pair(self, doc_id: str, position: int, src: str, tgt: str) -> None:
        name = self.source.name
        self.out.add(
            self.source.pair, pair_id=segment_id(name, doc_id, position), source=name, doc_id=doc_id, position=position,
            src_lang=self.src_lang, tgt_lang=self.tgt_lang, src_text=src, tgt_text=tgt,
        )  # fmt: skip

    def _reject(self, doc_id: str, text: str, reason: str, detail: str, offset: int) -> None:
        where = {"file": self.item.file.path, "offset": offset}
        self.out.reject(self.source.name, doc_id, self.source.pair, text, reason, detail, **where)


class _DocumentPairReader:
    """Reads document pairs into a part of their sentences: the source side, then the target side."""

    def __init__(self, item: PairFile, source: DocPairsSourceConfig, out: PartWriter):
        self.item, self.out, self.source = item, out, source

    def read(self, read: ReadConfig) -> None:
        if self.source.format == "files":
            texts = [self._file_text(file, lang, read) for lang, file in self._sides()]
            self._document_pair(self.item.file.relpath, *texts)
            return
        for line in decoded_lines(self.item.file, read):
            doc_id = f"{self.item.file.relpath}@{line.offset}"
            if isinstance(line, BadLine):
                self._reject(doc_id, self.source.pair, line.text, line.reason, line.detail, line.offset)
            elif line.text.strip():
                self._json_document_pair(line)

    def _sides(self) -> list[tuple[str, FileRange]]:
        return list(zip(self.source.languages, (self.item.file, self.item.tgt_file)))

    def _file_text(self, file: FileRange, lang: str, read: ReadConfig) -> str:
        """The whole document; lines that cannot be read are rejected, the rest is kept."""
        lines = []
        for line in decoded_lines(file, read):
            if isinstance(line, BadLine):
                self._reject(f"{file.relpath}@{line.offset}", lang, line.text, line.reason, line.detail, line.offset)
            else:
                lines.append(line.text)
        return "\n".join(lines)

    def _json_document_pair(self, line: TextLine) -> None:
        try:
            texts, record = json_strings(line.text, [self.source.src_field, self.source.tgt_field])
        except RecordProblem as problem:
            doc_id, text = f"{self.item.file.relpath}@{line.offset}", line.text[:REJECT_TEXT_CHARS]
            self._reject(doc_id, self.source.pair, text, problem.reason, problem.detail, line.offset)
            return
        self._document_pair(document_id(self.item.file.relpath, line.offset, record, self.source.id_field), *texts)

    def _document_pair(self, doc_id: str, src: str, tgt: str) -> None:
        sides = [(lang, split_sentences(text, lang)) for lang, text in zip(self.source.languages, (src, tgt))]
        empty = [lang for lang, sentences in sides if not sentences]
        if empty:
            # Without both sides there is nothing to align: every sentence of the other side goes too.
            detail = f"the {'/'.join(empty)} side of the document pair is empty"
            for lang, sentences in sides:
                for position, text in enumerate(sentences):
                    self._reject(doc_id, lang, text[:REJECT_TEXT_CHARS], "empty_document", detail, -1, position)
            if not any(sentences for _, sentences in sides):  # nothing at all: the pair itself is the record
                self._reject(doc_id, self.source.pair, "", "empty_document", detail, -1)
            return
        name = self.source.name
        for lang, sentences in sides:
            for position, text in enumerate(sentences):
                self.out.add(
                    lang, segment_id=segment_id(f"{name}/{lang}", doc_id, position), source=name, doc_id=doc_id,
                    position=position, lang=lang, text=text,
                )  # fmt: skip

    def _reject(
        self, doc_id: str, lang: str, text: str, reason: str, detail: str, offset: int, position: int = 0
    ) -> None:
        where = {"file": self.item.file.path, "offset": offset}
        self.out.reject(self.source.name, doc_id, lang, text, reason, detail, position=position, **where)


class _ReadPairInput(beam.DoFn):
    def __init__(self, read: ReadConfig, layout: BuildLayout, documents: bool):
        self.read, self.layout, self.documents = read, layout, documents

    def process(self, item: PairInput) -> Iterator[Part]:
        kind, stage, reader = (Segments, DOCPAIRS_READ, _DocumentPairReader) if self.documents else (
            Pairs, BITEXT_READ, _PairReader)  # fmt: skip
        with PartWriter(kind, stage, self.layout, item.part_id) as out:
            for pair_file in item.files:
                reader(pair_file, item.source, out).read(self.read)
            yield out.close()


class ReadPairs(beam.PTransform):
    """Read bitext inputs into parts of sentence pairs; unreadable lines become rejects."""

    documents = False

    def __init__(self, read: ReadConfig, layout: BuildLayout):
        super().__init__()
        self.read, self.layout = read, layout

    def expand(self, inputs):
        return (
            inputs
            | "SpreadInputs" >> beam.Reshuffle()
            | "ReadInputs" >> beam.ParDo(_ReadPairInput(self.read, self.layout, self.documents))
        )


class ReadDocumentPairs(ReadPairs):
    """Read document pairs and split both sides into sentences, ready to be aligned."""

    documents = True
