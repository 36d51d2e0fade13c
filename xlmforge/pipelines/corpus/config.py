"""The corpus build configuration: the sources, and one section per stage of every chain, loaded
from YAML or TOML. Unknown keys and wrong values are errors that name the file, the key and what
is allowed (xlmforge.core.config).
"""

from __future__ import annotations

import os
from typing import Annotated, Literal

from pydantic import ByteSize, Discriminator, Field, Tag, field_validator, model_validator

from xlmforge.core.config import FieldError, Section, load_config
from xlmforge.core.languages import languages, unknown_language_message
from xlmforge.core.storage import is_local

DETECT = "detect"

Probability = Annotated[float, Field(ge=0.0, le=1.0)]


SourceName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
Compression = Literal["auto", "none", "gzip", "zstd"]  # auto: from the file suffix


def _check_language(code: str) -> str:
    if code not in languages():
        raise ValueError(unknown_language_message(code))
    return code


class SourceConfig(Section):
    """Monolingual text: files of one format, declared language (or `detect`), under one source name."""

    kind: Literal["mono"] = "mono"
    name: SourceName
    path: str  # a file, a glob, or a URL any Beam filesystem understands
    language: str  # a project language code, or "detect"
    format: Literal["text", "jsonl"] = "text"
    # text: one segment per line, a blank line ends a document. jsonl: one document per line.
    text_field: str = "text"
    id_field: str | None = None  # jsonl: field holding the document id (default: file and line offset)
    compression: Compression = "auto"

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        if value != DETECT and value not in languages():
            raise ValueError(unknown_language_message(value) + f", or {DETECT!r}")
        return value


class _PairSource(Section):
    name: SourceName
    path: str  # source-side files (tsv, jsonl: both sides)
    languages: tuple[str, str]  # (source language, target language)
    tgt_path: str | None = None  # target-side files, paired with `path` by name
    src_field: str = "src"  # jsonl fields
    tgt_field: str = "tgt"
    compression: Compression = "auto"

    @field_validator("languages")
    @classmethod
    def _known_languages(cls, value: tuple[str, str]) -> tuple[str, str]:
        if value[0] == value[1]:
            raise ValueError(f"a pair needs two different languages, got {value[0]!r} twice")
        return _check_language(value[0]), _check_language(value[1])

    @property
    def pair(self) -> str:
        return "-".join(self.languages)


class BitextSourceConfig(_PairSource):
    """Sentence pairs: TSV columns, Moses-style line-aligned file pairs, or JSONL with two fields."""

    kind: Literal["bitext"]
    format: Literal["tsv", "moses", "jsonl"] = "tsv"
    # tsv: column numbers, or names from a header row
    src_column: int | str = 0
    tgt_column: int | str = 1

    @model_validator(mode="after")
    def _moses_needs_target_files(self) -> BitextSourceConfig:
        if (self.format == "moses") != (self.tgt_path is not None):
            raise ValueError("tgt_path names the target-side files of a moses pair, and only of one")
        return self


class DocPairsSourceConfig(_PairSource):
    """Documents known to be translations of each other, aligned into sentence pairs.

    files: same-named files under `path` and `tgt_path` (e.g. docs/deu/*.txt and docs/eng/*.txt);
    jsonl: one document pair per line, in `src_field` and `tgt_field`.
    """

    kind: Literal["docpairs"]
    format: Literal["files", "jsonl"] = "files"
    id_field: str | None = None  # jsonl: field holding the document pair id

    @model_validator(mode="after")
    def _files_need_target_files(self) -> DocPairsSourceConfig:
        if (self.format == "files") != (self.tgt_path is not None):
            raise ValueError("tgt_path names the target-side documents of a files pair, and only of one")
        return self


def _source_kind(value: object) -> str:
    return value.get("kind", "mono") if isinstance(value, dict) else getattr(value, "kind", "mono")


AnySource = Annotated[
    Annotated[SourceConfig, Tag("mono")]
    | Annotated[BitextSourceConfig, Tag("bitext")]
    | Annotated[DocPairsSourceConfig, Tag("docpairs")],
    Discriminator(
        _source_kind, custom_error_type="source_kind", custom_error_message="kind must be mono, bitext or docpairs"
    ),
]


class ReadConfig(Section):
    # Input is read in parts of about this size: large files are split, small ones grouped. A part is
    # the unit of parallel work; 8 MiB keeps two workers busy on 100 MB and a cluster on terabytes.
    # A plain-text document longer than a part is cut where the part ends (document ids name the piece),
    # so this setting is part of what a build produces, like every other setting here.
    part_bytes: ByteSize = Field(default=ByteSize(8 * 2**20), ge=1)
    # Files smaller than a part are grouped into parts of at most part_bytes, and of less when the whole
    # input would otherwise make fewer than `min_parts` parts (never below 1 MiB, or part_bytes when
    # that is smaller): workers take parts in turn, so a few large parts leave one worker idle while
    # another finishes. Grouping never cuts a document; only part_bytes decides where large files are cut.
    min_parts: int = Field(default=16, ge=1)
    max_line_bytes: ByteSize = Field(default=ByteSize(2**20), ge=1)  # longer lines are rejected, in bounded memory
    # Decompression stops (and the rest of the file is rejected) past this many times the compressed size.
    max_decompression_ratio: float = Field(default=100.0, gt=1.0)


class NormalizeConfig(Section):
    form: Literal["NFC", "NFKC"] = "NFC"
    moses_punctuation: bool = False  # Moses-style punctuation normalization (quotes, dashes, spacing)
    lowercase_strip_accents: bool = False  # XLM's lowercase + accent removal option
    # Latin lookalikes inside Cyrillic words (and back) rewritten in the word's script (homoglyphs.py)
    fold_homoglyphs: bool = True


class IdenticalDedupConfig(Section):
    """Identical copies (same text, same declared language), dropped before language ID."""

    enabled: bool = True
    num_partitions: int = Field(default=16, ge=1)  # hash partitions of the shuffle
    # A text in this many different documents is boilerplate and every copy is dropped (null: never).
    # Five: a sentence that five documents share word for word is a template, not prose.
    boilerplate_documents: Annotated[int, Field(ge=2)] | None = 5


class ExactDedupConfig(Section):
    enabled: bool = True
    num_partitions: int = Field(default=16, ge=1)  # hash partitions of the shuffle


class NearDedupConfig(Section):
    enabled: bool = True
    threshold: float = Field(default=0.8, gt=0.0, lt=1.0)  # Jaccard similarity of shingle sets
    # Signature length (one-permutation hashing bins). 64 is enough: the signatures only pick candidate
    # pairs, whose exact Jaccard similarity is then checked.
    num_perm: int = Field(default=64, ge=16, le=1024)
    word_ngram: int = Field(default=2, ge=1, le=8)  # shingles of space-separated scripts
    char_ngram: int = Field(default=3, ge=1, le=8)  # shingles of CJK, Thai and other unspaced scripts
    min_shingles: int = Field(default=3, ge=1)  # shorter segments are left to exact dedup
    num_partitions: int = Field(default=16, ge=1)
    seed: int = 1


class LanguageIdConfig(Section):
    enabled: bool = True
    # A `detect` source keeps a segment when lid.176 gives its most likely language (with that
    # language's confusable group) at least this: cc_net's 0.5.
    detect_threshold: Probability = 0.5
    # A declared segment is kept when lid.176 gives the declared language (with its confusable
    # group) at least this; lower, lid.176 rules the language out. 0.05 keeps >= 99 % of clean NTREX
    # news in every language lid.176 can verify (docs/data-quality.md).
    declared_threshold: Probability = 0.05
    on_mismatch: Literal["reject", "relabel", "keep"] = "reject"
    # Languages lid.176 confuses with each other: their probabilities add up, and for a `detect`
    # source (or on relabelling) the second opinion picks the member.
    confusable: tuple[tuple[str, ...], ...] = (
        ("bos", "hrv", "srp", "hbs"),
        ("msa", "ind"),
        ("nob", "nno", "dan"),
        ("zho", "yue", "wuu"),
    )
    # A naive Bayes trained on the group's members (confusable.py) decides inside a confusable group
    second_opinion: bool = True
    # Languages lid.176 has a label for but misses most clean text of (on NTREX news it gives Yoruba
    # < 0.05 on 88 % of lines, Swahili on 14 %): like the languages it has no label for, a declaration
    # of them cannot be checked and is kept, with lid.176's guess in lid_lang (or, with
    # on_unverified=reject, rejected and counted as lid_unverifiable). docs/data-quality.md counts them.
    unverified: tuple[str, ...] = ("swa", "yor")
    on_unverified: Literal["keep", "reject"] = "keep"

    @field_validator("confusable")
    @classmethod
    def _known_languages(cls, groups: tuple[tuple[str, ...], ...]) -> tuple[tuple[str, ...], ...]:
        for code in (c for group in groups for c in group):
            _check_language(code)
        return groups

    @field_validator("unverified")
    @classmethod
    def _known_unverified(cls, codes: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_check_language(code) for code in codes)


class FilterConfig(Section):
    """Quality filters; set a bound to null (a switch to false) to turn its filter off."""

    min_chars: Annotated[int, Field(ge=0)] | None = 3
    max_chars: Annotated[int, Field(ge=1)] | None = 2000
    min_letter_ratio: Probability | None = 0.4  # letters / non-space characters
    max_digit_punct_ratio: Probability | None = 0.4  # (digits + punctuation + symbols) / non-space
    # longest run of one repeated character ("NOOOOOOOOOOOO" is real text)
    max_char_run: Annotated[int, Field(ge=2)] | None = 16
    max_repeated_word_ratio: Probability | None = 0.7  # repeated words / words, for >= 6 words
    # letters in the language's own scripts / letters; low because names and terms in Latin letters
    # are common in Thai, Japanese or Russian news
    min_script_share: Probability | None = 0.2
    # Combining marks per base letter: Hindi reaches ~1.4 on a short line, "Zalgo" text 5-20.
    max_marks_per_letter: float | None = Field(default=2.0, gt=0)
    # Lines that are not prose (pipelines/corpus/junk.py; rates on clean and planted text in
    # docs/data-quality.md). Configuration, shell and log lines:
    reject_config_or_log_lines: bool = True
    # distinct signals of code or markup on one line (one alone is common in prose)
    min_code_signals: Annotated[int, Field(ge=1)] | None = 2
    reject_key_value_or_tables: bool = True  # table rows, "key: value" runs, "Gewicht: 2,5 kg"
    max_link_share: Probability | None = 0.4  # URLs, e-mail addresses, paths / words
    max_blob_share: Probability | None = 0.3  # base64, hex, UUID characters / non-space characters


#: Bead kinds as "sources-targets"; 1-1, 1-0 and 0-1 are required so every pair of documents aligns.
BEAD_KINDS = ("1-1", "2-1", "1-2", "2-2", "1-0", "0-1")
_REQUIRED_KINDS = frozenset({"1-1", "1-0", "0-1"})
# Gale & Church's bead frequencies (1993, table 5) with 2-2 rarer and 1-0/0-1 twice as common: web
# document pairs miss more sentences than their parliamentary reports, and a 2-2 bead mostly stands
# in for two 1-1 beads whose lengths happen to disagree (tuned on NTREX, see the benchmark doc).
_DEFAULT_PRIORS = (("1-1", 0.89), ("2-1", 0.089), ("1-2", 0.089), ("2-2", 0.003), ("1-0", 0.02), ("0-1", 0.02))
NonNegative = Annotated[float, Field(ge=0)]


class AlignConfig(Section):
    """The sentence aligner of document pairs (bitext/align.py); defaults tuned on NTREX news (docs/benchmarks.md)."""

    #: Prior probability of each bead kind; leaving out 2-1, 1-2 or 2-2 disables it.
    priors: tuple[tuple[str, Annotated[float, Field(gt=0, le=1)]], ...] = _DEFAULT_PRIORS
    #: Variance of the length difference per unit of length (Gale & Church's s²). NTREX measures
    #: 2-3.6 per language; a little more leaves room for anchors and priors to overrule lengths.
    variance: Annotated[float, Field(gt=0)] = 5.0
    #: Expected target/source length ratio; None estimates it from the two documents.
    length_ratio: Annotated[float, Field(gt=0)] | None = None
    #: Anchor weights in nats, near their log-likelihood ratios between aligned and off-by-one NTREX
    #: pairs. Bonus: per number or URL, verbatim token, or kind of mark on both sides of a bead.
    #: Penalty: per number or URL, or kind of mark (quote, parenthesis, colon, "?", "!") on one side only.
    number_bonus: NonNegative = 3.0
    number_penalty: NonNegative = 1.0  # lower than measured: "10 inches" is translated "25 см"
    token_bonus: NonNegative = 2.0
    mark_bonus: NonNegative = 1.0
    mark_penalty: NonNegative = 1.5
    #: Shortest token that counts as a verbatim anchor (shorter ones are mostly function words).
    min_token_chars: Annotated[int, Field(ge=1)] = 4
    #: Half-width of the band, in target sentences: at least `band_min`, or `band_fraction` of the
    #: longer document; doubled while the best path runs along its edge, up to `band_max`.
    band_min: Annotated[int, Field(ge=1)] = 20
    band_fraction: Annotated[float, Field(gt=0)] = 0.02
    band_max: int = 500
    #: Beads scoring below this are rejected ("low_alignment_score"); see bitext/align.py.
    min_score: Probability = 0.001

    @field_validator("priors")
    @classmethod
    def _known_bead_kinds(cls, priors: tuple[tuple[str, float], ...]) -> tuple[tuple[str, float], ...]:
        kinds = [kind for kind, _ in priors]
        if unknown := set(kinds) - set(BEAD_KINDS):
            raise ValueError(f"unknown bead kinds {sorted(unknown)}; known: {BEAD_KINDS}")
        if missing := _REQUIRED_KINDS - set(kinds):
            raise ValueError(f"missing required bead kinds {sorted(missing)}")
        if len(set(kinds)) != len(kinds):
            raise ValueError(f"bead kinds repeat: {kinds}")
        return priors

    @model_validator(mode="after")
    def _band_max_holds_band_min(self) -> AlignConfig:
        if self.band_max < self.band_min:
            raise FieldError("band_max", f"{self.band_max} is below band_min={self.band_min}")
        return self


class BitextFilterConfig(Section):
    """Bounds of the bitext filters (bitext/filters.py); None switches a filter off. Defaults keep >= 99% of Tatoeba."""

    max_length: Annotated[float, Field(gt=0)] | None = 1000.0
    max_length_ratio: Annotated[float, Field(ge=1)] | None = 2.0
    length_ratio_slack: NonNegative = 10.0
    # As the monolingual filter: low, for CJK with Latin names ("我叫Andrea。" is 25% Han letters).
    min_script_share: Probability | None = 0.2


class PairDedupConfig(Section):
    enabled: bool = True  # exact duplicate pairs (normalized) across all parallel sources
    repeated_sides: bool = False  # also keep only one pair per source sentence and per target sentence
    num_partitions: int = Field(default=16, ge=1)


class CorpusConfig(Section):
    name: str = "corpus"
    sources: list[AnySource] = Field(min_length=1)
    read: ReadConfig = ReadConfig()
    normalize: NormalizeConfig = NormalizeConfig()
    identical_dedup: IdenticalDedupConfig = IdenticalDedupConfig()
    exact_dedup: ExactDedupConfig = ExactDedupConfig()
    near_dedup: NearDedupConfig = NearDedupConfig()
    language_id: LanguageIdConfig = LanguageIdConfig()
    filters: FilterConfig = FilterConfig()
    align: AlignConfig = AlignConfig()  # sentence alignment of document pairs (see bitext/align.py)
    bitext_filters: BitextFilterConfig = BitextFilterConfig()
    pair_dedup: PairDedupConfig = PairDedupConfig()

    @model_validator(mode="after")
    def _unique_source_names(self) -> CorpusConfig:
        names = [s.name for s in self.sources]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"source names must be unique; repeated: {', '.join(duplicated)}")
        return self

    def with_sources_relative_to(self, base_dir: str) -> CorpusConfig:
        """The config with relative local source paths resolved against `base_dir`."""

        def resolve(path: str | None) -> str | None:
            if path is None or not is_local(path) or os.path.isabs(path):
                return path
            return os.path.normpath(os.path.join(base_dir, path))

        sources = [
            s.model_copy(
                update={"path": resolve(s.path)} | ({"tgt_path": resolve(s.tgt_path)} if s.kind != "mono" else {})
            )
            for s in self.sources
        ]
        return self.model_copy(update={"sources": sources})


def load_corpus_config(path: str) -> CorpusConfig:
    """Read and validate a corpus config file; relative source paths are relative to the file."""
    config = load_config(path, CorpusConfig, "corpus config")
    return config.with_sources_relative_to(os.path.dirname(os.path.abspath(path)))
