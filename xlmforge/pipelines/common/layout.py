"""Where a corpus build puts things under its output directory."""

from __future__ import annotations

import dataclasses

from xlmforge.core import storage


@dataclasses.dataclass(frozen=True)
class OutputDirectory:
    """What every build writes under its output directory: a ledger, rejects, and a work area."""

    root: str

    @property
    def ledger(self) -> str:
        return storage.join(self.root, "ledger.json")

    @property
    def rejects(self) -> str:
        return storage.join(self.root, "rejects")

    @property
    def work(self) -> str:
        return storage.join(self.root, "work")

    def rejected(self, stage: str, part_id: str) -> str:
        return storage.join(self.rejects, stage, f"{part_id}.arrow")


@dataclasses.dataclass(frozen=True)
class BuildLayout(OutputDirectory):
    """The output directory of a corpus build:

    segments/lang=<code>/<part>.arrow   kept segments, partitioned by language
    bitext/pair=<src>-<tgt>/<part>.arrow   kept sentence pairs, partitioned by language pair
    rejects/<stage>/<part>.arrow        dropped records with stage, reason and detail
    ledger.json, corpus.json            the ledger and the build's metadata
    work/<stage>/<part>.arrow           intermediate parts (removed after a successful build)
    """

    @property
    def segments(self) -> str:
        return storage.join(self.root, "segments")

    @property
    def bitext(self) -> str:
        return storage.join(self.root, "bitext")

    @property
    def metadata(self) -> str:
        return storage.join(self.root, "corpus.json")

    @property
    def counts(self) -> str:
        return storage.join(self.work, "ledger-counts.json")

    def part(self, stage: str, part_id: str) -> str:
        return storage.join(self.work, stage, f"{part_id}.arrow")

    def segments_of(self, lang: str, part_id: str) -> str:
        return storage.join(self.segments, f"lang={lang}", f"{part_id}.arrow")

    def pairs_of(self, pair: str, part_id: str) -> str:
        return storage.join(self.bitext, f"pair={pair}", f"{part_id}.arrow")
