"""The corpus build end to end through the `xlmforge` command line, on real text and on hostile input."""

import gzip
import json
import subprocess
import sys
import textwrap

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from xlmforge.cli.main import app
from xlmforge.pipelines.common.ledger import Ledger

NTREX_LANGS = ["eng", "deu", "rus", "ara", "hin", "zho", "jpn", "tha"]


def write_config(path, sources, extra=""):
    lines = ["name: test", "sources:"] + [
        "  - {" + ", ".join(f"{k}: {json.dumps(v)}" for k, v in s.items()) + "}" for s in sources
    ]
    path.write_text("\n".join(lines) + "\n" + textwrap.dedent(extra))
    return path


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "xlmforge.cli.main", *map(str, args)], capture_output=True, text=True, timeout=600
    )


def arrow_rows(paths):
    return [row for p in paths for row in pa.ipc.open_file(pa.memory_map(str(p))).read_all().to_pylist()]


@pytest.mark.slow
def test_multilingual_build_on_the_multiprocessing_runner(shared_data, tmp_path):
    sources = [
        {"name": f"ntrex-{lang}", "path": str(shared_data / "ntrex" / f"{lang}.txt"), "language": lang}
        for lang in NTREX_LANGS
    ]
    sources.append({"name": "unlabelled", "path": str(shared_data / "ntrex" / "[pu]*.txt"), "language": "detect"})
    config = write_config(tmp_path / "corpus.yaml", sources, "read: {part_bytes: 200kB}\n")
    out = tmp_path / "out"
    result = run_cli("build-corpus", config, out, "--direct_running_mode=multi_processing", "--direct_num_workers=2")
    assert result.returncode == 0, result.stderr
    assert "Ledger" in result.stdout and "Segments written per language" in result.stdout

    ledger = Ledger.from_json(json.loads((out / "ledger.json").read_text()))
    ledger.check()
    num_input_lines = 1997 * (len(NTREX_LANGS) + 4)  # pol, por, ukr, urd are the detect source
    assert ledger.total("read", "in") == num_input_lines
    metadata = json.loads((out / "corpus.json").read_text())
    assert metadata["ledger_balanced"] and metadata["num_segments"] + metadata["num_rejects"] == num_input_lines

    for lang in NTREX_LANGS + ["pol", "por", "ukr", "urd"]:
        files = sorted((out / "segments" / f"lang={lang}").glob("*.arrow"))
        rows = arrow_rows(files)
        assert len(rows) > 1900, lang  # a few duplicates and fragments go, the rest stays
        assert all(r["lang"] == lang and r["lid_lang"] and r["text"] for r in rows)
        schema = pa.ipc.open_file(pa.memory_map(str(files[0]))).schema
        assert json.loads(schema.metadata[b"xlmforge.normalization"])["form"] == "NFC"
    rejects = arrow_rows(sorted((out / "rejects").rglob("*.arrow")))
    assert len(rejects) == metadata["num_rejects"] and all(r["reason"] and r["stage"] for r in rejects)
    assert not (out / "work").exists()


def test_lines_that_are_not_prose_never_become_training_text(shared_data, tmp_path):
    # The case: one account a line, declared German (a German word in each keeps language ID
    # from ruling German out), with real German news around them.
    accounts = [f"user{i}:x:{1000 + i}:{1000 + i}:Benutzer {i}:/home/user{i}:/bin/bash" for i in range(30)]
    junk = accounts + ["2024-03-01 12:00:01 ERROR [worker-3] Verbindung verloren", "Preis: 12,99 €"]
    news = (shared_data / "ntrex" / "deu.txt").read_text(encoding="utf-8").splitlines()[:50]
    (tmp_path / "mixed.txt").write_text("\n".join(junk + news) + "\n", encoding="utf-8")
    source = {"name": "mixed", "path": str(tmp_path / "mixed.txt"), "language": "deu"}
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["build-corpus", str(write_config(tmp_path / "corpus.yaml", [source])), str(out)])
    assert result.exit_code == 0, result.output
    kept = {row["text"] for row in arrow_rows((out / "segments").rglob("*.arrow"))}
    assert not kept & set(junk)
    assert len(kept) >= 48  # the news stays
    rejects = {r["text"]: r["reason"] for r in arrow_rows((out / "rejects").rglob("*.arrow"))}
    assert {rejects[line] for line in junk} <= {"config_or_log_line", "key_value_or_table", "lid_mismatch"}


def test_hostile_input_is_rejected_and_counted_never_fatal(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    good = ["Ein ganz normaler deutscher Satz über das Wetter.", "Noch ein guter Satz für das Korpus heute."]
    (data / "a_bad_utf8.txt").write_bytes(good[0].encode() + b"\nkaputt \xc3\x28 hier\n")
    (data / "b_nul.txt").write_bytes(b"Null\x00bytes mitten im Satz sind nicht gut.\n")
    (data / "c_bom_crlf.txt").write_bytes("\ufeff".encode() + good[1].encode() + b"\r\n\r\n\r\n")
    (data / "d_empty.txt").write_bytes(b"")
    (data / "e_long.txt").write_bytes(b"y" * (10 * 2**20) + b"\n")
    lines = "".join(f"Satz Nummer {i} in einer komprimierten Datei.\n" for i in range(3000))
    (data / "f_truncated.txt.gz").write_bytes(gzip.compress(lines.encode())[:-500])
    (data / "g_binary.txt").write_bytes(bytes(range(256)) * 64)
    # Right-to-left overrides, then letters under piles of combining marks (overlays: NFC keeps them).
    (data / "h_floods.txt").write_text("\u202e\u202e\u202e" + "a\u0334\u0335\u0336\u0337" * 200 + "\n")
    (data / "i_controls.txt").write_bytes(b"\x1b[31mFarbige\x1b[0m Ausgabe im Terminal ist kein Text.\n")
    (tmp_path / "secret.txt").write_text("Dieser Satz liegt außerhalb der Eingabe und darf nicht gelesen werden.\n")
    (data / "j_link_out.txt").symlink_to(tmp_path / "secret.txt")
    (data / "k_link_in.txt").symlink_to(data / "c_bom_crlf.txt")
    (data / "l_link_broken.txt").symlink_to(tmp_path / "gone.txt")
    config = write_config(tmp_path / "corpus.yaml", [{"name": "bad", "path": str(data / "*"), "language": "deu"}])
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["build-corpus", str(config), str(out)])
    assert result.exit_code == 0, result.output
    ledger = Ledger.from_json(json.loads((out / "ledger.json").read_text()))
    ledger.check()
    reasons = {r["reason"] for r in arrow_rows((out / "rejects").rglob("*.arrow"))}
    assert {
        "bad_utf8",
        "line_too_long",
        "truncated_archive",
        "not_text",
        "symlink_outside_input",
        "broken_link",
    } <= reasons
    assert {"combining_mark_flood", "repeated_characters"} & reasons
    texts = {r["text"] for r in arrow_rows((out / "segments").rglob("*.arrow"))}
    assert set(good) <= texts
    # A NUL between two words becomes a space; a colour escape goes whole.
    assert {"Null bytes mitten im Satz sind nicht gut.", "Farbige Ausgabe im Terminal ist kein Text."} <= texts
    assert not any("außerhalb" in t for t in texts)
    assert all("\x00" not in t and "\u202e" not in t and "\x1b" not in t for t in texts)


@pytest.mark.parametrize(
    ("config_text", "message"),
    [
        ("sources: [{name: s, path: DATA/*.nothing, language: deu}]", "no file matches this path"),
        ("sources: [{name: s, path: DATA/missing.txt, language: deu}]", "missing.txt: no file matches"),
        ("sources: [{name: s, path: DATA/a.txt, language: german}]", "unknown language code 'german'; valid codes"),
        ("sources: [{name: s, path: DATA/a.txt, language: deu, fromat: text}]", "did you mean 'format'?"),
        ("sources: [{name: s, path: DATA/a.txt, language: deu}]\nfilters: {min_chars: lots}", "filters.min_chars"),
    ],
)
def test_user_mistakes_get_a_clear_message_and_no_traceback(tmp_path, config_text, message):
    (tmp_path / "a.txt").write_text("Hallo Welt, dies ist ein Satz.\n")
    config = tmp_path / "corpus.yaml"
    config.write_text(config_text.replace("DATA", str(tmp_path)))
    result = CliRunner().invoke(app, ["build-corpus", str(config), str(tmp_path / "out")])
    assert result.exit_code == 2 and result.exception is None or isinstance(result.exception, SystemExit)
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_an_earlier_build_is_not_overwritten_by_accident(tmp_path):
    (tmp_path / "a.txt").write_text("Hallo Welt, dies ist ein Satz.\n")
    config = write_config(tmp_path / "corpus.yaml", [{"name": "s", "path": str(tmp_path / "a.txt"), "language": "deu"}])
    out = tmp_path / "out"
    assert CliRunner().invoke(app, ["build-corpus", str(config), str(out)]).exit_code == 0
    again = run_cli("build-corpus", config, out)
    assert again.returncode == 2 and "already holds a corpus build" in again.stderr and "--overwrite" in again.stderr
    assert "Traceback" not in again.stderr
    assert run_cli("build-corpus", config, out, "--overwrite").returncode == 0
    # A build that did not finish (no corpus.json) is started again without asking.
    (out / "corpus.json").unlink()
    assert CliRunner().invoke(app, ["build-corpus", str(config), str(out)]).exit_code == 0
