"""The encode and write-shards Beam stages, and shard files read back through pyarrow, HF datasets and webdataset."""

import io
import json

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pytest
import sentencepiece as spm
import webdataset as wds
from apache_beam.testing.util import assert_that, equal_to

from tests.pipelines.shard_fixtures import sentences, write_corpus
from xlmforge.pipelines.common.parts import read_batches
from xlmforge.pipelines.jobs.shards import build_shards
from xlmforge.pipelines.shards.config import ShardFilesConfig, ShardsConfig, VocabConfig
from xlmforge.pipelines.shards.encode import DECONTAMINATE, ENCODE, EncodedPart, EncodeFiles, encode_texts, shard_schema
from xlmforge.pipelines.shards.inputs import find_inputs
from xlmforge.pipelines.shards.layout import ShardsLayout, shard_path
from xlmforge.pipelines.shards.scan import ScanCorpus, load_keys, save_keys
from xlmforge.pipelines.shards.splits import SplitPlan, split_keys
from xlmforge.pipelines.shards.vocab import train_vocab
from xlmforge.pipelines.shards.write import WriteShards, record_bytes
from xlmforge.schemas.records import REJECT_SCHEMA
from xlmforge.schemas.shards import bitext_shard_schema, mono_shard_schema

VOCAB = VocabConfig(size=350)


@pytest.fixture
def shards_layout(tmp_path) -> ShardsLayout:
    layout = ShardsLayout(str(tmp_path / "shards"))
    sample = tmp_path / "sample.txt"
    sample.write_text("".join(s + "\n" for lang in ("eng", "deu", "fra") for s in sentences(lang)), encoding="utf-8")
    train_vocab([str(sample)], VOCAB, layout.vocab_model)
    return layout


def encoder(layout):
    return spm.SentencePieceProcessor(model_file=layout.vocab_model)


def scanned(file, layout, plan, make_pipeline):
    """`file` after the scan pass, whose split keys the encode pass reads."""
    with make_pipeline() as p:
        _ = p | beam.Create([file]) | ScanCorpus(layout, plan, dict.fromkeys(file.langs, 0.0), vocab_seed=0)
    return file


def test_encode_splits_drops_held_out_copies_and_empty_records(tmp_path, shards_layout, make_pipeline):
    texts = sentences("eng")[:20] + [" ", "Our neighbour FINDS the blue door!"]  # blank; a copy of a held-out text
    write_corpus(tmp_path / "corpus", {"eng": texts}, num_files=1)
    (file,) = find_inputs([str(tmp_path / "corpus")]).files
    save_keys(shards_layout.all_heldout_keys, [split_keys(["our neighbour finds the blue door."], seed=0)])
    plan = SplitPlan({"eng": (0.0, 0.0)}, seed=0)  # everything is train
    scanned(file, shards_layout, plan, make_pipeline)
    with make_pipeline() as p:
        encoded = p | beam.Create([file]) | EncodeFiles(shards_layout, plan, 350)
        path = shards_layout.encoded("mono", "eng", "train", file.part_id)
        assert_that(encoded.parts, equal_to([EncodedPart("mono", "eng", "train", file.part_id, path, 20)]))
        expected_counts = [
            ((DECONTAMINATE, "eng", "in"), 22),
            ((DECONTAMINATE, "eng", "kept"), 21),
            ((DECONTAMINATE, "eng", "dropped:decontaminated"), 1),
            ((ENCODE, "eng", "in"), 21),
            ((ENCODE, "eng", "kept"), 20),
            ((ENCODE, "eng", "dropped:empty_after_encoding"), 1),
        ]
        assert_that(encoded.counts | beam.FlatMap(lambda c: c), equal_to(expected_counts), label="counts")
    rows = [r for batch in read_batches(path, mono_shard_schema(350)) for r in batch.to_pylist()]
    inputs = [r for batch in read_batches(file.path, file.records.schema) for r in batch.to_pylist()]
    assert [r["segment_id"] for r in rows] == [r["segment_id"] for r in inputs[:20]]  # document order
    assert [r["tokens"] for r in rows] == encoder(shards_layout).encode(texts[:20])
    rejects = {
        stage: [
            r for b in read_batches(shards_layout.rejected(stage, file.part_id), REJECT_SCHEMA) for r in b.to_pylist()
        ]
        for stage in (DECONTAMINATE, ENCODE)
    }
    assert [(r["text"], r["reason"]) for r in rejects[DECONTAMINATE]] == [(texts[21], "decontaminated")]
    assert [(r["text"], r["reason"]) for r in rejects[ENCODE]] == [(" ", "empty_after_encoding")]


def test_the_scan_keeps_every_records_split_keys_for_the_encode_pass(tmp_path, shards_layout, make_pipeline):
    pairs = list(zip(sentences("eng")[:30], sentences("deu")[:30]))
    write_corpus(tmp_path / "corpus", {}, {"eng-deu": pairs})
    (file,) = find_inputs([str(tmp_path / "corpus")]).files
    scanned(file, shards_layout, SplitPlan({"eng-deu": (0.2, 0.2)}, 0), make_pipeline)
    sides = [[s for s, _ in pairs], [t for _, t in pairs]]
    stored = load_keys(shards_layout.split_keys(file.part_id))
    assert stored.shape == (2, 30)
    assert all((stored[i] == split_keys(side, seed=0)).all() for i, side in enumerate(sides))


def test_a_pair_is_decontaminated_by_either_side(tmp_path, shards_layout, make_pipeline):
    pairs = list(zip(sentences("eng")[:10], sentences("deu")[:10]))
    write_corpus(tmp_path / "corpus", {}, {"eng-deu": pairs})
    (file,) = find_inputs([str(tmp_path / "corpus")]).files
    save_keys(shards_layout.all_heldout_keys, [split_keys([pairs[2][1], pairs[5][0]], seed=0)])
    plan = SplitPlan({"eng-deu": (0.0, 0.0)}, 0)
    scanned(file, shards_layout, plan, make_pipeline)
    with make_pipeline() as p:
        encoded = p | beam.Create([file]) | EncodeFiles(shards_layout, plan, 350)
        assert_that(encoded.parts | beam.Map(lambda part: part.num_records), equal_to([8]))
    rejected = [
        r
        for b in read_batches(shards_layout.rejected(DECONTAMINATE, file.part_id), REJECT_SCHEMA)
        for r in b.to_pylist()
    ]
    assert [(r["lang"], r["text"], r["detail"]) for r in rejected] == [
        ("eng-deu", f"{pairs[2][0]}\t{pairs[2][1]}", "tgt"),
        ("eng-deu", f"{pairs[5][0]}\t{pairs[5][1]}", "src"),
    ]
    rows = [
        r
        for b in read_batches(
            shards_layout.encoded("bitext", "eng-deu", "train", file.part_id), bitext_shard_schema(350)
        )
        for r in b.to_pylist()
    ]
    kept = [pair for i, pair in enumerate(pairs) if i not in (2, 5)]
    assert [r["tgt_tokens"] for r in rows] == encoder(shards_layout).encode([t for _, t in kept])


def encoded_part(layout, part_id, texts, processor):
    schema = shard_schema("mono", 350)
    tokens = encode_texts(processor, texts, schema.field("tokens").type.value_type)
    n = len(texts)
    batch = pa.RecordBatch.from_arrays(
        [
            pa.array(np.arange(n, dtype=np.uint64) + 1000 * int(part_id[-1])),
            pa.array(["eng"] * n),
            pa.array(["d"] * n),
            pa.array(np.arange(n, dtype=np.int32)),
            tokens,
        ],
        schema=schema,
    )
    path = layout.encoded("mono", "eng", "train", part_id)
    from xlmforge.pipelines.common.parts import ArrowFileWriter

    with ArrowFileWriter(path, schema) as writer:
        for start in range(0, n, 7):  # several batches, so that cuts fall inside and between them
            writer.write(batch.slice(start, 7))
    return EncodedPart("mono", "eng", "train", part_id, path, n), batch


def test_write_shards_cuts_at_the_target_size_in_input_order_in_both_formats(shards_layout, make_pipeline):
    processor = encoder(shards_layout)
    part_a, batch_a = encoded_part(shards_layout, "mono-eng-000001", sentences("eng")[:30], processor)
    part_b, batch_b = encoded_part(shards_layout, "mono-eng-000002", sentences("eng")[30:50], processor)
    sizes = np.concatenate([record_bytes(batch_a), record_bytes(batch_b)])
    target = 600
    config = ShardFilesConfig(target_bytes=target, records_per_sample=4)
    per_shard = []  # expected: records up to and including the one reaching the target
    start = 0
    while start < len(sizes):
        end = start + int(np.searchsorted(np.cumsum(sizes[start:]), target)) + 1
        per_shard.append(min(end, len(sizes)) - start)
        start = end
    expected = [
        shard
        for i, n in enumerate(per_shard)
        for shard in (
            (f"mono/eng/train/shard-{i:05d}.arrow", n, None),
            (f"mono/eng/train/shard-{i:05d}.tar", n, -(-n // 4)),
        )
    ]
    token_counts = np.bincount(np.concatenate(processor.encode(sentences("eng")[:50])), minlength=350)
    with make_pipeline() as p:
        written = p | beam.Create([part_b, part_a]) | WriteShards(shards_layout, config, 350)  # order given: b, a
        assert_that(
            written
            | beam.Map(
                lambda w: (
                    [(s.path, s.num_records, s.num_samples) for s in w.shards],
                    w.counts,
                    np.array_equal(w.token_counts, token_counts),
                )
            ),
            equal_to([(expected, ((("write", "eng", "in"), 50), (("write", "eng", "kept"), 50)), True)]),
        )
    assert len(per_shard) > 3
    table = pa.concat_tables(
        pa.ipc.open_file(f"{shards_layout.root}/{shard_path('mono', 'eng', 'train', i, 'arrow')}").read_all()
        for i in range(len(per_shard))
    )
    assert table.column("segment_id").to_pylist() == batch_a.column(0).to_pylist() + batch_b.column(0).to_pylist()


# --- reading a whole build back through pyarrow, Hugging Face datasets and webdataset ---


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    root = tmp_path_factory.mktemp("build")
    mono = {lang: sentences(lang) for lang in ("eng", "deu")}
    corpus = write_corpus(root / "corpus", mono, {"eng-deu": list(zip(sentences("eng"), sentences("deu")))})
    config = ShardsConfig(
        vocab=VOCAB, splits={"valid_size": 20, "test_size": 20}, shards={"target_bytes": 1500, "records_per_sample": 8}
    )
    result = build_shards([str(corpus)], str(root / "shards"), config)
    texts = {}  # record id -> texts, from the corpus files
    for file in find_inputs([str(corpus)]).files:
        for batch in read_batches(file.path, file.records.schema):
            for row in batch.to_pylist():
                texts[row.get("segment_id", row.get("pair_id"))] = [row[c] for c in file.text_columns]
    return result, texts, spm.SentencePieceProcessor(model_file=str(root / "shards" / "vocab" / "spm.model"))


def test_every_arrow_shard_opens_in_pyarrow_with_the_encoded_records(build):
    result, texts, processor = build
    shards = [s for s in result.manifest.shards if s.format == "arrow"]
    assert {(s.kind, s.split) for s in shards} == {
        (k, s) for k in ("mono", "bitext") for s in ("train", "valid", "test")
    }
    for shard in shards:
        with pa.ipc.open_file(f"{result.out_dir}/{shard.path}") as reader:
            table = reader.read_all()
        schema = shard_schema(shard.kind, result.manifest.vocab.size)
        assert table.schema.equals(schema, check_metadata=True) and table.num_rows == shard.num_records
        id_column, token_columns = table.column_names[0], [c for c in table.column_names if c.endswith("tokens")]
        for row in table.to_pylist():
            assert [row[c] for c in token_columns] == processor.encode(texts[row[id_column]])


def test_arrow_shards_open_as_they_are_in_hugging_face_datasets(build, tmp_path):
    import datasets

    result, texts, processor = build
    shards = result.manifest.shards_for(kind="mono", split="train", fmt="arrow")
    shards = [s for s in shards if s.lang == "deu"]
    dataset = datasets.load_dataset(
        "arrow", data_files=[f"{result.out_dir}/{s.path}" for s in shards], split="train", cache_dir=str(tmp_path)
    )
    assert len(dataset) == sum(s.num_records for s in shards)
    assert dataset.features["tokens"].feature.dtype == "uint16"
    for row in dataset:
        assert row["lang"] == "deu" and row["tokens"] == processor.encode(texts[row["segment_id"]][0])


def test_webdataset_shards_open_in_webdataset_and_hold_the_same_records_as_arrow(build):
    result, texts, processor = build
    for kind in ("mono", "bitext"):
        tars = result.manifest.shards_for(kind=kind, split="train", fmt="webdataset")
        urls = [f"{result.out_dir}/{s.path}" for s in tars]
        samples = list(wds.WebDataset(urls, shardshuffle=False, empty_check=False))
        assert len(samples) == sum(s.num_samples for s in tars) > len(tars)
        sides = (
            [("tokens.npy", "offsets.npy")]
            if kind == "mono"
            else [("src.npy", "src_offsets.npy"), ("tgt.npy", "tgt_offsets.npy")]
        )
        ids = []
        for sample in samples:
            sample_ids = np.load(io.BytesIO(sample["ids.npy"]))
            meta = json.loads(sample["json"])
            decoded = [(np.load(io.BytesIO(sample[t])), np.load(io.BytesIO(sample[o]))) for t, o in sides]
            assert decoded[0][0].dtype == np.uint16 and decoded[0][1].dtype == np.int64
            for i, record_id in enumerate(sample_ids.tolist()):
                tokens = [values[offsets[i] : offsets[i + 1]].tolist() for values, offsets in decoded]
                assert tokens == processor.encode(texts[record_id])
            if kind == "mono":
                assert meta["lang"] in ("eng", "deu") and len(meta["doc_ids"]) == len(meta["positions"]) == len(
                    sample_ids
                )
            ids += sample_ids.tolist()
        arrow = result.manifest.shards_for(kind=kind, split="train", fmt="arrow")
        arrow_ids = [
            i for s in arrow for i in pa.ipc.open_file(f"{result.out_dir}/{s.path}").read_all().column(0).to_pylist()
        ]
        assert ids == arrow_ids
