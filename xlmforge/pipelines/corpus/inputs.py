"""Planning what to read: every source expanded into input elements, on the driver, before any work.

Mistakes that would otherwise surface hours into a run fail here with a message naming the files:
a glob that matches nothing, a Moses file pair whose line counts differ, a document without its
translation, a TSV header without the named column.
"""

from __future__ import annotations

import dataclasses
import os

from xlmforge.pipelines.corpus.config import (
    DETECT,
    BitextSourceConfig,
    CorpusConfig,
    DocPairsSourceConfig,
    ReadConfig,
    SourceConfig,
)
from xlmforge.pipelines.corpus.lines import FileRange, TextLine, count_lines, decoded_lines, file_ranges
from xlmforge.schemas.records import UNDETERMINED


@dataclasses.dataclass(frozen=True, slots=True)
class TextInput:
    """Byte ranges of monolingual files (one range of a large file, or several small files), read into one part."""

    part_id: str
    source: SourceConfig
    files: tuple[FileRange, ...]

    @property
    def lang(self) -> str:
        return UNDETERMINED if self.source.language == DETECT else self.source.language


@dataclasses.dataclass(frozen=True, slots=True)
class PairFile:
    """A range of a bitext or document-pair file, or a pair of files read side by side."""

    file: FileRange
    tgt_file: FileRange | None = None  # moses and document-pair files: the target side
    columns: tuple[int, int] = (0, 1)  # tsv: the source and target columns
    has_header: bool = False  # tsv: the first line names the columns

    @property
    def size(self) -> int:
        return _size(self.file) + (_size(self.tgt_file) if self.tgt_file else 0)


@dataclasses.dataclass(frozen=True, slots=True)
class PairInput:
    """Parallel input read into one part: one range of a large file, or several small files."""

    part_id: str
    source: BitextSourceConfig | DocPairsSourceConfig
    files: tuple[PairFile, ...]


def _size(rng: FileRange) -> int:
    return (rng.end if rng.end is not None else rng.file_size) - rng.start


def _pair_size(item: PairFile) -> int:
    return item.size


def _grouped(items: list, size_of, target: int) -> list[list]:
    """Consecutive items packed into groups of about `target` bytes: many small files make one part,
    because every part costs a little in every stage."""
    groups: list[list] = []
    total = 0
    for item in items:
        if groups and total + size_of(item) <= target:
            groups[-1].append(item)
            total += size_of(item)
        else:
            groups.append([item])
            total = size_of(item)
    return groups


def _part_id(source_name: str, first: FileRange, count: int) -> str:
    return f"{source_name}-{first.key}" + (f"-{count}" if count > 1 else "")


@dataclasses.dataclass(frozen=True)
class Inputs:
    text: list[TextInput]
    bitext: list[PairInput]
    docpairs: list[PairInput]

    def __len__(self) -> int:
        return len(self.text) + len(self.bitext) + len(self.docpairs)


_MIN_GROUP_BYTES = 2**20


def _group_bytes(read: ReadConfig, total_bytes: int) -> int:
    """How many bytes of small files make a part: part_bytes, or less so that the input makes at least
    `min_parts` parts (ReadConfig says why)."""
    return max(min(read.part_bytes, total_bytes // read.min_parts), min(_MIN_GROUP_BYTES, read.part_bytes))


def plan_inputs(config: CorpusConfig) -> Inputs:
    """Every input element of a build, in a deterministic order; ValueError naming what is wrong."""
    planned = []  # (source, files, size of a file)
    for source in config.sources:
        if source.kind == "mono":
            planned.append((source, file_ranges(source.path, source.compression, config.read.part_bytes), _size))
        elif source.kind == "bitext":
            planned.append((source, _plan_bitext(source, config.read), _pair_size))
        else:
            planned.append((source, _plan_docpairs(source, config.read), _pair_size))
    group_bytes = _group_bytes(config.read, sum(size(f) for _, files, size in planned for f in files))
    text, bitext, docpairs = [], [], []
    for source, files, size in planned:
        for group in _grouped(files, size, group_bytes):
            if source.kind == "mono":
                text.append(TextInput(_part_id(source.name, group[0], len(group)), source, tuple(group)))
            else:
                item = PairInput(_part_id(source.name, group[0].file, len(group)), source, tuple(group))
                (bitext if source.kind == "bitext" else docpairs).append(item)
    return Inputs(text, bitext, docpairs)


def _plan_bitext(source: BitextSourceConfig, read: ReadConfig) -> list[PairFile]:
    if source.format == "moses":
        inputs = []
        for src, tgt in _paired_files(source):
            num_src, num_tgt = count_lines(src, read), count_lines(tgt, read)
            if num_src != num_tgt:
                raise ValueError(
                    f"{src.path} has {num_src} lines but {tgt.path} has {num_tgt}: the files of a Moses pair must be "
                    "line-aligned (they are never zipped to the shorter one)"
                )
            inputs.append(PairFile(src, tgt))
        return inputs
    ranges = file_ranges(source.path, source.compression, read.part_bytes)
    if source.format == "jsonl":
        return [PairFile(rng) for rng in ranges]
    columns = {}
    inputs = []
    for rng in ranges:
        if rng.path not in columns:
            columns[rng.path] = _tsv_columns(source, rng, read)
        inputs.append(PairFile(rng, columns=columns[rng.path], has_header=isinstance(source.src_column, str)))
    return inputs


def _tsv_columns(source: BitextSourceConfig, rng: FileRange, read: ReadConfig) -> tuple[int, int]:
    """The source and target column numbers, looked up in the header row when given as names."""
    wanted = (source.src_column, source.tgt_column)
    if all(isinstance(c, int) for c in wanted):
        return wanted
    first = next(decoded_lines(dataclasses.replace(rng, start=0, end=1), read), None)
    header = first.text.split("\t") if isinstance(first, TextLine) else []
    if not all(isinstance(c, str) and c in header for c in wanted):
        raise ValueError(
            f"{rng.path}: columns {wanted[0]!r} and {wanted[1]!r} must both be numbers, or both names from the "
            f"header row, which has {header}"
        )
    return header.index(wanted[0]), header.index(wanted[1])


def _plan_docpairs(source: DocPairsSourceConfig, read: ReadConfig) -> list[PairFile]:
    if source.format == "jsonl":
        return [PairFile(rng) for rng in file_ranges(source.path, source.compression, read.part_bytes)]
    return [PairFile(src, tgt) for src, tgt in _paired_files(source)]


def _paired_files(source: BitextSourceConfig | DocPairsSourceConfig) -> list[tuple[FileRange, FileRange]]:
    """Source and target files matched by name (Moses pairs also by stem: corpus.de / corpus.en)."""
    sources = file_ranges(source.path, source.compression, None)
    source_paths = {rng.path for rng in sources}
    # A target glob that also matches the source files (corpus.* for corpus.de) must not pair them.
    targets = [rng for rng in file_ranges(source.tgt_path, source.compression, None) if rng.path not in source_paths]
    by_name = _by_name(targets, source.kind == "bitext", source.name)
    pairs, unmatched = [], []
    for src in sources:
        tgt = by_name.pop(_name(src, source.kind == "bitext"), None)
        if tgt is None:
            unmatched.append(src.path)
        else:
            pairs.append((src, tgt))
    unmatched += [t.path for t in by_name.values()]
    if unmatched:
        raise ValueError(
            f"source {source.name!r}: files without a counterpart under the other side's path: {', '.join(unmatched)}"
        )
    return pairs


def _name(rng: FileRange, by_stem: bool) -> str:
    """How a file finds its counterpart: its relative path, or for Moses pairs that path without the
    language suffix (corpus.de.gz and corpus.en.gz are both "corpus")."""
    if not by_stem:
        return rng.relpath
    name = rng.relpath.removesuffix(".gz").removesuffix(".zst")
    return os.path.splitext(name)[0]


def _by_name(ranges: list[FileRange], by_stem: bool, source_name: str) -> dict[str, FileRange]:
    """Target files by matching name; ValueError when two share one (which would be the counterpart?)."""
    found: dict[str, FileRange] = {}
    for rng in ranges:
        name = _name(rng, by_stem)
        if name in found:
            raise ValueError(
                f"source {source_name!r}: {found[name].path} and {rng.path} would both be the counterpart of "
                f"{name!r}; narrow tgt_path to one side's files"
            )
        found[name] = rng
    return found
