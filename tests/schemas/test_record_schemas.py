import dataclasses

import pyarrow as pa
import pytest

from xlmforge.schemas.records import REJECT_SCHEMA, SEGMENT_SCHEMA, Reject, Segment, check_schema, with_metadata


@pytest.mark.parametrize(("schema", "record"), [(SEGMENT_SCHEMA, Segment), (REJECT_SCHEMA, Reject)])
def test_typed_record_matches_schema(schema, record):
    assert [f.name for f in dataclasses.fields(record)] == schema.names


def test_rows_round_trip_through_the_schema():
    segment = Segment(7, "news", "a.txt@0", 3, "deu", "Guten Tag.", "deu", 0.98)
    table = pa.Table.from_pylist([dataclasses.asdict(segment)], schema=SEGMENT_SCHEMA)
    assert Segment(**table.to_pylist()[0]) == dataclasses.replace(segment, lid_score=pytest.approx(0.98))


def test_check_schema_names_the_file_and_the_problem():
    check_schema(with_metadata(SEGMENT_SCHEMA, corpus="x"), SEGMENT_SCHEMA, "ok.arrow")
    with pytest.raises(ValueError, match=r"bad\.arrow: expected a 'segment' file"):
        check_schema(REJECT_SCHEMA, SEGMENT_SCHEMA, "bad.arrow")
    renamed = pa.schema([f.with_name("x" + f.name) for f in SEGMENT_SCHEMA], metadata=SEGMENT_SCHEMA.metadata)
    with pytest.raises(ValueError, match="columns do not match"):
        check_schema(renamed, SEGMENT_SCHEMA, "cols.arrow")


def test_bitext_record_matches_schema():
    from xlmforge.schemas.bitext import BITEXT_SCHEMA, BitextPair

    assert [f.name for f in dataclasses.fields(BitextPair)] == BITEXT_SCHEMA.names


def test_shard_records_match_their_schemas():
    from xlmforge.schemas.shards import BitextRecord, MonoRecord, bitext_shard_schema, mono_shard_schema

    assert [f.name for f in dataclasses.fields(MonoRecord)] == mono_shard_schema(8000).names
    assert [f.name for f in dataclasses.fields(BitextRecord)] == bitext_shard_schema(8000).names
    assert mono_shard_schema(70_000).field("tokens").type.value_type == pa.int32()
