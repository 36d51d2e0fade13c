"""Paths through storage: local ones made absolute before they reach a worker, URLs left as they are."""

import os

from xlmforge.core import storage


def test_a_relative_local_path_becomes_absolute_and_a_url_keeps_its_scheme(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert storage.absolute("out/corpus") == os.path.join(str(tmp_path), "out", "corpus")
    assert storage.absolute("gs://bucket/out/") == "gs://bucket/out"
