"""What to read and how to mix it: the manifest checked against the step schedule, one task per
(objective, language or pair) with its shards, and the sampling table q ∝ p^alpha of each group."""

from __future__ import annotations

import dataclasses
import logging
import posixpath

import fsspec

from xlmforge.core.sampling import sampling_probabilities
from xlmforge.schemas.manifest import ShardManifest
from xlmforge.training.config import DataConfig, ObjectivesConfig
from xlmforge.training.streams import ItemBuilder, PairItems, ShardReader, ShardSource, StreamItems

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Task:
    """One objective on one language or pair, with its shards and sampling probability in its group."""

    objective: str  # mlm | tlm | clm
    lang: str  # "en", or "en-fr" for tlm
    train: tuple[ShardSource, ...]
    valid: tuple[ShardSource, ...]
    swap: bool  # the shards are stored as "fr-en" for the task "en-fr"
    p: float
    q: float

    @property
    def key(self) -> str:
        return f"{self.objective}:{self.lang}"


@dataclasses.dataclass(frozen=True)
class DataPlan:
    """Everything a worker needs to produce batches: tasks per group, language ids and settings."""

    groups: dict[str, tuple[Task, ...]]
    languages: tuple[str, ...]  # index = language id of the model
    vocab_size: int
    cfg: DataConfig

    def lang_id(self, lang: str) -> int:
        return self.languages.index(lang)

    def reader(self) -> ShardReader:
        return ShardReader(self.vocab_size, self.cfg.shard_opener, self.cfg.on_corrupt)

    def builder(self, task: Task) -> ItemBuilder:
        if task.objective == "tlm":
            return PairItems(self.cfg.max_sentence_len, task.swap)
        return StreamItems(self.cfg.seq_len)

    @property
    def tasks(self) -> list[Task]:
        return [task for tasks in self.groups.values() for task in tasks]


def load_manifest(url: str) -> tuple[ShardManifest, str]:
    """The manifest at a path or fsspec URL, and the base URL its relative paths start from."""
    try:
        with fsspec.open(url, "rt", encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        raise FileNotFoundError(f"manifest not found: {url}") from None
    try:
        manifest = ShardManifest.model_validate_json(text)
    except ValueError as err:
        raise ValueError(f"manifest {url} is not a valid shard manifest: {err}") from err
    return manifest, posixpath.dirname(url)


def build_plan(manifest: ShardManifest, base_url: str, cfg: DataConfig, objectives: ObjectivesConfig) -> DataPlan:
    """Check the manifest against the schedule and lay out the tasks; errors name what is missing."""
    alpha = cfg.alpha if cfg.alpha is not None else manifest.sampling.alpha
    steps = {"mlm": [s for s in objectives.mlm_steps if "-" not in s],
             "tlm": [s for s in objectives.mlm_steps if "-" in s], "clm": list(objectives.clm_steps)}
    groups: dict[str, tuple[Task, ...]] = {}
    for group, langs in steps.items():
        if not langs:
            continue
        layouts = {lang: _layout(manifest, base_url, cfg, group, lang) for lang in langs}
        sizes = {lang: _task_size(manifest, lang, train) for lang, (train, _, _) in layouts.items()}
        probabilities = sampling_probabilities(sizes, alpha)
        groups[group] = tuple(Task(group, lang, *layouts[lang], *probabilities[lang]) for lang in langs)
    languages = tuple(sorted({lang for s in manifest.shards for lang in s.lang.split("-")}))
    plan = DataPlan(groups, languages, manifest.vocab.size, cfg)
    _check_shards_exist(plan)
    return plan


def _layout(manifest: ShardManifest, base_url: str, cfg: DataConfig, group: str,
            lang: str) -> tuple[tuple[ShardSource, ...], tuple[ShardSource, ...], bool]:
    """Train shards, valid shards, and whether a pair is stored the other way round ("fr-en" for "en-fr")."""
    kind = "bitext" if group == "tlm" else "mono"

    def sources(stored: str, split: str) -> tuple[ShardSource, ...]:
        return tuple(ShardSource(s.path, posixpath.join(base_url, s.path), s.sha256, s.format, s.kind)
                     for s in manifest.shards_for(kind=kind, split=split, fmt=cfg.format) if s.lang == stored)

    stored, swap = lang, False
    if group == "tlm" and not sources(lang, "train"):
        stored, swap = "-".join(reversed(lang.split("-"))), True
    train = sources(stored, "train")
    if not train:
        have = sorted({s.lang for s in manifest.shards_for(kind=kind, split="train", fmt=cfg.format)})
        field = "clm_steps" if group == "clm" else "mlm_steps"
        raise ValueError(f"objectives.{field}: {lang!r} has no {cfg.format} {kind} train shards in the manifest; "
                         f"it has {have}")
    return train, sources(stored, "valid"), swap


def _task_size(manifest: ShardManifest, lang: str, train: tuple[ShardSource, ...]) -> float:
    """p comes from the manifest's sampling table; pairs (not in it) weigh by their shards' tokens."""
    if lang in manifest.sampling.languages:
        return manifest.sampling.languages[lang].p
    names = {s.name for s in train}
    return float(sum(s.num_tokens for s in manifest.shards if s.path in names))


def _check_shards_exist(plan: DataPlan) -> None:
    if plan.cfg.shard_opener:
        return  # a command's URLs are checked when they are read
    for task in plan.tasks:
        for shard in task.train + task.valid:
            fs, path = fsspec.core.url_to_fs(shard.url)
            if not fs.exists(path):
                raise FileNotFoundError(f"shard {shard.name} listed in the manifest is missing: {shard.url}")


def log_sampling_table(plan: DataPlan) -> None:
    """Log p and q of every task, once at the start of training."""
    for group, tasks in plan.groups.items():
        for task in tasks:
            log.info("sampling %s %-8s p=%.4f q=%.4f (%d train shards)", group, task.lang, task.p, task.q,
                     len(task.train))
