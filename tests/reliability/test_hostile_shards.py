"""Tampered shards: member paths that leave the shard, and pickles, are refused with the shard's name."""

import hashlib
import io
import tarfile

import numpy as np
import pytest

from xlmforge.training.streams import ShardError, ShardReader, ShardSource


def tar_with(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def sample(prefix: str, tokens: np.ndarray) -> dict[str, bytes]:
    return {
        f"{prefix}.tokens.npy": npy(tokens),
        f"{prefix}.offsets.npy": npy(np.array([0, len(tokens)], np.int64)),
        f"{prefix}.ids.npy": npy(np.array([1], np.uint64)),
        f"{prefix}.json": b'{"lang": "eng", "doc_ids": ["d"], "positions": [0]}',
    }


def read(tmp_path, data: bytes):
    path = tmp_path / "shard-00000.tar"
    path.write_bytes(data)
    source = ShardSource(name="mono/eng/train/shard-00000.tar", url=str(path), format="webdataset", kind="mono",
                         sha256=hashlib.sha256(data).hexdigest())  # fmt: skip
    return ShardReader(vocab_size=100).read_chunks(source)


def test_a_well_formed_shard_reads(tmp_path):
    (block,) = read(tmp_path, tar_with(sample("000000", np.array([5, 6, 7], np.uint16))))
    assert block[0][0].tolist() == [5, 6, 7]


@pytest.mark.parametrize("prefix", ["../../evil", "/etc/evil", "a/../../evil"])
def test_members_that_leave_the_shard_are_refused(tmp_path, prefix):
    with pytest.raises(ShardError, match=r"shard-00000\.tar.*leaves the shard's directory"):
        read(tmp_path, tar_with(sample(prefix, np.array([5], np.uint16))))
    assert not (tmp_path.parent / "evil.tokens.npy").exists()


def test_pickled_arrays_are_refused(tmp_path):
    with pytest.raises(ShardError, match=r"shard-00000\.tar.*pickle"):
        read(tmp_path, tar_with(sample("000000", np.array([{"x": 1}], dtype=object))))
