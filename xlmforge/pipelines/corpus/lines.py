"""Lines of input files, read in bounded memory whatever the input does.

Files are read through Beam's FileSystems, gzip and zstd are decompressed with a bound on the
expansion (a zip bomb stops, it does not fill the disk), binary files are recognised from their
first bytes, a byte range owns the lines that start inside it (as in Hadoop's text input format),
over-long lines are skipped in chunks, and UTF-8 is decoded strictly. Every problem comes out as a
`BadLine` with a reason, never as an exception.
"""

from __future__ import annotations

import dataclasses
import glob
import gzip
import io
import json
import os
import zlib
from collections.abc import Iterator, Sequence
from typing import BinaryIO

import xxhash
import zstandard

from xlmforge.core import storage
from xlmforge.pipelines.corpus.config import ReadConfig

_SNIFF_BYTES = 8192
REJECT_TEXT_CHARS = 200  # how much of an over-long or undecodable line a reject keeps
_BINARY_MAGIC = (b"PK\x03\x04", b"%PDF", b"\x7fELF", b"\x89PNG", b"GIF8", b"\xff\xd8\xff")
_BOM = b"\xef\xbb\xbf"


@dataclasses.dataclass(frozen=True, slots=True)
class FileRange:
    """A byte range of one input file (the whole file when compressed)."""

    path: str
    relpath: str  # the path relative to its glob's base directory: stable across machines, used in ids
    start: int
    end: int | None  # None: to the end of the file
    compression: str  # "none", "gzip" or "zstd"
    file_size: int
    index: int = 0  # which range of the file
    refused: tuple[str, str] | None = None  # (reason, detail) when the file is not read at all but rejected

    @property
    def key(self) -> str:
        """A short stable name of the range, for part ids."""
        return f"{xxhash.xxh3_64_hexdigest(self.relpath.encode())}-{self.index:04d}"


@dataclasses.dataclass(frozen=True, slots=True)
class TextLine:
    offset: int  # byte offset of the line in the (decompressed) file
    text: str


@dataclasses.dataclass(frozen=True, slots=True)
class BadLine:
    offset: int  # -1 for the rest of a file that could not be read further
    text: str  # what could be shown of it; undecodable bytes as \xNN escapes
    reason: str
    detail: str


class RecordProblem(ValueError):
    """Why one input record cannot be read: a reject reason and a detail."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason, self.detail = reason, detail


def json_strings(line: str, fields: Sequence[str]) -> tuple[list[str], dict]:
    """The string values of `fields` in a JSON object line, and the object; RecordProblem otherwise."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as err:
        raise RecordProblem("bad_json", str(err)) from None
    values = [record.get(f) if isinstance(record, dict) else None for f in fields]
    if not all(isinstance(v, str) for v in values):
        names = " and ".join(repr(f) for f in fields)
        raise RecordProblem("missing_field", f"no string field {names} in the JSON object")
    for value in values:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # JSON may escape a lone surrogate; UTF-8 and Arrow cannot hold one
            raise RecordProblem("bad_unicode", "a lone surrogate (\\ud800-\\udfff escape) in the text") from None
    return values, record


def document_id(relpath: str, offset: int, record: dict, id_field: str | None) -> str:
    """The id of a JSONL document: its file and line offset, with the record's own id when it has one."""
    own = record.get(id_field) if id_field else None
    return f"{relpath}@{offset}" + (f":{own}" if own is not None else "")


def compression_of(path: str, declared: str) -> str:
    if declared != "auto":
        return declared
    return {".gz": "gzip", ".zst": "zstd", ".zstd": "zstd"}.get(os.path.splitext(path)[1].lower(), "none")


def base_dir(pattern: str) -> str:
    """The directory part of a path or glob before its first wildcard."""
    head = pattern.split("*")[0].split("?")[0].split("[")[0]
    return head.rsplit("/", 1)[0] + "/" if "/" in head else ""


def relative_path(path: str, base: str) -> str:
    """A matched file's path below its glob's base directory (its name when there is none): the same on
    every machine, unlike the absolute path."""
    return path[len(base) :] if base and path.startswith(base) else os.path.basename(path)


def _escapes(path: str, pattern: str, base: str) -> bool:
    """A glob matched a symbolic link that leads out of the directory the glob reads."""
    if not storage.is_local(path) or not os.path.islink(path) or not any(c in pattern for c in "*?["):
        return False
    root = os.path.realpath(base or ".")
    return os.path.commonpath([root, os.path.realpath(path)]) != root


def _broken_links(pattern: str) -> list[str]:
    """Symbolic links a local glob matches that lead nowhere (Beam's match leaves them out silently)."""
    if not storage.is_local(pattern):
        return []
    return sorted(p for p in glob.glob(pattern, recursive=True) if os.path.islink(p) and not os.path.exists(p))


def file_ranges(pattern: str, compression: str, part_bytes: int | None) -> list[FileRange]:
    """The ranges to read a path or glob in: uncompressed files are cut every `part_bytes` (None: never)."""
    base = base_dir(pattern)
    ranges = [
        FileRange(path, relative_path(path, base), 0, None, "none", 0, 0,
                  ("broken_link", f"a symbolic link to {os.readlink(path)}, which does not exist"))
        for path in _broken_links(pattern)
    ]  # fmt: skip
    matched = storage.match(pattern, allow_empty=bool(ranges))
    unreadable = [i.path for i in matched if storage.is_local(i.path) and not os.access(i.path, os.R_OK)]
    if unreadable:
        raise ValueError(f"{pattern}: cannot read {', '.join(unreadable)} (permission denied)")
    for info in matched:
        relpath = relative_path(info.path, base)
        if _escapes(info.path, pattern, base):
            refused = (
                "symlink_outside_input",
                f"a symbolic link to {os.path.realpath(info.path)}, outside {base or '.'}",
            )
            ranges.append(FileRange(info.path, relpath, 0, None, "none", 0, 0, refused))
            continue
        kind = compression_of(info.path, compression)
        step = part_bytes if part_bytes and kind == "none" and info.size > part_bytes else None
        starts = list(range(0, info.size, step)) if step else [0]
        for i, start in enumerate(starts):
            end = None if i == len(starts) - 1 else start + step
            ranges.append(FileRange(info.path, relpath, start, end, kind, info.size, i))
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


def _open(rng: FileRange, read: ReadConfig) -> BinaryIO:
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


def _raw_lines(stream: BinaryIO, rng: FileRange, max_line_bytes: int) -> Iterator[tuple[int, bytes, int]]:
    """(offset, bytes without terminator, length) of the lines a range owns; length < 0 marks an
    over-long line (its first bytes, minus its length), skipped in bounded chunks."""
    offset = rng.start
    if rng.start > 0:  # the line that started in the previous range belongs to it: skip it in chunks
        stream.seek(rng.start - 1)
        offset = rng.start - 1
        while chunk := stream.readline(2**20):
            offset += len(chunk)
            if chunk.endswith(b"\n"):
                break
    while rng.end is None or offset < rng.end:
        line = stream.readline(max_line_bytes + 1)
        if not line:
            return
        consumed = len(line)
        if len(line) > max_line_bytes and not line.endswith(b"\n"):
            prefix = line[: REJECT_TEXT_CHARS * 4]
            while not line.endswith(b"\n"):
                line = stream.readline(2**20)
                if not line:
                    break
                consumed += len(line)
            yield offset, prefix, -(consumed - line.endswith(b"\n"))
        else:
            yield offset, line.rstrip(b"\n").rstrip(b"\r"), consumed
        offset += consumed


def _decode(offset: int, data: bytes, length: int, read: ReadConfig) -> TextLine | BadLine:
    if offset == 0 and data.startswith(_BOM):
        data = data[len(_BOM) :]
    if length < 0:
        text = data.decode("utf-8", "backslashreplace")[:REJECT_TEXT_CHARS]
        return BadLine(offset, text, "line_too_long", f"{-length} bytes, over the {read.max_line_bytes} byte limit")
    try:
        return TextLine(offset, data.decode("utf-8"))
    except UnicodeDecodeError as err:
        text = data.decode("utf-8", "backslashreplace")[: REJECT_TEXT_CHARS * 4]
        return BadLine(offset, text, "bad_utf8", f"invalid UTF-8 at byte {err.start} of the line")


def decoded_lines(rng: FileRange, read: ReadConfig) -> Iterator[TextLine | BadLine]:
    """Every line a range owns, decoded, or the reason it could not be."""
    if rng.refused:
        yield BadLine(0, "", *rng.refused)
        return
    try:
        # Every range looks at the head of its file; only the first one reports a binary file.
        with _open(dataclasses.replace(rng, start=0), read) as stream:
            if _is_binary(stream.read(_SNIFF_BYTES)):
                if rng.start == 0:
                    yield BadLine(0, "", "not_text", "binary content (control bytes or a binary file signature)")
                return
        with _open(rng, read) as stream:
            for offset, data, length in _raw_lines(stream, rng, read.max_line_bytes):
                yield _decode(offset, data, length, read)
    except _DecompressionLimit as err:
        ratio = f"{read.max_decompression_ratio:g}"
        detail = f"stopped after {err.args[0]} decompressed bytes (more than {ratio}x the compressed size)"
        yield BadLine(-1, "", "decompression_limit", detail)
    except (EOFError, gzip.BadGzipFile, zlib.error, zstandard.ZstdError) as err:
        # Damaged archives are the data's fault; other I/O errors (a network blip) propagate, so that
        # the runner retries the work instead of recording a different corpus.
        reason = "truncated_archive" if isinstance(err, EOFError) else "unreadable_file"
        yield BadLine(-1, "", reason, f"{type(err).__name__}: {err}")


def count_lines(rng: FileRange, read: ReadConfig) -> int:
    """How many lines a whole file has (a last line without a newline counts); ValueError naming the
    file when it cannot be read to the end."""
    count, last = 0, b"\n"
    try:
        with _open(rng, read) as stream:
            while chunk := stream.read(2**20):
                count += chunk.count(b"\n")
                last = chunk[-1:]
    except (EOFError, gzip.BadGzipFile, zlib.error, zstandard.ZstdError, _DecompressionLimit) as err:
        problem = "decompresses past the size limit" if isinstance(err, _DecompressionLimit) else f"is damaged: {err}"
        raise ValueError(f"{rng.path} {problem}; a Moses file pair is read whole, so it cannot be used") from None
    return count + (last != b"\n")
