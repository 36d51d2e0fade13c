"""XLM's central comparison, reproduced on xlmforge: MLM alone, MLM + TLM, and CLM at equal compute.

The corpus is built once by the real pipeline (`xlmforge build`) from ../shared/data: NTREX-128
lines [0, 1400) of all 33 languages (monolingual, and as 32 English-X line pairs) and every Tatoeba
test pair (monolingual sides and 31 English-X pair files). NTREX lines from 1400 on never enter it
(`bench.translation_pairs --holdout-dir`): lines [1600, 1600 + pool) are the retrieval pool, the same
English sentences for every language, and [1400, 1600) / [1600, end) the fine-tuning task's dev and
eval splits. The shard build decontaminates its own held-out splits as well.

Runs (every one sees the same tokens: 2 batches of `tokens_per_batch` per optimizer step):
  mlm      MLM on every language, 2 micro-batches per step
  mlm_tlm  MLM on every language and TLM on every English-X pair, one batch of each per step
           (XLM's `--mlm_steps 'xx,...,en-xx,...'`)
  clm      CLM on every language, 2 micro-batches per step
Scores: retrieval P@1 xx->eng and eng->xx over the fixed pool (chance 1/pool), with sentence vectors
the mean of a middle layer's hidden states (XTREME/LASER) and at every layer; validation perplexity
per language; retrieval every `--curve-every` steps; zero-shot accuracy of translation-pair detection
fine-tuned on English-German (`xlmforge finetune`'s code) for the MLM and MLM+TLM models.

Writes bench/results/xlm_study.json and docs/model-study-*.png; runs are kept under
bench/work/xlm-study/runs/ and reused when present, so an interrupted study resumes.

    python bench/xlm_study.py                       # 3 seeds x 3 objectives, ~2 hours on 2 cores
    python bench/xlm_study.py --seeds 0 --objectives mlm,mlm_tlm --steps 200
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import math
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import sentencepiece as spm
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.alignment_data import read_tatoeba  # noqa: E402
from bench.data_quality import normalized  # noqa: E402
from bench.translation_pairs import DATA_DIR, PIVOT, read_lines, read_ntrex  # noqa: E402
from xlmforge.training.checkpoint import list_checkpoints, load_model  # noqa: E402
from xlmforge.training.config import FinetuneConfig, RunConfig  # noqa: E402
from xlmforge.training.evaluate import nearest_neighbour_accuracy, sentence_embeddings_by_layer  # noqa: E402
from xlmforge.training.finetune import finetune  # noqa: E402
from xlmforge.training.loop import train  # noqa: E402
from xlmforge.training.plan import load_manifest  # noqa: E402
from xlmforge.training.zero_shot import zero_shot_scores  # noqa: E402

WORK = ROOT / "bench" / "work" / "xlm-study"
RESULT = ROOT / "bench" / "results" / "xlm_study.json"
DOCS = ROOT / "docs"
OBJECTIVES = ("mlm", "mlm_tlm", "clm")
TRAIN_END, DEV_END = 1400, 1600  # NTREX line ranges of translation_pairs: train [0, 1400), dev, eval [1600, end)
POOL_START = DEV_END
SHARDS = {
    "name": "xlm-study",
    "vocab": {"size": 8000, "model_type": "bpe"},
    "splits": {"valid_size": 50, "test_size": 0, "sizes": {}},  # pairs: set per pair in shard_config
    "shards": {"target_bytes": "4MB"},
    "sampling": {"alpha": 0.5},
}

log = logging.getLogger("xlm_study")


@dataclasses.dataclass(frozen=True)
class Study:
    """What every run shares: model size, length, batch and evaluation."""

    steps: int = 600
    layers: int = 4
    dim: int = 128
    heads: int = 4
    tokens_per_batch: int = 2048
    lr: float = 1e-3
    dropout: float = 0.1  # of the hidden states and of attention
    warmup_steps: int = 50
    curve_every: int = 100
    pool_size: int = 200

    @property
    def middle_layer(self) -> int:
        return self.layers // 2

    def run_name(self, objective: str, seed: int) -> str:
        # lr and dropout are named only when they differ from the first study's, whose runs keep their names
        tuned = (f"-lr{self.lr:g}" if self.lr != 1e-3 else "") + (f"-do{self.dropout:g}" if self.dropout != 0.1 else "")
        return f"{objective}-L{self.layers}d{self.dim}{tuned}-{self.steps}steps-s{seed}"


def write_inputs(work: Path, data_dir: Path) -> Path:
    """The corpus config and its input files (NTREX's train lines and all of Tatoeba), under `work`."""
    subprocess.run([sys.executable, "-m", "bench.translation_pairs", str(work / "task"), "--data-dir", str(data_dir),
                    "--dev-start", str(TRAIN_END), "--eval-start", str(DEV_END),
                    "--holdout-dir", str(work / "ntrex-train")], check=True, cwd=ROOT)  # fmt: skip
    inputs = work / "input"
    inputs.mkdir(parents=True, exist_ok=True)
    pool = set(read_ntrex(data_dir, PIVOT)[TRAIN_END:])  # no held-out English line may come in through Tatoeba
    langs = sorted(p.stem for p in (work / "ntrex-train").glob("*.txt"))
    english = read_lines(work / "ntrex-train" / f"{PIVOT}.txt")
    sources = [{"name": f"ntrex-{lang}", "path": f"ntrex-train/{lang}.txt", "language": lang} for lang in langs]
    for lang in langs:
        if lang == PIVOT:
            continue
        pairs = zip(english, read_lines(work / "ntrex-train" / f"{lang}.txt"), strict=True)
        _write_pairs(inputs / f"ntrex-eng-{lang}.tsv", pairs)
        sources.append({"name": f"ntrex-eng-{lang}", "kind": "bitext", "path": f"input/ntrex-eng-{lang}.tsv",
                        "languages": [PIVOT, lang]})  # fmt: skip
    tatoeba_english: dict[str, None] = {}
    for path in sorted((data_dir / "tatoeba").glob("*-eng.tsv.gz")):
        lang = path.name.split("-")[0]
        rows = [(eng, text) for _, text, eng in read_tatoeba(lang, data_dir) if eng not in pool and text not in pool]
        _write_pairs(inputs / f"tatoeba-eng-{lang}.tsv", rows)
        (inputs / f"tatoeba-{lang}.txt").write_text("".join(f"{text}\n" for _, text in rows), encoding="utf-8")
        tatoeba_english.update(dict.fromkeys(eng for eng, _ in rows))
        sources += [{"name": f"tatoeba-{lang}", "path": f"input/tatoeba-{lang}.txt", "language": lang},
                    {"name": f"tatoeba-eng-{lang}", "kind": "bitext", "path": f"input/tatoeba-eng-{lang}.tsv",
                     "languages": [PIVOT, lang]}]  # fmt: skip
    (inputs / "tatoeba-eng.txt").write_text("".join(f"{text}\n" for text in tatoeba_english), encoding="utf-8")
    sources.append({"name": "tatoeba-eng", "path": "input/tatoeba-eng.txt", "language": PIVOT})
    corpus = work / "corpus.yaml"
    corpus.write_text(yaml.safe_dump({"name": "xlm-study", "sources": sources}, sort_keys=False))
    return corpus


def _write_pairs(path: Path, pairs) -> None:
    path.write_text("".join(f"{src}\t{tgt}\n" for src, tgt in pairs if src and tgt), encoding="utf-8")


def build_shards(work: Path, data_dir: Path) -> Path:
    """Corpus, vocabulary and shards through `xlmforge build` (skipped when its manifest exists)."""
    manifest = work / "build" / "shards" / "manifest.json"
    if manifest.exists():
        return manifest
    corpus = write_inputs(work, data_dir)
    pairs = sorted(f"{PIVOT}-{p.stem.split('-')[-1]}" for p in (work / "input").glob("ntrex-eng-*.tsv"))
    shards = SHARDS | {"splits": SHARDS["splits"] | {"sizes": {pair: {"valid": 50, "test": 50} for pair in pairs}}}
    (work / "shards.yaml").write_text(yaml.safe_dump(shards, sort_keys=False))
    started = time.perf_counter()
    xlmforge = Path(sys.executable).parent / "xlmforge"
    built = subprocess.run([str(xlmforge), "build", str(corpus), str(work / "build"), "--shards",
                            str(work / "shards.yaml")], cwd=work)  # fmt: skip
    if built.returncode:
        raise SystemExit(f"xlmforge build of {corpus} failed (its message is above)")
    log.info("corpus and shards built in %.0f s", time.perf_counter() - started)
    return manifest


def corpus_languages(manifest: Path) -> tuple[list[str], list[str]]:
    """(languages with monolingual train shards, English-X pairs with bitext train shards)."""
    loaded, _ = load_manifest(str(manifest))
    langs = sorted({s.lang for s in loaded.shards_for(kind="mono", split="train", fmt="webdataset")})
    pairs = sorted({s.lang for s in loaded.shards_for(kind="bitext", split="train", fmt="webdataset")})
    return langs, pairs


def run_config(objective: str, seed: int, study: Study, manifest: Path, out_dir: Path) -> RunConfig:
    langs, pairs = corpus_languages(manifest)
    # Equal compute: MLM+TLM takes one MLM and one TLM batch per step, the others two micro-batches.
    objectives = {"mlm": {"mlm_steps": langs}, "mlm_tlm": {"mlm_steps": langs + pairs},
                  "clm": {"clm_steps": langs}}[objective]  # fmt: skip
    accum = 1 if objective == "mlm_tlm" else 2
    return RunConfig.model_validate({
        "model": {"preset": "tiny", "num_layers": study.layers, "dim": study.dim, "num_heads": study.heads,
                  "max_positions": 256, "dropout": study.dropout, "attention_dropout": study.dropout},
        "data": {"manifest": str(manifest), "seq_len": 128, "max_sentence_len": 48,
                 "tokens_per_batch": study.tokens_per_batch, "seed": seed},
        "objectives": objectives,
        "optim": {"lr": study.lr, "warmup_steps": study.warmup_steps, "grad_accum_steps": accum},
        "train": {"out_dir": str(out_dir), "max_steps": study.steps, "seed": seed, "device": "cpu",
                  "log_every": 50, "num_valid_batches": 5, "checkpoint_every": study.curve_every,
                  "keep_checkpoints": study.steps // study.curve_every + 1, "tensorboard": False},
    })  # fmt: skip


def retrieval_pool(data_dir: Path, manifest: Path, langs: list[str], size: int) -> dict[str, list[np.ndarray]]:
    """lang -> NTREX lines [POOL_START, +size) as token ids: line i of every language translates line i of English."""
    loaded, base = load_manifest(str(manifest))
    tokenizer = spm.SentencePieceProcessor(model_file=str(Path(base) / loaded.vocab.path))
    pool = {}
    for lang in langs:
        texts = normalized(read_ntrex(data_dir, lang)[POOL_START:POOL_START + size])
        if len(texts) < size:
            raise SystemExit(f"--pool-size {size}: NTREX has only {len(texts)} lines from line {POOL_START}")
        pool[lang] = [np.asarray(ids[:200], dtype=np.int64) for ids in tokenizer.encode(texts)]
    return pool


def retrieval(checkpoint: str, pool: dict[str, list[np.ndarray]], causal: bool) -> dict[str, dict[str, dict]]:
    """layer -> lang -> P@1 xx->eng and eng->xx, every layer from one pass per language."""
    model, languages = load_model(checkpoint)
    layers = list(range(model.cfg.num_layers + 1))
    embed = {lang: sentence_embeddings_by_layer(model, sentences, languages.index(lang), layers, causal=causal)
             for lang, sentences in pool.items()}  # fmt: skip
    english = embed.pop(PIVOT)
    return {str(layer): {lang: {"to_eng": nearest_neighbour_accuracy(x[layer], english[layer]),
                                "from_eng": nearest_neighbour_accuracy(english[layer], x[layer])}
                         for lang, x in sorted(embed.items())} for layer in layers}  # fmt: skip


def mean_p1(scores: dict[str, dict[str, float]]) -> float:
    """Average over languages and both directions."""
    return statistics.fmean(v for s in scores.values() for v in s.values())


def step_of(checkpoint: str) -> int:
    return int(Path(checkpoint).stem.split("-")[1])


def run_one(objective: str, seed: int, study: Study, manifest: Path, pool: dict, task: Path,
            finetunes: bool) -> dict:
    """Train one run (or reuse it), then score it; the scores are stored beside its checkpoints."""
    out_dir = WORK / "runs" / study.run_name(objective, seed)
    scores_file = out_dir / "scores.json"
    if scores_file.exists():
        scores = json.loads(scores_file.read_text())
        if "finetune" in scores or not finetunes:
            return scores
    else:
        started = time.perf_counter()
        result = train(run_config(objective, seed, study, manifest, out_dir))
        elapsed = time.perf_counter() - started
        causal = objective == "clm"
        checkpoints = list_checkpoints(out_dir, complete=True)
        final = checkpoints[-1]
        curves = {step_of(c): retrieval(c, pool, causal) for c in checkpoints}
        by_layer = curves[step_of(final)]
        curve = {step: {layer: mean_p1(scores) for layer, scores in by_step.items()}
                 for step, by_step in curves.items()}
        scores = {"objective": objective, "seed": seed, "steps": result.step, "train_seconds": round(elapsed, 1),
                  "tokens_per_second": round(result.tokens_per_second), "checkpoint": final,
                  "valid_perplexity": result.valid_perplexity,
                  "retrieval_by_layer": by_layer, "curve": {str(k): v for k, v in sorted(curve.items())}}  # fmt: skip
    if finetunes and objective != "clm":
        scores["finetune"] = zero_shot(scores["checkpoint"], task, out_dir / "finetune", seed)
    scores_file.write_text(json.dumps(scores, indent=1) + "\n")
    return scores


def zero_shot(checkpoint: str, task: Path, out_dir: Path, seed: int) -> dict:
    """Translation-pair detection trained on English-German, scored on every English-X pair."""
    cfg = FinetuneConfig(checkpoint=checkpoint, train=str(task / "train.tsv"), dev=str(task / "dev.tsv"),
                         eval=(str(task / "eval.tsv"),), out_dir=str(out_dir), lr=2e-4, num_epochs=4,
                         seed=seed, device="cpu")  # fmt: skip
    result = finetune(cfg)
    scores = zero_shot_scores(result.checkpoint, cfg.eval)
    return {"best_epoch": result.best_epoch, "history": result.history,
            "accuracy": {lang: s.accuracy for lang, s in scores.by_lang.items()},
            "macro_f1": {lang: s.macro_f1 for lang, s in scores.by_lang.items()},
            "transfer_average": scores.transfer_average}  # fmt: skip


def mean_sd(values: list[float]) -> dict[str, float]:
    return {"mean": statistics.fmean(values), "sd": statistics.stdev(values) if len(values) > 1 else 0.0,
            "n": len(values)}  # fmt: skip


def summarize(runs: list[dict], study: Study) -> dict:
    """Mean and sd over seeds, per objective: retrieval per language and on average, perplexity, curves."""
    chance = 1 / study.pool_size
    summary = {}
    for objective in sorted({r["objective"] for r in runs}):
        mine = [r for r in runs if r["objective"] == objective]
        middle = [r["retrieval_by_layer"][str(study.middle_layer)] for r in mine]
        langs = sorted(middle[0])
        layers = {layer: mean_sd([mean_p1(r["retrieval_by_layer"][layer]) for r in mine])
                  for layer in mine[0]["retrieval_by_layer"]}  # fmt: skip
        best = max(layers, key=lambda layer: layers[layer]["mean"])
        average = mean_sd([mean_p1(m) for m in middle])
        entry = {
            "seeds": [r["seed"] for r in mine],
            "average_p1": average,
            "times_chance": average["mean"] / chance,
            "per_language": {lang: {d: mean_sd([m[lang][d] for m in middle]) for d in ("to_eng", "from_eng")}
                             for lang in langs},
            "by_layer": layers,
            "best_layer": int(best),
            "valid_perplexity": {key: mean_sd([r["valid_perplexity"][key] for r in mine])
                                 for key in sorted(mine[0]["valid_perplexity"])},
            "curve": {step: mean_sd([r["curve"][step][str(study.middle_layer)] for r in mine if step in r["curve"]])
                      for step in mine[0]["curve"]},
            "train_seconds": mean_sd([r["train_seconds"] for r in mine]),
        }  # fmt: skip
        tuned = [r["finetune"] for r in mine if "finetune" in r]
        if tuned:
            entry["zero_shot_accuracy"] = mean_sd([t["transfer_average"]["accuracy"] for t in tuned])
            entry["zero_shot_per_language"] = {lang: mean_sd([t["accuracy"][lang] for t in tuned])
                                               for lang in sorted(tuned[0]["accuracy"])}  # fmt: skip
        summary[objective] = entry
    return summary


def targets(summary: dict, study: Study) -> dict:
    if not {"mlm", "mlm_tlm"} <= summary.keys():
        return {}
    tlm, mlm = summary["mlm_tlm"]["average_p1"], summary["mlm"]["average_p1"]
    margin = tlm["mean"] - mlm["mean"]
    sd = max(tlm["sd"], mlm["sd"])
    return {"tlm_minus_mlm": margin, "largest_seed_sd": sd, "margin_in_sd": margin / sd if sd else math.inf,
            "tlm_beats_mlm_by_3sd": margin > 3 * sd, "tlm_times_chance": summary["mlm_tlm"]["times_chance"],
            "tlm_reaches_20x_chance": summary["mlm_tlm"]["times_chance"] >= 20}  # fmt: skip


def plot(summary: dict, study: Study) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    chance = 1 / study.pool_size
    paths = []
    fig, ax = plt.subplots(figsize=(6, 4))
    for objective, entry in summary.items():
        steps = sorted(entry["curve"], key=int)
        mean = [entry["curve"][s]["mean"] for s in steps]
        sd = [entry["curve"][s]["sd"] for s in steps]
        x = [int(s) for s in steps]
        ax.plot(x, mean, marker="o", label=objective)
        ax.fill_between(x, [m - d for m, d in zip(mean, sd)], [m + d for m, d in zip(mean, sd)], alpha=0.2)
    ax.axhline(chance, color="grey", linestyle="--", label=f"chance ({chance:.4f})")
    ax.set(xlabel="optimizer step", ylabel=f"retrieval P@1 (layer {study.middle_layer}, mean of both directions)",
           title="Retrieval against steps (mean ± sd over seeds)")
    ax.legend()
    fig.tight_layout()
    paths.append(DOCS / "model-study-curve.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    langs = sorted(next(iter(summary.values()))["per_language"])
    fig, ax = plt.subplots(figsize=(12, 4))
    width = 0.8 / len(summary)
    for i, (objective, entry) in enumerate(summary.items()):
        values = [statistics.fmean(entry["per_language"][lang][d]["mean"] for d in ("to_eng", "from_eng"))
                  for lang in langs]  # fmt: skip
        ax.bar([j + i * width for j in range(len(langs))], values, width, label=objective)
    ax.axhline(chance, color="grey", linestyle="--", label="chance")
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(langs))], langs, rotation=90)
    ax.set(ylabel="retrieval P@1 (both directions)", title="Retrieval per language against English")
    ax.legend()
    fig.tight_layout()
    paths.append(DOCS / "model-study-languages.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)
    return [str(p.relative_to(ROOT)) for p in paths]


def print_report(summary: dict, checks: dict, study: Study) -> None:
    chance = 1 / study.pool_size
    print(f"\nretrieval P@1 over a pool of {study.pool_size} NTREX sentences (chance {chance:.4f}), "
          f"layer {study.middle_layer} of {study.layers}, mean ± sd over seeds")
    print(f"{'objective':<9} {'seeds':>5} {'avg P@1':>15} {'x chance':>8} {'best layer':>14} {'zero-shot acc':>15}")
    for objective, e in summary.items():
        best = e["by_layer"][str(e["best_layer"])]
        shot = e.get("zero_shot_accuracy")
        shot_text = f"{shot['mean']:.3f} ± {shot['sd']:.3f}" if shot else "-"
        print(f"{objective:<9} {len(e['seeds']):>5} {e['average_p1']['mean']:.4f} ± {e['average_p1']['sd']:.4f} "
              f"{e['times_chance']:>8.1f} L{e['best_layer']} {best['mean']:.4f} {shot_text:>15}")
    langs = sorted(next(iter(summary.values()))["per_language"])
    print("\nper language, xx->eng / eng->xx (seed mean):")
    print(f"{'lang':<5} " + " ".join(f"{o:>15}" for o in summary))
    for lang in langs:
        cells = [f"{e['per_language'][lang]['to_eng']['mean']:.3f}/{e['per_language'][lang]['from_eng']['mean']:.3f}"
                 for e in summary.values()]  # fmt: skip
        print(f"{lang:<5} " + " ".join(f"{c:>15}" for c in cells))
    if checks:
        print(f"\nMLM+TLM - MLM = {checks['tlm_minus_mlm']:.4f} ({checks['margin_in_sd']:.1f} sd; target > 3 sd: "
              f"{checks['tlm_beats_mlm_by_3sd']}); MLM+TLM at {checks['tlm_times_chance']:.1f}x chance "
              f"(target >= 20x: {checks['tlm_reaches_20x_chance']})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    parser.add_argument("--objectives", default=",".join(OBJECTIVES))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--finetune-seeds", default="0,1,2", help="seeds whose MLM and MLM+TLM models are fine-tuned")
    parser.add_argument("--steps", type=int, default=Study.steps)
    parser.add_argument("--layers", type=int, default=Study.layers)
    parser.add_argument("--dim", type=int, default=Study.dim)
    parser.add_argument("--heads", type=int, default=Study.heads)
    parser.add_argument("--lr", type=float, default=Study.lr)
    parser.add_argument("--dropout", type=float, default=Study.dropout)
    parser.add_argument("--curve-every", type=int, default=Study.curve_every)
    parser.add_argument("--pool-size", type=int, default=Study.pool_size)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", force=True)
    if not (args.data_dir / "ntrex").is_dir():
        raise SystemExit(f"{args.data_dir}: the shared data (ntrex/, tatoeba/) is not there; pass --data-dir")
    unknown = set(args.objectives.split(",")) - set(OBJECTIVES)
    if unknown:
        parser.error(f"--objectives: unknown {sorted(unknown)}; choose from {', '.join(OBJECTIVES)}")
    study = Study(steps=args.steps, layers=args.layers, dim=args.dim, heads=args.heads, lr=args.lr,
                  dropout=args.dropout, curve_every=min(args.curve_every, args.steps),
                  pool_size=args.pool_size)  # fmt: skip
    WORK.mkdir(parents=True, exist_ok=True)
    manifest = build_shards(WORK, args.data_dir)
    langs, pairs = corpus_languages(manifest)
    pool = retrieval_pool(args.data_dir, manifest, [PIVOT] + [lang for lang in langs if lang != PIVOT], study.pool_size)
    finetune_seeds = {int(s) for s in args.finetune_seeds.split(",") if s}
    runs = []
    for seed in (int(s) for s in args.seeds.split(",")):
        for objective in args.objectives.split(","):
            runs.append(run_one(objective, seed, study, manifest, pool, WORK / "task", seed in finetune_seeds))
    summary = summarize(runs, study)
    checks = targets(summary, study)
    result = {"study": dataclasses.asdict(study), "pool": {"source": f"NTREX lines [{POOL_START}, "
              f"{POOL_START + study.pool_size})", "size": study.pool_size, "chance": 1 / study.pool_size},
              "languages": langs, "pairs": pairs, "summary": summary, "targets": checks,
              "plots": plot(summary, study), "runs": runs}  # fmt: skip
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(result, indent=1) + "\n")
    print_report(summary, checks, study)
    print(f"\nwrote {RESULT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
