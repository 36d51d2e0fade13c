import re
import textwrap

import pytest

from xlmforge.core.config import ConfigError
from xlmforge.pipelines.corpus.config import CorpusConfig, load_corpus_config


def write(tmp_path, text, name="corpus.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def test_yaml_with_defaults_and_relative_paths(tmp_path):
    config = load_corpus_config(
        write(
            tmp_path,
            """
        sources:
          - {name: news, path: data/*.txt, language: deu}
    """,
        )
    )
    assert config.sources[0].path == str(tmp_path / "data" / "*.txt")
    assert config.near_dedup.threshold == 0.8 and config.normalize.form == "NFC"


def test_toml_is_read_too(tmp_path):
    config = load_corpus_config(
        write(
            tmp_path,
            """
        [[sources]]
        name = "web"
        path = "/data/web.jsonl.gz"
        format = "jsonl"
        language = "detect"
        [read]
        part_bytes = "16MiB"
    """,
            "corpus.toml",
        )
    )
    assert config.sources[0].format == "jsonl" and config.read.part_bytes == 16 * 2**20


def test_typo_key_names_the_closest_valid_one(tmp_path):
    path = write(
        tmp_path,
        """
        sources:
          - {name: news, path: a.txt, langauge: deu}
    """,
    )
    with pytest.raises(ConfigError) as err:
        load_corpus_config(path)
    message = str(err.value)
    assert path in message and "sources.0.langauge: unknown key (did you mean 'language'?)" in message


def test_typo_in_a_section_key(tmp_path):
    path = write(
        tmp_path,
        """
        sources: [{name: n, path: a.txt, language: deu}]
        near_dedup: {treshold: 0.7}
    """,
    )
    with pytest.raises(ConfigError, match=r"near_dedup.treshold: unknown key \(did you mean 'threshold'\?\)"):
        load_corpus_config(path)


def test_unknown_language_lists_valid_codes(tmp_path):
    path = write(tmp_path, "sources: [{name: n, path: a.txt, language: english}]")
    with pytest.raises(ConfigError, match=r"unknown language code 'english'; valid codes .*: afr .* deu .* zho"):
        load_corpus_config(path)


def test_wrong_types_and_values_are_named(tmp_path):
    path = write(
        tmp_path,
        """
        sources: [{name: n, path: a.txt, language: deu, format: csv}]
        near_dedup: {num_perm: many}
    """,
    )
    with pytest.raises(ConfigError) as err:
        load_corpus_config(path)
    assert "sources.0.format" in str(err.value) and "near_dedup.num_perm" in str(err.value)


def test_missing_file_and_bad_syntax(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_corpus_config(str(tmp_path / "nope.yaml"))
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_corpus_config(write(tmp_path, "sources: [unclosed"))
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_corpus_config(write(tmp_path, "- just a list"))


def test_duplicate_source_names_are_rejected():
    with pytest.raises(ValueError, match="repeated: a"):
        CorpusConfig(
            sources=[{"name": "a", "path": "x", "language": "deu"}, {"name": "a", "path": "y", "language": "fra"}]
        )


def test_bitext_and_document_pair_sources(tmp_path):
    config = load_corpus_config(
        write(
            tmp_path,
            """
        sources:
          - {name: tatoeba, kind: bitext, path: t/deu.tsv, languages: [deu, eng], src_column: text, tgt_column: eng}
          - {name: europarl, kind: bitext, format: moses, path: e/ep.de, tgt_path: e/ep.en, languages: [deu, eng]}
          - {name: news, kind: docpairs, path: d/deu/*.txt, tgt_path: d/eng/*.txt, languages: [deu, eng]}
    """,
        )
    )
    kinds = [(s.kind, s.format, s.pair) for s in config.sources]
    assert kinds == [("bitext", "tsv", "deu-eng"), ("bitext", "moses", "deu-eng"), ("docpairs", "files", "deu-eng")]
    assert config.sources[1].tgt_path == str(tmp_path / "e" / "ep.en")


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{name: m, kind: bitext, format: moses, path: a.de, languages: [deu, eng]}", "tgt_path names the target-side"),
        ("{name: p, kind: bitext, path: a.tsv, languages: [deu, deu]}", "two different languages"),
        ("{name: p, kind: bitext, path: a.tsv, languages: [deu, xx]}", "unknown language code 'xx'"),
        ("{name: p, kind: bitext, path: a.tsv, langauges: [deu, eng]}", "did you mean 'languages'?"),
        ("{name: p, kind: parallel, path: a.tsv}", "kind must be mono, bitext or docpairs"),
    ],
)
def test_pair_source_mistakes(tmp_path, source, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_corpus_config(write(tmp_path, f"sources: [{source}]"))
