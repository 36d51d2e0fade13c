import pyarrow as pa

from xlmforge.pipelines.common.spill import spill


def test_each_destination_reads_back_its_own_batch(tmp_path):
    batches = [(f"part-{i}", pa.record_batch({"id": pa.array(range(i, i + 3), pa.uint64())})) for i in range(4)]
    spilled = spill(str(tmp_path / "work" / "stage-keys" / "p.arrow"), batches)
    assert [key for key, _ in spilled] == ["part-0", "part-1", "part-2", "part-3"]
    assert [ref.load().column("id").to_pylist() for _, ref in spilled] == [[0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5]]


def test_nothing_to_spill_writes_no_file(tmp_path):
    assert spill(str(tmp_path / "p.arrow"), []) == []
    assert not (tmp_path / "p.arrow").exists()
