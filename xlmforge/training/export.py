"""Export a checkpoint as a directory that transformers loads: XLMWithLMHeadModel plus its tokenizer,
or, for a fine-tuned classifier, XLMForSequenceClassification plus its tokenizer.

The tokenizer is the run's SentencePiece model, saved both as `spm.model` and converted to a
`tokenizer.json` (PreTrainedTokenizerFast) with the project's fixed special-token ids and XLM's
`</s> text </s>` framing. A model trained with CLM alone is exported with causal attention.
"""

from __future__ import annotations

import json
import logging
import os
import posixpath
import re
import tempfile
from pathlib import Path
from typing import Any

import fsspec
import torch

from xlmforge.schemas.shards import SPECIAL_TOKENS
from xlmforge.training.checkpoint import load_checkpoint, model_config
from xlmforge.training.config import ModelConfig, ObjectivesConfig

log = logging.getLogger(__name__)

MARKER = "xlmforge.json"  # written last: the export is complete when it is there

# Our parameter names -> transformers' XLMWithLMHeadModel names.
_HF_NAMES = [
    (r"token_emb\.weight", "transformer.embeddings.weight"),
    (r"pos_emb\.weight", "transformer.position_embeddings.weight"),
    (r"lang_emb\.weight", "transformer.lang_embeddings.weight"),
    (r"emb_norm\.(weight|bias)", r"transformer.layer_norm_emb.\1"),
    (r"blocks\.(\d+)\.attn\.(q|k|v|out)\.(weight|bias)", r"transformer.attentions.\1.\2_lin.\3"),
    (r"blocks\.(\d+)\.norm1\.(weight|bias)", r"transformer.layer_norm1.\1.\2"),
    (r"blocks\.(\d+)\.ffn\.up\.(weight|bias)", r"transformer.ffns.\1.lin1.\2"),
    (r"blocks\.(\d+)\.ffn\.down\.(weight|bias)", r"transformer.ffns.\1.lin2.\2"),
    (r"blocks\.(\d+)\.norm2\.(weight|bias)", r"transformer.layer_norm2.\1.\2"),
    (r"lm_head\.(weight|bias)", r"pred_layer.proj.\1"),
]


def hf_parameter_name(name: str) -> str:
    """The transformers name of one of our parameters."""
    for pattern, replacement in _HF_NAMES:
        if re.fullmatch(pattern, name):
            return re.sub(pattern, replacement, name)
    raise KeyError(f"no transformers name for parameter {name!r}")


def hf_classifier_parameter_name(name: str) -> str:
    """The XLMForSequenceClassification name of one of XLMClassifier's parameters."""
    if name.startswith("encoder."):
        return hf_parameter_name(name.removeprefix("encoder."))
    if re.fullmatch(r"proj\.(weight|bias)", name):
        return f"sequence_summary.summary.{name.removeprefix('proj.')}"
    raise KeyError(f"no transformers name for classifier parameter {name!r}")


def exports_causal(objectives: ObjectivesConfig) -> bool:
    """Whether a model trained with `objectives` is exported with causal attention: only if CLM was its
    sole objective. XLM attends causally at CLM steps and both ways at MLM/TLM steps, so a mixed model
    is exported bidirectional, as its MLM/TLM steps used it."""
    if objectives.clm_steps and objectives.mlm_steps:
        log.info("trained with MLM/TLM %s and CLM %s: exporting causal=False (bidirectional, as at its "
                 "MLM/TLM steps)", list(objectives.mlm_steps), list(objectives.clm_steps))
    return not objectives.mlm_steps


def hf_config(cfg: ModelConfig, languages: list[str], causal: bool = False, **head: Any) -> Any:
    """The transformers XLMConfig of a model trained on `languages` (ordered by language id); `head`:
    settings of a task head (labels, summary_*)."""
    from transformers import XLMConfig

    return XLMConfig(
        vocab_size=cfg.vocab_size, emb_dim=cfg.dim, n_layers=cfg.num_layers, n_heads=cfg.num_heads,
        dropout=cfg.dropout, attention_dropout=cfg.attention_dropout, gelu_activation=True,
        sinusoidal_embeddings=cfg.sinusoidal_positions, causal=causal, n_langs=cfg.num_langs,
        use_lang_emb=cfg.use_lang_emb, max_position_embeddings=cfg.max_positions,
        embed_init_std=cfg.dim**-0.5, layer_norm_eps=cfg.layer_norm_eps,
        pad_token_id=SPECIAL_TOKENS["<pad>"], bos_token_id=SPECIAL_TOKENS["<s>"],
        eos_token_id=SPECIAL_TOKENS["</s>"], unk_index=SPECIAL_TOKENS["<unk>"],
        mask_index=SPECIAL_TOKENS["<mask>"], mask_token_id=SPECIAL_TOKENS["<mask>"],
        lang2id={lang: i for i, lang in enumerate(languages)}, id2lang=dict(enumerate(languages)),
        tie_word_embeddings=True, **head,
    )


def to_hf_model(state_dict: dict[str, torch.Tensor], cfg: ModelConfig, languages: list[str],
                causal: bool = False) -> Any:
    """A transformers XLMWithLMHeadModel holding our weights."""
    from transformers import XLMWithLMHeadModel

    hf_model = XLMWithLMHeadModel(hf_config(cfg, languages, causal))
    return _load_into(hf_model, {hf_parameter_name(name): tensor for name, tensor in state_dict.items()})


def to_hf_classifier(state_dict: dict[str, torch.Tensor], cfg: ModelConfig, languages: list[str], labels: list[str],
                     dropout: float) -> Any:
    """A transformers XLMForSequenceClassification holding a fine-tuned XLMClassifier's weights."""
    from transformers import XLMForSequenceClassification

    head = {"num_labels": len(labels), "id2label": dict(enumerate(labels)),
            "label2id": {label: i for i, label in enumerate(labels)}, "summary_type": "first",
            "summary_use_proj": True, "summary_proj_to_labels": True, "summary_activation": None,
            "summary_first_dropout": dropout}  # fmt: skip
    hf_model = XLMForSequenceClassification(hf_config(cfg, languages, **head))
    # the language-model head has no place in a classifier (its weight is the token embeddings')
    hf_state = {hf_classifier_parameter_name(name): tensor for name, tensor in state_dict.items()
                if not name.startswith("encoder.lm_head.")}  # fmt: skip
    return _load_into(hf_model, hf_state)


def _load_into(hf_model: Any, hf_state: dict[str, torch.Tensor]) -> Any:
    missing, unexpected = hf_model.load_state_dict(hf_state, strict=False)
    missing = [m for m in missing if m != "transformer.position_ids"]
    if unexpected or missing:
        raise RuntimeError(f"the checkpoint does not map onto {type(hf_model).__name__}: unexpected {unexpected}, "
                           f"missing {missing}")
    return hf_model.eval()


def save_hf_tokenizer(spm_model: bytes, out_dir: Path) -> None:
    """Save the SentencePiece model and a transformers fast tokenizer converted from it."""
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import BPE, Unigram
    from transformers import PreTrainedTokenizerFast
    from transformers.tokenization_utils_base import generate_merges

    # transformers' own copy of the proto module: sentencepiece 0.2.3's needs protobuf >= 7.36
    from transformers.utils import sentencepiece_model_pb2_new as sentencepiece_pb2

    proto = sentencepiece_pb2.ModelProto.FromString(spm_model)
    for token, token_id in SPECIAL_TOKENS.items():
        if proto.pieces[token_id].piece != token:
            raise ValueError(f"vocabulary: id {token_id} is {proto.pieces[token_id].piece!r}, expected {token!r}")
    (out_dir / "spm.model").write_bytes(spm_model)
    byte_fallback = proto.trainer_spec.byte_fallback
    if proto.trainer_spec.model_type == sentencepiece_pb2.TrainerSpec.UNIGRAM:
        model = Unigram([(p.piece, p.score) for p in proto.pieces], unk_id=SPECIAL_TOKENS["<unk>"],
                        byte_fallback=byte_fallback)
    else:
        vocab = {p.piece: i for i, p in enumerate(proto.pieces)}
        model = BPE(vocab, generate_merges(vocab), unk_token="<unk>", fuse_unk=True, byte_fallback=byte_fallback)
    tokenizer = Tokenizer(model)
    steps = [normalizers.Precompiled(proto.normalizer_spec.precompiled_charsmap)] \
        if proto.normalizer_spec.precompiled_charsmap else []
    if proto.normalizer_spec.remove_extra_whitespaces:
        steps += [normalizers.Strip(), normalizers.Replace(Regex(" {2,}"), " ")]
    tokenizer.normalizer = normalizers.Sequence(steps)
    prepend = "always" if proto.normalizer_spec.add_dummy_prefix else "never"
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme=prepend)
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme=prepend)
    eos = ("</s>", SPECIAL_TOKENS["</s>"])
    tokenizer.post_processor = processors.TemplateProcessing(
        single="</s> $A </s>", pair="</s> $A </s> </s> $B </s>", special_tokens=[eos])
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, pad_token="<pad>", bos_token="<s>", eos_token="</s>", unk_token="<unk>",
        mask_token="<mask>", sep_token="</s>", cls_token="</s>")
    fast.save_pretrained(out_dir)


def export_to_hf(checkpoint: str | os.PathLike, out_dir: str | os.PathLike) -> str:
    """Write `out_dir` (a local path or a URL) loadable by AutoTokenizer.from_pretrained and
    XLMWithLMHeadModel.from_pretrained (a pretraining checkpoint) or XLMForSequenceClassification.from_pretrained
    (a fine-tuned one). transformers writes local files only: for a URL the export is written to a
    temporary directory and uploaded."""
    out_dir = os.fspath(out_dir)
    if "://" not in out_dir:
        _export(checkpoint, Path(out_dir))
        return out_dir
    with tempfile.TemporaryDirectory(prefix="xlmforge-export-") as local:
        _export(checkpoint, Path(local))
        fs, root = fsspec.core.url_to_fs(out_dir)
        # the marker last, so a half-uploaded export is never taken for a complete one
        names = sorted(os.listdir(local), key=lambda name: name == MARKER)
        for name in names:
            fs.put_file(os.path.join(local, name), posixpath.join(root, name))
    log.info("uploaded the export to %s", out_dir)
    return out_dir


def _export(checkpoint: str | os.PathLike, out_dir: Path) -> None:
    tree = load_checkpoint(checkpoint)
    cfg = model_config(tree)
    languages = list(tree["languages"])
    out_dir.mkdir(parents=True, exist_ok=True)
    if tree.get("kind") == "classifier":  # written by training.finetune
        causal = False
        dropout = tree["config"]["finetune"]["dropout"]
        to_hf_classifier(tree["model"], cfg, languages, list(tree["labels"]), dropout).save_pretrained(out_dir)
    else:
        causal = exports_causal(ObjectivesConfig.from_dict(tree["config"]["objectives"]))
        to_hf_model(tree["model"], cfg, languages, causal).save_pretrained(out_dir)
    save_hf_tokenizer(tree["vocab_model"].numpy().tobytes(), out_dir)
    (out_dir / MARKER).write_text(
        json.dumps({"languages": languages, "step": tree["step"], "checkpoint": os.fspath(checkpoint)}, indent=2))
    log.info("exported step %d of %s (causal=%s)", tree["step"], checkpoint, causal)
