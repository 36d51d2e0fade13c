"""Read + decode: input files into parts of segments, with undecodable or unreadable input rejected.

Planning happens on the driver: globs are expanded (a glob that matches nothing is an error naming
it) and large uncompressed files are cut into byte ranges so that they read in parallel. A range
owns the lines that start inside it, as in Hadoop's text input format. Reading happens in workers,
one range per element, in bounded memory whatever the line length or compression ratio.
"""

from __future__ import annotations

import dataclasses
import gzip
import io
import json
import os
import zlib
from collections.abc import Iterator
from typing import BinaryIO

import apache_beam as beam
import xxhash
import zstandard

from pipelines import storage
from pipelines.config import DETECT, CorpusConfig, ReadConfig, SourceConfig
from pipelines.layout import BuildLayout
from pipelines.ledger import IN, KEPT
from pipelines.parts import ArrowFileWriter, LazyRejectsWriter, Part, StageCounter, count_rejects
from pipelines.segments import SegmentBatchBuilder, segment_id
from schemas.records import SEGMENT_SCHEMA, UNDETERMINED

STAGE = "read"
_SNIFF_BYTES = 8192
_REJECT_TEXT_CHARS = 200  # how much of an over-long or undecodable line a reject keeps
_BINARY_MAGIC = (b"PK\x03\x04", b"%PDF", b"\x7fELF", b"\x89PNG", b"GIF8", b"\xff\xd8\xff")


@dataclasses.dataclass(frozen=True, slots=True)
class InputRange:
    """A byte range of one input file, read into one part."""

    part_id: str
    source: SourceConfig
    path: str
    relpath: str  # the path relative to the source's base directory, used in document ids
    start: int
    end: int | None  # None: to the end of the file
    compression: str  # "none", "gzip" or "zstd"
    file_size: int

    @property
    def lang(self) -> str:
        return UNDETERMINED if self.source.language == DETECT else self.source.language


def _compression_of(path: str, declared: str) -> str:
    if declared != "auto":
        return declared
    return {".gz": "gzip", ".zst": "zstd", ".zstd": "zstd"}.get(os.path.splitext(path)[1].lower(), "none")


def _base_dir(pattern: str) -> str:
    """The directory part of a path or glob before its first wildcard."""
    head = pattern.split("*")[0].split("?")[0].split("[")[0]
    return head.rsplit("/", 1)[0] + "/" if "/" in head else ""


def plan_inputs(config: CorpusConfig) -> list[InputRange]:
    """Every byte range to read, in a deterministic order; ValueError naming a path that matches nothing."""
    ranges = []
    for source in config.sources:
        base = _base_dir(source.path)
        for info in storage.match(source.path):
            relpath = info.path[len(base) :] if base and info.path.startswith(base) else os.path.basename(info.path)
            compression = _compression_of(info.path, source.compression)
            file_key = xxhash.xxh3_64_hexdigest(relpath.encode())
            step = config.read.part_bytes
            starts = [0] if compression != "none" or info.size <= step else list(range(0, info.size, step))
            for i, start in enumerate(starts):
                end = None if i == len(starts) - 1 else start + step
                part_id = f"{source.name}-{file_key}-{i:04d}"
                ranges.append(InputRange(part_id, source, info.path, relpath, start, end, compression, info.size))
    return ranges


class _BoundedDecompression(io.RawIOBase):
    """Raises once a decompressed stream exceeds its byte budget (a zip-bomb guard)."""

    def __init__(self, stream: BinaryIO, limit: int):
        self._stream, self._limit, self.num_bytes = stream, limit, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._stream.read(len(buffer))
        self.num_bytes += len(data)
        if self.num_bytes > self._limit:
            raise _DecompressionLimit(self._limit)
        buffer[: len(data)] = data
        return len(data)


class _DecompressionLimit(Exception):
    pass


def _open_decompressed(rng: InputRange, read: ReadConfig) -> BinaryIO:
    raw = storage.open_read(rng.path)
    if rng.compression == "none":
        raw.seek(rng.start)
        return raw
    stream = (
        gzip.GzipFile(fileobj=raw) if rng.compression == "gzip" else zstandard.ZstdDecompressor().stream_reader(raw)
    )
    limit = int(max(rng.file_size, 1) * read.max_decompression_ratio) + 2**20
    return io.BufferedReader(_BoundedDecompression(stream, limit), buffer_size=2**16)


def _is_binary(head: bytes) -> bool:
    if head.startswith(_BINARY_MAGIC):
        return True
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
    return bool(head) and controls / len(head) > 0.1


@dataclasses.dataclass(frozen=True, slots=True)
class _Line:
    offset: int  # byte offset of the line start in the decompressed file
    data: bytes  # the line without its terminator, or the start of an over-long line
    length: int  # bytes consumed; negative for an over-long line: minus its length without terminator


def _lines(stream: BinaryIO, rng: InputRange, max_line_bytes: int) -> Iterator[_Line]:
    """The lines a range owns, without their line terminator; over-long lines are skipped in chunks."""
    offset = rng.start
    if rng.start > 0:  # the line that started in the previous range belongs to it
        stream.seek(rng.start - 1)
        offset = rng.start - 1 + len(stream.readline())
    while rng.end is None or offset < rng.end:
        line = stream.readline(max_line_bytes + 1)
        if not line:
            return
        length = len(line)
        if len(line) > max_line_bytes and not line.endswith(b"\n"):
            prefix = line[: _REJECT_TEXT_CHARS * 4]
            while not line.endswith(b"\n"):
                line = stream.readline(2**20)
                if not line:
                    break
                length += len(line)
            yield _Line(offset, prefix, -(length - line.endswith(b"\n")))
        else:
            yield _Line(offset, line.rstrip(b"\n").rstrip(b"\r"), length)
        offset += length


class _RangeReader:
    """Reads one input range into a part of segments and a rejects file."""

    def __init__(self, rng: InputRange, read: ReadConfig, layout: BuildLayout):
        self.rng, self.read = rng, read
        self.counter = StageCounter(STAGE)
        self.segments = SegmentBatchBuilder()
        self.rejects = SegmentBatchBuilder(rejects=True)
        self.writer = ArrowFileWriter(layout.part(STAGE, rng.part_id), SEGMENT_SCHEMA)
        self.rejects_writer = LazyRejectsWriter(layout.rejected(STAGE, rng.part_id))
        self.doc_id, self.position = "", 0

    def run(self) -> Part:
        with self.writer, self.rejects_writer:
            self._read()
            self._flush(final=True)
        return Part(self.rng.part_id, self.writer.path, self.writer.num_rows, self.counter.frozen())

    def _read(self) -> None:
        rng = self.rng
        try:
            if rng.start == 0 and self._is_binary_file():
                self._reject("", 0, "not_text", "binary content (control bytes or a binary file signature)")
                return
            with _open_decompressed(rng, self.read) as stream:
                for line in _lines(stream, rng, self.read.max_line_bytes):
                    self._line(line)
                    if len(self.segments) >= 8192 or len(self.rejects) >= 8192:
                        self._flush()
        except _DecompressionLimit as err:
            self._reject(
                "",
                -1,
                "decompression_limit",
                f"stopped after {err.args[0]} decompressed bytes "
                f"(more than {self.read.max_decompression_ratio:g}x the compressed size)",
            )
        except (EOFError, gzip.BadGzipFile, zlib.error, zstandard.ZstdError, OSError) as err:
            reason = "truncated_archive" if isinstance(err, EOFError) else "unreadable_file"
            self._reject("", -1, reason, f"{type(err).__name__}: {err}")

    def _is_binary_file(self) -> bool:
        with _open_decompressed(self.rng, self.read) as stream:
            return _is_binary(stream.read(_SNIFF_BYTES))

    def _line(self, line: _Line) -> None:
        offset = line.offset
        if offset == 0 and line.data and line.data.startswith(b"\xef\xbb\xbf"):
            line = _Line(0, line.data[3:], line.length)
        if line.length < 0:
            text = line.data.decode("utf-8", "backslashreplace")[:_REJECT_TEXT_CHARS]
            self._reject(
                text, offset, "line_too_long", f"{-line.length} bytes, over the {self.read.max_line_bytes} byte limit"
            )
            return
        try:
            text = line.data.decode("utf-8")
        except UnicodeDecodeError as err:
            text = line.data.decode("utf-8", "backslashreplace")[: _REJECT_TEXT_CHARS * 4]
            self._reject(text, offset, "bad_utf8", f"invalid UTF-8 at byte {err.start} of the line")
            return
        if self.rng.source.format == "jsonl":
            self._json_document(text, offset)
        elif not text.strip():
            self.doc_id = ""  # a blank line ends the document
        else:
            if not self.doc_id:
                self.doc_id, self.position = f"{self.rng.relpath}@{offset}", 0
            self._segment(text)

    def _json_document(self, line: str, offset: int) -> None:
        source = self.rng.source
        if not line.strip():
            return
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            self._reject(line[:_REJECT_TEXT_CHARS], offset, "bad_json", str(err))
            return
        text = record.get(source.text_field) if isinstance(record, dict) else None
        if not isinstance(text, str):
            self._reject(
                line[:_REJECT_TEXT_CHARS],
                offset,
                "missing_text_field",
                f"no string field {source.text_field!r} in the JSON object",
            )
            return
        doc = record.get(source.id_field) if source.id_field else None
        self.doc_id, self.position = (str(doc) if doc is not None else f"{self.rng.relpath}@{offset}"), 0
        for segment in text.split("\n"):
            if segment.strip():
                self._segment(segment)

    def _segment(self, text: str) -> None:
        source = self.rng.source.name
        self.segments.add(
            segment_id(source, self.doc_id, self.position), source, self.doc_id, self.position, self.rng.lang, text
        )
        self.counter.counts[(STAGE, self.rng.lang, IN)] += 1
        self.position += 1

    def _reject(self, text: str, offset: int, reason: str, detail: str) -> None:
        """Reject input that never became a segment; it gets an id of its own from its file and offset."""
        source, doc_id = self.rng.source.name, f"{self.rng.relpath}@{offset}"
        self.rejects.add(
            segment_id(source, doc_id, 0),
            source,
            doc_id,
            0,
            self.rng.lang,
            text,
            stage=STAGE,
            reason=reason,
            detail=detail,
            file=self.rng.path,
            offset=offset,
        )
        self.counter.counts[(STAGE, self.rng.lang, IN)] += 1

    def _flush(self, final: bool = False) -> None:
        batch = self.segments.flush()
        self.writer.write(batch)
        self.counter.add(batch.column("lang"), KEPT)
        rejected = self.rejects.flush()
        if rejected.num_rows:
            self.rejects_writer.write(rejected)
            count_rejects(self.counter, rejected)


class _ReadRange(beam.DoFn):
    def __init__(self, read: ReadConfig, layout: BuildLayout):
        self.read, self.layout = read, layout

    def process(self, rng: InputRange) -> Iterator[Part]:
        yield _RangeReader(rng, self.read, self.layout).run()


class ReadSegments(beam.PTransform):
    """Read input ranges into parts of segments; undecodable or unreadable input becomes rejects."""

    def __init__(self, read: ReadConfig, layout: BuildLayout):
        super().__init__()
        self.read, self.layout = read, layout

    def expand(self, ranges):
        return (
            ranges | "SpreadRanges" >> beam.Reshuffle() | "ReadRanges" >> beam.ParDo(_ReadRange(self.read, self.layout))
        )
