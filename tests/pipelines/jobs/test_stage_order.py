"""No text is lost to the order of the stages: of a duplicate group, the copy kept is one that passed
language ID and the filters; identical copies are identified once; boilerplate loses every copy."""

import json

import pyarrow as pa

from xlmforge.pipelines.common.rows import segment_id
from xlmforge.pipelines.corpus.config import CorpusConfig
from xlmforge.pipelines.jobs.corpus import build_corpus


def arrow_rows(directory):
    tables = [pa.ipc.open_file(str(path)).read_all() for path in sorted(directory.rglob("*.arrow"))]
    return [row for table in tables for row in table.to_pylist()]


def source_name_sorting_before(prefix: str, file: str, other_id: int) -> str:
    """A source name whose first segment (line 0 of `file`) gets a smaller id than `other_id`."""
    for i in range(1000):
        if segment_id(f"{prefix}{i}", f"{file}@0", 0) < other_id:
            return f"{prefix}{i}"
    raise AssertionError("no name found")


def test_a_rejected_copy_does_not_take_the_clean_copy_with_it(shared_data, tmp_path):
    german = [line for line in (shared_data / "ntrex" / "deu.txt").read_text().splitlines() if line.strip()][:40]
    shouting, mislabelled = german[0], german[1]
    (tmp_path / "clean.txt").write_text("\n".join(german) + "\n" + german[2] + "\n")  # german[2] twice
    (tmp_path / "shout.txt").write_text(shouting.rstrip(".") + "!" * 20 + "\n")  # same comparison key
    (tmp_path / "wrong.txt").write_text(mislabelled + "\n")  # German text declared English
    clean_ids = [segment_id("clean", "clean.txt@0", i) for i in range(2)]
    shout = source_name_sorting_before("shout", "shout.txt", clean_ids[0])
    wrong = source_name_sorting_before("wrong", "wrong.txt", clean_ids[1])
    config = CorpusConfig(sources=[
        {"name": "clean", "path": str(tmp_path / "clean.txt"), "language": "deu"},
        {"name": shout, "path": str(tmp_path / "shout.txt"), "language": "deu"},
        {"name": wrong, "path": str(tmp_path / "wrong.txt"), "language": "eng"},
    ])  # fmt: skip
    out = tmp_path / "out"
    result = build_corpus(config, str(out))
    kept = {row["text"] for row in arrow_rows(out / "segments")}
    assert shouting in kept and mislabelled in kept and len(kept) == len(german)
    reasons = {(row["source"], row["stage"], row["reason"]) for row in arrow_rows(out / "rejects")}
    assert reasons == {
        (shout, "filters", "repeated_characters"),
        (wrong, "language_id", "lid_mismatch"),
        ("clean", "identical_dedup", "identical_copy"),
    }
    # The text that was there twice word for word was identified once.
    assert result.ledger.total("language_id", "in") == len(german) + 2
    assert json.loads((out / "ledger.json").read_text())["balanced"]


def test_a_line_in_many_documents_is_boilerplate(shared_data, tmp_path):
    german = [line for line in (shared_data / "ntrex" / "deu.txt").read_text().splitlines() if line.strip()]
    notice = "Diese Website verwendet Cookies, um Ihnen das beste Erlebnis zu bieten."
    footer = "Alle Rechte vorbehalten, vervielfältigung nur mit Genehmigung der Redaktion."
    documents = []
    for i in range(6):
        lines = german[10 * i: 10 * i + 10] + [notice] + ([footer] if i < 4 else [])
        documents.append({"text": "\n".join(lines)})
    (tmp_path / "pages.jsonl").write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in documents))
    config = CorpusConfig(sources=[{"name": "crawl", "path": str(tmp_path / "pages.jsonl"), "format": "jsonl",
                                    "language": "deu"}])  # fmt: skip
    out = tmp_path / "out"
    build_corpus(config, str(out))
    kept = [row["text"] for row in arrow_rows(out / "segments")]
    assert notice not in kept and kept.count(footer) == 1  # in 6 documents: boilerplate; in 4: one copy kept
    rejects = [(row["text"], row["reason"]) for row in arrow_rows(out / "rejects")]
    assert rejects.count((notice, "boilerplate")) == 6 and rejects.count((footer, "identical_copy")) == 3
    assert len(kept) == 61
