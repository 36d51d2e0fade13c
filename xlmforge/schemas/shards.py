"""Token shards: what the encoder writes and the training loader reads.

Two physical formats carry the same records:

* Arrow IPC files, one row per segment (monolingual) or per sentence pair (bitext), in document
  order, so `pa.ipc.open_file` and Hugging Face `datasets` read them as they are.
* WebDataset tar files, where one sample packs a block of consecutive records of one language (or
  one language pair) as flat token arrays plus offsets. Packing keeps the per-sample overhead of
  webdataset (~0.2 ms) off the per-sentence path.

Token ids are uint16 when the vocabulary fits, else int32 (see `token_type`).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pyarrow as pa

from xlmforge.schemas.records import versioned_schema

#: Fixed ids of the special tokens in every vocabulary the project trains.
SPECIAL_TOKENS: dict[str, int] = {"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3, "<mask>": 4}
PAD_ID, BOS_ID, EOS_ID, UNK_ID, MASK_ID = (SPECIAL_TOKENS[t] for t in ("<pad>", "<s>", "</s>", "<unk>", "<mask>"))


def token_type(vocab_size: int) -> pa.DataType:
    """The compact Arrow type of token ids for a vocabulary of `vocab_size` entries."""
    return pa.uint16() if vocab_size <= np.iinfo(np.uint16).max + 1 else pa.int32()


def mono_shard_schema(vocab_size: int) -> pa.Schema:
    """One tokenized monolingual segment per row."""
    return versioned_schema(
        "mono_shard",
        [
            pa.field("segment_id", pa.uint64(), nullable=False),
            pa.field("lang", pa.string(), nullable=False),
            pa.field("doc_id", pa.string(), nullable=False),
            pa.field("position", pa.int32(), nullable=False),
            pa.field("tokens", pa.list_(token_type(vocab_size)), nullable=False),
        ],
    )


def bitext_shard_schema(vocab_size: int) -> pa.Schema:
    """One tokenized sentence pair per row."""
    return versioned_schema(
        "bitext_shard",
        [
            pa.field("pair_id", pa.uint64(), nullable=False),
            pa.field("src_lang", pa.string(), nullable=False),
            pa.field("tgt_lang", pa.string(), nullable=False),
            pa.field("src_tokens", pa.list_(token_type(vocab_size)), nullable=False),
            pa.field("tgt_tokens", pa.list_(token_type(vocab_size)), nullable=False),
        ],
    )


# WebDataset sample layout. A monolingual sample holds a block of consecutive segments:
#   tokens.npy   flat token ids of all segments (uint16 or int32)
#   offsets.npy  int64, len = num_segments + 1; segment i is tokens[offsets[i]:offsets[i+1]]
#   ids.npy      uint64 segment ids
#   json         {"lang", "doc_ids", "positions"}
# A bitext sample holds src.npy/src_offsets.npy, tgt.npy/tgt_offsets.npy, ids.npy (pair ids) and
# json {"src_lang", "tgt_lang"}.
WDS_MONO_KEYS = ("tokens.npy", "offsets.npy", "ids.npy", "json")
WDS_BITEXT_KEYS = ("src.npy", "src_offsets.npy", "tgt.npy", "tgt_offsets.npy", "ids.npy", "json")


@dataclasses.dataclass(frozen=True, slots=True)
class MonoRecord:
    """One row of a monolingual shard."""

    segment_id: int
    lang: str
    doc_id: str
    position: int
    tokens: np.ndarray


@dataclasses.dataclass(frozen=True, slots=True)
class BitextRecord:
    """One row of a bitext shard."""

    pair_id: int
    src_lang: str
    tgt_lang: str
    src_tokens: np.ndarray
    tgt_tokens: np.ndarray
