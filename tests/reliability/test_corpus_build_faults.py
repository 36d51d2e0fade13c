"""The corpus build is deterministic across runners, and a build killed at any moment never looks
complete: its rerun produces the same bytes as an uninterrupted build."""

import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time

import pytest

LANGS = ["eng", "deu", "rus", "zho"]


def digests(directory):
    """sha256 of every file under a build directory, by relative path."""
    paths = [os.path.join(root, name) for root, _, names in os.walk(directory) for name in names]
    return {os.path.relpath(p, directory): hashlib.sha256(open(p, "rb").read()).hexdigest() for p in paths}


@pytest.fixture(scope="module")
def corpus_config(shared_data, tmp_path_factory):
    """A small build with text, a bitext file and document pairs."""
    tmp = tmp_path_factory.mktemp("faults")
    lines = {lang: (shared_data / "ntrex" / f"{lang}.txt").read_text().splitlines()[:300] for lang in LANGS}
    (tmp / "docs" / "deu").mkdir(parents=True)
    (tmp / "docs" / "eng").mkdir(parents=True)
    for i in range(0, 60, 20):
        (tmp / "docs" / "deu" / f"d{i}.txt").write_text("\n".join(lines["deu"][i : i + 20]))
        (tmp / "docs" / "eng" / f"d{i}.txt").write_text("\n".join(lines["eng"][i : i + 20]))
    (tmp / "pairs.tsv").write_text("".join(f"{r}\t{e}\n" for r, e in zip(lines["rus"][100:], lines["eng"][100:])))
    ntrex = shared_data / "ntrex"
    sources = [f"  - {{name: {lang}, path: {ntrex / (lang + '.txt')}, language: {lang}}}" for lang in LANGS]
    sources += [
        f"  - {{name: pairs, kind: bitext, path: {tmp / 'pairs.tsv'}, languages: [rus, eng]}}",
        f"  - {{name: docs, kind: docpairs, path: {tmp / 'docs/deu/*.txt'}, tgt_path: {tmp / 'docs/eng/*.txt'}, "
        "languages: [deu, eng]}",
    ]
    config = tmp / "corpus.yaml"
    config.write_text("name: faults\nread: {part_bytes: 100kB}\nsources:\n" + "\n".join(sources) + "\n")
    return config


def build(config, out, *extra, **popen):
    command = [sys.executable, "-m", "xlmforge.cli.main", "build-corpus", str(config), str(out), *extra]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True, **popen)


@pytest.fixture(scope="module")
def reference(corpus_config, tmp_path_factory):
    """The digests of an uninterrupted build, and how long it took from start to end."""
    out = tmp_path_factory.mktemp("reference") / "out"
    started = time.monotonic()
    process = build(corpus_config, out)
    assert process.wait(timeout=600) == 0, process.stderr.read().decode()
    return digests(out), time.monotonic() - started


@pytest.mark.slow
def test_same_bytes_on_the_in_memory_and_the_multiprocessing_runner(corpus_config, reference, tmp_path):
    process = build(corpus_config, tmp_path / "out", "--direct_running_mode=multi_processing", "--direct_num_workers=2")
    assert process.wait(timeout=600) == 0, process.stderr.read().decode()
    expected, _ = reference
    assert digests(tmp_path / "out") == expected
    assert any(path.startswith("bitext/pair=deu-eng") for path in expected)
    assert any(path.startswith("bitext/pair=rus-eng") for path in expected)


@pytest.mark.slow
def test_killed_builds_never_look_complete_and_reruns_match(corpus_config, reference, tmp_path):
    expected, seconds = reference
    rng = random.Random(11)
    out = tmp_path / "out"
    num_interrupted = 0
    for trial in range(20):
        process = build(corpus_config, out)
        time.sleep(rng.uniform(0.2, 1.05) * seconds)  # anywhere from start-up to the last file
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        if (out / "corpus.json").exists():
            # It finished before the kill: a build that says it is complete must be the whole build.
            assert digests(out) == expected, f"trial {trial}: a complete-looking build differs"
            shutil.rmtree(out)
            continue
        num_interrupted += 1
        if num_interrupted % 4 == 0:
            rerun = build(corpus_config, out)
            assert rerun.wait(timeout=600) == 0, rerun.stderr.read().decode()
            assert digests(out) == expected, f"trial {trial}: the rerun differs from an uninterrupted build"
            shutil.rmtree(out)
    assert num_interrupted >= 10  # most kills must land inside the build for the test to mean anything
