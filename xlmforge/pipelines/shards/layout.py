"""Where a shard build puts things under its output directory."""

from __future__ import annotations

import dataclasses

from xlmforge.core import storage
from xlmforge.pipelines.common.layout import OutputDirectory
from xlmforge.schemas.manifest import MANIFEST_NAME


@dataclasses.dataclass(frozen=True)
class ShardsLayout(OutputDirectory):
    """The output directory of a shard build:

    manifest.json                                   written last: its presence marks a complete build
    ledger.json, report.md, sampling.png            the ledger and the per-language report
    vocab/spm.model, vocab/token_counts.npy         the SentencePiece model, train-split token frequencies
    mono/<lang>/<split>/shard-<n>.{arrow,tar}       monolingual shards
    bitext/<src>-<tgt>/<split>/shard-<n>.{arrow,tar}  sentence-pair shards
    rejects/<stage>/<part>.arrow                    dropped records with stage, reason and detail
    work/                                           intermediate files (removed after a successful build)
    """

    @property
    def manifest(self) -> str:
        return storage.join(self.root, MANIFEST_NAME)

    @property
    def report(self) -> str:
        return storage.join(self.root, "report.md")

    @property
    def chart(self) -> str:
        return storage.join(self.root, "sampling.png")

    @property
    def vocab_model(self) -> str:
        return storage.join(self.root, VOCAB_MODEL)

    @property
    def token_counts(self) -> str:
        return storage.join(self.root, TOKEN_COUNTS)

    def outputs(self) -> list[str]:
        """Everything a build writes, the manifest first (so it is the first thing to go)."""
        shard_dirs = [storage.join(self.root, kind) for kind in ("mono", "bitext")]
        vocab_dir = storage.join(self.root, "vocab")
        return [self.manifest, *shard_dirs, vocab_dir, self.rejects, self.ledger, self.report, self.chart, self.work]

    @property
    def fingerprint(self) -> str:
        return storage.join(self.work, "fingerprint.json")

    def vocab_sample(self, part_id: str) -> str:
        return storage.join(self.work, "vocab-sample", f"{part_id}.txt")

    def heldout_keys(self, part_id: str) -> str:
        return storage.join(self.work, "heldout", f"{part_id}.npy")

    def split_keys(self, part_id: str) -> str:
        """Every record's split keys in one input file (one row per text side), from the scan."""
        return storage.join(self.work, "split-keys", f"{part_id}.npy")

    @property
    def all_heldout_keys(self) -> str:
        return storage.join(self.work, "heldout.npy")

    def encoded(self, kind: str, key: str, split: str, part_id: str) -> str:
        return storage.join(self.work, "encoded", kind, key, split, f"{part_id}.arrow")

    @property
    def ledger_counts(self) -> str:
        return storage.join(self.work, "ledger-counts.json")

    @property
    def written_shards(self) -> str:
        return storage.join(self.work, "shards.json")


VOCAB_MODEL = "vocab/spm.model"
TOKEN_COUNTS = "vocab/token_counts.npy"


def shard_path(kind: str, key: str, split: str, index: int, extension: str) -> str:
    """A shard's path relative to the build directory, as the manifest lists it."""
    return f"{kind}/{key}/{split}/shard-{index:05d}.{extension}"
