"""Junk lines of the kinds crawls are full of, made from real words, to plant among real sentences.

Each kind has several shapes seen in web crawls, some of which the filters are not built to catch
(a YAML line with a one-word value reads like "Hinweis: geschlossen"): the recall the benchmark
reports is over all of them. Words, names and messages are drawn from real NTREX text of the
language the junk is planted in, identifiers from English NTREX words.
"""

from __future__ import annotations

import base64
import hashlib
import random
import re
import uuid
from collections.abc import Callable

_ASCII_WORD = re.compile(r"^[a-z]{3,12}$")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_LEVELS = ("INFO", "WARN", "ERROR", "DEBUG", "WARNING", "CRITICAL")
_TLDS = ("com", "org", "net", "de", "fr", "ru", "io", "co.uk", "jp", "info")


class Vocabulary:
    """Real words to build junk from: `words` of the planted-in language, `idents` in ASCII."""

    def __init__(self, sentences: list[str], english: list[str]):
        self.sentences = [s for s in sentences if len(s.split()) >= 4] or sentences
        self.words = [w.strip(".,;:!?\"'()«»“”„") for s in sentences for w in s.split()]
        self.words = [w for w in self.words if w] or ["x"]
        self.idents = sorted({w.lower() for s in english for w in s.split() if _ASCII_WORD.match(w.lower())})

    def word(self, rng: random.Random) -> str:
        word = rng.choice(self.words)
        if len(word) > 12:  # a run of Chinese or Japanese: a few of its characters make a word
            start = rng.randrange(len(word) - 4)
            word = word[start : start + rng.randint(2, 4)]
        return word

    def ident(self, rng: random.Random) -> str:
        return rng.choice(self.idents)

    def clause(self, rng: random.Random, words: int = 6) -> str:
        tokens = rng.choice(self.sentences).split()
        start = rng.randrange(max(1, len(tokens) - words))
        return " ".join(tokens[start : start + words])


def _timestamp(rng: random.Random) -> str:
    day = f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    return f"{day} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"


def _config_lines(v: Vocabulary, rng: random.Random) -> str:
    name, other = v.ident(rng), v.ident(rng)
    uid = rng.randint(0, 65000)
    return rng.choice(
        (
            f"{name}:x:{uid}:{uid}:{v.word(rng)} {v.word(rng)}:/home/{name}:/bin/bash",
            f"{name}:$6${other}$abcdefgh:19{rng.randint(100, 999)}:0:99999:7:::",
            f"{name}_{other} = {rng.randint(1, 4096)}",
            f"net.{name}.{other}_max = {rng.randint(1, 100000)}",
            f"export {name.upper()}_{other.upper()}=/opt/{name}/{other}",
            f"[{name}]",
            f"{name}.{other}={rng.choice(('true', 'false', str(rng.randint(1, 99))))}",
            f"{name}: {v.word(rng)}",  # YAML with a one-word value: reads like prose
            f"{name.upper()}={other}",
            f"$ sudo apt-get install -y {name}-{other}",
            f"{name}@{other}:~$ ls -la /var/{name}",
        )
    )


def _log_lines(v: Vocabulary, rng: random.Random) -> str:
    host, proc = v.ident(rng), v.ident(rng)
    ip = ".".join(str(rng.randint(1, 254)) for _ in range(4))
    return rng.choice(
        (
            f"{_timestamp(rng)} {rng.choice(_LEVELS)} [{proc}] {v.clause(rng)}",
            f"{rng.choice(_MONTHS)} {rng.randint(1, 28)} {_timestamp(rng)[11:]} "
            f"{host} {proc}[{rng.randint(100, 99999)}]: {v.clause(rng)}",
            f'{ip} - - [12/Mar/2024:10:{rng.randint(10, 59)}:01 +0000] "GET /{proc}/{host}.html HTTP/1.1" 200 '
            f"{rng.randint(100, 99999)}",
            f"[{rng.choice(_LEVELS)}] {v.clause(rng)}",
            f"{rng.choice(_LEVELS)}: {proc}: {v.clause(rng)}",
            f"    at org.{host}.{proc}.{v.ident(rng).capitalize()}.run("
            f"{v.ident(rng).capitalize()}.java:{rng.randint(1, 999)})",
            f'  File "/usr/lib/python3/{proc}/{host}.py", line {rng.randint(1, 999)}, in {v.ident(rng)}',
            f"[{rng.randint(10, 23)}:{rng.randint(10, 59)}:{rng.randint(10, 59)}] <{host}> {v.clause(rng)}",  # chat log
        )
    )


def _code_lines(v: Vocabulary, rng: random.Random) -> str:
    a, b, c = v.ident(rng), v.ident(rng), v.ident(rng)
    return rng.choice(
        (
            f"def {a}_{b}(self, {c}):",
            f"    return self.{a}({b}, {c}=None)",
            f"for (int {a} = 0; {a} < {b}.length; {a}++) {{",
            f"const {a}{b.capitalize()} = document.getElementById('{c}');",
            f"if ({a} == null || {b} != {c}) return;",
            f'<div class="{a}-{b}"><a href="/{c}">{v.word(rng)}</a></div>',
            f"SELECT {a}, {b} FROM {c} WHERE {a} = {rng.randint(1, 99)};",
            f".{a}-{b} {{ margin: 0 auto; color: #{rng.randrange(16**6):06x}; }}",
            f"import {a}.{b} as {c}",
            f"    {a}.{b}({c}, {rng.randint(0, 9)});",
            f"#include <{a}/{b}.h>",
            f"}} else if ({a}[{c}] >= {rng.randint(1, 9)}) {{",
            f"// {v.clause(rng)}",  # a comment of prose
            f"{a} = [{b} for {b} in {c} if {b}]",
        )
    )


def _key_value_or_table_lines(v: Vocabulary, rng: random.Random) -> str:
    cells = [v.word(rng) for _ in range(rng.randint(3, 6))]
    return rng.choice(
        (
            "| " + " | ".join(cells) + " |",
            "\t".join(cells),
            "|---|---|---|",
            f"{v.word(rng)}: {rng.randint(1, 99)},{rng.randint(0, 9)} kg",
            f"{v.word(rng)}: {v.word(rng)} | {v.word(rng)}: {v.word(rng)} | {v.word(rng)}: {rng.randint(1, 999)}",
            f"{v.word(rng)}: {v.word(rng)}; {v.word(rng)}: {v.word(rng)}",
            f"{v.word(rng)}: ${rng.randint(1, 999)}.{rng.randint(10, 99)}",
            f"{v.word(rng)}: +{rng.randint(1, 99)} {rng.randint(10, 99)} {rng.randint(100000, 9999999)}",
            " · ".join(cells),  # a navigation list
        )
    )


def _link_lines(v: Vocabulary, rng: random.Random) -> str:
    a, b = v.ident(rng), v.ident(rng)
    url = f"https://www.{a}.{rng.choice(_TLDS)}/{b}/{v.ident(rng)}?id={rng.randint(1, 99999)}"
    return rng.choice(
        (
            url,
            f"{url} {url.replace(a, b)}",
            f"{a}.{b}@{v.ident(rng)}.{rng.choice(_TLDS)}, {b}@{a}.{rng.choice(_TLDS)}",
            f"/var/lib/{a}/{b}/{v.ident(rng)}.db",
            rf"C:\Users\{a}\Documents\{b}.docx",
            f"{v.word(rng)}: {url}",
            f"www.{a}.{rng.choice(_TLDS)} | www.{b}.{rng.choice(_TLDS)}",
            f"{v.clause(rng, 4)} {url}",  # a sentence fragment with a link: mostly prose
        )
    )


def _blob_lines(v: Vocabulary, rng: random.Random) -> str:
    raw = rng.randbytes(rng.randint(24, 120))
    return rng.choice(
        (
            base64.b64encode(raw).decode(),
            f"data:image/png;base64,{base64.b64encode(raw).decode()}",
            hashlib.sha256(raw).hexdigest(),
            f"{hashlib.md5(raw).hexdigest()}  {v.ident(rng)}.tar.gz",
            str(uuid.UUID(bytes=raw[:16])),
            f"{v.word(rng)}: {hashlib.sha1(raw).hexdigest()}",
            ".".join(base64.urlsafe_b64encode(raw[i : i + 30]).decode().rstrip("=") for i in (0, 30, 60)),
            f"{v.clause(rng, 5)} {base64.b64encode(raw[:30]).decode()}",
        )
    )


#: Junk kind -> (filter meant to catch it, generator of one line).
JUNK_KINDS: dict[str, tuple[str, Callable[[Vocabulary, random.Random], str]]] = {
    "config": ("config_or_log_line", _config_lines),
    "log": ("config_or_log_line", _log_lines),
    "code": ("code", _code_lines),
    "key_value_or_table": ("key_value_or_table", _key_value_or_table_lines),
    "links": ("bare_links", _link_lines),
    "blob": ("encoded_blob", _blob_lines),
}
