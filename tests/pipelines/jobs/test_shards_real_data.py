"""The shard build on real multilingual text (NTREX-128): segments and sentence pairs from a real corpus build,
plus a second corpus directory of pairs."""

import pyarrow as pa
import sentencepiece as spm

from tests.pipelines.shard_fixtures import write_corpus
from xlmforge.pipelines.corpus.config import CorpusConfig
from xlmforge.pipelines.jobs.corpus import build_corpus
from xlmforge.pipelines.jobs.shards import build_shards
from xlmforge.pipelines.shards.config import ShardsConfig
from xlmforge.pipelines.shards.manifest import read_manifest

LANGS = ["eng", "deu", "rus", "ara", "hin", "zho", "jpn", "tha"]
NUM_LINES = 250


def test_real_text_in_many_scripts_becomes_shards(shared_data, tmp_path):
    lines = {lang: (shared_data / "ntrex" / f"{lang}.txt").read_text(encoding="utf-8").splitlines() for lang in LANGS}
    sources = []
    for lang in LANGS:
        path = tmp_path / "input" / f"{lang}.txt"
        path.parent.mkdir(exist_ok=True)
        # English gets 4x the text of the others, so that temperature sampling has something to do.
        path.write_text("\n".join(lines[lang][: NUM_LINES * (4 if lang == "eng" else 1)]) + "\n", encoding="utf-8")
        sources.append({"name": lang, "path": str(path), "language": lang})
    tsv = tmp_path / "input" / "eng-zho.tsv"
    tsv.write_text("".join(f"{e}\t{z}\n" for e, z in zip(lines["eng"][1000:1400], lines["zho"][1000:1400])))
    sources.append({"kind": "bitext", "name": "ntrex-eng-zho", "path": str(tsv), "languages": ["eng", "zho"]})
    corpus = CorpusConfig(sources=sources, language_id={"enabled": False}, near_dedup={"enabled": False})
    built = build_corpus(corpus, str(tmp_path / "corpus"))
    # A second corpus build directory, of sentence pairs only.
    pairs = list(zip(lines["eng"][1400:1700], lines["deu"][1400:1700]))
    write_corpus(tmp_path / "pairs", {}, {"eng-deu": pairs})

    config = ShardsConfig(
        vocab={"size": 4000, "num_sample_sentences": 1500},
        splits={"valid_size": 25, "test_size": 25},
        shards={"target_bytes": 20_000},
    )
    result = build_shards([str(tmp_path / "corpus"), str(tmp_path / "pairs")], str(tmp_path / "shards"), config)
    manifest = read_manifest(result.out_dir)
    result.ledger.check()
    num_inputs = sum(built.segments_by_lang.values()) + sum(built.pairs_by_lang.values()) + len(pairs)
    assert result.ledger.total("decontaminate", "in") == num_inputs and built.pairs_by_lang["eng-zho"] > 350

    rows = {row.key: row for row in result.report}
    assert set(rows) == {*LANGS, "eng-zho", "eng-deu"}
    for lang in LANGS:
        assert rows[lang].num_segments > 150 and 5 < rows[lang].fertility < 200, rows[lang]
    # q flattens p: English holds the largest share and is sampled below it, every other language above.
    assert rows["eng"].q < rows["eng"].p and all(rows[lang].q > rows[lang].p for lang in LANGS if lang != "eng")

    processor = spm.SentencePieceProcessor(model_file=f"{result.out_dir}/{manifest.vocab.path}")
    assert processor.get_piece_size() == 4000
    shard = manifest.shards_for(kind="mono", split="train", fmt="arrow")[-1]
    table = pa.ipc.open_file(f"{result.out_dir}/{shard.path}").read_all()
    decoded = [processor.decode(ids) for ids in table.column("tokens").to_pylist()]
    assert (
        all(text.strip() for text in decoded)
        and processor.unk_id() not in table.column("tokens").combine_chunks().flatten().to_pylist()
    )
    assert len(manifest.shards_for(kind="mono", split="train", fmt="webdataset")) > len(LANGS)
