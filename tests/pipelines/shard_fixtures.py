"""Helpers for shard build tests: small corpus build directories written through the record schemas."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pyarrow as pa

from xlmforge.pipelines.common.parts import ArrowFileWriter
from xlmforge.pipelines.common.rows import segment_id
from xlmforge.schemas.bitext import BITEXT_SCHEMA
from xlmforge.schemas.records import SEGMENT_SCHEMA

SUBJECTS = {
    "eng": ["the cat", "my brother", "the old man", "a young girl", "the teacher", "our neighbour"],
    "deu": ["die Katze", "mein Bruder", "der alte Mann", "ein junges Mädchen", "der Lehrer", "unser Nachbar"],
    "fra": ["le chat", "mon frère", "le vieil homme", "une jeune fille", "le professeur", "notre voisin"],
}
VERBS = {
    "eng": ["eats", "sees", "buys", "paints", "likes", "finds"],
    "deu": ["isst", "sieht", "kauft", "malt", "mag", "findet"],
    "fra": ["mange", "voit", "achète", "peint", "aime", "trouve"],
}
OBJECTS = {
    "eng": ["a red apple", "the big house", "a small boat", "the green bicycle", "an old book", "the blue door"],
    "deu": [
        "einen roten Apfel",
        "das große Haus",
        "ein kleines Boot",
        "das grüne Fahrrad",
        "ein altes Buch",
        "die blaue Tür",
    ],
    "fra": [
        "une pomme rouge",
        "la grande maison",
        "un petit bateau",
        "le vélo vert",
        "un vieux livre",
        "la porte bleue",
    ],
}


def sentences(lang: str) -> list[str]:
    """216 sentences, sentence i of every language a translation of sentence i of the others."""
    return [f"{s} {v} {o}." for s, v, o in itertools.product(SUBJECTS[lang], VERBS[lang], OBJECTS[lang])]


def write_corpus(
    root: Path,
    mono: dict[str, list[str]],
    bitext: dict[str, list[tuple[str, str]]] | None = None,
    doc_size: int = 6,
    num_files: int = 2,
) -> Path:
    """A finished corpus build: segments per language (documents of `doc_size` lines, spread over
    `num_files` files), sentence pairs per "src-tgt", and corpus.json."""
    for lang, texts in mono.items():
        docs = [texts[i : i + doc_size] for i in range(0, len(texts), doc_size)]
        for f in range(num_files):
            rows = [
                {
                    "segment_id": segment_id(f"src-{lang}", f"doc{d}", i),
                    "source": f"src-{lang}",
                    "doc_id": f"doc{d}",
                    "position": i,
                    "lang": lang,
                    "text": text,
                }
                for d in range(f, len(docs), num_files)
                for i, text in enumerate(docs[d])
            ]
            path = root / "segments" / f"lang={lang}" / f"part-{f:02d}.arrow"
            with ArrowFileWriter(str(path), SEGMENT_SCHEMA) as writer:
                writer.write(pa.RecordBatch.from_pylist(rows, schema=SEGMENT_SCHEMA))
    for pair, pairs in (bitext or {}).items():
        src_lang, tgt_lang = pair.split("-")
        rows = [
            {
                "pair_id": segment_id(f"bi-{pair}", "file", i),
                "source": f"bi-{pair}",
                "doc_id": "file",
                "position": i,
                "src_lang": src_lang,
                "tgt_lang": tgt_lang,
                "src_text": src,
                "tgt_text": tgt,
            }
            for i, (src, tgt) in enumerate(pairs)
        ]
        with ArrowFileWriter(str(root / "bitext" / f"pair={pair}" / "part-00.arrow"), BITEXT_SCHEMA) as writer:
            writer.write(pa.RecordBatch.from_pylist(rows, schema=BITEXT_SCHEMA))
    root.mkdir(parents=True, exist_ok=True)
    metadata = {
        "kind": "xlmforge.corpus",
        "segments_by_lang": {lang: len(texts) for lang, texts in mono.items()},
        "pairs_by_lang": {pair: len(pairs) for pair, pairs in (bitext or {}).items()},
    }
    (root / "corpus.json").write_text(json.dumps(metadata))
    return root


def tiny_corpus(root: Path) -> Path:
    """eng, deu, fra segments (216 each) and eng-deu pairs (216), all translations of each other."""
    mono = {lang: sentences(lang) for lang in SUBJECTS}
    return write_corpus(root, mono, {"eng-deu": list(zip(sentences("eng"), sentences("deu")))})
