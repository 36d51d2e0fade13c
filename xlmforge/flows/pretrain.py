"""The `pretrain` flow: resolve the run config, launch `training.loop` (under torchrun when there is
more than one process), stream its progress into the flow's logs, record the checkpoint.

One process per GPU, or one CPU process when there is none. Across machines, every node runs the
same flow with its own `node_rank` and the same `rdzv_endpoint` (see docs/orchestration.md); the
run directory must be on storage every node sees.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from typing import Annotated

import yaml
from prefect import flow, get_run_logger, task
from pydantic import BaseModel, ConfigDict, Field, model_validator

from xlmforge.core import storage
from xlmforge.core.config import ConfigError, read_config_file
from xlmforge.flows import artifacts
from xlmforge.flows.caching import StageOutput, digest, key_from_spec, run_cached, training_code
from xlmforge.flows.model import checkpoint_digest
from xlmforge.pipelines.shards.manifest import read_manifest
from xlmforge.schemas.manifest import ShardManifest
from xlmforge.training.checkpoint import list_checkpoints
from xlmforge.training.config import RunConfig, load_run_config

AUTO = "auto"  # objectives.mlm_steps: every language (MLM) and pair (TLM) of the manifest
# The child's own log time stamp: the flow's log lines carry one already.
_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ ")


class LaunchOptions(BaseModel):
    """How many training processes, on how many machines (torchrun's options)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    nproc_per_node: Annotated[int, Field(ge=1)] | None = None  # None: one per GPU, or 1 without GPUs
    nnodes: Annotated[int, Field(ge=1)] = 1
    node_rank: Annotated[int, Field(ge=0)] = 0
    rdzv_endpoint: str | None = None  # host:port of the rendezvous (node 0), needed when nnodes > 1
    rdzv_id: str = "xlmforge"
    max_restarts: Annotated[int, Field(ge=0)] = 0  # torchrun restarts the workers after a failure

    @model_validator(mode="after")
    def _multi_node_needs_rendezvous(self) -> LaunchOptions:
        if self.nnodes > 1 and not self.rdzv_endpoint:
            raise ValueError("nnodes > 1 needs rdzv_endpoint (host:port of node 0, the same on every node)")
        if self.node_rank >= self.nnodes:
            raise ValueError(f"node_rank {self.node_rank} must be below nnodes {self.nnodes}")
        return self


class PretrainSpec(BaseModel):
    model_config = ConfigDict(frozen=True)

    stage: str = "pretrain"
    key: str  # the resolved config (manifest by its sha256), the number of processes, the code, the run directory
    config_path: str
    out_dir: str
    command: list[str]
    time_limit_minutes: float | None = None


class TrainingRun(BaseModel):
    checkpoint: str
    step: int
    out_dir: str
    config_path: str
    command: list[str]
    reused: bool


def gpu_count() -> int:
    import torch

    return torch.cuda.device_count()


def launch_command(config_path: str, launch: LaunchOptions, num_gpus: int) -> list[str]:
    """`python -m xlmforge.training.loop`, under torchrun when there is more than one process in the job."""
    nproc = launch.nproc_per_node or max(num_gpus, 1)
    loop = ["-m", "xlmforge.training.loop", "--config", config_path]
    if nproc == 1 and launch.nnodes == 1:
        return [sys.executable, *loop]
    command = [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={nproc}", f"--nnodes={launch.nnodes}",
               f"--max_restarts={launch.max_restarts}"]  # fmt: skip
    if launch.nnodes == 1:
        command.append("--standalone")
    else:
        command += [f"--node_rank={launch.node_rank}", "--rdzv_backend=c10d",
                    f"--rdzv_endpoint={launch.rdzv_endpoint}", f"--rdzv_id={launch.rdzv_id}"]  # fmt: skip
    return command + loop


def resolve_run_config(path: str, manifest: str | None, out_dir: str | None, max_steps: int | None,
                       init_from: str | None = None) -> RunConfig:
    """The run config file with the flow's overrides, validated; `mlm_steps: auto` filled from the manifest."""
    data = read_config_file(path)
    train = {"out_dir": out_dir, "max_steps": max_steps, "init_from": init_from}
    overrides = {"data": {"manifest": manifest} if manifest else {},
                 "train": {name: value for name, value in train.items() if value}}
    for name, values in overrides.items():
        section = data.get(name) or {}
        if values and isinstance(section, dict):  # anything else is left for validation to name
            data[name] = section | values
    objectives, data_section = data.get("objectives"), data.get("data")
    if isinstance(objectives, dict) and objectives.get("mlm_steps") == AUTO:
        manifest_path = data_section.get("manifest", "") if isinstance(data_section, dict) else ""
        data["objectives"] = objectives | {"mlm_steps": _all_languages_and_pairs(manifest_path)}
    return load_run_config(path, data)


def _all_languages_and_pairs(manifest_path: str) -> list[str]:
    if not manifest_path:
        raise ConfigError("objectives.mlm_steps: 'auto' needs data.manifest to read the languages from")
    sampling = ShardManifest.model_validate_json(_read(manifest_path)).sampling
    return [lang for lang, s in sampling.languages.items() if s.num_segments] + [
        pair for pair, s in sampling.pairs.items() if s.num_segments
    ]


def _read(path: str) -> bytes:
    return storage.read_bytes(path)


def newest_checkpoint(out_dir: str) -> str | None:
    """The newest complete checkpoint (one with its digest file) in a run directory."""
    complete = list_checkpoints(out_dir, complete=True)
    return complete[-1] if complete else None


@task(name="train", cache_key_fn=key_from_spec)
def train_model(spec: PretrainSpec) -> StageOutput:
    """Run training as a child process, its log lines streamed into this task's logs."""
    logger = get_run_logger()
    logger.info("launching: %s", " ".join(spec.command))
    started = time.monotonic()
    env = os.environ | {"PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(spec.command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                               start_new_session=True)  # fmt: skip
    timed_out = threading.Event()

    def stop() -> None:
        timed_out.set()
        os.killpg(process.pid, signal.SIGTERM)

    timer = threading.Timer(60 * spec.time_limit_minutes, stop) if spec.time_limit_minutes else None
    try:
        if timer:
            timer.start()
        for line in process.stdout:
            if line.strip():
                logger.info("%s", _TIMESTAMP.sub("", line.rstrip()))
        code = process.wait()
    finally:
        if timer:
            timer.cancel()
        if process.poll() is None:  # the flow was cancelled or failed: do not leave training running
            os.killpg(process.pid, signal.SIGTERM)
            process.wait()
    checkpoint = newest_checkpoint(spec.out_dir)
    if timed_out.is_set():
        logger.warning("time limit of %s minutes reached; using the newest checkpoint, %s", spec.time_limit_minutes,
                       checkpoint)  # fmt: skip
    elif code != 0:
        raise RuntimeError(f"training failed with exit code {code}; its log is above (run config {spec.config_path})")
    if checkpoint is None:
        raise RuntimeError(f"training wrote no complete checkpoint in {spec.out_dir}")
    marker = f"{checkpoint}.sha256"
    step = int(re.search(r"step-(\d+)\.pt$", checkpoint).group(1))
    return StageOutput(stage="pretrain", key=spec.key, path=checkpoint, marker=marker,
                       marker_sha256=storage.file_digest(marker), summary={"step": step},
                       seconds=time.monotonic() - started)  # fmt: skip


@flow(name="pretrain")
def pretrain(
    run_config: str,
    manifest: str | None = None,
    out_dir: str | None = None,
    max_steps: Annotated[int, Field(ge=1)] | None = None,
    launch: LaunchOptions = LaunchOptions(),
    time_limit_minutes: Annotated[float, Field(gt=0)] | None = None,
    init_from: str | None = None,
) -> TrainingRun:
    """Pretrain an XLM model: one process per GPU (torchrun), or one CPU process; resumes from the
    newest checkpoint in the run directory, or else starts from the weights of `init_from` (a checkpoint
    of an earlier run, e.g. before languages were added with vocab_policy=keep). `manifest`, `out_dir`,
    `max_steps` and `init_from` override the run config."""
    logger = get_run_logger()
    manifest, out_dir, init_from = (storage.absolute(p) if p else p for p in (manifest, out_dir, init_from))
    config = resolve_run_config(run_config, manifest, out_dir, max_steps, init_from)
    # Every shard listed, of the listed size, the vocabulary the one listed: before any process starts.
    # (Each shard's sha256 is checked as it is read.)
    read_manifest(config.data.manifest, check_hashes=False)
    run_dir = storage.absolute(config.train.out_dir)
    start = storage.absolute(config.train.init_from) if config.train.init_from else None
    if start and not storage.exists(start):  # before any process starts
        raise FileNotFoundError(f"train.init_from: checkpoint not found: {start}")
    config = config.replace(train=config.train.replace(out_dir=run_dir, init_from=start))
    config_path = storage.join(run_dir, "run.yaml")
    storage.write_bytes(config_path, yaml.safe_dump(config.to_dict(), sort_keys=False).encode())
    num_gpus = gpu_count()
    command = launch_command(config_path, launch, num_gpus)
    logger.info("%s; run config %s", f"{num_gpus} GPU(s)" if num_gpus else "no GPU: training on CPU", config_path)
    identity = config.to_dict()
    identity["data"]["manifest"] = storage.file_digest(config.data.manifest)
    if config.train.init_from:  # by content, like the manifest
        identity["train"]["init_from"] = checkpoint_digest(config.train.init_from)
    world = (launch.nproc_per_node or max(num_gpus, 1)) * launch.nnodes
    code = training_code()
    spec = PretrainSpec(key=digest(identity, world, code, run_dir), config_path=config_path,
                        out_dir=run_dir, command=command, time_limit_minutes=time_limit_minutes)  # fmt: skip
    # A run stopped by its time limit is resumed by the next call, not reused.
    output, reused = run_cached(train_model, lambda out: out.summary["step"] >= config.train.max_steps, spec=spec)
    artifacts.publish_training(output.path, output.summary["step"], command, output.seconds, reused)
    logger.info("checkpoint: %s (step %d)", output.path, output.summary["step"])
    return TrainingRun(checkpoint=output.path, step=output.summary["step"], out_dir=run_dir, config_path=config_path,
                       command=command, reused=reused)  # fmt: skip
