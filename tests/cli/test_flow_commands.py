"""The flow commands of `xlmforge`: the demo end to end on a few of Django's languages, `stats` on
its output, and mistakes that get one clear message instead of a traceback."""

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from tests.flows.flow_corpora import mono, write_yaml
from xlmforge.cli.main import app
from xlmforge.flows.settings import prefect_env


def xlmforge(*args, **env):
    return subprocess.run([sys.executable, "-m", "xlmforge.cli.main", *map(str, args)], capture_output=True, text=True,
                          timeout=600, env=prefect_env(**env))  # fmt: skip


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_demo_runs_end_to_end_and_says_where_everything_is(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    home = tmp_path_factory.getbasetemp() / "prefect-home"
    result = xlmforge("demo", "--out-dir", out, "--languages", "eng,deu,fra,spa", "--max-steps", 20,
                      PREFECT_HOME=str(home), COLUMNS="200")  # fmt: skip
    assert result.returncode == 0, result.stderr[-5000:]
    text = " ".join(result.stdout.split())
    headings = ("Corpus generations", "Per language", "Evaluation on the held-out test split", "Where everything is")
    assert all(heading in text for heading in headings)
    (checkpoint,) = (out / "runs").glob("*/step-00000020.pt")
    assert f"{checkpoint} (step 20)" in text and "Traceback" not in result.stderr
    assert "Task run 'train-" in result.stderr and "step 20/20" in result.stderr  # training progress streamed

    manifest = json.loads((out / "shards" / "manifest.json").read_text())
    assert set(manifest["sampling"]["languages"]) == {"eng", "deu", "fra", "spa"}
    assert set(manifest["sampling"]["pairs"]) == {"eng-deu", "eng-fra", "eng-spa"}
    (evaluation,) = (out / "eval").glob("*-step20-test.json")
    scores = json.loads(evaluation.read_text())
    assert set(scores["retrieval"]) == {"deu", "fra", "spa"}
    assert all(score["num_pairs"] > 50 for score in scores["retrieval"].values())
    assert {"mlm/deu", "tlm/eng-deu"} <= set(scores["perplexity"])
    exported = {p.name for p in (out / "export" / "hf").iterdir()}
    assert {"config.json", "tokenizer.json", "spm.model", "xlmforge.json"} <= exported

    stats = xlmforge("stats", out)
    assert stats.returncode == 0 and "Per language" in stats.stdout and "spa" in stats.stdout


def test_mistakes_get_one_message_and_no_traceback(prefect_harness, tmp_path):
    (tmp_path / "deu.txt").write_text("Ein ganz normaler deutscher Satz über das Wetter.\n")
    config = write_yaml(tmp_path / "c.yaml", {"sources": [mono("deu", tmp_path) | {"fromat": "text"}]})
    runner = CliRunner()
    result = runner.invoke(app, ["build", config, str(tmp_path / "out")])
    assert result.exit_code == 2 and "did you mean 'format'?" in result.output and "Traceback" not in result.output

    result = runner.invoke(app, ["train", str(tmp_path / "run.yaml"), "--nnodes", "2"])
    assert result.exit_code == 2 and "nnodes > 1 needs rdzv_endpoint" in " ".join(result.output.split())

    served = xlmforge("serve", config, tmp_path / "out", PREFECT_API_URL="")
    assert served.returncode == 2 and "prefect server start --host 127.0.0.1" in " ".join(served.stderr.split())
