"""The corpus build configuration: one typed, validated model per stage, loaded from YAML or TOML.

Unknown keys and wrong types are errors that name the file, the key and what is allowed.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import tomllib
from typing import Annotated, Literal, TypeVar

import yaml
from pydantic import (
    BaseModel,
    ByteSize,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from pipelines.align import AlignConfig
from pipelines.bitext_filters import BitextFilterConfig
from pipelines.languages import languages, unknown_language_message
from pipelines.storage import is_local

DETECT = "detect"
Model = TypeVar("Model", bound=BaseModel)


class ConfigError(ValueError):
    """A configuration file that cannot be used, with a message that says what to change."""


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


Probability = Annotated[float, Field(ge=0.0, le=1.0)]


SourceName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
Compression = Literal["auto", "none", "gzip", "zstd"]  # auto: from the file suffix


def _check_language(code: str) -> str:
    if code not in languages():
        raise ValueError(unknown_language_message(code))
    return code


class SourceConfig(_Section):
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


class _PairSource(_Section):
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


class ReadConfig(_Section):
    # Input is read in parts of about this size: large files are split, small ones grouped. A part is
    # the unit of parallel work; 8 MiB keeps two workers busy on 100 MB and a cluster on terabytes.
    # A plain-text document longer than a part is cut where the part ends (document ids name the piece),
    # so this setting is part of what a build produces, like every other setting here.
    part_bytes: ByteSize = Field(default=ByteSize(8 * 2**20), ge=1)
    max_line_bytes: ByteSize = Field(default=ByteSize(2**20), ge=1)  # longer lines are rejected, in bounded memory
    # Decompression stops (and the rest of the file is rejected) past this many times the compressed size.
    max_decompression_ratio: float = Field(default=100.0, gt=1.0)


class NormalizeConfig(_Section):
    form: Literal["NFC", "NFKC"] = "NFC"
    moses_punctuation: bool = False  # Moses-style punctuation normalization (quotes, dashes, spacing)
    lowercase_strip_accents: bool = False  # XLM's lowercase + accent removal option


class ExactDedupConfig(_Section):
    enabled: bool = True
    num_partitions: int = Field(default=16, ge=1)  # hash partitions of the shuffle


class NearDedupConfig(_Section):
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


class LanguageIdConfig(_Section):
    enabled: bool = True
    # A `detect` source keeps a segment only when the top label scores at least this.
    detect_threshold: Probability = 0.5
    # A declared language counts as contradicted only when another language scores at least this.
    mismatch_threshold: Probability = 0.7
    on_mismatch: Literal["reject", "relabel", "keep"] = "reject"
    # Languages lid.176 confuses with each other; a prediction inside the declared language's group
    # confirms the declaration.
    confusable: tuple[tuple[str, ...], ...] = (("bos", "hrv", "srp", "hbs"), ("msa", "ind"))

    @field_validator("confusable")
    @classmethod
    def _known_languages(cls, groups: tuple[tuple[str, ...], ...]) -> tuple[tuple[str, ...], ...]:
        for code in (c for group in groups for c in group):
            if code not in languages():
                raise ValueError(unknown_language_message(code))
        return groups


class FilterConfig(_Section):
    """Quality filters; set a bound to null to switch its filter off."""

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


class PairDedupConfig(_Section):
    enabled: bool = True  # exact duplicate pairs (normalized) across all parallel sources
    repeated_sides: bool = False  # also keep only one pair per source sentence and per target sentence
    num_partitions: int = Field(default=16, ge=1)


class CorpusConfig(_Section):
    name: str = "corpus"
    sources: list[AnySource] = Field(min_length=1)
    read: ReadConfig = ReadConfig()
    normalize: NormalizeConfig = NormalizeConfig()
    exact_dedup: ExactDedupConfig = ExactDedupConfig()
    near_dedup: NearDedupConfig = NearDedupConfig()
    language_id: LanguageIdConfig = LanguageIdConfig()
    filters: FilterConfig = FilterConfig()
    align: AlignConfig = AlignConfig()  # sentence alignment of document pairs (see pipelines/align.py)
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


def read_config_file(path: str, model: type[Model], what: str) -> Model:
    """Read and validate a config file (.yaml, .yml or .toml) into `model`; ConfigError says what is wrong."""
    if not os.path.isfile(path):
        raise ConfigError(f"{path}: config file not found")
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f) if path.endswith(".toml") else yaml.safe_load(f)
    except (yaml.YAMLError, tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: not valid {'TOML' if path.endswith('.toml') else 'YAML'}: {err}") from err
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level, found {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise ConfigError(f"{path}: invalid {what}:\n{describe_errors(err, model)}") from None


def load_corpus_config(path: str) -> CorpusConfig:
    """Read and validate a corpus config file; relative source paths are relative to the file."""
    config = read_config_file(path, CorpusConfig, "corpus config")
    return config.with_sources_relative_to(os.path.dirname(os.path.abspath(path)))


def describe_errors(err: ValidationError, model: type[BaseModel]) -> str:
    """One line per problem: where, what, and for unknown keys the closest valid key."""
    lines = []
    for problem in err.errors():
        where = ".".join(str(p) for p in problem["loc"] if p not in _SOURCE_MODELS) or "(top level)"
        if problem["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
            valid = _fields_at(model, problem["loc"][:-1])
            close = difflib.get_close_matches(str(problem["loc"][-1]), valid, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            lines.append(f"  {where}: unknown key{hint}; valid keys here: {', '.join(valid)}")
        else:
            lines.append(f"  {where}: {problem['msg']}")
    return "\n".join(lines)


def _fields_at(model: type, loc: tuple) -> list[str]:
    """The field names of the (nested) model or dataclass at `loc`, skipping list indices and union tags."""
    for key in loc:
        if isinstance(key, int) or key not in _field_types(model):
            model = _SOURCE_MODELS.get(key, model)
            continue
        model = _models_in(_field_types(model)[key])[0]
    return sorted(_field_types(model))


def _field_types(model: type) -> dict[str, object]:
    if dataclasses.is_dataclass(model):
        return {f.name: f.type for f in dataclasses.fields(model)}
    return {name: field.annotation for name, field in model.model_fields.items()}


def _models_in(annotation) -> list[type]:
    """The pydantic models and dataclasses an annotation (list, union, Annotated...) can hold."""
    if isinstance(annotation, type) and (issubclass(annotation, BaseModel) or dataclasses.is_dataclass(annotation)):
        return [annotation]
    return [m for arg in getattr(annotation, "__args__", ()) for m in _models_in(arg)]


_SOURCE_MODELS = {"mono": SourceConfig, "bitext": BitextSourceConfig, "docpairs": DocPairsSourceConfig}
