"""Paths through storage: local ones made absolute before they reach a worker, URLs left as they are."""

import os

import pytest

from xlmforge.core import storage


def test_a_relative_local_path_becomes_absolute_and_a_url_keeps_its_scheme(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert storage.absolute("out/corpus") == os.path.join(str(tmp_path), "out", "corpus")
    assert storage.absolute("gs://bucket/out/") == "gs://bucket/out"


@pytest.fixture
def bucket(s3_endpoint: str) -> str:
    import boto3

    boto3.client("s3").create_bucket(Bucket="storage-test")
    return "s3://storage-test"


def test_object_store_files_prefixes_and_empty_objects(bucket: str) -> None:
    storage.write_bytes(f"{bucket}/out/empty.arrow", b"")  # Beam's own S3 writer cannot write an empty object
    storage.write_bytes(f"{bucket}/out/part/a.txt", b"a")
    assert storage.read_bytes(f"{bucket}/out/empty.arrow") == b""
    assert storage.exists(f"{bucket}/out/part") and not storage.exists(f"{bucket}/out/pa")  # a prefix, not a string
    assert [f.path for f in storage.match(f"{bucket}/out/**")] == [f"{bucket}/out/empty.arrow",
                                                                  f"{bucket}/out/part/a.txt"]  # no temporary objects
    with pytest.raises(RuntimeError), storage.atomic_write(f"{bucket}/out/failed.txt") as f:
        f.write(b"half")
        raise RuntimeError("killed mid-write")
    assert not storage.exists(f"{bucket}/out/failed.txt")
    storage.delete_tree(f"{bucket}/out/part")
    assert not storage.exists(f"{bucket}/out/part") and storage.exists(f"{bucket}/out/empty.arrow")


def test_http_inputs_are_read_and_never_written(bucket: str, s3_endpoint: str) -> None:
    import boto3

    boto3.client("s3").put_object(Bucket="storage-test", Key="in.txt", Body=b"one\ntwo\n", ACL="public-read")
    url = f"{s3_endpoint}/storage-test/in.txt"
    assert storage.match(url) == [storage.FileInfo(url, 8)] and storage.absolute(url) == url
    with storage.open_read(url) as f:
        f.seek(4)
        assert f.readline(10) == b"two\n"
    with pytest.raises(ValueError, match="no file at this URL"):
        storage.match(f"{s3_endpoint}/storage-test/missing.txt")
    with pytest.raises(ValueError, match="http.s. URLs are for reading inputs"):
        storage.write_bytes(url, b"")
