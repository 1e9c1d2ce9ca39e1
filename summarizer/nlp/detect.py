"""Offline language detection: writing system first, then frequent function words."""

from __future__ import annotations

import re
from collections import Counter

from .languages import GENERIC

# The most frequent function words of each language written in the Latin alphabet. A short
# list per language keeps languages that share words (Danish and Norwegian, Czech and
# Slovak) apart better than full stop-word lists would.
_FUNCTION_WORDS: dict[str, str] = {
    "english": "the and of to in is that for it with was on as are be this by have from at "
    "he said not has were will they an which their been",
    "french": "le la les des et est une un du dans que qui pour pas sur au avec il elle sont "
    "ce ont plus par été aux cette mais",
    "german": "der die und das ist den nicht ein eine zu mit sich auf für von dem im auch es "
    "wird sind wurde bei nach aus des",
    "spanish": "el la de que y los las en del se por con una un para es al lo como más pero "
    "sus fue ha este",
    "italian": "il di che la è per un una non sono del della con le gli si dei nel ha anche "
    "alla più questo",
    "portuguese": "o os as de que do da em um uma para com não dos das no na por mais foi ao é "
    "está",
    "swedish": "och att det som en på är av för med till den har inte om ett var men kan sig "
    "från",
    "czech": "se na je že v to s z do o jako by pro ale jsou byl bylo také které který když",
    "slovak": "sa na je že v to s z do o ako by pre ale sú bol bolo tiež ktoré ktorý keď",
    "polish": "w na z się nie że do to jest jak o po od przez dla ale są jego oraz był było",
    "dutch": "de het een en van is dat op te in voor niet met zijn er aan ook als bij door "
    "werd wordt",
    "danish": "og i at det er en til på som af med for den har de ikke var et der om fra blev",
    "norwegian": "og i det er som på til en av for med at har ikke den de var et om fra ble seg",
    "finnish": "ja on ei se että oli hän ovat mutta kun joka myös tai sen niin jo ole olla",
    "hungarian": "a az és hogy nem is egy van meg de volt csak már el ki mint még ez azt lesz",
    "romanian": "și de la în nu cu o un pe care că din se mai este pentru au fost ca sunt",
}
_WORD_SETS = {lang: frozenset(words.split()) for lang, words in _FUNCTION_WORDS.items()}

_SCRIPTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("kana", re.compile(r"[\u3040-\u30ff]")),
    ("han", re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]")),
    ("korean", re.compile(r"[\uac00-\ud7af\u1100-\u11ff]")),
    ("arabic", re.compile(r"[\u0600-\u06ff]")),
    ("hebrew", re.compile(r"[\u0590-\u05ff]")),
    ("thai", re.compile(r"[\u0e00-\u0e7f]")),
    ("greek", re.compile(r"[\u0370-\u03ff\u1f00-\u1fff]")),
    ("cyrillic", re.compile(r"[\u0400-\u04ff]")),
)
_LETTER = re.compile(r"[^\W\d_]")
_WORD = re.compile(r"[^\W\d_]+")
_UKRAINIAN_LETTERS = re.compile(r"[іїєґІЇЄҐ]")

_SAMPLE_CHARS = 20_000


def detect_language(text: str) -> str:
    """The language name of a text, or ``"generic"`` when it cannot tell."""
    sample = text[:_SAMPLE_CHARS]
    letters = len(_LETTER.findall(sample))
    if letters == 0:
        return GENERIC
    counts = {name: len(pattern.findall(sample)) for name, pattern in _SCRIPTS}
    if counts["kana"] > 0.05 * letters:
        return "japanese"
    if counts["han"] > 0.3 * letters:
        return "chinese"
    if counts["cyrillic"] > 0.3 * letters:
        return "ukrainian" if _UKRAINIAN_LETTERS.search(sample) else "russian"
    for name in ("korean", "arabic", "hebrew", "thai", "greek"):
        if counts[name] > 0.3 * letters:
            return name
    tokens = Counter(w.lower() for w in _WORD.findall(sample))
    total = sum(tokens.values())
    best, best_hits = GENERIC, 0
    for lang, words in _WORD_SETS.items():
        hits = sum(n for w, n in tokens.items() if w in words)
        if hits > best_hits:
            best, best_hits = lang, hits
    # Too few function words means a list of names, a headline, or an unknown language.
    if best_hits < 3 or best_hits < 0.08 * total:
        return GENERIC
    return best
