"""Corpus generations: which sources each corpus build built, so adding sources builds only them.

`OUT/corpus/generations.json` lists the generations of a corpus. Generation 0 is a full build of the
sources the config named then; each later one builds only the sources added since, deduplicated
against every earlier generation (whose records always win). Within a generation, monolingual and
parallel sources are two corpus builds (two Beam jobs), each in a directory named after its cache
key. The shard build reads all generations.

A full rebuild (one new generation 0) happens when the processing settings changed, or a source
that an earlier generation built changed or was removed: records kept then might not be kept now.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from pydantic import BaseModel, ConfigDict

from xlmforge.core import storage
from xlmforge.flows.caching import digest
from xlmforge.pipelines.corpus.config import AnySource, CorpusConfig

RECORD_NAME = "generations.json"
Kind = Literal["monolingual", "parallel"]
KINDS: tuple[Kind, ...] = ("monolingual", "parallel")


def kind_of(source: AnySource) -> Kind:
    return "monolingual" if source.kind == "mono" else "parallel"


class Generation(BaseModel):
    """One generation: its sources (name -> source digest) and the key of each corpus build it made."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    number: int
    sources: dict[str, str]
    builds: dict[Kind, str] = {}  # kind -> cache key; the build's directory is `<kind>-<key[:16]>`

    def directory(self, kind: Kind) -> str:
        return f"{kind}-{self.builds[kind][:16]}"


class GenerationRecord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["xlmforge.generations"] = "xlmforge.generations"
    version: int = 1
    processing: str  # digest of every corpus setting but the sources
    generations: list[Generation]

    @property
    def sources(self) -> dict[str, str]:
        return {name: d for g in self.generations for name, d in g.sources.items()}

    def directories(self) -> list[str]:
        return [g.directory(kind) for g in self.generations for kind in KINDS if kind in g.builds]


@dataclasses.dataclass(frozen=True)
class CorpusPlan:
    """What a build of the config does: the generations after it, and the one it builds (if any)."""

    record: GenerationRecord
    new: Generation | None
    reason: str  # one line for the logs: why this is built, or why nothing is

    @property
    def base(self) -> list[Generation]:
        """The generations the new one is deduplicated against."""
        return [g for g in self.record.generations if self.new is None or g.number < self.new.number]


def read_record(corpus_root: str) -> GenerationRecord | None:
    path = storage.join(corpus_root, RECORD_NAME)
    if not storage.exists(path):
        return None
    return GenerationRecord.model_validate_json(storage.read_bytes(path))


def write_record(corpus_root: str, record: GenerationRecord) -> None:
    storage.write_bytes(storage.join(corpus_root, RECORD_NAME), (record.model_dump_json(indent=2) + "\n").encode())


def plan_generations(
    config: CorpusConfig, source_digests: dict[str, str], processing: str, previous: GenerationRecord | None
) -> CorpusPlan:
    """Decide what to build: nothing, a generation of the added sources, or everything again."""
    full = _full_rebuild_reason(source_digests, processing, previous)
    if previous is not None and full is None:
        added = {name: d for name, d in source_digests.items() if name not in previous.sources}
        if not added:
            return CorpusPlan(previous, None, f"nothing changed: all {len(source_digests)} sources are built")
        number = previous.generations[-1].number + 1
        new = _generation(config, number, added, processing, previous.generations)
        reason = (
            f"generation {number}: {len(added)} new source(s) ({', '.join(sorted(added))}), deduplicated against "
            f"generations 0-{number - 1}; the {len(previous.sources)} built sources are reused"
        )
        record = GenerationRecord(processing=processing, generations=[*previous.generations, new])
        return CorpusPlan(record, new, reason)
    new = _generation(config, 0, source_digests, processing, [])
    return CorpusPlan(GenerationRecord(processing=processing, generations=[new]), new, full or "first build")


def _full_rebuild_reason(digests: dict[str, str], processing: str, previous: GenerationRecord | None) -> str | None:
    if previous is None:
        return None
    if previous.processing != processing:
        return "full rebuild: the processing settings (normalize, dedup, language_id, filters...) changed"
    removed = sorted(set(previous.sources) - set(digests))
    if removed:
        return f"full rebuild: source(s) {', '.join(removed)} were removed from the config"
    changed = sorted(name for name, d in previous.sources.items() if digests[name] != d)
    if changed:
        return f"full rebuild: the files or settings of already built source(s) {', '.join(changed)} changed"
    return None


def _generation(
    config: CorpusConfig, number: int, sources: dict[str, str], processing: str, base: list[Generation]
) -> Generation:
    """A generation of `sources`; each kind's key covers its sources, the settings and every base build."""
    base_keys = [key for g in base for _, key in sorted(g.builds.items())]
    builds = {}
    for kind in KINDS:
        mine = {s.name: sources[s.name] for s in config.sources if s.name in sources and kind_of(s) == kind}
        if mine:
            builds[kind] = digest(kind, processing, mine, base_keys)
    return Generation(number=number, sources=sources, builds=builds)


def generation_config(config: CorpusConfig, generation: Generation, kind: Kind) -> CorpusConfig:
    """The config of one corpus build: the generation's sources of one kind."""
    sources = [s for s in config.sources if s.name in generation.sources and kind_of(s) == kind]
    return config.model_copy(update={"sources": sources})
