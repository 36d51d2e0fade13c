import numpy as np

from xlmforge.core.scripts import DIGIT, LETTER, PUNCT, SPACE, char_stats


def test_counts_by_class_and_script():
    stats = char_stats(["Hello, world 42!", "Привет мир", "汤姆和他的朋友", "", "สวัสดีครับ", "こんにちは世界"])
    assert stats.count(LETTER)[0] == 10 and stats.count(DIGIT)[0] == 2
    assert stats.count(PUNCT)[0] == 2 and stats.count(SPACE)[0] == 2
    assert stats.dominant_script() == ["Latn", "Cyrl", "Hani", "Zyyy", "Thai", "Hira"]
    assert np.allclose(stats.script_share({"Latn"}), [1, 0, 0, 0, 0, 0])
    assert stats.script_share({"Hani", "Hira", "Kana"})[5] == 1.0


def test_marks_count_with_their_script():
    stats = char_stats(["किताब"])  # Devanagari letters and a vowel sign (a mark)
    assert stats.script_share({"Deva"})[0] == 1.0
