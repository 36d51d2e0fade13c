"""What a shard build reads: the segment and sentence-pair files of finished corpus builds, with counts.

Each file is one language (`segments/lang=<code>/`) or one pair (`bitext/pair=<src>-<tgt>/`), holds
whole documents in document order, and becomes one Beam element. Files are numbered in a fixed
order (corpus, kind, language, file name), which is the order their records take in the shards.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from collections import Counter
from collections.abc import Sequence

from xlmforge.core import storage
from xlmforge.pipelines.common.parts import Pairs, RecordKind, Segments

log = logging.getLogger(__name__)

MONO, BITEXT = "mono", "bitext"
_KINDS: dict[str, tuple[RecordKind, str, str, str]] = {  # kind -> (records, directory, partition, corpus.json key)
    MONO: (Segments, "segments", "lang=", "segments_by_lang"),
    BITEXT: (Pairs, "bitext", "pair=", "pairs_by_lang"),
}


@dataclasses.dataclass(frozen=True, slots=True)
class InputFile:
    """One corpus file of one language or pair."""

    part_id: str  # "<kind>-<key>-<number>", the name of everything made from this file
    kind: str  # MONO or BITEXT
    key: str  # language code, or "src-tgt"
    path: str

    @property
    def records(self) -> RecordKind:
        return _KINDS[self.kind][0]

    @property
    def text_columns(self) -> tuple[str, ...]:
        return ("text",) if self.kind == MONO else ("src_text", "tgt_text")

    @property
    def langs(self) -> tuple[str, ...]:
        """The language of each text column."""
        return tuple(self.key.split("-"))


@dataclasses.dataclass(frozen=True)
class CorpusInputs:
    files: tuple[InputFile, ...]
    counts: dict[str, int]  # records per language or pair
    corpora: tuple[dict[str, str], ...]  # {"path", "sha256" of its corpus.json}, for provenance

    @property
    def languages(self) -> list[str]:
        """Languages with monolingual segments."""
        return [key for key in self.counts if "-" not in key]

    @property
    def pairs(self) -> list[str]:
        return [key for key in self.counts if "-" in key]

    def side_counts(self) -> dict[str, int]:
        """Texts per language, counting both sides of every pair."""
        total: Counter = Counter()
        for key, n in self.counts.items():
            for lang in key.split("-"):
                total[lang] += n
        return dict(sorted(total.items()))


def find_inputs(corpus_dirs: Sequence[str], languages: Sequence[str] = ()) -> CorpusInputs:
    """The files and counts of `corpus_dirs`, restricted to `languages` (pairs need both) when given.

    ValueError when a directory is not a finished corpus build, a requested language has no records,
    or nothing is left to build from.
    """
    if not corpus_dirs:
        raise ValueError("no corpus build directory given")
    wanted = set(languages)
    found: list[tuple[str, str, str]] = []  # (kind, key, path)
    counts: Counter = Counter()
    corpora = []
    for corpus_dir in corpus_dirs:
        metadata_path = storage.join(corpus_dir, "corpus.json")
        if not storage.exists(metadata_path):
            raise ValueError(f"{corpus_dir}: not a finished corpus build (no corpus.json); run build-corpus first")
        raw = storage.read_bytes(metadata_path)
        corpora.append({"path": corpus_dir, "sha256": hashlib.sha256(raw).hexdigest()})
        files = [
            (kind, key, path)
            for kind, key, path in _corpus_files(corpus_dir)
            if not wanted or set(key.split("-")) <= wanted
        ]
        metadata = json.loads(raw)
        counts.update(_count_records(corpus_dir, metadata, files))
        found += files
        for base in set(map(storage.absolute, metadata.get("extends", []))) - set(map(storage.absolute, corpus_dirs)):
            log.warning(
                "%s extends the corpus build %s, which is not an input: its records are left out", corpus_dir, base
            )
    missing = sorted(wanted - {lang for key, n in counts.items() if n for lang in key.split("-")})
    if missing:
        raise ValueError(
            f"no segments of {', '.join(map(repr, missing))} in {', '.join(corpus_dirs)}: the corpus build kept "
            "none (see its ledger.json), or they were never an input; remove them from `languages`"
        )
    empty = sorted(key for key, n in counts.items() if n == 0)
    if empty:
        log.warning("no records left for %s after the corpus build; they are left out", ", ".join(empty))
    if not any(counts.values()):
        raise ValueError(f"no segments or sentence pairs to build shards from in {', '.join(corpus_dirs)}")
    kept = [(kind, key, path) for kind, key, path in found if counts[key]]
    files = tuple(InputFile(f"{kind}-{key}-{i:06d}", kind, key, path) for i, (kind, key, path) in enumerate(kept))
    return CorpusInputs(files, {key: n for key, n in sorted(counts.items()) if n}, tuple(corpora))


def _corpus_files(corpus_dir: str) -> list[tuple[str, str, str]]:
    """(kind, key, path) of every segment and pair file of a corpus build, in path order per kind."""
    files = []
    for kind, (_, directory, prefix, _) in _KINDS.items():
        for info in storage.match(storage.join(corpus_dir, directory, f"{prefix}*", "*.arrow"), allow_empty=True):
            files.append((kind, info.path.rsplit(prefix, 1)[-1].split("/")[0], info.path))
    return files


def _count_records(corpus_dir: str, metadata: dict, files: list[tuple[str, str, str]]) -> Counter:
    """Records per language and pair, as the corpus build counted them in corpus.json."""
    counts: Counter = Counter()
    for kind, key, path in files:
        by_key = metadata.get(_KINDS[kind][3], {})
        if key not in by_key:
            raise ValueError(
                f"{corpus_dir}: corpus.json counts no records of {key!r} but {path} exists; "
                "the directory changed after its build finished: rebuild it"
            )
        counts[key] = by_key[key]
    return counts
