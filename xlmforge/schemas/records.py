"""Segment and reject records: the contract between the corpus build and everything after it.

A segment is one line of text (usually a sentence) at a position inside a document. Documents are
kept as ordered sequences of segments because the MLM stream later concatenates consecutive ones.
Every record that enters the build leaves either as a segment or as a reject with its reason.
"""

from __future__ import annotations

import dataclasses
import json

import pyarrow as pa

SCHEMA_VERSION = 1

# Schema metadata keys carried by every file written with these schemas.
META_SCHEMA = b"xlmforge.schema"
META_VERSION = b"xlmforge.schema_version"

#: Language code of a segment whose language is not known yet (a `detect` source before language ID).
UNDETERMINED = "und"


def versioned_schema(name: str, fields: list[pa.Field]) -> pa.Schema:
    return pa.schema(fields, metadata={META_SCHEMA: name.encode(), META_VERSION: str(SCHEMA_VERSION).encode()})


SEGMENT_SCHEMA = versioned_schema(
    "segment",
    [
        pa.field("segment_id", pa.uint64(), nullable=False),  # xxh3_64 of (source, doc_id, position)
        pa.field("source", pa.string(), nullable=False),
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("position", pa.int32(), nullable=False),  # index of the segment inside its document
        pa.field("lang", pa.string(), nullable=False),  # project language code (ISO 639-3) or "und"
        pa.field("text", pa.string(), nullable=False),
        pa.field("lid_lang", pa.string()),  # language detected by fastText (null before language ID)
        pa.field("lid_score", pa.float32()),
    ],
)

REJECT_SCHEMA = versioned_schema(
    "reject",
    [
        pa.field("segment_id", pa.uint64(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("position", pa.int32(), nullable=False),
        pa.field("lang", pa.string(), nullable=False),  # the language the record had when it was rejected
        pa.field("text", pa.string(), nullable=False),  # undecodable bytes appear as \xNN escapes
        pa.field("stage", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("detail", pa.string()),
        pa.field("file", pa.string()),  # the input file, where the reject was made while reading
        pa.field("offset", pa.int64()),  # byte offset of the line in the (decompressed) input file
    ],
)


@dataclasses.dataclass(frozen=True, slots=True)
class Segment:
    """One row of SEGMENT_SCHEMA."""

    segment_id: int
    source: str
    doc_id: str
    position: int
    lang: str
    text: str
    lid_lang: str | None = None
    lid_score: float | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Reject:
    """One row of REJECT_SCHEMA."""

    segment_id: int
    source: str
    doc_id: str
    position: int
    lang: str
    text: str
    stage: str
    reason: str
    detail: str | None = None
    file: str | None = None
    offset: int | None = None


def with_metadata(schema: pa.Schema, **entries: object) -> pa.Schema:
    """The schema with extra JSON-encoded metadata entries (e.g. the normalization settings)."""
    extra = {f"xlmforge.{key}".encode(): json.dumps(value, sort_keys=True).encode() for key, value in entries.items()}
    return schema.with_metadata({**(schema.metadata or {}), **extra})


def check_schema(schema: pa.Schema, expected: pa.Schema, where: str) -> None:
    """Raise ValueError naming `where` when `schema` is not `expected` at a compatible version."""
    meta = schema.metadata or {}
    name, version = meta.get(META_SCHEMA, b"?").decode(), meta.get(META_VERSION, b"?").decode()
    want_name = expected.metadata[META_SCHEMA].decode()
    if name != want_name or version != str(SCHEMA_VERSION):
        raise ValueError(
            f"{where}: expected a {want_name!r} file of schema version {SCHEMA_VERSION}, "
            f"found {name!r} version {version!r}"
        )
    if not schema.remove_metadata().equals(expected.remove_metadata()):
        raise ValueError(f"{where}: columns do not match the {want_name!r} schema:\n{schema}")
