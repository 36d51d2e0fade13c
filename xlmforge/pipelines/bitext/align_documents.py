"""Sentence alignment of document pairs as a Beam stage: parts of sentences in, parts of pairs out.

Every sentence is accounted for: it ends up in a pair, or is rejected because its bead pairs it with
nothing (`unaligned_source`, `unaligned_target`), because its bead scores too low
(`low_alignment_score`), or because language ID moved it out of the pair's languages. The stage
counts sentences in and passes sentence pairs on (`out` in the ledger).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import apache_beam as beam
import pyarrow as pa

from xlmforge.core.languages import language
from xlmforge.core.scripts import UNSPACED_SCRIPTS
from xlmforge.pipelines.bitext.align import align_sentences, bead_reject_reason
from xlmforge.pipelines.common.layout import BuildLayout
from xlmforge.pipelines.common.ledger import IN, KEPT, OUT
from xlmforge.pipelines.common.parts import (
    ArrowFileWriter,
    LazyRejectsWriter,
    Pairs,
    Part,
    StageCounter,
    StageTransform,
    count_rejects,
    read_batches,
    rejects_batch,
)
from xlmforge.pipelines.common.rows import RowBatcher, segment_id
from xlmforge.pipelines.corpus.config import AlignConfig
from xlmforge.schemas.bitext import BITEXT_SCHEMA
from xlmforge.schemas.records import SEGMENT_SCHEMA

STAGE = "align"
_FLUSH_ROWS = 8192


def joiner(lang: str) -> str:
    """What joins two sentences of a 2-1 bead: nothing in scripts written without spaces."""
    return "" if language(lang).scripts <= UNSPACED_SCRIPTS else " "


def align_document(
    source: str, doc_id: str, rows: list[dict], languages: tuple[str, str], config: AlignConfig
) -> tuple[list[dict], list[tuple[dict, str | None, str | None]]]:
    """The sentence pairs of one document pair, and each sentence with its reject reason (or None)."""
    src_lang, tgt_lang = languages
    sides = [[r for r in rows if r["lang"] == lang] for lang in languages]
    verdicts = [(r, "outside_pair_languages", f"language ID moved it to {r['lang']}") for r in rows
                if r["lang"] not in languages]  # fmt: skip
    pairs = []
    beads = align_sentences([r["text"] for r in sides[0]], [r["text"] for r in sides[1]], config)
    for index, bead in enumerate(beads):
        members = [sides[0][i] for i in bead.src] + [sides[1][j] for j in bead.tgt]
        reason = bead_reject_reason(bead, config)
        detail = f"{bead.kind} bead, score {bead.score:.3g}" if reason else None
        verdicts += [(member, reason, detail) for member in members]
        if reason is None:
            pairs.append({
                "pair_id": segment_id(source, doc_id, index), "source": source, "doc_id": doc_id, "position": index,
                "src_lang": src_lang, "tgt_lang": tgt_lang, "bead": bead.kind, "score": bead.score,
                "src_text": joiner(src_lang).join(sides[0][i]["text"] for i in bead.src),
                "tgt_text": joiner(tgt_lang).join(sides[1][j]["text"] for j in bead.tgt),
            })  # fmt: skip
    return pairs, verdicts


class _AlignPart(beam.DoFn):
    def __init__(self, config: AlignConfig, languages: dict[str, tuple[str, str]], stage: str, layout: BuildLayout):
        self.config, self.languages, self.stage, self.layout = config, languages, stage, layout

    def process(self, part: Part) -> Iterator[Part]:
        counter = StageCounter(self.stage)
        pairs: RowBatcher = RowBatcher(BITEXT_SCHEMA)
        verdicts: list[tuple[dict, str | None, str | None]] = []
        rejects = LazyRejectsWriter(self.layout.rejected(self.stage, part.part_id))
        with ArrowFileWriter(self.layout.part(self.stage, part.part_id), BITEXT_SCHEMA) as writer, rejects:
            rows = (row for batch in read_batches(part.path) for row in batch.to_pylist())
            # A reader writes the sentences of a document pair together, so a pair is a run of rows.
            for (source, doc_id), document in itertools.groupby(rows, key=lambda r: (r["source"], r["doc_id"])):
                found, judged = align_document(source, doc_id, list(document), self.languages[source], self.config)
                for pair in found:
                    pairs.add(**pair)
                verdicts += judged
                if len(pairs) >= _FLUSH_ROWS or len(verdicts) >= _FLUSH_ROWS:
                    self._flush(pairs, verdicts, writer, rejects, counter)
                    verdicts = []
            self._flush(pairs, verdicts, writer, rejects, counter)
        yield Part(part.part_id, writer.path, writer.num_rows, counter.frozen())

    def _flush(self, pairs, verdicts, writer, rejects, counter) -> None:
        batch = pairs.flush()
        writer.write(batch)
        counter.add(Pairs.langs(batch), OUT)
        counter.add([row["lang"] for row, _, _ in verdicts], IN)
        counter.add([row["lang"] for row, reason, _ in verdicts if reason is None], KEPT)
        dropped = [(row, reason, detail) for row, reason, detail in verdicts if reason is not None]
        if dropped:
            sentences = pa.RecordBatch.from_pylist([row for row, _, _ in dropped], schema=SEGMENT_SCHEMA)
            rejected = rejects_batch(sentences, self.stage, [r for _, r, _ in dropped], [d for _, _, d in dropped])
            rejects.write(rejected)
            count_rejects(counter, rejected)


class AlignDocumentPairs(StageTransform):
    """Align the sentences of each document pair into sentence pairs (banded Gale-Church with anchors)."""

    stage = STAGE

    def __init__(self, config: AlignConfig, layout: BuildLayout, languages: dict[str, tuple[str, str]], chain: str):
        super().__init__(config, layout, chain)
        self.languages = languages

    def expand(self, parts):
        return parts | "AlignParts" >> beam.ParDo(_AlignPart(self.config, self.languages, self.stage_name, self.layout))
