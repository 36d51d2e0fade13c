"""Two CPU processes on gloo under torchrun: parameters stay in sync, ranks read different data, and a
resumed DDP run continues with the same losses on every rank."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.training.xlm_runs import SUBPROCESS_ENV, tiny_run

REPO = Path(__file__).resolve().parents[2]

# Runs on every rank: train, then report losses and a checksum of the final parameters.
WORKER = """
import json
import sys
from pathlib import Path

from xlmforge.training import distributed
from xlmforge.training.checkpoint import load_latest_checkpoint
from xlmforge.training.config import load_run_config
from xlmforge.training.loop import Trainer

cfg = load_run_config(sys.argv[1])
ctx = distributed.setup("cpu")
trainer = Trainer(cfg, ctx)
found = load_latest_checkpoint(Path(cfg.train.out_dir))
if found:
    trainer.load_state_dict(found[1])
result = trainer.run()
checksum = sum(float(p.double().sum()) for p in trainer.model.parameters())
with open(f"{cfg.train.out_dir}/rank{ctx.rank}-{result.step}.json", "w") as f:
    json.dump({"losses": result.losses, "checksum": checksum, "first_step": result.first_step}, f)
distributed.teardown(ctx)
"""


def torchrun(tmp_path: Path, corpus: Path, out: Path, max_steps: int) -> list[dict]:
    # sample_alpha: the token counts are read by rank 0 and broadcast (distributed.from_main)
    cfg = tiny_run(corpus, out, train={"max_steps": max_steps, "checkpoint_every": 2},
                   objectives={"sample_alpha": 0.5})
    config_path = tmp_path / f"run-{out.name}-{max_steps}.yaml"
    config_path.write_text(yaml.safe_dump(cfg.to_dict()))
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(script),
         str(config_path)],
        env=os.environ | SUBPROCESS_ENV | {"PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-4000:]
    return [json.loads((out / f"rank{rank}-{max_steps}.json").read_text()) for rank in (0, 1)]


@pytest.mark.slow
def test_two_process_gloo_ddp_syncs_and_resumes_exactly(corpus: Path, tmp_path: Path) -> None:
    unbroken = torchrun(tmp_path, corpus, tmp_path / "unbroken", max_steps=4)
    assert unbroken[0]["checksum"] == unbroken[1]["checksum"]  # identical parameters on both ranks
    assert unbroken[0]["losses"] != unbroken[1]["losses"]  # from different shards
    first = torchrun(tmp_path, corpus, tmp_path / "broken", max_steps=2)
    second = torchrun(tmp_path, corpus, tmp_path / "broken", max_steps=4)
    for rank in (0, 1):
        assert second[rank]["first_step"] == 2
        assert first[rank]["losses"] + second[rank]["losses"] == unbroken[rank]["losses"]
    assert second[0]["checksum"] == unbroken[0]["checksum"]
