"""The one configuration convention: typed sections, one error, one file loader.

Every config (the corpus build's, the shard build's, a training run's) is a tree of `Section`s:
pydantic models that are frozen, refuse unknown keys and check every value when they are made.
`load_config` reads a YAML or TOML file into one. Whatever is wrong becomes one `ConfigError` that
names the file, each key at fault and what it allows, and for a misspelt key the closest valid one.
"""

from __future__ import annotations

import contextlib
import contextvars
import difflib
import os
import tomllib
import typing
from collections.abc import Iterator
from typing import Any, Self, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Tag, ValidationError

Model = TypeVar("Model", bound="Section")
# Set while a section is being validated: the sections inside it report their problems to it.
_VALIDATING = contextvars.ContextVar("validating_config", default=False)


class ConfigError(ValueError):
    """A configuration that cannot be used, with a message that says what to change."""


class FieldError(ValueError):
    """A check that spans fields failed; `field` is the one to change (it is named in the message)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


class Section(BaseModel):
    """A configuration section. Made from keywords or with `from_dict`; a bad value is a ConfigError."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def __init__(self, **data: Any):
        if _VALIDATING.get():  # a section inside another: its problems go into the outer one's report
            super().__init__(**data)
            return
        with _validation_errors(type(self)):
            super().__init__(**data)

    @classmethod
    def from_dict(cls, data: Any) -> Self:
        """The section of nested dicts (a parsed file, or what `to_dict` gave)."""
        with _validation_errors(cls):
            return cls.model_validate(data)

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dicts and lists, in field order: the form written to files and checkpoints."""
        return self.model_dump(mode="json")

    def replace(self, **changes: Any) -> Self:
        """A copy with some fields changed, checked like a new section."""
        return type(self).from_dict(self.model_dump() | changes)


def _config_bytes(path: str) -> bytes:
    """A config file's bytes, from a local path or a URL (a run's config lives beside its checkpoints)."""
    if "://" in path:
        from xlmforge.core import storage  # imports Beam: only for a config in a bucket

        if not storage.exists(path):
            raise ConfigError(f"{path}: config file not found")
        return storage.read_bytes(path)
    if not os.path.isfile(path):
        raise ConfigError(f"{path}: config file not found")
    with open(path, "rb") as f:
        return f.read()


def read_config_file(path: str) -> dict[str, Any]:
    """The top-level mapping of a .yaml, .yml or .toml file; ConfigError when it is missing or malformed."""
    raw = _config_bytes(path)
    is_toml = path.endswith(".toml")
    try:
        data = tomllib.loads(raw.decode("utf-8")) if is_toml else yaml.safe_load(raw)
    except (yaml.YAMLError, tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: not valid {'TOML' if is_toml else 'YAML'}: {err}") from err
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level, found {type(data).__name__}")
    return data


def load_config(path: str, model: type[Model], what: str, data: dict[str, Any] | None = None) -> Model:
    """Read and validate a config file into `model`; `data` is the file's mapping when the caller
    already read (and amended) it. ConfigError names the file and says what is wrong."""
    data = read_config_file(path) if data is None else data
    with _validation_errors(model, f"{path}: invalid {what}:\n"):
        return model.model_validate(data)


@contextlib.contextmanager
def _validation_errors(model: type[BaseModel], heading: str = "") -> Iterator[None]:
    """Validation inside the block: its problems become one ConfigError, described against `model`."""
    token = _VALIDATING.set(True)
    try:
        yield
    except ValidationError as err:
        raise ConfigError(heading + describe_errors(err, model)) from None
    finally:
        _VALIDATING.reset(token)


def describe_errors(err: ValidationError, model: type[BaseModel]) -> str:
    """One line per problem: where (dotted keys), what, and for unknown keys the closest valid key."""
    lines = []
    for problem in err.errors():
        where, valid = _walk(model, problem["loc"])
        cause = problem.get("ctx", {}).get("error")
        if isinstance(cause, FieldError):
            where, valid = where + [cause.field], []
        place = ".".join(where) or "(top level)"
        if problem["type"] == "missing" and (inner := _required_fields(model, problem["loc"])):
            # a whole section left out: name the keys it needs
            lines += [f"  {place}.{name}: Field required" for name in inner]
        elif problem["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
            close = difflib.get_close_matches(str(problem["loc"][-1]), valid, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            lines.append(f"  {place}: unknown key{hint}; valid keys here: {', '.join(valid)}")
        else:
            lines.append(f"  {place}: {problem['msg'].removeprefix('Value error, ')}")
    return "\n".join(lines)


def _walk(model: type[BaseModel], loc: tuple) -> tuple[list[str], list[str]]:
    """The keys of `loc` as a user wrote them (list indices kept, the tags of tagged unions left out),
    and the valid keys of the section that holds the last one."""
    where: list[str] = []
    options: dict[str | None, type[BaseModel]] = {}
    current = container = model
    for key in loc:
        if isinstance(key, str) and key in options:  # the tag pydantic puts in the path of a tagged union
            current = options[key]
            continue
        where.append(str(key))
        if isinstance(key, str):
            container = current
            if key in current.model_fields:
                options = _sections_in(current.model_fields[key].annotation)
                current = next(iter(options.values()), current)
    return where, sorted(container.model_fields)


def _required_fields(model: type[BaseModel], loc: tuple) -> list[str]:
    """The required keys of the section a missing field at `loc` would hold (none if it holds a value)."""
    container = model
    for key in loc[:-1]:  # the section that holds the missing field
        if isinstance(key, str) and key in container.model_fields:
            container = next(iter(_sections_in(container.model_fields[key].annotation).values()), container)
    field = container.model_fields.get(str(loc[-1])) if loc else None
    sections = list(_sections_in(field.annotation).values()) if field else []
    if len(sections) != 1:
        return []
    return [name for name, info in sections[0].model_fields.items() if info.is_required()]


def _sections_in(annotation: Any, tag: str | None = None) -> dict[str | None, type[BaseModel]]:
    """The sections an annotation (list, tuple, union, Annotated...) can hold, by their union tag."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return {tag: annotation}
    if typing.get_origin(annotation) is typing.Annotated:
        inner, *metadata = typing.get_args(annotation)
        tags = [m.tag for m in metadata if isinstance(m, Tag)]
        return _sections_in(inner, tags[0] if tags else tag)
    found: dict[str | None, type[BaseModel]] = {}
    for arg in typing.get_args(annotation):
        found |= _sections_in(arg, tag)
    return found
