"""The demo's default corpus: every one of its languages keeps enough text through the corpus gates
for the shard build's held-out splits, and every paired language gets a retrieval test split."""

import json

import pytest

from xlmforge.cli.demo import BITEXT_LANGUAGES, DEMO_LANGUAGES, write_demo_configs
from xlmforge.flows.corpus import build_corpus


@pytest.mark.slow
def test_the_demo_corpus_builds_shards_for_all_its_languages(prefect_harness, tmp_path):
    configs = write_demo_configs(tmp_path)
    assert (configs.num_languages, configs.num_pairs) == (len(DEMO_LANGUAGES), len(BITEXT_LANGUAGES))

    build_corpus(str(configs.corpus), str(tmp_path / "out"), str(configs.shards))

    manifest = json.loads((tmp_path / "out" / "shards" / "manifest.json").read_text())
    assert set(manifest["sampling"]["languages"]) == set(DEMO_LANGUAGES)
    test_pairs: dict[str, int] = {}
    for shard in manifest["shards"]:
        if shard["kind"] == "bitext" and shard["split"] == "test" and shard["format"] == "arrow":
            test_pairs[shard["lang"]] = test_pairs.get(shard["lang"], 0) + shard["num_records"]
    assert set(test_pairs) == {f"eng-{code}" for code in BITEXT_LANGUAGES}
    assert min(test_pairs.values()) >= 50  # a pool large enough for chance to be ~1-2 %
