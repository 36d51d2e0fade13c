from hypothesis import given
from hypothesis import strategies as st

from xlmforge.pipelines.corpus.homoglyphs import fold_homoglyphs


def test_latin_lookalikes_in_cyrillic_words_become_cyrillic():
    # A real NTREX Serbian line: the o, a and e of these words are Latin letters.
    mixed = "Пoртпaрoл Лaбуристичкe стрaнкe кaжe: „Чeтвoрoднeвнa рaднa нeдeљa ниje дeo прoгрaмa"
    folded = fold_homoglyphs(mixed)
    assert folded == "Портпарол Лабуристичке странке каже: „Четвородневна радна недеља није део програма"
    assert all(not ("a" <= c <= "z") for c in folded)


def test_cyrillic_lookalikes_in_latin_words_become_latin():
    assert fold_homoglyphs("Log in to pаypal now") == "Log in to paypal now"  # a Cyrillic а


def test_words_in_one_script_are_left_alone():
    text = "Москва and Paris, OK: Београд 2024"
    assert fold_homoglyphs(text) == text


_LATIN = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyzAEOP"), min_size=1, max_size=8)
_CYRILLIC = st.text(st.sampled_from("абвгдежзиклмнопрстуфхцчшщыэюяАЕОР"), min_size=1, max_size=8)


@given(st.lists(st.one_of(_LATIN, _CYRILLIC, st.builds(str.__add__, _LATIN, _CYRILLIC)), max_size=8))
def test_folding_is_idempotent_and_keeps_single_script_words(words):
    text = " ".join(words)
    folded = fold_homoglyphs(text)
    assert fold_homoglyphs(folded) == folded
    assert len(folded) == len(text)
    for before, after in zip(text.split(" "), folded.split(" ")):
        one_script = before.isascii() or not any("a" <= c.lower() <= "z" for c in before)
        if one_script:
            assert after == before
