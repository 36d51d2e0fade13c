"""A manifest that does not match its shards is detected on read, by the build's reader and by training's."""

import json
import shutil
from pathlib import Path

import pytest

from tests.pipelines.shard_fixtures import sentences, write_corpus
from xlmforge.pipelines.jobs.shards import build_shards
from xlmforge.pipelines.shards.config import ShardsConfig
from xlmforge.pipelines.shards.manifest import ManifestMismatchError, read_manifest
from xlmforge.training.streams import ShardCorruptError, ShardReader, ShardSource


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("manifest")
    corpus = write_corpus(root / "corpus", {"eng": sentences("eng"), "fra": sentences("fra")})
    config = ShardsConfig(
        vocab={"size": 350}, splits={"valid_size": 10, "test_size": 10}, shards={"target_bytes": 3000}
    )
    return Path(build_shards([str(corpus)], str(root / "shards"), config).out_dir)


@pytest.fixture
def build(pristine, tmp_path) -> Path:
    """A private copy of the build that a test may damage."""
    return Path(shutil.copytree(pristine, tmp_path / "shards"))


def first_shard(build: Path, fmt: str = "arrow") -> dict:
    manifest = json.loads((build / "manifest.json").read_text())
    return next(s for s in manifest["shards"] if s["format"] == fmt)


def test_an_intact_build_reads_back(build):
    manifest = read_manifest(str(build))
    assert manifest.shards and read_manifest(str(build / "manifest.json")) == manifest


def test_a_flipped_byte_is_detected_by_the_manifest_and_by_the_training_reader(build):
    shard = first_shard(build, "webdataset")
    path = build / shard["path"]
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ManifestMismatchError, match=rf"{shard['path']}: sha256 differs"):
        read_manifest(str(build))
    read_manifest(str(build), check_hashes=False)  # same size: only the hash tells
    source = ShardSource(shard["path"], str(path), shard["sha256"], shard["format"], shard["kind"])
    with pytest.raises(ShardCorruptError, match="sha256 mismatch"):
        ShardReader(vocab_size=350).read_chunks(source)


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda b, s: (b / s["path"]).unlink(), "listed but missing"),
        (lambda b, s: (b / s["path"]).write_bytes((b / s["path"]).read_bytes()[:-10]), "bytes, the manifest says"),
        (lambda b, s: (b / "mono" / "eng" / "train" / "shard-09999.arrow").write_bytes(b"x"), "does not list"),
        (lambda b, s: (b / "vocab" / "spm.model").write_bytes(b"another model"), "vocab/spm.model"),
    ],
    ids=["missing", "truncated", "unlisted", "vocab"],
)
def test_files_that_differ_from_the_manifest_are_named(build, damage, message):
    damage(build, first_shard(build))
    with pytest.raises(ManifestMismatchError, match=message):
        read_manifest(str(build))


def test_sampling_totals_that_do_not_match_the_shards_are_detected(build):
    manifest = json.loads((build / "manifest.json").read_text())
    manifest["sampling"]["languages"]["eng"]["num_tokens"] += 1
    (build / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ManifestMismatchError, match="sampling table eng: .* its arrow train shards hold"):
        read_manifest(str(build))


def test_no_manifest_means_no_finished_build(build):
    (build / "manifest.json").unlink()
    with pytest.raises(FileNotFoundError, match="did not finish"):
        read_manifest(str(build))
    (build / "manifest.json").write_text("{}")
    with pytest.raises(ManifestMismatchError, match="not a valid shard manifest"):
        read_manifest(str(build))
