import textwrap

import pytest

from pipelines.config import ConfigError, CorpusConfig, load_corpus_config


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
