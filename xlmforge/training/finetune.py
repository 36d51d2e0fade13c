"""Fine-tuning a pretrained XLM checkpoint on a labelled task, with early stopping on a dev file.

The classifier is saved as one checkpoint tree beside the run (`model/step-*.pt`, written atomically
like pretraining checkpoints): its weights, labels, languages, SentencePiece model and configs, so
that evaluation and export need nothing else.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import math
import pickle
from pathlib import Path
from typing import Any

import sentencepiece as spm
import torch
import torch.nn.functional as F

from xlmforge.schemas.shards import SPECIAL_TOKENS
from xlmforge.training.checkpoint import load_checkpoint, remove_checkpoints, save_checkpoint
from xlmforge.training.classifier import XLMClassifier
from xlmforge.training.config import FinetuneConfig, ModelConfig, OptimConfig
from xlmforge.training.labelled import LabelledFile, read_labelled
from xlmforge.training.optim import LRSchedule, build_optimizer
from xlmforge.training.task import ClassificationTask, EncodedExample, batches

log = logging.getLogger(__name__)

CLASSIFIER = "classifier"  # the `kind` of a fine-tuned checkpoint tree
DEFAULT_MAX_LENGTH = 128


@dataclasses.dataclass(frozen=True)
class Pretrained:
    """What fine-tuning takes from a pretraining checkpoint."""

    path: str
    step: int
    model_cfg: ModelConfig
    state: dict[str, torch.Tensor]
    languages: list[str]
    vocab_model: bytes


def load_pretrained(checkpoint: str, vocab: str | None = None) -> Pretrained:
    """The encoder of a pretraining checkpoint and its SentencePiece model (or `vocab`, which must fit it)."""
    if not Path(checkpoint).is_file():
        raise FileNotFoundError(f"{checkpoint}: checkpoint not found")
    try:
        tree = load_checkpoint(Path(checkpoint))
    except (RuntimeError, EOFError, OSError, pickle.UnpicklingError) as err:  # torch.load of something else
        raise ValueError(f"{checkpoint}: not a readable checkpoint ({str(err).splitlines()[0]})") from None
    if not isinstance(tree, dict) or tree.get("kind") == CLASSIFIER or "vocab_model" not in tree:
        raise ValueError(f"{checkpoint}: not an xlmforge pretraining checkpoint (a runs/.../step-*.pt of "
                         "`xlmforge train`)")  # fmt: skip
    model_cfg = ModelConfig.from_dict(tree["config"]["model"])
    vocab_model = tree["vocab_model"].numpy().tobytes()
    if vocab is not None:
        if not Path(vocab).is_file():
            raise FileNotFoundError(f"{vocab}: SentencePiece model not found")
        vocab_model = Path(vocab).read_bytes()
    where = vocab or f"{checkpoint} (its stored SentencePiece model)"
    try:
        tokenizer = spm.SentencePieceProcessor(model_proto=vocab_model)
    except RuntimeError as err:
        raise ValueError(f"{where}: not a SentencePiece model ({err})") from None
    if tokenizer.get_piece_size() != model_cfg.vocab_size:
        raise ValueError(f"{where}: vocabulary of {tokenizer.get_piece_size()} pieces, but the checkpoint {checkpoint} "
                         f"was trained with {model_cfg.vocab_size}: they do not belong together")  # fmt: skip
    for piece, token_id in SPECIAL_TOKENS.items():
        if tokenizer.id_to_piece(token_id) != piece:
            raise ValueError(f"{where}: id {token_id} is {tokenizer.id_to_piece(token_id)!r}, the checkpoint's "
                             f"vocabulary has {piece!r} there")  # fmt: skip
    return Pretrained(checkpoint, int(tree["step"]), model_cfg, tree["model"], list(tree["languages"]), vocab_model)


@dataclasses.dataclass(frozen=True)
class FinetuneData:
    """The checked training (and dev) examples and the task they define."""

    task: ClassificationTask
    train: list[EncodedExample]
    dev: list[EncodedExample]
    train_langs: list[str]


def prepare(cfg: FinetuneConfig, pretrained: Pretrained) -> FinetuneData:
    """Read and check the training, dev and evaluation files against each other and the checkpoint."""
    max_positions = pretrained.model_cfg.max_positions
    if cfg.max_length is not None and cfg.max_length > max_positions:
        raise ValueError(f"max_length {cfg.max_length} is longer than the checkpoint's max_positions {max_positions}")
    max_length = cfg.max_length or min(DEFAULT_MAX_LENGTH, max_positions)
    train = read_labelled(cfg.train, default_lang=cfg.train_lang)
    tokenizer = spm.SentencePieceProcessor(model_proto=pretrained.vocab_model)
    uses_lang_emb = pretrained.model_cfg.use_lang_emb and pretrained.model_cfg.num_langs > 1
    task = ClassificationTask.from_training(train, pretrained.languages, uses_lang_emb, tokenizer, max_length)
    dev = read_checked(cfg.dev, task, cfg.train_lang) if cfg.dev else None
    for path in cfg.eval:
        read_checked(path, task)
    return FinetuneData(task, [task.encode(e) for e in train.examples],
                        [task.encode(e) for e in dev.examples] if dev else [],
                        sorted({e.lang for e in train.examples}))  # fmt: skip


def read_checked(path: str, task: ClassificationTask, default_lang: str | None = None) -> LabelledFile:
    """A dev or evaluation file, checked against the task (labels, input kind, languages)."""
    file = read_labelled(path, has_pairs=task.has_pairs, default_lang=default_lang)
    task.check(file)
    return file


def device_of(name: str) -> torch.device:
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device: 'cuda' requested but CUDA is not available")
    return torch.device("cuda" if name == "cuda" or (name == "auto" and torch.cuda.is_available()) else "cpu")


@torch.no_grad()
def predict(model: XLMClassifier, examples: list[EncodedExample], batch_size: int) -> torch.Tensor:
    """The predicted label id of every example, in order."""
    model.eval()
    device = next(model.parameters()).device
    predicted = []
    for batch in batches(examples, batch_size):
        logits = model(batch.tokens.to(device), batch.langs.to(device), batch.positions.to(device),
                       batch.padding_mask.to(device))  # fmt: skip
        predicted.append(logits.argmax(-1).cpu())
    return torch.cat(predicted)


def accuracy(model: XLMClassifier, examples: list[EncodedExample], batch_size: int) -> float:
    labels = torch.tensor([example.label for example in examples])
    return float((predict(model, examples, batch_size) == labels).float().mean())


@dataclasses.dataclass(frozen=True)
class FinetuneResult:
    checkpoint: str
    best_epoch: int  # 1-based; the last epoch without a dev file
    history: list[dict[str, float]]  # per epoch: mean training loss, dev accuracy


def finetune(cfg: FinetuneConfig) -> FinetuneResult:
    """Fine-tune the checkpoint on the training file; keep the epoch with the best dev accuracy."""
    pretrained = load_pretrained(cfg.checkpoint, cfg.vocab)
    data = prepare(cfg, pretrained)
    device = device_of(cfg.device)
    torch.manual_seed(cfg.seed)  # the head's initialisation and dropout
    model = XLMClassifier(pretrained.model_cfg, len(data.task.labels), cfg.dropout)
    model.encoder.load_state_dict(pretrained.state)
    if cfg.freeze_embeddings:
        for parameter in model.embedding_parameters():
            parameter.requires_grad_(False)
    model.to(device)
    num_steps = cfg.num_epochs * math.ceil(len(data.train) / cfg.batch_size)
    optim = OptimConfig(optimizer="adamw", schedule="linear", lr=cfg.lr, min_lr_ratio=0.0,
                        warmup_steps=int(cfg.warmup_ratio * num_steps), weight_decay=cfg.weight_decay,
                        clip_norm=cfg.clip_norm)  # fmt: skip
    optimizer, schedule = build_optimizer(model, optim), LRSchedule(optim, num_steps)
    shuffle = torch.Generator().manual_seed(cfg.seed)
    log.info("fine-tuning on %d examples (%s) of %s, labels %s; %d steps at most", len(data.train),
             ", ".join(data.train_langs), cfg.train, data.task.labels, num_steps)  # fmt: skip
    history: list[dict[str, float]] = []
    best: tuple[float, int, dict[str, torch.Tensor]] | None = None  # dev accuracy, epoch, weights
    for epoch in range(1, cfg.num_epochs + 1):
        model.train()
        losses = []
        for batch in batches(data.train, cfg.batch_size, shuffle):
            schedule.apply(optimizer)
            logits = model(batch.tokens.to(device), batch.langs.to(device), batch.positions.to(device),
                           batch.padding_mask.to(device))  # fmt: skip
            loss = F.cross_entropy(logits, batch.labels.to(device))
            loss.backward()
            if cfg.clip_norm > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip_norm)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            schedule.advance()
            losses.append(loss.item())
            if schedule.step % cfg.log_every == 0 or schedule.step == num_steps:
                log.info("finetune step %d/%d | loss %.4f | epoch %d", schedule.step, num_steps, losses[-1], epoch)
        record = {"epoch": epoch, "train_loss": sum(losses) / len(losses)}
        if data.dev:
            record["dev_accuracy"] = accuracy(model, data.dev, cfg.batch_size)
            log.info("epoch %d: dev accuracy %.4f", epoch, record["dev_accuracy"])
            if best is None or record["dev_accuracy"] > best[0]:
                best = (record["dev_accuracy"], epoch, copy.deepcopy(model.state_dict()))
        history.append(record)
        if best is not None and epoch - best[1] >= cfg.patience:
            log.info("early stop after epoch %d: no better dev accuracy for %d epochs", epoch, cfg.patience)
            break
    best_epoch = best[1] if best else len(history)
    if best:
        model.load_state_dict(best[2])
    path = save_classifier(model.cpu(), pretrained, data, cfg, best_epoch, history)
    return FinetuneResult(str(path), best_epoch, history)


def save_classifier(model: XLMClassifier, pretrained: Pretrained, data: FinetuneData, cfg: FinetuneConfig,
                    best_epoch: int, history: list[dict[str, float]]) -> str:  # fmt: skip
    tree = {"kind": CLASSIFIER, "step": best_epoch,
            "config": {"model": pretrained.model_cfg.to_dict(), "finetune": cfg.to_dict()},
            "languages": pretrained.languages, "labels": data.task.labels, "has_pairs": data.task.has_pairs,
            "max_length": data.task.max_length,
            "train_langs": data.train_langs, "history": history,
            "pretrained": {"checkpoint": pretrained.path, "step": pretrained.step},
            "vocab_model": torch.frombuffer(bytearray(pretrained.vocab_model), dtype=torch.uint8),
            "model": model.state_dict()}  # fmt: skip
    model_dir = Path(cfg.out_dir) / "model"
    remove_checkpoints(model_dir)  # an earlier run's best epoch may be later than this one's
    return save_checkpoint(tree, model_dir, best_epoch, keep=1)


def load_classifier(path: str | Path) -> tuple[XLMClassifier, ClassificationTask, dict[str, Any]]:
    """A fine-tuned classifier (eval mode, CPU), the task it was trained on, and its checkpoint tree."""
    tree = load_checkpoint(Path(path))
    if tree.get("kind") != CLASSIFIER:
        raise ValueError(f"{path}: not a fine-tuned classifier checkpoint (`xlmforge finetune` writes them)")
    model_cfg = ModelConfig.from_dict(tree["config"]["model"])
    cfg = FinetuneConfig.from_dict(tree["config"]["finetune"])
    model = XLMClassifier(model_cfg, len(tree["labels"]), cfg.dropout)
    model.load_state_dict(tree["model"])
    tokenizer = spm.SentencePieceProcessor(model_proto=tree["vocab_model"].numpy().tobytes())
    uses_lang_emb = model.encoder.lang_emb is not None
    task = ClassificationTask(tree["labels"], tree["has_pairs"], tree["languages"], uses_lang_emb, tokenizer,
                              tree["max_length"])  # fmt: skip
    return model.eval(), task, tree
