"""Writing the shard manifest last, and reading it back checked against the files it lists.

A manifest that does not match its shards (a shard missing, resized, changed or unlisted, a vocabulary
that is not the one listed, sampling totals that are not the shards' totals) is refused on read with
every problem named, before anything trains on it.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable

from xlmforge.core import storage
from xlmforge.core.sampling import sampling_probabilities
from xlmforge.pipelines.shards.config import SamplingConfig
from xlmforge.schemas.manifest import (
    MANIFEST_NAME,
    MANIFEST_VERSION,
    LanguageSampling,
    SamplingTable,
    ShardInfo,
    ShardManifest,
)

_CHUNK_BYTES = 8 * 2**20


class ManifestMismatchError(ValueError):
    """A manifest whose files are not what it says they are."""


def sampling_table(
    shards: Iterable[ShardInfo], config: SamplingConfig, languages: Iterable[str], pairs: Iterable[str]
) -> SamplingTable:
    """p and q of every language (monolingual train shards) and every pair (bitext train shards).

    Counts come from one format (both hold the same records); a language without train records keeps
    p = q = 0.
    """
    shards = list(shards)
    fmt = shards[0].format if shards else "arrow"
    totals = {kind: _train_totals(shards, kind, fmt, keys) for kind, keys in (("mono", languages), ("bitext", pairs))}
    tables = {}
    for kind, (segments, tokens) in totals.items():
        sizes = tokens if config.unit == "tokens" else segments
        shares = sampling_probabilities(sizes, config.alpha) if any(sizes.values()) else {}
        tables[kind] = {
            key: LanguageSampling(
                num_segments=segments[key],
                num_tokens=tokens[key],
                p=shares[key].p if shares else 0.0,
                q=shares[key].q if shares else 0.0,
            )
            for key in sorted(sizes)
        }
    return SamplingTable(alpha=config.alpha, unit=config.unit, languages=tables["mono"], pairs=tables["bitext"])


def _train_totals(
    shards: list[ShardInfo], kind: str, fmt: str, keys: Iterable[str]
) -> tuple[dict[str, int], dict[str, int]]:
    segments: Counter = Counter({key: 0 for key in keys})
    tokens: Counter = Counter({key: 0 for key in keys})
    for shard in shards:
        if shard.kind == kind and shard.split == "train" and shard.format == fmt:
            segments[shard.lang] += shard.num_records
            tokens[shard.lang] += shard.num_tokens
    return dict(segments), dict(tokens)


def write_manifest(root: str, manifest: ShardManifest) -> str:
    """Write the manifest (durably, atomically) under `root`; call it after every shard is on disk."""
    path = storage.join(root, MANIFEST_NAME)
    storage.write_bytes(path, (manifest.model_dump_json(indent=2) + "\n").encode())
    return path


def read_manifest(location: str, check_hashes: bool = True) -> ShardManifest:
    """The manifest of a build (its directory or its manifest.json), verified against its files: sizes,
    and sha256 unless told not to (reading every byte of a large remote build takes a while)."""
    root = location[: -len(MANIFEST_NAME)].rstrip("/") if location.endswith(MANIFEST_NAME) else location
    path = storage.join(root, MANIFEST_NAME)
    if not storage.exists(path):
        raise FileNotFoundError(f"{path}: no manifest; the shard build did not finish (or this is not one)")
    try:
        manifest = ShardManifest.model_validate_json(storage.read_bytes(path))
    except ValueError as err:
        raise ManifestMismatchError(f"{path} is not a valid shard manifest: {err}") from err
    problems = manifest_problems(root, manifest, check_hashes)
    if problems:
        raise ManifestMismatchError(f"{path} does not match its files:\n  " + "\n  ".join(problems))
    return manifest


def manifest_problems(root: str, manifest: ShardManifest, check_hashes: bool = True) -> list[str]:
    """Every way the files under `root` differ from what `manifest` lists; empty when they match."""
    problems = []
    if manifest.schema_version != MANIFEST_VERSION:
        problems.append(f"schema_version {manifest.schema_version}, this reader knows {MANIFEST_VERSION}")
    on_disk = {
        info.path[len(root) :].lstrip("/"): info.size
        for kind in ("mono", "bitext")
        for info in storage.match(storage.join(root, kind, "**"), allow_empty=True)
    }
    listed = [(s.path, s.num_bytes, s.sha256) for s in manifest.shards]
    listed.append((manifest.vocab.path, None, manifest.vocab.sha256))
    if manifest.vocab.counts_path:
        listed.append((manifest.vocab.counts_path, None, manifest.vocab.counts_sha256))
    for rel, num_bytes, sha256 in listed:
        path = storage.join(root, rel)
        size = on_disk.pop(rel) if rel in on_disk else _size(path)
        if size is None:
            problems.append(f"{rel}: listed but missing")
        elif num_bytes is not None and size != num_bytes:
            problems.append(f"{rel}: {size} bytes, the manifest says {num_bytes}")
        elif check_hashes and storage.file_digest(path) != sha256:
            problems.append(f"{rel}: sha256 differs from the manifest's (the file changed after the build)")
    problems += [f"{rel}: a shard file the manifest does not list" for rel in sorted(on_disk)]
    return problems + _sampling_problems(manifest)


def _sampling_problems(manifest: ShardManifest) -> list[str]:
    """The sampling table's totals against the train shards it was computed from."""
    table = manifest.sampling
    shards = manifest.shards
    fmt = shards[0].format if shards else "arrow"
    problems = []
    for kind, entries in (("mono", table.languages), ("bitext", table.pairs)):
        segments, tokens = _train_totals(shards, kind, fmt, entries)
        for key, entry in entries.items():
            if (entry.num_segments, entry.num_tokens) != (segments.get(key, 0), tokens.get(key, 0)):
                problems.append(
                    f"sampling table {key}: {entry.num_segments} segments / {entry.num_tokens} tokens, its "
                    f"{fmt} train shards hold {segments.get(key, 0)} / {tokens.get(key, 0)}"
                )
        total_q = math.fsum(e.q for e in entries.values())
        if total_q and not math.isclose(total_q, 1.0, abs_tol=1e-6):
            problems.append(f"sampling table ({kind}): q sums to {total_q}, not 1")
    return problems


def _size(path: str) -> int | None:
    found = storage.match(path, allow_empty=True)
    return found[0].size if found else None
