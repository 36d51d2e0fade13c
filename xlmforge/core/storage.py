"""File access through Beam's FileSystems, so every path may be local or any URL a runner supports
(gs:// with xlmforge[gcp], s3:// with xlmforge[aws], hdfs://...), and http(s):// for reading (through
fsspec; Beam has no HTTP filesystem). Writes are atomic: a file appears under its final name complete
or not at all, which is what makes a killed build safe to rerun.

S3 credentials and endpoint come from the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
AWS_ENDPOINT_URL for an S3-compatible store): boto3 reads them here, in Beam's workers and in training
(s3fs), so one setting serves every stage. See docs/orchestration.md, "Object storage".
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import os
import posixpath
import tempfile
import uuid
from collections.abc import Iterator
from typing import BinaryIO

import fsspec
import xxhash
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions

_RAW = CompressionTypes.UNCOMPRESSED
_READ_ONLY = ("http://", "https://")
_OBJECT_STORES = ("s3://", "gs://")  # written through fsspec: see _upload

# Beam's S3 filesystem refuses to work without pipeline options; outside a pipeline there are none, so
# give it empty ones (boto3 then takes credentials and endpoint from the environment). A pipeline sets its own.
FileSystems.set_options(PipelineOptions([]))


def is_local(path: str) -> bool:
    return "://" not in path


def absolute(path: str) -> str:
    """A local path made absolute (workers of a distributed runner have their own working directory), a URL
    without a trailing slash."""
    return os.path.abspath(path) if is_local(path) else path.rstrip("/")


def _is_http(path: str) -> bool:
    return path.startswith(_READ_ONLY)


def _http() -> fsspec.AbstractFileSystem:
    return fsspec.filesystem("http")


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
    if _is_http(pattern):
        return _match_url(pattern, allow_empty)
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


def _match_url(url: str, allow_empty: bool) -> list[FileInfo]:
    """An http(s) URL names one file (no globs over HTTP); its size from the server."""
    try:
        size = _http().info(url).get("size")
    except FileNotFoundError:
        if allow_empty:
            return []
        raise ValueError(f"{url}: no file at this URL") from None
    except Exception as err:  # aiohttp's errors for unreachable hosts share no base class with OSError
        raise ValueError(f"{url}: cannot reach: {err}") from err
    if size is None:
        raise ValueError(f"{url}: the server does not say the file's size (no Content-Length)")
    return [FileInfo(url, size)]


def exists(path: str) -> bool:
    """A file, or on an object store a prefix with objects under it (object stores have no directories)."""
    if _is_http(path):
        return _http().exists(path)
    return FileSystems.exists(path) or (not is_local(path) and bool(_objects_under(path)))


def _objects_under(prefix: str) -> list[str]:
    return [f.path for f in match(join(prefix, "**"), allow_empty=True)]


def _refuse_write(path: str) -> None:
    if _is_http(path):
        raise ValueError(f"{path}: http(s) URLs are for reading inputs; write to a local path or a bucket")


def open_read(path: str) -> BinaryIO:
    """A binary stream of the file's bytes as stored (no decompression)."""
    if _is_http(path):  # fsspec's HTTP file has no readline(limit): buffer it the io way
        return io.BufferedReader(_http().open(path, "rb"), buffer_size=2**20)
    return FileSystems.open(path, compression_type=_RAW)


def read_bytes(path: str) -> bytes:
    with open_read(path) as f:
        return f.read()


@contextlib.contextmanager
def atomic_write(path: str, durable: bool = True) -> Iterator[BinaryIO]:
    """Write `path` through a temporary name, renamed into place only when the block succeeds (on an
    object store, uploaded when it succeeds).

    `durable` also flushes the data to disk before the rename, so the file survives a power cut;
    intermediate files skip it (a killed process loses nothing the page cache holds).
    """
    _refuse_write(path)
    if path.startswith(_OBJECT_STORES):
        with _upload(path) as f:
            yield f
        return
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


@contextlib.contextmanager
def _upload(url: str) -> Iterator[BinaryIO]:
    """Write to a local spool file, uploaded in one go when the block succeeds: the object appears whole
    or not at all, with no temporary object to copy (an object store's rename is a copy). Through fsspec
    (s3fs, gcsfs), since Beam's S3 writer cannot write an empty object (a multipart upload with no part)."""
    with tempfile.NamedTemporaryFile(prefix="xlmforge-upload-") as spool:
        yield spool
        spool.flush()
        fs, path = fsspec.core.url_to_fs(url)
        fs.put_file(spool.name, path)


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
    _refuse_write(path)
    if is_local(path):
        if FileSystems.exists(path):
            FileSystems.delete([path])
        return
    found = _objects_under(path) + ([path] if FileSystems.exists(path) else [])
    if found:
        FileSystems.delete(found)
