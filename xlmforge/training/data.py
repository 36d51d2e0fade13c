"""The training loader: a DataPlan in, a resumable stream of batches out.

Each micro-step yields one batch per objective group present (MLM, TLM, CLM). Within a group the
task (a language or a pair) is drawn with probability q ∝ p^alpha. Shards are split by rank and by
DataLoader worker; every worker reads a "share" with its own streams, and the loader remembers, for
the last batch it handed out from each share, that share's state. `load_state_dict` restarts every share from
there and rotates the workers so that the resumed run yields the same batches as an unbroken one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from xlmforge.schemas.shards import PAD_ID
from xlmforge.training.objectives import PairBatch, StreamBatch
from xlmforge.training.plan import DataPlan, Task
from xlmforge.training.streams import ItemStream, items_once


@dataclasses.dataclass(frozen=True)
class TaskBatch:
    """A batch and the task it belongs to."""

    task: str  # Task.key
    batch: StreamBatch | PairBatch
    num_tokens: int


class BatchProducer:
    """Batches of one share: draws the task of each group, then fills a batch up to the token budget."""

    def __init__(self, plan: DataPlan, share: tuple[int, int]):
        self.plan, self.share = plan, share
        reader = plan.reader()
        self.streams = {t.key: ItemStream(t.key, list(t.train), plan.builder(t), reader.read_chunks, share,
                                          plan.cfg.seed, plan.cfg.shuffle_shards) for t in plan.tasks}
        self.num_bundles = 0

    def state_dict(self) -> dict[str, Any]:
        return {"num_bundles": self.num_bundles, "streams": {k: s.state_dict() for k, s in self.streams.items()}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.num_bundles = state["num_bundles"]
        for key, stream in self.streams.items():
            stream.load_state_dict(state["streams"][key])

    def next_bundle(self) -> list[TaskBatch]:
        # a generator per bundle, seeded by its number: the draw needs no state of its own
        rng = np.random.default_rng([self.plan.cfg.seed, self.share[0], self.num_bundles])
        bundle = []
        for tasks in self.plan.groups.values():
            task = tasks[rng.choice(len(tasks), p=np.array([t.q for t in tasks]) / sum(t.q for t in tasks))]
            bundle.append(make_batch(task, self.plan, self.streams[task.key]))
        self.num_bundles += 1
        return bundle


def make_batch(task: Task, plan: DataPlan, source: ItemStream | FiniteItems) -> TaskBatch:
    """The next batch of `task` from `source`: fixed-length streams, or pairs while (count x longest
    concatenation) fits the token budget. A finite source may end with a smaller batch."""
    budget = plan.cfg.tokens_per_batch
    if task.objective != "tlm":
        rows = []
        while len(rows) < budget // plan.cfg.seq_len and source.peek() is not None:
            rows.append(source.take())
        tokens = torch.from_numpy(np.stack(rows))
        return TaskBatch(task.key, StreamBatch(plan.lang_id(task.lang), tokens), tokens.numel())
    pairs = [source.take()]
    longest = len(pairs[0][0]) + len(pairs[0][1]) + 4
    while (following := source.peek()) is not None:
        longest_next = max(longest, len(following[0]) + len(following[1]) + 4)
        if (len(pairs) + 1) * longest_next > budget:
            break
        pairs.append(source.take())
        longest = longest_next
    src_lang, tgt_lang = task.lang.split("-")
    batch = PairBatch(plan.lang_id(src_lang), plan.lang_id(tgt_lang), _pad([s for s, _ in pairs]),
                      _pad([t for _, t in pairs]))
    return TaskBatch(task.key, batch, batch.num_tokens)


class FiniteItems:
    """A finite item iterator with ItemStream's take/peek; peek gives None at the end."""

    def __init__(self, items: Iterator[Any]):
        self._items = items
        self._next = next(items, None)

    def peek(self) -> Any:
        return self._next

    def take(self) -> Any:
        item, self._next = self._next, next(self._items, None)
        return item


def _pad(rows: list[np.ndarray]) -> torch.Tensor:
    out = torch.full((len(rows), max(len(r) for r in rows)), PAD_ID, dtype=torch.long)
    for i, row in enumerate(rows):
        out[i, : len(row)] = torch.from_numpy(row)
    return out


@dataclasses.dataclass(frozen=True)
class ShareItem:
    """What a worker hands over: its bundle and its state right after producing it."""

    share: int
    bundle: list[TaskBatch]
    state: dict[str, Any]


class _ShareBundles(IterableDataset):
    """Runs in each DataLoader worker (or in process): one BatchProducer per logical share."""

    def __init__(self, plan: DataPlan, rank: int, world_size: int, num_workers: int,
                 start_states: dict[int, dict[str, Any]], rotation: int):
        self.plan, self.rank, self.world_size, self.num_workers = plan, rank, world_size, num_workers
        self.start_states, self.rotation = start_states, rotation

    def __iter__(self) -> Iterator[ShareItem]:
        info = get_worker_info()
        num_local = max(1, self.num_workers)
        logical = ((info.id if info else 0) + self.rotation) % num_local
        producer = BatchProducer(self.plan, (self.rank * num_local + logical, self.world_size * num_local))
        if logical in self.start_states:
            producer.load_state_dict(self.start_states[logical])
        while True:
            bundle = producer.next_bundle()
            yield ShareItem(logical, bundle, producer.state_dict())


class TrainLoader:
    """The endless iterator of micro-step bundles for one rank, with state_dict / load_state_dict."""

    def __init__(self, plan: DataPlan, rank: int = 0, world_size: int = 1):
        self.plan, self.rank, self.world_size = plan, rank, world_size
        self.num_workers = plan.cfg.num_workers
        self.share_states: dict[int, dict[str, Any]] = {}
        self.num_consumed = 0

    def __iter__(self) -> Iterator[list[TaskBatch]]:
        num_shares = max(1, self.num_workers)
        dataset = _ShareBundles(self.plan, self.rank, self.world_size, self.num_workers, dict(self.share_states),
                               self.num_consumed % num_shares)
        # Spawned, not forked: training runs inside Prefect tasks and next to Beam, whose threads a fork
        # would copy mid-flight.
        source = dataset if self.num_workers == 0 else DataLoader(
            dataset, batch_size=None, num_workers=self.num_workers, prefetch_factor=4,
            multiprocessing_context="spawn")
        for item in source:
            self.share_states[item.share] = item.state
            self.num_consumed += 1
            yield item.bundle

    @property
    def num_corrupt_shards(self) -> int:
        """Shards skipped as corrupt so far (counted per read, by every share that read them)."""
        return sum(s["num_corrupt"] for share in self.share_states.values() for s in share["streams"].values())

    def state_dict(self) -> dict[str, Any]:
        return {"rank": self.rank, "world_size": self.world_size, "num_workers": self.num_workers,
                "num_consumed": self.num_consumed, "shares": [[share, self.share_states[share]]
                                                              for share in sorted(self.share_states)]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        layout = (state["world_size"], state["num_workers"])
        if layout != (self.world_size, self.num_workers):
            raise ValueError(f"loader state is for world_size={layout[0]}, num_workers={layout[1]}; this run has "
                             f"world_size={self.world_size}, num_workers={self.num_workers}: resume with the same")
        self.num_consumed = state["num_consumed"]
        self.share_states = {share: share_state for share, share_state in state["shares"]}


def valid_batches(plan: DataPlan, task: Task, rank: int, world_size: int, max_batches: int) -> Iterator[TaskBatch]:
    """This rank's share of the first `max_batches` validation batches of `task`, in a fixed order."""
    items = FiniteItems(items_once(list(task.valid), plan.builder(task), plan.reader().read_chunks))
    for index in range(max_batches):
        if items.peek() is None:
            return
        batch = make_batch(task, plan, items)
        if index % world_size == rank:
            yield batch


def count_tokens(plan: DataPlan) -> torch.Tensor:
    """Token counts (V,) over the first train shard of every task: the frequencies for sample_alpha."""
    counts = np.zeros(plan.vocab_size, dtype=np.int64)
    reader = plan.reader()
    for shard in {task.train[0] for task in plan.tasks}:
        for chunk in reader.read_chunks(shard) or []:
            for tokens, _ in chunk:
                counts += np.bincount(tokens, minlength=plan.vocab_size)[: plan.vocab_size]
    return torch.from_numpy(counts)
