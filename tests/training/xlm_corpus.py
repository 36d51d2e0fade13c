"""A tiny multilingual corpus written through `schemas/`: a real SentencePiece model, WebDataset and
Arrow shards of both kinds, and the manifest. Stands in for the real shard writer in tests and benches.
"""

from __future__ import annotations

import hashlib
import io
import itertools
from pathlib import Path

import numpy as np
import pyarrow as pa
import sentencepiece as spm
import webdataset as wds

from xlmforge.schemas.manifest import (
    MANIFEST_NAME,
    LanguageSampling,
    SamplingTable,
    ShardInfo,
    ShardManifest,
    VocabInfo,
)
from xlmforge.schemas.shards import SPECIAL_TOKENS, bitext_shard_schema, mono_shard_schema
from xlmforge.training.plan import sampling_probabilities

# Parallel phrase lists: sentence i of every language is a translation of sentence i of the others.
PHRASES = {
    "en": (["the cat", "my brother", "the old man", "a young girl", "the teacher", "our neighbour"],
           ["eats", "sees", "buys", "paints", "likes", "finds"],
           ["a red apple", "the big house", "a small boat", "the green bicycle", "an old book", "the blue door"]),
    "fr": (["le chat", "mon frère", "le vieil homme", "une jeune fille", "le professeur", "notre voisin"],
           ["mange", "voit", "achète", "peint", "aime", "trouve"],
           ["une pomme rouge", "la grande maison", "un petit bateau", "le vélo vert", "un vieux livre",
            "la porte bleue"]),
    "de": (["die Katze", "mein Bruder", "der alte Mann", "ein junges Mädchen", "der Lehrer", "unser Nachbar"],
           ["isst", "sieht", "kauft", "malt", "mag", "findet"],
           ["einen roten Apfel", "das große Haus", "ein kleines Boot", "das grüne Fahrrad", "ein altes Buch",
            "die blaue Tür"]),
}
SEGMENTS_PER_BLOCK = 8
SEGMENTS_PER_DOC = 6


def sentences(lang: str) -> list[str]:
    """216 sentences, the same order in every language."""
    subjects, verbs, objects = PHRASES[lang]
    return [f"{s} {v} {o}." for s, v, o in itertools.product(subjects, verbs, objects)]


def train_sentencepiece(vocab_size: int = 160, model_type: str = "unigram",
                        languages: tuple[str, ...] = tuple(PHRASES)) -> bytes:
    """A SentencePiece model over `languages` (default: all) with the project's fixed special-token ids."""
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter([s for lang in languages for s in sentences(lang)]), model_writer=model,
        vocab_size=vocab_size, model_type=model_type, character_coverage=1.0, hard_vocab_limit=False,
        pad_id=SPECIAL_TOKENS["<pad>"], bos_id=SPECIAL_TOKENS["<s>"], eos_id=SPECIAL_TOKENS["</s>"],
        unk_id=SPECIAL_TOKENS["<unk>"], user_defined_symbols=["<mask>"], minloglevel=2)
    return model.getvalue()


def _write_wds(path: Path, kind: str, lang: str, sides: list[list[np.ndarray]], dtype: type) -> None:
    with wds.TarWriter(str(path)) as sink:
        num = len(sides[0])
        for b, start in enumerate(range(0, num, SEGMENTS_PER_BLOCK)):
            sample: dict[str, object] = {"__key__": f"{lang}-{b:05d}",
                                         "ids.npy": np.arange(start, min(start + SEGMENTS_PER_BLOCK, num),
                                                              dtype=np.uint64)}
            names = [("tokens.npy", "offsets.npy")] if kind == "mono" else [("src.npy", "src_offsets.npy"),
                                                                            ("tgt.npy", "tgt_offsets.npy")]
            for (tok_key, off_key), side in zip(names, sides, strict=True):
                block = side[start:start + SEGMENTS_PER_BLOCK]
                sample[tok_key] = np.concatenate(block).astype(dtype)
                sample[off_key] = np.concatenate([[0], np.cumsum([len(s) for s in block])]).astype(np.int64)
            if kind == "mono":
                count = len(sample["ids.npy"])
                sample["json"] = {"lang": lang, "doc_ids": [f"d{(start + i) // SEGMENTS_PER_DOC}"
                                                            for i in range(count)],
                                  "positions": [(start + i) % SEGMENTS_PER_DOC for i in range(count)]}
            else:
                sample["json"] = dict(zip(("src_lang", "tgt_lang"), lang.split("-"), strict=True))
            sink.write(sample)


def _write_arrow(path: Path, kind: str, lang: str, sides: list[list[np.ndarray]], vocab_size: int) -> None:
    num = len(sides[0])
    if kind == "mono":
        schema = mono_shard_schema(vocab_size)
        columns = {"segment_id": np.arange(num, dtype=np.uint64), "lang": [lang] * num,
                   "doc_id": [f"d{i // SEGMENTS_PER_DOC}" for i in range(num)],
                   "position": np.arange(num, dtype=np.int32) % SEGMENTS_PER_DOC, "tokens": sides[0]}
    else:
        schema = bitext_shard_schema(vocab_size)
        src_lang, tgt_lang = lang.split("-")
        columns = {"pair_id": np.arange(num, dtype=np.uint64), "src_lang": [src_lang] * num,
                   "tgt_lang": [tgt_lang] * num, "src_tokens": sides[0], "tgt_tokens": sides[1]}
    table = pa.table({name: pa.array(list(values) if name.endswith("tokens") else values, type=schema.field(name).type)
                      for name, values in columns.items()}, schema=schema)
    with pa.ipc.new_file(str(path), schema) as writer:
        writer.write_table(table)


def write_shards(out_dir: Path, mono: dict[str, dict[str, list[list[np.ndarray]]]],
                 bitext: dict[str, dict[str, list[tuple[list[np.ndarray], list[np.ndarray]]]]],
                 vocab_model: bytes, vocab_size: int, alpha: float = 0.5) -> Path:
    """Write every shard in both formats and the manifest; returns the manifest path.

    mono[split][lang] is a list of shards, each a list of token arrays; bitext[split]["src-tgt"] is a
    list of shards, each a (src arrays, tgt arrays) pair of lists.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "spm.model").write_bytes(vocab_model)
    dtype = np.uint16 if vocab_size <= 65536 else np.int32
    infos = []
    jobs = [(split, "mono", lang, [shard]) for split, langs in mono.items() for lang, shards in langs.items()
            for shard in shards]
    jobs += [(split, "bitext", pair, list(shard)) for split, pairs in bitext.items()
             for pair, shards in pairs.items() for shard in shards]
    counters: dict[tuple[str, str, str], int] = {}
    for split, kind, lang, sides in jobs:
        index = counters[(split, kind, lang)] = counters.get((split, kind, lang), -1) + 1
        for fmt, ext in (("webdataset", "tar"), ("arrow", "arrow")):
            rel = f"{kind}/{lang}/{split}-{index:05d}.{ext}"
            path = out_dir / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if fmt == "webdataset":
                _write_wds(path, kind, lang, sides, dtype)
            else:
                _write_arrow(path, kind, lang, sides, vocab_size)
            data = path.read_bytes()
            infos.append(ShardInfo(path=rel, format=fmt, kind=kind, lang=lang, split=split, num_records=len(sides[0]),
                                   num_tokens=int(sum(len(t) for side in sides for t in side)),
                                   num_bytes=len(data), sha256=hashlib.sha256(data).hexdigest()))
    langs = sorted({lang for shards in mono.values() for lang in shards})
    num_tokens = {lang: sum(s.num_tokens for s in infos if s.lang == lang and s.split == "train"
                            and s.format == "arrow") for lang in langs}
    num_segments = {lang: sum(s.num_records for s in infos if s.lang == lang and s.split == "train"
                              and s.format == "arrow") for lang in langs}
    table = sampling_probabilities({lang: float(n) for lang, n in num_tokens.items()}, alpha)
    manifest = ShardManifest(
        token_dtype="uint16" if dtype == np.uint16 else "int32",
        vocab=VocabInfo(path="spm.model", sha256=hashlib.sha256(vocab_model).hexdigest(), size=vocab_size,
                        model_type="unigram", special_tokens=SPECIAL_TOKENS),
        sampling=SamplingTable(alpha=alpha, unit="tokens", languages={
            lang: LanguageSampling(num_segments=num_segments[lang], num_tokens=num_tokens[lang], p=table[lang][0],
                                   q=table[lang][1]) for lang in langs}),
        shards=infos, build={"writer": "tests/training/xlm_corpus.py"})
    path = out_dir / MANIFEST_NAME
    path.write_text(manifest.model_dump_json(indent=2), encoding="utf-8")
    return path


def write_tiny_corpus(out_dir: Path) -> Path:
    """en (3 train shards), fr (2), de (1, small); en-fr and de-en pairs; valid and test splits."""
    vocab_model = train_sentencepiece()
    sp = spm.SentencePieceProcessor(model_proto=vocab_model)
    encoded = {lang: [np.array(ids) for ids in sp.encode(sentences(lang))] for lang in PHRASES}

    def cut(lang: str, start: int, stop: int, num_shards: int) -> list[list[np.ndarray]]:
        rows = encoded[lang][start:stop]
        size = -(-len(rows) // num_shards)
        return [rows[i:i + size] for i in range(0, len(rows), size)]

    mono = {"train": {"en": cut("en", 0, 180, 3), "fr": cut("fr", 0, 180, 2), "de": cut("de", 0, 48, 1)},
            "valid": {lang: cut(lang, 180, 216, 1) for lang in PHRASES}}
    pairs = {
        split: {"en-fr": [(e, f) for e, f in zip(cut("en", a, b, n), cut("fr", a, b, n), strict=True)],
                "de-en": [(d, e) for d, e in zip(cut("de", a, b, 1), cut("en", a, b, 1), strict=True)]}
        for split, (a, b, n) in {"train": (0, 180, 2), "valid": (180, 198, 1), "test": (198, 216, 1)}.items()}
    return write_shards(out_dir, mono, pairs, vocab_model, sp.get_piece_size())


def write_mono_corpus(out_dir: Path, languages: tuple[str, ...], vocab_model: bytes) -> Path:
    """Monolingual shards of `languages` encoded with `vocab_model`: 180 train sentences each (2 shards),
    36 valid (every sixth: new combinations of phrases seen in training); a language's shards are the
    same whichever other languages are there."""
    sp = spm.SentencePieceProcessor(model_proto=vocab_model)
    mono: dict[str, dict[str, list[list[np.ndarray]]]] = {"train": {}, "valid": {}}
    for lang in languages:
        rows = [np.array(ids) for ids in sp.encode(sentences(lang))]
        train = [row for i, row in enumerate(rows) if i % 6 != 5]
        mono["train"][lang] = [train[0:90], train[90:180]]
        mono["valid"][lang] = [rows[5::6]]
    return write_shards(out_dir, mono, {}, vocab_model, sp.get_piece_size())
