"""How a task's shards are dealt out to its readers (rank x DataLoader worker shares)."""

from __future__ import annotations

from collections import Counter

import pytest

from xlmforge.training.streams import ItemStream, ShardSource


class EachChunkAnItem:
    """A builder that hands out the chunks themselves, so a test sees which share got which chunk."""

    def build(self, chunks, carry):
        return list(chunks), []


def read_counting(opens: Counter, share: int, num_chunks: int):
    def read(shard: ShardSource) -> list:
        opens[share, shard.name] += 1
        return [(shard.name, index) for index in range(num_chunks)]

    return read


def epochs_of(stream: ItemStream, num_epochs: int) -> list[Counter]:
    """The chunks a share takes in each of its first epochs."""
    taken = [Counter() for _ in range(num_epochs)]
    while (item := stream.peek()) is not None and stream.epoch < num_epochs:
        taken[stream.epoch][item] += 1
        stream.take()
    return taken


@pytest.mark.parametrize(("num_shards", "num_shares"), [(3, 8), (1, 4), (4, 4), (5, 2)])
def test_every_chunk_read_once_per_epoch_and_each_reader_downloads_only_its_shards(num_shards, num_shares):
    shards = [ShardSource(f"mono/en/{i}.arrow", f"s3://bucket/mono/en/{i}.arrow", "", "arrow", "mono")
              for i in range(num_shards)]
    num_chunks, num_epochs = 5, 3
    opens: Counter = Counter()
    per_epoch = [Counter() for _ in range(num_epochs)]
    for share in range(num_shares):
        stream = ItemStream("mlm:en", shards, EachChunkAnItem(), read_counting(opens, share, num_chunks),
                            (share, num_shares), seed=0, window_shards=num_shards)
        for epoch, taken in enumerate(epochs_of(stream, num_epochs)):
            per_epoch[epoch] += taken
    every_chunk = Counter({(shard.name, index): 1 for shard in shards for index in range(num_chunks)})
    assert all(taken == every_chunk for taken in per_epoch)  # no chunk twice, none left out
    for share in range(num_shares):
        expected = shards[share::num_shares] if num_shards >= num_shares else [shards[share % num_shards]]
        # its own shards only, each downloaded once: a window that is the whole epoch is kept
        assert opens_of(opens, share) == {shard.name: 1 for shard in expected}


def opens_of(opens: Counter, share: int) -> dict[str, int]:
    return {name: count for (reader, name), count in opens.items() if reader == share}
