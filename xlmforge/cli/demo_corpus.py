"""The demo corpus: the human translations that ship inside the Django wheel.

Django's gettext catalogs hold the same ~900 interface strings written in English and translated
by people into about 90 languages, so they give both monolingual text (each language's strings)
and parallel text (English msgid, translated msgstr) on any machine that can install from PyPI.
"""

from __future__ import annotations

import importlib.util
import logging
from collections import defaultdict
from pathlib import Path

import polib

from xlmforge.core.languages import by_lid_label

log = logging.getLogger(__name__)


def django_catalogs() -> list[Path]:
    """The .po files of the installed Django package, in a stable order."""
    spec = importlib.util.find_spec("django")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the demo corpus comes from Django's translations: pip install django")
    return sorted(Path(spec.submodule_search_locations[0]).rglob("LC_MESSAGES/*.po"))


def project_code(django_locale: str) -> str | None:
    """The project language code of a Django locale (de, pt_BR, zh_Hans, nb...), None if unknown."""
    label = {"nb": "no"}.get(django_locale.split("_")[0], django_locale.split("_")[0])
    language = by_lid_label().get(label)
    return language.code if language else None


def write_django_corpus(dest: Path, languages: set[str] | None = None, min_strings: int = 0) -> dict[str, Path]:
    """Write one text file per language under `dest` (a catalog per document); return code -> path.

    English comes from the msgids; every other language from its translated msgstrs. Languages with
    fewer than `min_strings` strings are left out.
    """
    documents: dict[str, list[list[str]]] = defaultdict(list)
    english_seen: set[str] = set()
    for path in django_catalogs():
        code = project_code(path.parts[-3])
        entries = [e for e in polib.pofile(str(path)).translated_entries() if not e.obsolete]
        english = [e.msgid for e in entries if e.msgid not in english_seen]
        english_seen.update(english)
        if english:
            documents["eng"].append(english)
        if code and code != "eng" and (languages is None or code in languages):
            texts = [e.msgstr for e in entries if e.msgstr] + [
                t for e in entries for _, t in sorted(e.msgstr_plural.items())
            ]
            documents[code].append(texts)
    dest.mkdir(parents=True, exist_ok=True)
    files = {}
    for code, docs in sorted(documents.items()):
        if (languages is not None and code not in languages) or sum(map(len, docs)) < min_strings:
            continue
        files[code] = dest / f"{code}.txt"
        # One line per string (strings with line breaks become several segments); a blank line ends a catalog.
        lines = ["\n".join(" ".join(t.split("\n")) for t in doc if t.strip()) for doc in docs]
        files[code].write_text("\n\n".join(lines) + "\n", encoding="utf-8")
    log.info("demo corpus: %d languages from %d Django catalogs in %s", len(files), len(django_catalogs()), dest)
    return files


def write_django_bitext(dest: Path, languages: set[str]) -> dict[str, Path]:
    """Write English-X sentence pairs (msgid, msgstr) as `eng-<code>.tsv` under `dest`; return code -> path.

    Plural forms pair the plural msgid with every translated plural form; line breaks and tabs inside
    a string become spaces, so a pair is one TSV line.
    """
    pairs: dict[str, dict[tuple[str, str], None]] = defaultdict(dict)  # ordered and without repeats
    for path in django_catalogs():
        code = project_code(path.parts[-3])
        if code not in languages or code == "eng":
            continue
        for entry in polib.pofile(str(path)).translated_entries():
            if entry.obsolete:
                continue
            candidates = [(entry.msgid, entry.msgstr)] if entry.msgstr else []
            candidates += [(entry.msgid_plural or entry.msgid, t) for _, t in sorted(entry.msgstr_plural.items())]
            for src, tgt in candidates:
                src, tgt = " ".join(src.split()), " ".join(tgt.split())
                if src and tgt:
                    pairs[code][(src, tgt)] = None
    dest.mkdir(parents=True, exist_ok=True)
    files = {}
    for code in sorted(pairs):
        files[code] = dest / f"eng-{code}.tsv"
        files[code].write_text("".join(f"{src}\t{tgt}\n" for src, tgt in pairs[code]), encoding="utf-8")
    missing = sorted(languages - set(files) - {"eng"})
    if missing:
        raise ValueError(f"Django has no translations into {', '.join(missing)}")
    log.info("demo bitext: English paired with %s in %s", ", ".join(sorted(files)), dest)
    return files
