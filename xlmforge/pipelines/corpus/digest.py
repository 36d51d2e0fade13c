"""Content digests of what a corpus build reads and how it processes it, for caching builds.

A digest covers the bytes of every input file (not their paths or times: a path stays the same
when its file changes), so an unchanged source can be reused and a changed one is rebuilt.
"""

from __future__ import annotations

import json

import xxhash

from xlmforge.core import storage
from xlmforge.pipelines.corpus.config import AnySource, CorpusConfig
from xlmforge.pipelines.corpus.lines import base_dir, relative_path


def source_digest(source: AnySource) -> str:
    """A digest of a source's settings and the bytes of every file it reads (xxh3-128, hex)."""
    digest = xxhash.xxh3_128()
    settings = source.model_dump(mode="json", exclude={"path", "tgt_path"})
    digest.update(json.dumps(settings, sort_keys=True).encode())
    patterns = [source.path] + ([source.tgt_path] if getattr(source, "tgt_path", None) else [])
    for pattern in patterns:
        base = base_dir(pattern)
        for info in storage.match(pattern):
            relpath = relative_path(info.path, base)
            digest.update(f"\0{relpath}\0{info.size}\0{storage.file_digest(info.path, 'xxh3_128')}".encode())
    return digest.hexdigest()


def processing_digest(config: CorpusConfig) -> str:
    """A digest of every setting that decides what a build keeps, apart from its sources."""
    settings = config.model_dump(mode="json", exclude={"name", "sources"})
    return xxhash.xxh3_128_hexdigest(json.dumps(settings, sort_keys=True).encode())
