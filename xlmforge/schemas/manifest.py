"""The shard manifest: written last by a build, read first by training.

It names every shard with its record and token counts, byte size and sha256, the vocabulary and its
hash, and the language sampling table (p, q, alpha), so that a reader can verify what it streams and a
user can see what the build produced.
"""

from __future__ import annotations

import posixpath
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

MANIFEST_VERSION = 1
MANIFEST_NAME = "manifest.json"


def _inside(path: str) -> str:
    """A path relative to the manifest's directory that stays inside it (a manifest is data, not trusted)."""
    normal = posixpath.normpath(path)
    if path.startswith("/") or "://" in path or normal == ".." or normal.startswith("../"):
        raise ValueError(f"{path!r} must be a path inside the manifest's directory")
    return path


RelativePath = Annotated[str, AfterValidator(_inside)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class VocabInfo(_Model):
    path: RelativePath  # relative to the manifest's directory
    sha256: str
    size: int
    model_type: Literal["bpe", "unigram"]
    special_tokens: dict[str, int]
    # int64 .npy of shape (size,): how often each token id occurs in the train split (every language,
    # both sides of pairs), for frequency-weighted masking (XLM's sample_alpha)
    counts_path: RelativePath | None = None
    counts_sha256: str | None = None


class LanguageSampling(_Model):
    num_segments: int
    num_tokens: int
    p: float  # share of the language in the corpus
    q: float  # sampling probability, q ∝ p^alpha


class SamplingTable(_Model):
    alpha: float
    unit: Literal["segments", "tokens"]  # what p counts
    languages: dict[str, LanguageSampling]  # monolingual train data; p and q over languages
    pairs: dict[str, LanguageSampling] = {}  # bitext train data by "src-tgt"; p and q over pairs


class ShardInfo(_Model):
    path: RelativePath  # relative to the manifest's directory
    format: Literal["arrow", "webdataset"]
    kind: Literal["mono", "bitext"]
    lang: str  # a language code, or "src-tgt" for bitext
    split: Literal["train", "valid", "test"]
    num_records: int
    num_tokens: int
    num_bytes: int
    sha256: str
    num_samples: int | None = None  # WebDataset samples (each packs consecutive records)


class ShardManifest(_Model):
    schema_version: int = Field(default=MANIFEST_VERSION)
    token_dtype: Literal["uint16", "int32"]
    vocab: VocabInfo
    sampling: SamplingTable
    shards: list[ShardInfo]
    build: dict[str, object]  # the build config and the corpus it came from, for provenance

    def shards_for(self, *, kind: str, split: str, fmt: str) -> list[ShardInfo]:
        """The shards of one kind, split and format, in manifest order."""
        return [s for s in self.shards if s.kind == kind and s.split == split and s.format == fmt]
