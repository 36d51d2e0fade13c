"""A classification task as the model sees it: labels from the training file, language ids from the
pretrained checkpoint, texts tokenized with its SentencePiece model and framed as in XLM.

One text is `</s> text </s>`; a pair is `</s> text </s> </s> text_pair </s>` (XLM's concat_batches),
each side with its language id. Positions restart at the second text when its language differs
(a translation pair, as TLM saw it in pretraining) and run on otherwise (XLM's XNLI fine-tuning).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence

import sentencepiece as spm
import torch

from xlmforge.schemas.shards import EOS_ID, PAD_ID
from xlmforge.training.labelled import LabelledExample, LabelledFile


@dataclasses.dataclass(frozen=True)
class EncodedExample:
    tokens: list[int]
    langs: list[int]
    positions: list[int]
    label: int
    lang: str  # the example's language (or pair), the key of the per-language scores


@dataclasses.dataclass(frozen=True)
class ClassifierBatch:
    tokens: torch.Tensor  # (B, T)
    langs: torch.Tensor  # (B, T)
    positions: torch.Tensor  # (B, T)
    padding_mask: torch.Tensor  # (B, T) True on real tokens
    labels: torch.Tensor  # (B,)


class ClassificationTask:
    """The labels, input kind and tokenization of one fine-tuning run."""

    def __init__(self, labels: Sequence[str], has_pairs: bool, languages: Sequence[str], uses_lang_emb: bool,
                 tokenizer: spm.SentencePieceProcessor, max_length: int):  # fmt: skip
        self.labels, self.has_pairs, self.languages = list(labels), has_pairs, list(languages)
        self.uses_lang_emb, self.tokenizer, self.max_length = uses_lang_emb, tokenizer, max_length

    @classmethod
    def from_training(cls, train: LabelledFile, languages: Sequence[str], uses_lang_emb: bool,
                      tokenizer: spm.SentencePieceProcessor, max_length: int) -> ClassificationTask:  # fmt: skip
        """The task a training file defines: its labels, sorted; a file of one class is refused."""
        labels = sorted(train.labels)
        if len(labels) < 2:
            raise ValueError(f"{train.path}: every one of its {len(train.examples)} examples has label {labels[0]!r}; "
                             "a classifier needs at least two classes in the training file")  # fmt: skip
        task = cls(labels, train.has_pairs, languages, uses_lang_emb, tokenizer, max_length)
        task.check(train)
        return task

    def check(self, file: LabelledFile) -> None:
        """Refuse a file with labels the training file lacks or languages the checkpoint lacks."""
        known = set(self.labels)
        for example in file.examples:
            if example.label not in known:
                raise ValueError(f"{example.where}: label {example.label!r} is not in the training file "
                                 f"(its labels: {', '.join(self.labels)})")  # fmt: skip
            unknown = [lang for lang in example.side_languages() if lang not in self.languages]
            if unknown and self.uses_lang_emb:
                raise ValueError(f"{example.where}: language {unknown[0]!r} is not one the checkpoint was pretrained "
                                 f"on ({', '.join(self.languages)}), so it has no language embedding")  # fmt: skip

    def _lang_id(self, lang: str) -> int:
        return self.languages.index(lang) if self.uses_lang_emb else 0

    def encode(self, example: LabelledExample) -> EncodedExample:
        """Token ids, language ids and positions of the framed input, cut to max_length."""
        first_lang, second_lang = (self._lang_id(lang) for lang in example.side_languages())
        first = self.tokenizer.encode(example.text)
        label = self.labels.index(example.label)
        if example.text_pair is None:
            first = first[: self.max_length - 2]
            tokens = [EOS_ID, *first, EOS_ID]
            return EncodedExample(tokens, [first_lang] * len(tokens), list(range(len(tokens))), label, example.lang)
        second = self.tokenizer.encode(example.text_pair)
        while len(first) + len(second) > self.max_length - 4:  # cut the longer text first
            if len(first) >= len(second):
                first.pop()
            else:
                second.pop()
        head, tail = [EOS_ID, *first, EOS_ID], [EOS_ID, *second, EOS_ID]
        start = 0 if first_lang != second_lang else len(head)
        positions = list(range(len(head))) + list(range(start, start + len(tail)))
        return EncodedExample(head + tail, [first_lang] * len(head) + [second_lang] * len(tail), positions, label,
                              example.lang)  # fmt: skip


def collate(examples: Sequence[EncodedExample]) -> ClassifierBatch:
    """Right-padded tensors of a list of examples."""
    width = max(len(example.tokens) for example in examples)
    tokens = torch.full((len(examples), width), PAD_ID, dtype=torch.long)
    langs = torch.zeros((len(examples), width), dtype=torch.long)
    positions = torch.zeros((len(examples), width), dtype=torch.long)
    for i, example in enumerate(examples):
        n = len(example.tokens)
        tokens[i, :n], langs[i, :n] = torch.tensor(example.tokens), torch.tensor(example.langs)
        positions[i, :n] = torch.tensor(example.positions)
        langs[i, n:] = example.langs[-1]
    labels = torch.tensor([example.label for example in examples])
    return ClassifierBatch(tokens, langs, positions, tokens != PAD_ID, labels)


def batches(examples: Sequence[EncodedExample], batch_size: int,
            generator: torch.Generator | None = None) -> Iterator[ClassifierBatch]:  # fmt: skip
    """Batches in file order, or shuffled by `generator`."""
    order = torch.randperm(len(examples), generator=generator).tolist() if generator else list(range(len(examples)))
    for start in range(0, len(order), batch_size):
        yield collate([examples[i] for i in order[start:start + batch_size]])
