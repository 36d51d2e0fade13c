"""The shard build: corpus builds in; vocabulary, token shards, ledger, report and manifest out.

1. Plan on the driver: the input files and per-language counts, the held-out fractions, the
   vocabulary sample rates.
2. Beam pass 1 (ScanCorpus): each file's vocabulary sample and held-out split keys.
3. Driver: train SentencePiece on the sample; merge the held-out keys.
4. Beam pass 2 (EncodeAndWriteShards): split, decontaminate, encode, write shards. Its ledger counts,
   the list of written shards and the train-split token frequencies are merged in one combine, so
   the pass has two shuffles: the descriptors that gather a sequence, and this summary.
5. Driver: check the ledger against the inputs and the files on disk, write the ledger and the
   report, flush, and write the manifest last: a build killed at any moment leaves no manifest, or
   one whose every shard is complete on disk.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import logging
import time
from collections import Counter
from collections.abc import Iterable, Sequence

import apache_beam as beam
import numpy as np

from xlmforge.core import storage
from xlmforge.pipelines.common.ledger import IN, KEPT, Ledger, LedgerError, chain
from xlmforge.pipelines.common.options import pipeline_options
from xlmforge.pipelines.common.parts import count_rows
from xlmforge.pipelines.shards.config import ShardsConfig
from xlmforge.pipelines.shards.encode import DECONTAMINATE, ENCODE, EncodeFiles
from xlmforge.pipelines.shards.inputs import BITEXT, MONO, CorpusInputs, InputFile, find_inputs
from xlmforge.pipelines.shards.layout import TOKEN_COUNTS, VOCAB_MODEL, ShardsLayout
from xlmforge.pipelines.shards.manifest import sampling_table, write_manifest
from xlmforge.pipelines.shards.report import LanguageReport, report_markdown, report_rows, sampling_chart
from xlmforge.pipelines.shards.scan import ScanCorpus, merge_heldout_keys
from xlmforge.pipelines.shards.splits import SPLITS, SplitPlan
from xlmforge.pipelines.shards.vocab import TrainedVocab, keep_vocab, load_vocab_model, train_vocab, vocab_sample_rates
from xlmforge.pipelines.shards.write import STAGE as WRITE
from xlmforge.pipelines.shards.write import WriteShards, WrittenSequence
from xlmforge.schemas.manifest import MANIFEST_VERSION, ShardInfo, ShardManifest, VocabInfo
from xlmforge.schemas.shards import SPECIAL_TOKENS, token_type

log = logging.getLogger(__name__)

STAGES = (DECONTAMINATE, ENCODE, WRITE)


@dataclasses.dataclass
class BuildSummary:
    """Ledger counts, written shards and train-split token frequencies, summed over the build."""

    counts: Counter
    shards: list[ShardInfo]
    token_counts: np.ndarray


class _SummarizeBuild(beam.CombineFn):
    """Folds encode counts (tuples of ((stage, lang, outcome), n)) and WrittenSequences into a BuildSummary."""

    def __init__(self, vocab_size: int):
        self.vocab_size = vocab_size

    def create_accumulator(self) -> BuildSummary:
        return BuildSummary(Counter(), [], np.zeros(self.vocab_size, dtype=np.int64))

    def add_input(self, summary: BuildSummary, element: tuple | WrittenSequence) -> BuildSummary:
        if isinstance(element, WrittenSequence):
            summary.counts.update(dict(element.counts))
            summary.shards += element.shards
            if element.token_counts is not None:
                summary.token_counts += element.token_counts
        else:
            summary.counts.update(dict(element))
        return summary

    def merge_accumulators(self, summaries: Iterable[BuildSummary]) -> BuildSummary:
        merged = self.create_accumulator()
        for summary in summaries:
            merged.counts.update(summary.counts)
            merged.shards += summary.shards
            merged.token_counts += summary.token_counts
        return merged

    def extract_output(self, summary: BuildSummary) -> BuildSummary:
        return summary


def _write_summary(summary: BuildSummary, layout: ShardsLayout) -> None:
    """The summary as work files for the driver, and the token frequencies at their final place."""
    files = {
        layout.ledger_counts: json.dumps(sorted([list(key), n] for key, n in summary.counts.items())).encode(),
        layout.written_shards: json.dumps([shard.model_dump() for shard in summary.shards]).encode(),
    }
    buffer = io.BytesIO()
    np.save(buffer, summary.token_counts, allow_pickle=False)
    files[layout.token_counts] = buffer.getvalue()
    for path, data in files.items():
        with storage.atomic_write(path, durable=False) as f:  # the driver flushes before the manifest
            f.write(data)


class EncodeAndWriteShards(beam.PTransform):
    """Split, decontaminate and encode every input file, cut each sequence into shards, and summarize."""

    def __init__(
        self, files: list[InputFile], layout: ShardsLayout, splits: SplitPlan, vocab_size: int, config: ShardsConfig
    ):
        super().__init__()
        self.files, self.layout, self.splits, self.vocab_size, self.config = files, layout, splits, vocab_size, config

    def expand(self, pbegin):
        encoded = (
            pbegin
            | "ListInputFiles" >> beam.Create(self.files)
            | "Encode" >> EncodeFiles(self.layout, self.splits, self.vocab_size)
        )
        written = encoded.parts | "WriteShards" >> WriteShards(self.layout, self.config.shards, self.vocab_size)
        summary = (
            (encoded.counts, written)
            | "EncodeCountsAndSequences" >> beam.Flatten()
            | "SummarizeBuild" >> beam.CombineGlobally(_SummarizeBuild(self.vocab_size))
        )
        _ = summary | "WriteSummary" >> beam.Map(_write_summary, layout=self.layout)
        return summary



@dataclasses.dataclass(frozen=True)
class ShardsResult:
    out_dir: str
    manifest: ShardManifest
    ledger: Ledger
    report: list[LanguageReport]  # render with shard_report.report_table
    num_rejects: int
    seconds: float
    seconds_by_phase: dict[str, float]  # plan, scan, vocab, encode_write, finish


def build_shards(
    corpus_dirs: Sequence[str],
    out_dir: str,
    config: ShardsConfig,
    pipeline_args: Sequence[str] = (),
    overwrite: bool = False,
) -> ShardsResult:
    """Build the vocabulary and the shards of `corpus_dirs` into `out_dir`; the manifest is written last.

    ValueError for unusable input (no data, a language left empty, a vocabulary too large for the
    sample, held-out sizes that leave nothing to train on), FileExistsError when `out_dir` holds a
    different build and `overwrite` is false, LedgerError when a record is unaccounted for.
    """
    clock = _PhaseClock()
    corpus_dirs, out_dir = [storage.absolute(d) for d in corpus_dirs], storage.absolute(out_dir)
    layout = ShardsLayout(out_dir)
    inputs = find_inputs(corpus_dirs, config.languages)
    splits = SplitPlan.from_counts(inputs.counts, config.splits)
    # Read before the output is cleared: the model may be the previous build's own vocab/spm.model.
    kept_vocab = load_vocab_model(config.vocab.model) if config.vocab.model else None
    fingerprint = build_fingerprint(config, inputs, kept_vocab)
    prepare_output(layout, corpus_dirs, fingerprint, overwrite)
    files, options = list(inputs.files), pipeline_options(list(pipeline_args))
    log.info("shard build %r: %d input files, %d languages and pairs", config.name, len(files), len(inputs.counts))
    clock.done("plan")

    # With an existing vocabulary nothing is sampled; the scan still finds the held-out keys.
    rates = vocab_sample_rates(inputs.side_counts(), config.vocab)
    if kept_vocab is not None:
        rates = dict.fromkeys(rates, 0.0)
    with beam.Pipeline(options=options) as pipeline:
        _ = (
            pipeline
            | "ListInputFiles" >> beam.Create(files)
            | "ScanCorpus" >> ScanCorpus(layout, splits, rates, config.vocab.seed)
        )
    heldout = merge_heldout_keys(layout, files)
    clock.done("scan")
    if kept_vocab is not None:
        vocab = keep_vocab(kept_vocab, layout.vocab_model)
    else:
        vocab = train_vocab([layout.vocab_sample(f.part_id) for f in files], config.vocab, layout.vocab_model)
    log.info("vocabulary: %d pieces from %d sentences; %d held-out keys", vocab.size, vocab.num_sentences, len(heldout))
    clock.done("vocab")
    with beam.Pipeline(options=options) as pipeline:
        _ = pipeline | "EncodeAndWriteShards" >> EncodeAndWriteShards(files, layout, splits, vocab.size, config)
    clock.done("encode_write")

    ledger, shards, num_rejects = _checked_outputs(layout, inputs, config)
    manifest = ShardManifest(
        token_dtype=str(token_type(vocab.size)),
        vocab=_vocab_info(layout, vocab, config),
        sampling=sampling_table(shards, config.sampling, inputs.languages, inputs.pairs),
        shards=shards,
        build=_provenance(config, inputs, fingerprint, vocab, num_rejects),
    )
    report = report_rows(manifest, ledger)
    storage.write_bytes(layout.ledger, ledger.dumps().encode())
    storage.write_bytes(layout.report, report_markdown(report, manifest.sampling).encode())
    storage.write_bytes(layout.chart, sampling_chart(report, manifest.sampling))
    storage.flush_to_disk(out_dir)
    write_manifest(out_dir, manifest)
    storage.delete_tree(layout.work)
    clock.done("finish")
    return ShardsResult(out_dir, manifest, ledger, report, num_rejects, sum(clock.seconds.values()), clock.seconds)


class _PhaseClock:
    def __init__(self):
        self.seconds: dict[str, float] = {}
        self._last = time.monotonic()

    def done(self, phase: str) -> None:
        now = time.monotonic()
        self.seconds[phase], self._last = now - self._last, now


def build_fingerprint(config: ShardsConfig, inputs: CorpusInputs, kept_vocab: bytes | None = None) -> str:
    """What makes two builds the same: the config, the exact corpus builds they read, a kept vocabulary."""
    identity = {"config": config.model_dump(mode="json"), "corpora": list(inputs.corpora), "version": MANIFEST_VERSION}
    if kept_vocab is not None:  # its path may stay while the file changes
        identity["vocab_model"] = hashlib.sha256(kept_vocab).hexdigest()
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


def prepare_output(layout: ShardsLayout, corpus_dirs: Sequence[str], fingerprint: str, overwrite: bool) -> None:
    """Refuse to write over a different build unless told to, then clear what a build writes (the
    manifest first, so no manifest ever lists a shard that is gone)."""
    if layout.root in corpus_dirs or storage.exists(storage.join(layout.root, "corpus.json")):
        raise ValueError(f"{layout.root} holds a corpus build; write the shards to a directory of their own")
    previous = [path for path in layout.outputs() if storage.exists(path)]
    if previous and not overwrite and _previous_fingerprint(layout) != fingerprint:
        raise FileExistsError(
            f"{layout.root} already holds a different shard build ({', '.join(previous)}); "
            "choose another output directory or pass --overwrite"
        )
    for path in previous:
        storage.delete_tree(path)
    with storage.atomic_write(layout.fingerprint, durable=False) as f:
        f.write(fingerprint.encode())


def _previous_fingerprint(layout: ShardsLayout) -> str | None:
    """The fingerprint of the build in `layout`: from its manifest, or from the work files of an unfinished one."""
    if storage.exists(layout.manifest):
        try:
            return json.loads(storage.read_bytes(layout.manifest))["build"]["fingerprint"]
        except (ValueError, KeyError, TypeError):
            return None
    if storage.exists(layout.fingerprint):
        return storage.read_bytes(layout.fingerprint).decode()
    return None


def _checked_outputs(
    layout: ShardsLayout, inputs: CorpusInputs, config: ShardsConfig
) -> tuple[Ledger, list[ShardInfo], int]:
    """The ledger, the written shards and the number of rejects, each checked against the others."""
    counts = {tuple(key): n for key, n in json.loads(storage.read_bytes(layout.ledger_counts))}
    ledger = Ledger(chain(*STAGES), counts)
    ledger.check()
    _check_inputs_taken(ledger, inputs)
    shards = _sorted_shards(ShardInfo.model_validate(s) for s in json.loads(storage.read_bytes(layout.written_shards)))
    return ledger, shards, _check_outputs(layout, ledger, shards, config)


def _check_inputs_taken(ledger: Ledger, inputs: CorpusInputs) -> None:
    """Every record the corpus builds counted entered the shard build."""
    taken = {row.lang: row.num_in for row in ledger.rows() if row.stage == STAGES[0]}
    missing = {key: (n, taken.get(key, 0)) for key, n in inputs.counts.items() if taken.get(key, 0) != n}
    if missing:
        raise LedgerError(
            "the corpus builds count other records than their files hold: "
            + ", ".join(f"{key} {n} counted, {read} read" for key, (n, read) in sorted(missing.items()))
        )


def _sorted_shards(shards) -> list[ShardInfo]:
    return sorted(shards, key=lambda s: (s.kind != MONO, s.lang, SPLITS.index(s.split), s.path))


def _check_outputs(layout: ShardsLayout, ledger: Ledger, shards: list[ShardInfo], config: ShardsConfig) -> int:
    """The files on disk hold what the ledger says was kept and dropped; returns the number of rejects."""
    kept = ledger.total(WRITE, KEPT)
    for fmt in config.shards.formats:
        in_shards = sum(s.num_records for s in shards if s.format == fmt)
        if in_shards != kept:
            raise LedgerError(f"{fmt} shards hold {in_shards} records, but the ledger counts {kept} written")
    on_disk = {
        info.path: info.size
        for kind in (MONO, BITEXT)
        for info in storage.match(storage.join(layout.root, kind, "**"), allow_empty=True)
    }
    for shard in shards:
        if on_disk.get(storage.join(layout.root, shard.path)) != shard.num_bytes:
            raise LedgerError(f"shard {shard.path} is missing or not the size it was written with")
    rejects = storage.match(storage.join(layout.rejects, "**", "*.arrow"), allow_empty=True)
    num_rejects = sum(count_rows(info.path) for info in rejects)
    if num_rejects != ledger.total_dropped():
        raise LedgerError(f"rejects files hold {num_rejects} records, the ledger counts {ledger.total_dropped()}")
    if ledger.total(STAGES[0], IN) != kept + num_rejects:
        raise LedgerError(f"{ledger.total(STAGES[0], IN)} records came in, but {kept} were written and "
                          f"{num_rejects} rejected")
    return num_rejects


def _vocab_info(layout: ShardsLayout, vocab: TrainedVocab, config: ShardsConfig) -> VocabInfo:
    return VocabInfo(
        path=VOCAB_MODEL,
        sha256=vocab.sha256,
        size=vocab.size,
        model_type=config.vocab.model_type,
        special_tokens=SPECIAL_TOKENS,
        counts_path=TOKEN_COUNTS,
        counts_sha256=storage.file_digest(layout.token_counts),
    )


def _provenance(
    config: ShardsConfig, inputs: CorpusInputs, fingerprint: str, vocab: TrainedVocab, num_rejects: int
) -> dict[str, object]:
    return {
        "name": config.name,
        "fingerprint": fingerprint,
        "config": config.model_dump(mode="json"),
        "corpora": list(inputs.corpora),
        "num_input_records": {
            MONO: {key: inputs.counts[key] for key in inputs.languages},
            BITEXT: {key: inputs.counts[key] for key in inputs.pairs},
        },
        "num_vocab_sample_sentences": vocab.num_sentences,
        "num_rejects": num_rejects,
        "ledger": "ledger.json",
    }
