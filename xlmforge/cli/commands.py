"""The flow commands of `xlmforge`: build, train, evaluate, export, finetune, run, stats, serve, demo.

Each runs a Prefect flow (with no Prefect server configured, on a temporary local one) and prints
where its outputs are. Prefect and the flows are imported inside the commands, so `--help` is fast.
"""

from __future__ import annotations

import enum
from pathlib import Path

import typer

from xlmforge.cli.console import console, fail, flow_run, out, user_errors

_PASS_THROUGH = {"allow_extra_args": True, "ignore_unknown_options": True}


class Vocab(enum.StrEnum):
    retrain = "retrain"
    keep = "keep"


class Split(enum.StrEnum):
    valid = "valid"
    test = "test"


def _print_summary(out_dir: str, where: list[tuple[str, str]]) -> None:
    from xlmforge.cli.summary import build_summary, locations

    out.print(build_summary(out_dir))
    out.print(locations(where))


def build(
    ctx: typer.Context,
    config: Path = typer.Argument(..., help="Corpus config (YAML or TOML) naming the sources."),
    out_dir: str = typer.Argument(..., help="Output directory (local path or any Beam filesystem URL)."),
    shards: Path = typer.Option(None, help="Shard build config: vocabulary, splits, shard files, sampling."),
    vocab: Vocab = typer.Option(
        Vocab.retrain,
        help="When languages are added: retrain the vocabulary, or keep it "
        "(reports the new languages' fertility and unknown / byte-fallback rates).",
    ),
) -> None:
    """Build corpus, vocabulary and shards (OUT_DIR/shards/manifest.json), cached by content.

    Reruns reuse every stage whose inputs did not change; added sources are built alone and
    deduplicated against the corpus built so far. Extra options go to Beam, e.g.
    `--runner FlinkRunner --flink_master=host:8081` or `--direct_running_mode=multi_processing`.
    """
    from xlmforge.flows.corpus import build_corpus

    with flow_run():
        result = build_corpus(str(config), out_dir, str(shards) if shards else None, vocab.value, list(ctx.args))
    _print_summary(out_dir, [("corpus", f"{result.out_dir}/corpus"), ("manifest", result.manifest)])
    if not result.built:
        out.print("nothing changed: every stage was reused from the cache (no work done)")


def train(
    run_config: Path = typer.Argument(..., help="Training run config (YAML or TOML)."),
    manifest: str = typer.Option(None, help="Shard manifest (overrides data.manifest of the run config)."),
    out_dir: str = typer.Option(None, help="Run directory for checkpoints (overrides train.out_dir)."),
    max_steps: int = typer.Option(None, min=1, help="Overrides train.max_steps."),
    nproc_per_node: int = typer.Option(None, min=1, help="Processes per machine (default: one per GPU, or 1)."),
    nnodes: int = typer.Option(1, min=1, help="Machines in the job; run this command on each."),
    node_rank: int = typer.Option(0, min=0, help="This machine's rank, 0 to nnodes - 1."),
    rdzv_endpoint: str = typer.Option(None, help="host:port of node 0, the same on every machine (nnodes > 1)."),
    time_limit: float = typer.Option(None, min=0.1, help="Stop after this many minutes; keep the newest checkpoint."),
    init_from: str = typer.Option(None, help="Start from this checkpoint's weights (an earlier run's, e.g. before "
                                  "languages were added with --vocab keep); overrides train.init_from."),
) -> None:
    """Pretrain an XLM model on a shard manifest (torchrun on GPUs, one process on CPU).

    One process per GPU, or one CPU process when there is none; resumes from the newest checkpoint
    in the run directory, or else starts from --init-from's weights (language embeddings matched by code,
    new languages at the mean of the old ones; a fresh optimizer and schedule). `objectives.mlm_steps:
    auto` in the run config trains every language (MLM) and pair (TLM) of the manifest. On several
    machines, run it on each with the same --nnodes and --rdzv-endpoint and its own --node-rank.
    """
    from xlmforge.flows.pretrain import LaunchOptions, pretrain

    with flow_run():
        launch = LaunchOptions(nproc_per_node=nproc_per_node, nnodes=nnodes, node_rank=node_rank,
                               rdzv_endpoint=rdzv_endpoint)  # fmt: skip
        result = pretrain(str(run_config), manifest, out_dir, max_steps, launch, time_limit, init_from)
    out.print(f"checkpoint: {result.checkpoint} (step {result.step}); run config {result.config_path}")


def evaluate(
    checkpoint: str = typer.Argument(..., help="A checkpoint (runs/.../step-00000150.pt, or a URL)."),
    manifest: str = typer.Argument(..., help="The shard manifest whose held-out splits to score on."),
    split: Split = typer.Option(Split.test, help="Held-out split."),
    pivot: str = typer.Option("eng", help="Language the retrieval pairs are scored against."),
    layer: int = typer.Option(None, min=0, help="Pool the hidden states after this many layers (default: all)."),
) -> None:
    """Score a checkpoint: held-out bitext retrieval (both directions) and validation perplexity."""
    from xlmforge.cli.summary import evaluation_table
    from xlmforge.flows.model import evaluate as evaluate_flow

    with flow_run():
        result = evaluate_flow(checkpoint, manifest, split.value, pivot, layer)
    out.print(evaluation_table(result.model_dump()))
    if result.retrieval_note:
        out.print(result.retrieval_note)
    out.print(f"results: {result.path}")


def export(
    checkpoint: str = typer.Argument(..., help="A checkpoint (runs/.../step-00000150.pt, or a URL)."),
    out_dir: str = typer.Argument(..., help="Directory (or URL) for the Hugging Face model and tokenizer."),
) -> None:
    """Export a checkpoint to the Hugging Face format (XLMWithLMHeadModel and its tokenizer).

    Load it with transformers: XLMWithLMHeadModel.from_pretrained(OUT_DIR), AutoTokenizer.from_pretrained(OUT_DIR).
    """
    from xlmforge.flows.model import export as export_flow

    with flow_run():
        path = export_flow(checkpoint, out_dir)
    out.print(f"model: {path}")


def _default(option: str) -> str:
    """ (default: X) of a FinetuneConfig field, for the help text."""
    from xlmforge.training.config import FinetuneConfig

    return f" (default: {FinetuneConfig.model_fields[option].default})"


def finetune(
    checkpoint: Path = typer.Argument(..., help="A pretraining checkpoint (runs/.../step-00001000.pt)."),
    train: Path = typer.Argument(..., help="Training file, TSV or JSONL: text, label [, text_pair] [, lang]."),
    eval_files: list[Path] = typer.Option(..., "--eval", help="Evaluation file with a lang column; repeat for more."),
    dev: Path = typer.Option(None, help="Dev file in the training language: early stopping on its accuracy."),
    out_dir: Path = typer.Option(Path("runs/finetune"), help="Where the classifier, its export and scores go."),
    train_lang: str = typer.Option(None, help="Language of a training (and dev) file without a lang column."),
    vocab: Path = typer.Option(None, help="SentencePiece model (default: the checkpoint's own)."),
    lr: float = typer.Option(None, help=f"Peak learning rate, warmed up and decayed linearly{_default('lr')}."),
    epochs: int = typer.Option(None, min=1, help=f"Epochs at most{_default('num_epochs')}."),
    batch_size: int = typer.Option(None, min=1, help=f"Examples per batch{_default('batch_size')}."),
    max_length: int = typer.Option(None, min=4, help="Tokens per input (default: 128, or max_positions if less)."),
    seed: int = typer.Option(None, help=f"Seed of the head's initialisation, dropout and shuffling{_default('seed')}."),
    freeze_embeddings: bool = typer.Option(False, help="Keep token, position and language embeddings fixed."),
    patience: int = typer.Option(None, min=1, help="With --dev: stop after this many epochs without a better dev "
                                 f"accuracy{_default('patience')}."),  # fmt: skip
    device: str = typer.Option(None, help=f"auto, cpu or cuda{_default('device')}."),
) -> None:
    """Fine-tune a checkpoint on a labelled task and score it zero-shot on every language.

    Single texts (column text) or text pairs (text, text_pair, XNLI-style); labels are read from the
    training file. Trained in one language, scored per language of the evaluation files (accuracy,
    macro-F1), exported to transformers' XLMForSequenceClassification in OUT_DIR/hf.
    """
    from xlmforge.cli.summary import zero_shot_table
    from xlmforge.flows.finetune import finetune as finetune_flow
    from xlmforge.training.config import FinetuneConfig

    with flow_run():
        given = {"dev": dev, "train_lang": train_lang, "vocab": vocab, "lr": lr, "num_epochs": epochs,
                 "batch_size": batch_size, "max_length": max_length, "seed": seed, "patience": patience,
                 "device": device}  # the rest keep FinetuneConfig's defaults
        config = FinetuneConfig(checkpoint=str(checkpoint), train=str(train), eval=tuple(map(str, eval_files)),
                                out_dir=str(out_dir), freeze_embeddings=freeze_embeddings,
                                **{name: str(v) if isinstance(v, Path) else v for name, v in given.items()
                                   if v is not None})  # fmt: skip
        result = finetune_flow(config)
    out.print(zero_shot_table(result.model_dump()))
    out.print(f"classifier: {result.classifier}; transformers model: {result.export_dir}")


def run(
    ctx: typer.Context,
    config: Path = typer.Argument(..., help="Corpus config (YAML or TOML)."),
    out_dir: str = typer.Argument(..., help="Output directory for corpus, shards, runs, evaluation and export."),
    run_config: Path = typer.Option(..., help="Training run config (YAML or TOML)."),
    shards: Path = typer.Option(None, help="Shard build config."),
    vocab: Vocab = typer.Option(Vocab.retrain, help="Vocabulary policy when languages are added."),
    max_steps: int = typer.Option(None, min=1, help="Overrides train.max_steps."),
    time_limit: float = typer.Option(None, min=0.1, help="Stop training after this many minutes."),
    pivot: str = typer.Option("eng", help="Language the retrieval evaluation pairs against."),
    continue_training: bool = typer.Option(False, help="With --vocab keep: when the manifest changed (languages "
                                           "added), start the new run from the previous run's newest checkpoint."),
) -> None:
    """Everything on your data: corpus, shards, pretraining, evaluation and export.

    The end-to-end flow; every step is cached by content, so a rerun does only what changed.
    """
    with flow_run():
        _end_to_end(config, out_dir, run_config, shards, vocab.value, list(ctx.args), max_steps, time_limit, pivot,
                    continue_training)  # fmt: skip


def _end_to_end(config, out_dir, run_config, shards, vocab, pipeline_args, max_steps, time_limit, pivot,
                continue_training=False) -> None:
    from xlmforge.flows.end_to_end import end_to_end

    result = end_to_end(str(config), out_dir, str(run_config), str(shards) if shards else None, vocab, pipeline_args,
                        max_steps=max_steps, time_limit_minutes=time_limit, pivot=pivot,
                        continue_training=continue_training)  # fmt: skip
    _print_summary(out_dir, [
        ("corpus", f"{result.corpus.out_dir}/corpus"), ("manifest", result.corpus.manifest),
        ("sampling chart", result.corpus.manifest.replace("manifest.json", "sampling.png")),
        ("checkpoint", f"{result.training.checkpoint} (step {result.training.step})"),
        ("evaluation", result.evaluation.path), ("exported model", result.export_dir),
    ])  # fmt: skip
    if result.evaluation.retrieval_note:
        out.print(result.evaluation.retrieval_note)


def stats(out_dir: str = typer.Argument(..., help="An output directory of build, run or demo.")) -> None:
    """Show what OUT_DIR holds: corpus generations, the per-language table, the latest evaluation."""
    from xlmforge.cli.summary import build_summary

    with user_errors():
        summary = build_summary(out_dir)
    if not summary.renderables:
        fail(f"{out_dir} holds no build: run `xlmforge build CONFIG {out_dir}` first")
    out.print(summary)


def serve(
    ctx: typer.Context,
    config: Path = typer.Argument(..., help="Corpus config (YAML or TOML)."),
    out_dir: str = typer.Argument(..., help="Output directory of the scheduled builds."),
    cron: str = typer.Option("0 3 * * *", help="Cron schedule (this machine's time zone is not used: UTC)."),
    name: str = typer.Option("scheduled", help="Deployment name."),
    shards: Path = typer.Option(None, help="Shard build config."),
    run_config: Path = typer.Option(None, help="Also serve end-to-end (training, evaluation, export)."),
    vocab: Vocab = typer.Option(Vocab.retrain, help="Vocabulary policy when languages are added."),
    continue_training: bool = typer.Option(False, help="With --vocab keep and --run-config: a run whose manifest "
                                           "gained languages starts from the previous run's newest checkpoint."),
) -> None:
    """Run build (and optionally everything) on a cron schedule from this machine; Ctrl-C stops.

    Needs a Prefect server: `prefect server start --host 127.0.0.1` (with DO_NOT_TRACK=1 and
    PREFECT_SERVER_ANALYTICS_ENABLED=false) and `export PREFECT_API_URL=http://127.0.0.1:4200/api`.
    For work pools, see prefect.yaml.
    """
    from prefect import serve as serve_deployments

    from xlmforge.flows.deploy import deployments, no_server_message

    problem = no_server_message()
    if problem:
        fail(problem)
    with user_errors():
        found = deployments(str(config), out_dir, cron, name, str(shards) if shards else None,
                            str(run_config) if run_config else None, list(ctx.args), vocab.value,
                            continue_training)  # fmt: skip
    serve_deployments(*found)


def demo(
    out_dir: Path = typer.Option(Path("out/demo"), help="Where the demo writes its inputs, configs and outputs."),
    corpus: Path = typer.Option(None, help="Run on your own corpus config instead of Django's translations."),
    max_steps: int = typer.Option(None, min=1, help="Training steps (default: 2,000, ~3.5 minutes on 2 cores)."),
    time_limit: float = typer.Option(4.0, min=0.1, help="Stop training after this many minutes at the latest."),
    languages: str = typer.Option(None, help="These of Django's ~90 languages instead of the demo's 24 "
                                   "(comma-separated codes, eng among them)."),
) -> None:
    """Start here: the whole workflow on real text, in a few minutes on a CPU.

    Django's human translations (24 languages; English-X pairs for 8) become a corpus and shards;
    a tiny model trains for a few minutes, is evaluated (retrieval on held-out pairs, perplexity) and
    exported. `--corpus CONFIG` runs the same on your own data.
    """
    from xlmforge.cli.demo import write_demo_configs

    with flow_run():
        wanted = {code.strip() for code in languages.split(",")} if languages else None
        configs = write_demo_configs(out_dir, corpus, wanted)
        if corpus is None:
            console.print(f"demo corpus: {configs.num_languages} languages and {configs.num_pairs} English-X pairs "
                          f"from Django's translations; configs in {out_dir}")  # fmt: skip
        else:
            console.print(f"your corpus {corpus}; shard and run configs in {configs.shards} and {configs.run} "
                          "(kept from run to run: edit them to change the vocabulary, splits or model)")  # fmt: skip
        _end_to_end(configs.corpus, str(out_dir), configs.run, configs.shards, "retrain", [], max_steps, time_limit,
                    "eng")  # fmt: skip


def register(app: typer.Typer) -> None:
    """Add the flow commands to the `xlmforge` app."""
    app.command(context_settings=_PASS_THROUGH)(build)
    app.command()(train)
    app.command()(evaluate)
    app.command()(export)
    app.command()(finetune)
    app.command(context_settings=_PASS_THROUGH)(run)
    app.command()(stats)
    app.command(context_settings=_PASS_THROUGH)(serve)
    app.command()(demo)
