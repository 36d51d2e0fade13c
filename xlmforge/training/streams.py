"""Shards in, endless resumable per-task item streams out.

A shard is read whole (from a local path, an fsspec URL or a `pipe:` command), checked against the
manifest's sha256, and parsed into chunks of consecutive segments. A stream walks its shards in a
per-epoch order; `shuffle_shards` consecutive shards form a window whose items are permuted together
(the shuffle buffer). Each permutation comes from a generator seeded by (seed, task, epoch, window,
share), so the whole stream state is a few counters plus the < seq_len tokens carried between windows.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import logging
import shlex
import subprocess
import zlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import fsspec
import numpy as np
import pyarrow as pa
from webdataset.tariterators import group_by_keys, tar_file_expander

from xlmforge.schemas.records import check_schema
from xlmforge.schemas.shards import EOS_ID, WDS_BITEXT_KEYS, WDS_MONO_KEYS, bitext_shard_schema, mono_shard_schema

log = logging.getLogger(__name__)

ARROW_CHUNK_ROWS = 256  # Arrow rows grouped into one chunk, the unit split between workers

Side = tuple[np.ndarray, np.ndarray]  # flat tokens and int64 offsets (len = num_segments + 1)
Chunk = tuple[Side, ...]  # one side for monolingual text, (src, tgt) for bitext


class ShardError(ValueError):
    """A shard that cannot be used."""


class ShardCorruptError(ShardError):
    """A shard whose bytes do not match the manifest's sha256."""


@dataclasses.dataclass(frozen=True)
class ShardSource:
    """One shard of the manifest, with the URL it is read from."""

    name: str  # path as written in the manifest, used in every message
    url: str
    sha256: str
    format: str
    kind: str


@dataclasses.dataclass(frozen=True)
class ShardReader:
    """Reads, verifies and parses shards."""

    vocab_size: int
    opener: str = ""  # "pipe:<command with {url}>", or empty for fsspec
    on_corrupt: str = "fail"

    def read_bytes(self, shard: ShardSource) -> bytes:
        if self.opener:
            command = self.opener.removeprefix("pipe:").format(url=shlex.quote(shard.url))
            done = subprocess.run(command, shell=True, capture_output=True, check=False)
            if done.returncode != 0:
                raise ShardError(f"shard {shard.name}: `{command}` exited {done.returncode}: "
                                 f"{done.stderr.decode(errors='replace').strip()}")
            return done.stdout
        try:
            with fsspec.open(shard.url, "rb") as f:
                return f.read()
        except FileNotFoundError:
            raise FileNotFoundError(f"shard {shard.name} is missing: {shard.url}") from None

    def read_chunks(self, shard: ShardSource) -> list[Chunk] | None:
        """The shard's chunks, or None when it is corrupt and the policy is to skip it."""
        data = self.read_bytes(shard)
        digest = hashlib.sha256(data).hexdigest()
        if digest != shard.sha256:
            message = f"shard {shard.name}: sha256 mismatch (manifest {shard.sha256[:16]}, read {digest[:16]})"
            if self.on_corrupt == "fail":
                raise ShardCorruptError(message)
            log.warning("%s; skipped", message)
            return None
        parse = _parse_webdataset if shard.format == "webdataset" else _parse_arrow
        try:
            return parse(data, shard, self.vocab_size)
        except (KeyError, ValueError, OSError, pa.ArrowException) as err:
            raise ShardError(f"shard {shard.name}: cannot parse as {shard.format} {shard.kind}: {err}") from err


def _parse_webdataset(data: bytes, shard: ShardSource, vocab_size: int) -> list[Chunk]:
    keys = WDS_MONO_KEYS if shard.kind == "mono" else WDS_BITEXT_KEYS
    sides = [("tokens.npy", "offsets.npy")] if shard.kind == "mono" else [("src.npy", "src_offsets.npy"),
                                                                          ("tgt.npy", "tgt_offsets.npy")]
    chunks = []
    for sample in group_by_keys(tar_file_expander([{"url": shard.name, "stream": io.BytesIO(data)}])):
        key = sample["__key__"]
        # Shards are only read in memory, but a member named like a path out of the shard is a
        # tampered file: refuse it rather than trust anything else in it.
        if key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"member {key!r} is an absolute path or leaves the shard's directory")
        missing = [k for k in keys if k not in sample]
        if missing:
            raise KeyError(f"sample {sample['__key__']} lacks {missing}")
        json.loads(sample["json"])  # present and well formed; languages come from the manifest
        chunks.append(tuple((_array(sample[t]), _array(sample[o])) for t, o in sides))
    return chunks


def _array(data: bytes) -> np.ndarray:
    return np.load(io.BytesIO(data), allow_pickle=False)  # never unpickle what a data file holds


def _parse_arrow(data: bytes, shard: ShardSource, vocab_size: int) -> list[Chunk]:
    table = pa.ipc.open_file(pa.BufferReader(data)).read_all()
    schema = mono_shard_schema(vocab_size) if shard.kind == "mono" else bitext_shard_schema(vocab_size)
    check_schema(table.schema, schema, f"shard {shard.name}")
    columns = ["tokens"] if shard.kind == "mono" else ["src_tokens", "tgt_tokens"]
    flat = []
    for name in columns:
        column = table.column(name).combine_chunks()
        flat.append((column.flatten().to_numpy(), column.offsets.to_numpy().astype(np.int64)))
    chunks = []
    for start in range(0, table.num_rows, ARROW_CHUNK_ROWS):
        end = min(start + ARROW_CHUNK_ROWS, table.num_rows)
        chunks.append(tuple((values[offsets[start]:offsets[end]], offsets[start:end + 1] - offsets[start])
                            for values, offsets in flat))
    return chunks


def segments(side: Side) -> list[np.ndarray]:
    """The token arrays of one side of a chunk."""
    tokens, offsets = side
    return [tokens[offsets[i]:offsets[i + 1]] for i in range(len(offsets) - 1)]


class StreamItems:
    """Cuts monolingual text into rows of `seq_len` tokens: segments each followed by </s>, as in XLM."""

    def __init__(self, seq_len: int):
        self.seq_len = seq_len

    def build(self, chunks: Sequence[Chunk], carry: list[int]) -> tuple[np.ndarray, list[int]]:
        pieces = [np.asarray(carry, dtype=np.int64)]
        for ((tokens, offsets),) in chunks:
            pieces.append(np.insert(tokens.astype(np.int64), offsets[1:], EOS_ID))
        text = np.concatenate(pieces)
        num_rows = len(text) // self.seq_len
        rows = text[: num_rows * self.seq_len].reshape(num_rows, self.seq_len)
        return rows, text[num_rows * self.seq_len:].tolist()


class PairItems:
    """Sentence pairs, each side cut to `max_len` tokens, oriented as the task asks."""

    def __init__(self, max_len: int, swap: bool):
        self.max_len, self.swap = max_len, swap

    def build(self, chunks: Sequence[Chunk], carry: list[int]) -> tuple[list[tuple[np.ndarray, np.ndarray]], list[int]]:
        pairs = []
        for src, tgt in chunks:
            for s, t in zip(segments(src), segments(tgt), strict=True):
                s, t = s[: self.max_len].astype(np.int64), t[: self.max_len].astype(np.int64)
                if len(s) and len(t):
                    pairs.append((t, s) if self.swap else (s, t))
        return pairs, []


ItemBuilder = StreamItems | PairItems


class ItemStream:
    """The endless, shuffled items of one task for one share (a rank's DataLoader worker)."""

    def __init__(self, key: str, shards: list[ShardSource], builder: ItemBuilder, read: Callable[[ShardSource], Any],
                 share: tuple[int, int], seed: int, window_shards: int):
        if not shards:
            raise ShardError(f"task {key} has no shards")
        self.key, self.shards, self.builder, self.read = key, shards, builder, read
        self.share_index, self.num_shares = share
        self.seed, self.window_shards = seed, window_shards
        self._kept: dict[str, list[Chunk] | None] | None = None
        self.load_state_dict({"epoch": 0, "window": 0, "row": 0, "carry": [], "whole": False, "epoch_items": 0,
                              "num_corrupt": 0})

    def state_dict(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "window": self.window, "row": self.row, "carry": list(self.carry_in),
                "whole": self.whole, "epoch_items": self.epoch_items, "num_corrupt": self.num_corrupt}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epoch, self.window, self.row = state["epoch"], state["window"], state["row"]
        self.carry_in, self.whole = list(state["carry"]), state["whole"]
        self.epoch_items, self.num_corrupt = state["epoch_items"], state["num_corrupt"]
        self.items: Any = None  # the current window, rebuilt lazily from the state

    def _rng(self, *stage: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, zlib.crc32(self.key.encode()), self.share_index, *stage])

    def _my_shards(self) -> tuple[list[ShardSource], slice]:
        """This share's shards in this epoch's order, and which of their chunks it takes.

        With at least as many shards as shares, each share takes whole shards. With fewer, the shares are
        dealt out over the shards and those on the same shard split its chunks, so each share downloads
        one shard, not all of them. A share left empty reads everything (tiny tasks only)."""
        num_shards = len(self.shards)
        if self.whole:
            mine, chunks = self.shards, slice(None)
        elif num_shards >= self.num_shares:
            mine, chunks = self.shards[self.share_index::self.num_shares], slice(None)
        else:
            shard = self.share_index % num_shards
            num_readers = len(range(shard, self.num_shares, num_shards))
            mine, chunks = [self.shards[shard]], slice(self.share_index // num_shards, None, num_readers)
        order = self._rng(self.epoch).permutation(len(mine))
        return [mine[i] for i in order], chunks

    def _read_window(self, window: list[ShardSource], whole_epoch: bool) -> list[list[Chunk] | None]:
        """The chunks of each shard of the window. A window that is the whole epoch is kept rather than
        downloaded again every epoch (a small task's few shards, from object storage)."""
        if self._kept is not None and self._kept.keys() == {shard.name for shard in window}:
            return [self._kept[shard.name] for shard in window]
        read = [self.read(shard) for shard in window]
        self._kept = {shard.name: chunks for shard, chunks in zip(window, read)} if whole_epoch else None
        return read

    def _load_window(self) -> None:
        shards, mine = self._my_shards()
        window = shards[self.window * self.window_shards:(self.window + 1) * self.window_shards]
        chunks: list[Chunk] = []
        for shard_chunks in self._read_window(window, len(shards) <= self.window_shards):
            if shard_chunks is None:
                self.num_corrupt += 1
                continue
            chunks += shard_chunks[mine]
        self.items, self.carry_out = self.builder.build(chunks, self.carry_in)
        self.order = self._rng(self.epoch, self.window).permutation(len(self.items))
        self.num_windows = -(-len(shards) // self.window_shards)

    def _next_window(self) -> None:
        self.window, self.row, self.carry_in = self.window + 1, 0, self.carry_out
        if self.window == self.num_windows:
            if self.epoch_items == 0:
                if self.whole:
                    raise ShardError(f"task {self.key}: no readable items in its {len(self.shards)} shard(s)")
                self.whole = True  # this share was empty: read everything (tiny tasks only)
                log.info("task %s share %d: empty, reading all of it", self.key, self.share_index)
            self.epoch, self.window, self.epoch_items = self.epoch + 1, 0, 0
        self._load_window()

    def peek(self) -> Any:
        """The next item, without consuming it."""
        if self.items is None:
            self._load_window()
        while self.row >= len(self.items):
            self._next_window()
        return self.items[self.order[self.row]]

    def take(self) -> Any:
        """The next item."""
        item = self.peek()
        self.row += 1
        self.epoch_items += 1
        return item


def items_once(shards: list[ShardSource], builder: ItemBuilder, read: Callable[[ShardSource], Any]) -> Iterator[Any]:
    """Every item of `shards` once, in manifest order (validation and evaluation)."""
    carry: list[int] = []
    for shard in shards:
        chunks = read(shard)
        if chunks is not None:
            items, carry = builder.build(chunks, carry)
            yield from items
