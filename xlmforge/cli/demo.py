"""The demo's inputs: Django's human translations as a corpus config, and the shard and run configs
of a tiny model that trains for a few minutes on a CPU.

Monolingual text for 24 of the languages Django is translated into (its msgstrs; English from the
msgids), and English-X sentence pairs (msgid, msgstr) for eight of them, which give TLM training data
and a held-out test split for retrieval.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import yaml

from xlmforge.cli.demo_corpus import write_django_bitext, write_django_corpus

BITEXT_LANGUAGES = ("deu", "fra", "spa", "rus", "ara", "jpn", "hin", "tur")
# English, the eight paired languages and fifteen more with near-complete catalogs. All ~90 would spread
# the model's few minutes over languages nobody scores, and for some (Ossetian, the Sorbian languages)
# lid.176 rejects most strings, leaving too few to hold out the valid and test splits.
DEMO_LANGUAGES = ("eng", *BITEXT_LANGUAGES, "ces", "ell", "fin", "heb", "hun", "ind", "ita", "kor", "nld", "pol",
                  "por", "swe", "ukr", "vie", "zho")  # fmt: skip
MIN_STRINGS = 50  # languages with fewer translated strings are left out (too few to hold out a split)

SHARDS = {
    "name": "django-demo",
    "vocab": {"size": 8000, "model_type": "bpe"},
    # Small held-out splits per language (valid: enough tokens for a few MLM streams); larger test
    # splits per English-X pair, for the retrieval evaluation.
    "splits": {
        "valid_size": 30,
        "test_size": 10,
        "sizes": {f"eng-{code}": {"valid": 50, "test": 100} for code in BITEXT_LANGUAGES},
    },
    "shards": {"target_bytes": "1MB"},
    "sampling": {"alpha": 0.5},
}

# A 2-layer, 64-wide XLM: ~9 steps a second on two CPU cores, so ~3.5 minutes of training. Measured on the
# demo languages, mean retrieval P@1 of the last layer after 1,200 steps (chance ~1.1 %): lr 1e-3 with
# dropout 0.1 3.2 %, 3e-3 5.6 %, 5e-3 7.4 %; 5e-3 without dropout 8.7 and 9.5 % (seeds 0, 1); 8e-3 diverges.
# After 2,000 steps 14.8 %. A 128-wide model is twice as slow per step and was no better at equal steps;
# TLM alone (no MLM) stays at chance. bench/demo_run.py measures the whole `make demo`.
RUN = {
    "model": {"preset": "tiny", "max_positions": 256, "dropout": 0.0},
    "data": {"seq_len": 128, "max_sentence_len": 48, "tokens_per_batch": 2048},
    "objectives": {"mlm_steps": "auto"},  # every language (MLM) and pair (TLM) of the manifest
    "optim": {"lr": 5.0e-3, "warmup_steps": 30},
    "train": {
        "max_steps": 2000,
        "log_every": 10,
        "checkpoint_every": 50,
        "num_valid_batches": 5,
        "tensorboard": False,
    },  # fmt: skip
}


@dataclasses.dataclass(frozen=True)
class DemoConfigs:
    corpus: Path
    shards: Path
    run: Path
    num_languages: int
    num_pairs: int


def write_demo_configs(dest: Path, corpus: Path | None = None, languages: set[str] | None = None) -> DemoConfigs:
    """Write the demo's configs under `dest` (and its corpus, unless `corpus` names the user's config).

    `languages` replaces DEMO_LANGUAGES (any of Django's). With the user's corpus, shard and run configs
    already in `dest` are kept: they are theirs to tune.
    """
    dest.mkdir(parents=True, exist_ok=True)
    num_languages = num_pairs = 0
    if corpus is None:
        chosen = languages or set(DEMO_LANGUAGES)
        mono = write_django_corpus(dest / "input", chosen, MIN_STRINGS)
        bitext = write_django_bitext(dest / "input", set(BITEXT_LANGUAGES) & chosen)
        sources = [{"name": f"django-{code}", "path": f"input/{path.name}", "language": code}
                   for code, path in mono.items()]  # fmt: skip
        sources += [{"name": f"django-eng-{code}", "kind": "bitext", "path": f"input/{path.name}",
                     "languages": ["eng", code]} for code, path in bitext.items()]  # fmt: skip
        corpus = dest / "corpus.yaml"
        corpus.write_text(yaml.safe_dump({"name": "django-demo", "sources": sources}, sort_keys=False))
        num_languages, num_pairs = len(mono), len(bitext)
    shards, run = dest / "shards.yaml", dest / "run.yaml"
    own = num_languages == 0  # the user's corpus
    # A few chosen languages may have too little text for 8,000 pieces.
    vocab = SHARDS["vocab"] | ({"size": 2000} if languages else {})
    if not (own and shards.exists()):
        shards.write_text(yaml.safe_dump(SHARDS | {"vocab": vocab}, sort_keys=False))
    if not (own and run.exists()):
        run.write_text(yaml.safe_dump(RUN, sort_keys=False))
    return DemoConfigs(corpus, shards, run, num_languages, num_pairs)
