"""Where the flows put things under one output directory (a local path or any Beam filesystem URL).

OUT/corpus/generations.json           which sources each corpus generation built, with digests
OUT/corpus/<kind>-<key>/              one corpus build (monolingual or parallel) per generation
OUT/shards/                           vocabulary, shards, manifest.json, report.md, sampling.png
OUT/vocab/<sha256[:16]>.model         a vocabulary kept across builds (vocab_policy=keep)
OUT/runs/<manifest sha256[:12]>/      training: run.yaml, checkpoints, tensorboard
OUT/eval/<checkpoint>-<split>.json    evaluation results
OUT/export/hf/                        the model in Hugging Face format
"""

from __future__ import annotations

import dataclasses

from xlmforge.core import storage


@dataclasses.dataclass(frozen=True)
class OutputLayout:
    root: str

    @classmethod
    def of(cls, out_dir: str) -> OutputLayout:
        return cls(storage.absolute(out_dir))

    @property
    def corpus(self) -> str:
        return storage.join(self.root, "corpus")

    @property
    def shards(self) -> str:
        return storage.join(self.root, "shards")

    @property
    def manifest(self) -> str:
        return storage.join(self.shards, "manifest.json")

    def kept_vocab(self, sha256: str) -> str:
        return storage.join(self.root, "vocab", f"{sha256[:16]}.model")

    def run(self, manifest_sha256: str) -> str:
        return storage.join(self.root, "runs", manifest_sha256[:12])

    @property
    def eval(self) -> str:
        return storage.join(self.root, "eval")

    @property
    def export(self) -> str:
        return storage.join(self.root, "export", "hf")
