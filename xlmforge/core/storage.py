"""File access through Beam's FileSystems, so every path may be local or any URL a runner supports
(gs://, s3://, hdfs://...). Writes are atomic: a file appears under its final name complete or not
at all, which is what makes a killed build safe to rerun.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import posixpath
import uuid
from collections.abc import Iterator
from typing import BinaryIO

import xxhash
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

_RAW = CompressionTypes.UNCOMPRESSED


def is_local(path: str) -> bool:
    return "://" not in path


def absolute(path: str) -> str:
    """A local path made absolute (workers of a distributed runner have their own working directory), a URL
    without a trailing slash."""
    return os.path.abspath(path) if is_local(path) else path.rstrip("/")


def join(base: str, *parts: str) -> str:
    if is_local(base):
        return os.path.join(base, *parts)
    return posixpath.join(base, *parts)


@dataclasses.dataclass(frozen=True, slots=True)
class FileInfo:
    path: str
    size: int


def match(pattern: str, allow_empty: bool = False) -> list[FileInfo]:
    """Files matching a path or glob, sorted by path; ValueError naming the pattern when none do."""
    if is_local(pattern) and not any(c in pattern for c in "*?[") and os.path.isdir(pattern):
        raise ValueError(f"{pattern}: is a directory; give a file or a glob such as {join(pattern, '*.txt')!r}")
    try:
        results = FileSystems.match([pattern])[0].metadata_list
    except Exception as err:  # Beam raises BeamIOError for unreachable or malformed locations
        raise ValueError(f"{pattern}: cannot list files: {err}") from err
    files = sorted((FileInfo(m.path, m.size_in_bytes) for m in results), key=lambda f: f.path)
    files = [f for f in files if not (is_local(f.path) and os.path.isdir(f.path))]
    if not files and not allow_empty:
        raise ValueError(f"{pattern}: no file matches this path")
    return files


def exists(path: str) -> bool:
    return FileSystems.exists(path)


def open_read(path: str) -> BinaryIO:
    """A binary stream of the file's bytes as stored (no decompression)."""
    return FileSystems.open(path, compression_type=_RAW)


def read_bytes(path: str) -> bytes:
    with open_read(path) as f:
        return f.read()


@contextlib.contextmanager
def atomic_write(path: str, durable: bool = True) -> Iterator[BinaryIO]:
    """Write `path` through a temporary name, renamed into place only when the block succeeds.

    `durable` also flushes the data to disk before the rename, so the file survives a power cut;
    intermediate files skip it (a killed process loses nothing the page cache holds).
    """
    tmp = f"{path}.tmp-{uuid.uuid4().hex[:12]}"
    if is_local(path):
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        try:
            with open(tmp, "wb") as f:
                yield f
                if durable:
                    f.flush()
                    os.fsync(f.fileno())
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        return
    try:
        with FileSystems.create(tmp, compression_type=_RAW) as f:
            yield f
        if FileSystems.exists(path):
            FileSystems.delete([path])
        FileSystems.rename([tmp], [path])
    finally:
        if FileSystems.exists(tmp):
            FileSystems.delete([tmp])


def flush_to_disk(path: str) -> None:
    """Make everything written so far under a local `path` durable (object stores are on close)."""
    if is_local(path):
        os.sync()


def file_digest(path: str, algorithm: str = "sha256") -> str:
    """The hex digest of a file's bytes, read in chunks: "sha256" (what manifests record) or "xxh3_128"
    (for cache keys over large inputs, at memory speed)."""
    digest = xxhash.xxh3_128() if algorithm == "xxh3_128" else hashlib.new(algorithm)
    with open_read(path) as f:
        while chunk := f.read(4 * 2**20):
            digest.update(chunk)
    return digest.hexdigest()


def write_bytes(path: str, data: bytes) -> None:
    with atomic_write(path) as f:
        f.write(data)


def delete_tree(path: str) -> None:
    """Delete a directory (or prefix) and everything under it, if present."""
    if FileSystems.exists(path):
        FileSystems.delete([path])
