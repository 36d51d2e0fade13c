"""The streaming loader: exact resume, mixing, rank split, and bad input."""

from __future__ import annotations

import json
from collections import Counter
from itertools import islice
from pathlib import Path

import pytest
import torch

from tests.training.xlm_runs import tiny_run
from xlmforge.core.config import ConfigError
from xlmforge.training.config import RunConfig
from xlmforge.training.data import TaskBatch, TrainLoader, valid_batches
from xlmforge.training.objectives import PairBatch
from xlmforge.training.plan import DataPlan, build_plan, load_manifest
from xlmforge.training.streams import ShardCorruptError


def plan_for(cfg: RunConfig) -> DataPlan:
    manifest, base = load_manifest(cfg.data.manifest)
    return build_plan(manifest, base, cfg.data, cfg.objectives)


def tensors(bundle: list[TaskBatch]) -> list[tuple[str, list[torch.Tensor]]]:
    return [(tb.task, [tb.batch.src, tb.batch.tgt] if isinstance(tb.batch, PairBatch) else [tb.batch.tokens])
            for tb in bundle]


def same_bundles(a: list[list[TaskBatch]], b: list[list[TaskBatch]]) -> bool:
    return all(ta == tb and all(torch.equal(x, y) for x, y in zip(xs, ys, strict=True))
               for bundle_a, bundle_b in zip(a, b, strict=True)
               for (ta, xs), (tb, ys) in zip(tensors(bundle_a), tensors(bundle_b), strict=True))


@pytest.mark.parametrize(("fmt", "num_workers"), [("webdataset", 0), ("arrow", 0), ("webdataset", 2)])
def test_loader_resumes_with_the_same_batches(corpus: Path, tmp_path: Path, fmt: str, num_workers: int) -> None:
    plan = plan_for(tiny_run(corpus, tmp_path, data={"format": fmt, "num_workers": num_workers}))
    loader = TrainLoader(plan)
    stream = iter(loader)
    consumed = list(islice(stream, 7))  # an odd count, so the resumed run starts on the other worker
    state = json.loads(json.dumps(loader.state_dict()))  # plain data, as it travels in a checkpoint
    following = list(islice(stream, 40))  # long enough to cross windows and epochs of the small languages
    stream.close()
    resumed = TrainLoader(plan)
    resumed.load_state_dict(state)
    resumed_stream = iter(resumed)
    again = list(islice(resumed_stream, 40))
    resumed_stream.close()
    assert same_bundles(following, again)
    # non-trivial: several tasks, distinct batches, real tokens
    assert len({tb.task for bundle in following for tb in bundle}) >= 4
    first_mlm = [tb.batch.tokens for bundle in consumed + following for tb in bundle if tb.task.startswith("mlm")]
    assert len({tuple(t.flatten().tolist()) for t in first_mlm}) == len(first_mlm)
    assert not same_bundles(consumed[:5], following[:5])


def test_tasks_are_drawn_with_probability_q(corpus: Path, tmp_path: Path) -> None:
    cfg = tiny_run(corpus, tmp_path, objectives={"mlm_steps": ("en", "fr", "de"), "clm_steps": ()})
    plan = plan_for(cfg)
    stream = iter(TrainLoader(plan))
    num_draws = 600
    counts = Counter(bundle[0].task for bundle in islice(stream, num_draws))
    for task in plan.groups["mlm"]:
        expected = task.q * num_draws
        assert abs(counts[task.key] - expected) < 4 * (expected * (1 - task.q)) ** 0.5, (task.key, counts)
    # "de" is the small language: upsampled (q > p) and resampled past its single shard indefinitely
    de = next(t for t in plan.groups["mlm"] if t.lang == "de")
    assert de.q > de.p


def test_alpha_override_recomputes_q(corpus: Path, tmp_path: Path) -> None:
    default = plan_for(tiny_run(corpus, tmp_path))
    manifest, _ = load_manifest(str(corpus))
    for task in default.groups["mlm"]:
        assert task.p == pytest.approx(manifest.sampling.languages[task.lang].p)
        assert task.q == pytest.approx(manifest.sampling.languages[task.lang].q)
    flat = plan_for(tiny_run(corpus, tmp_path, data={"alpha": 1.0}))
    for task in flat.groups["mlm"]:
        assert task.q == pytest.approx(task.p)


def test_ranks_read_disjoint_shards(corpus: Path, tmp_path: Path) -> None:
    cfg = tiny_run(corpus, tmp_path, objectives={"mlm_steps": ("en",), "clm_steps": ()})
    rows = []
    for rank in (0, 1):
        stream = iter(TrainLoader(plan_for(cfg), rank=rank, world_size=2))
        batches = [bundle[0].batch.tokens for bundle in islice(stream, 5)]
        rows.append({tuple(row.tolist()) for batch in batches for row in batch})
    assert rows[0] and rows[1] and not rows[0] & rows[1]


def test_small_language_streams_past_its_epoch(corpus: Path, tmp_path: Path) -> None:
    cfg = tiny_run(corpus, tmp_path, objectives={"mlm_steps": ("de",), "clm_steps": ()})
    loader = TrainLoader(plan_for(cfg))
    stream = iter(loader)
    batches = [bundle[0].batch.tokens for bundle in islice(stream, 30)]  # de train has ~1000 tokens
    assert loader.state_dict()["shares"][0][1]["streams"]["mlm:de"]["epoch"] >= 2
    assert not torch.equal(batches[0], batches[10])  # each epoch is reshuffled


def test_validation_batches_are_fixed_and_split_between_ranks(corpus: Path, tmp_path: Path) -> None:
    plan = plan_for(tiny_run(corpus, tmp_path))
    task = next(t for t in plan.tasks if t.key == "mlm:en")
    alone = [tb.batch.tokens for tb in valid_batches(plan, task, 0, 1, 10)]
    again = [tb.batch.tokens for tb in valid_batches(plan, task, 0, 1, 10)]
    assert len(again) == len(alone) and all(torch.equal(a, b) for a, b in zip(alone, again, strict=True))
    shared = [list(valid_batches(plan, task, rank, 2, 10)) for rank in (0, 1)]
    assert len(shared[0]) + len(shared[1]) == len(alone) >= 2
    assert torch.equal(shared[1][0].batch.tokens, alone[1])
    pairs = next(t for t in plan.tasks if t.key == "tlm:en-de")
    assert pairs.swap  # stored as de-en
    batch = next(valid_batches(plan, pairs, 0, 1, 1)).batch
    assert plan.languages[batch.src_lang_id] == "en" and plan.languages[batch.tgt_lang_id] == "de"


def test_shards_can_be_read_through_a_pipe_command(corpus: Path, tmp_path: Path) -> None:
    piped = plan_for(tiny_run(corpus, tmp_path, data={"shard_opener": "pipe:cat {url}"}))
    direct = plan_for(tiny_run(corpus, tmp_path))
    assert same_bundles(list(islice(iter(TrainLoader(piped)), 3)), list(islice(iter(TrainLoader(direct)), 3)))


# --- bad input -------------------------------------------------------------------------------------


def test_missing_shard_is_named(corpus_copy: Path, tmp_path: Path) -> None:
    (corpus_copy.parent / "mono/fr/train-00001.tar").unlink()
    with pytest.raises(FileNotFoundError, match="mono/fr/train-00001.tar"):
        plan_for(tiny_run(corpus_copy, tmp_path))


def flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0x01
    path.write_bytes(bytes(data))


def test_corrupt_shard_fails_with_its_name(corpus_copy: Path, tmp_path: Path) -> None:
    flip_byte(corpus_copy.parent / "mono/de/train-00000.tar")
    cfg = tiny_run(corpus_copy, tmp_path, objectives={"mlm_steps": ("de",), "clm_steps": ()})
    with pytest.raises(ShardCorruptError, match="mono/de/train-00000.tar: sha256 mismatch"):
        next(iter(TrainLoader(plan_for(cfg))))


def test_corrupt_shard_is_skipped_and_counted(corpus_copy: Path, tmp_path: Path) -> None:
    flip_byte(corpus_copy.parent / "mono/en/train-00001.arrow")
    cfg = tiny_run(corpus_copy, tmp_path, data={"on_corrupt": "skip", "format": "arrow", "shuffle_shards": 1},
                   objectives={"mlm_steps": ("en",), "clm_steps": ()})
    loader = TrainLoader(plan_for(cfg))
    batches = list(islice(iter(loader), 40))  # more than an epoch of English
    assert loader.num_corrupt_shards >= 1
    assert all(bundle[0].batch.tokens.shape == (4, 32) for bundle in batches)


def test_schedule_language_without_shards_is_named(corpus: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"objectives.mlm_steps: 'sw' has no webdataset mono train shards.*'de'"):
        plan_for(tiny_run(corpus, tmp_path, objectives={"mlm_steps": ("en", "sw")}))
    with pytest.raises(ValueError, match=r"'en-sw' has no webdataset bitext"):
        plan_for(tiny_run(corpus, tmp_path, objectives={"mlm_steps": ("en-sw",)}))


def test_tokens_per_batch_smaller_than_a_sequence(corpus: Path, tmp_path: Path) -> None:
    cfg = tiny_run(corpus, tmp_path)
    with pytest.raises(ConfigError, match="data.tokens_per_batch"):
        RunConfig.from_dict(cfg.to_dict() | {"data": cfg.data.to_dict() | {"tokens_per_batch": cfg.data.seq_len - 1}})


def test_resuming_with_another_worker_layout_is_refused(corpus: Path, tmp_path: Path) -> None:
    plan = plan_for(tiny_run(corpus, tmp_path))
    state = TrainLoader(plan).state_dict()
    with pytest.raises(ValueError, match="world_size=1, num_workers=0"):
        TrainLoader(plan, rank=0, world_size=2).load_state_dict(state)
