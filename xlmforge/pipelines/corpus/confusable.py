"""A second opinion inside groups of close languages that lid.176 cannot tell apart.

lid.176 names the group right (Bosnian/Croatian/Serbian, Malay/Indonesian, Bokmål/Nynorsk/Danish)
but picks the member little better than chance on short text. lingua (`lingua-language-detector`),
restricted to the group's members, decides which one it is; its n-gram models ship in the wheel.
Members lingua does not know (hbs, yue, wuu) leave the group to lid.176.
"""

from __future__ import annotations

from collections.abc import Iterable


def _lingua_language(code: str):
    from lingua import IsoCode639_3, Language

    try:
        return Language.from_iso_code_639_3(IsoCode639_3.from_str(code))
    except ValueError:
        return None


class ConfusableResolver:
    """Picks the member of a confusable group a text is written in."""

    def __init__(self, groups: Iterable[Iterable[str]]):
        from lingua import LanguageDetectorBuilder

        self._detectors = {}  # member code -> lingua detector over the group's members lingua knows
        self._codes = {}  # lingua language -> project code
        for group in groups:
            known = {code: lang for code in group if (lang := _lingua_language(code)) is not None}
            if len(known) < 2:
                continue
            self._codes.update({lang: code for code, lang in known.items()})
            # Preloaded so the first texts of a worker do not pay the model loading.
            builder = LanguageDetectorBuilder.from_languages(*known.values()).with_preloaded_language_models()
            detector = builder.build()
            for code in group:
                self._detectors[code] = detector

    def covers(self, code: str) -> bool:
        return code in self._detectors

    def resolve(self, text: str, code: str) -> str:
        """The member of `code`'s group that `text` is written in (`code` when lingua has no answer)."""
        found = self._detectors[code].detect_language_of(text)
        return code if found is None else self._codes[found]
