"""Sentence and word tokenizers that need no downloaded data.

NLTK's Punkt algorithm is used *untrained* (its code ships with nltk; the trained models
are the part that must be downloaded) and is given each language's abbreviations, then
corrected for what an untrained model gets wrong in news: initials ("J. K. Rowling"),
abbreviations at the real end of a sentence ("...sanctions on the U.S. The move...").
Chinese and Japanese are split on their full-width terminators and compared by character
bigrams, Thai (written without spaces) by character trigrams.

Untrained, Punkt's decision at each candidate break depends only on the two tokens around
it, so ``_UntrainedPunkt`` makes that decision directly instead of through nltk's generic
token objects: the same sentences (checked on every paragraph of the evaluation sets),
in 40% of the time. Splitting was most of the cost of preparing an article.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterator

from nltk.tokenize.punkt import PunktLanguageVars, PunktParameters, PunktSentenceTokenizer

from .languages import CJK_LANGUAGES, UNSPACED_LANGUAGES, Language, get_language

_WORD = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")
_CJK_CHAR = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CJK_SENTENCE = re.compile(r"[^。！？!?]+(?:[。！？!?]+[」』”’\"')）]*|$)")
_THAI_RUN = re.compile(r"[\u0e00-\u0e7f]+")

# A chunk ending in a lone capital and a period is an initial, not a sentence end.
_ENDS_WITH_INITIAL = re.compile(r"(?:^|[\s(\"“])[A-ZÀ-ÖØ-Þ]\.$")
_TRAILING_OPEN_QUOTE = re.compile(r"\s+[«„“‘]\s*$")
# Two sentences glued without a space ("smart?Before", "Euro.Verkauft"): a word of two
# lower-case letters or more, a terminator, a capitalized word.
_GLUED = re.compile(r"(?<=[^\W\d_A-ZÀ-ÖØ-Þ]{2}[.!?])(?=[A-ZÀ-ÖØ-Þ][^\W\d_A-ZÀ-ÖØ-Þ])")
_ADDRESS = re.compile(r"https?://|www\.|@|/")
# A sentence does not start with a lower-case word, unless it is a name written so
# ("eBay", "iPhone") or a particle before a name ("de Gaulle", "von der Leyen").
_CAMEL = re.compile(r"[^\W\d_]*[a-zß-ÿ][A-ZÀ-ÖØ-Þ]")
_PARTICLE_WORDS = "de del della der den van von da das dos du di la le al el bin ibn ter zu"
_PARTICLES = frozenset(_PARTICLE_WORDS.split())
# Words that start a new sentence after an abbreviation that can also end one.
_SENTENCE_STARTERS = (
    "The|A|An|He|She|It|They|We|I|You|His|Her|Its|Their|Our|This|That|These|Those|There|"
    "But|And|However|Meanwhile|In|On|At|After|Before|When|While|If|As|Some|Many|Most|"
    "Officials|Analysts|Critics|Earlier|Later|Last|Next|Now|Then|Still|Yet|So"
)
_END_ABBREVIATION = re.compile(
    r"\b((?:U\.S|U\.K|U\.N|E\.U|D\.C|Inc|Corp|Ltd|Co|Jr|Sr|etc|a\.m|p\.m)\.)\s+"
    rf"(?=(?:{_SENTENCE_STARTERS})\b)"
)


# German writes ordinals with a period ("am 12. März", "die 2. Lesung", "im 19.
# Jahrhundert"), and its nouns are capitalized: after a number of up to three digits and
# a period, a capitalized word continues the sentence unless it is a word that opens
# sentences ("... stieg auf 12. Die Polizei ..."). Untrained, Punkt broke every German
# date in two, and the summary lost "Am 12." as a fragment.
_GERMAN_STARTER_WORDS = """
    Der Die Das Den Dem Des Ein Eine Einen Einem Einer Eines Er Sie Es Wir Ich Du Ihr Man
    Dies Diese Dieser Dieses Diesen Jetzt Nun Dann Danach Damit Dabei Dafür Dagegen Daher
    Darauf Darum Deshalb Doch Aber Und Oder Auch Als Am Im In Auf Aus Mit Nach Seit Bei
    Für Von Vor Zum Zur Zu Um Über Unter Wie Was Wer Wo Wann Warum Wenn Weil Während
    Trotz Trotzdem So Zudem Außerdem Allerdings Bisher Insgesamt Laut Heute Gestern Morgen
    Inzwischen Mittlerweile Zuletzt Zunächst Später Künftig Schon Bereits Noch Nur Sein
    Seine Ihre Unser Unsere Alle Viele Manche Einige Kein Keine Hier Dort Da Denn Deren
    Dessen Zwar Ob Obwohl Falls Sobald Bis Gegen Ohne Neben Zwischen Hinter Beim Vom Ins
    Ans Fürs Ebenso Ebenfalls Stattdessen Somit Also Vielmehr Immerhin Jedoch Sonst
"""
_GERMAN_STARTERS = frozenset(_GERMAN_STARTER_WORDS.split())
_ORDINAL = re.compile(r"\d{1,3}\.")
_ORDINAL_STARTERS = {"german": _GERMAN_STARTERS}

# Punkt's token classes, as its untrained decision rules use them.
_NUMBER = re.compile(r"-?[.,]?\d[\d,.-]*\.?")
_INITIAL = re.compile(r"[^\W\d]\.")
# Punkt's rule: a sentence never starts with one of these.
_PUNCTUATION = frozenset(";:,.!?")


class _UntrainedPunkt(PunktSentenceTokenizer):  # type: ignore[misc]  # nltk ships no types
    """Punkt with only abbreviations known: no collocations, sentence starters or case
    statistics. Its rules then reduce to a test on the token before a candidate break and
    the token after it, which ``_breaks`` applies to plain strings."""

    def __init__(
        self,
        params: PunktParameters,
        lang_vars: PunktLanguageVars,
        ordinal_starters: frozenset[str] | None = None,
    ) -> None:
        super().__init__(params, lang_vars=lang_vars)
        # Set for a language that writes ordinals with a period (``_ORDINAL_STARTERS``).
        self._ordinal_starters = ordinal_starters
        # nltk's own word pattern, compiled by ``re`` without its per-call timeout wrapper.
        pattern = lang_vars._word_tokenizer_re()
        self._word_pattern = re.compile(pattern.pattern, re.UNICODE | re.VERBOSE)
        self._end_chars = frozenset(lang_vars.sent_end_chars)
        self._abbreviations = frozenset(params.abbrev_types)

    def text_contains_sentbreak(self, text: str) -> bool:
        """True if a break falls between two tokens of this candidate's context."""
        tokens = [t for line in text.split("\n") for t in self._word_pattern.findall(line)]
        return any(self._breaks(a, b) for a, b in itertools.pairwise(tokens))

    def _breaks(self, token: str, following: str) -> bool:
        if token in self._end_chars:
            return True
        # Not period-final, or an ellipsis: never a break when untrained.
        if not token.endswith(".") or token.endswith("..."):
            return False
        if token.endswith(".."):
            # An abbreviation's or an initial's period and the sentence's ("von Pavel
            # K.. Diese Firma"): a break before a capital. Punkt never broke there.
            return following[0].isupper()
        base = token[:-1].lower()
        if base in self._abbreviations or base.rsplit("-", 1)[-1] in self._abbreviations:
            return False
        is_initial = _INITIAL.fullmatch(token) is not None
        if is_initial or _NUMBER.fullmatch(token.lower()):
            # An initial or a number is not an ending before lower case or punctuation,
            # nor is an initial before a capital ("J. Smith").
            if following in _PUNCTUATION or following[0].islower():
                return False
            if is_initial and following[0].isupper():
                return False
            if (
                self._ordinal_starters is not None
                and _ORDINAL.fullmatch(token)
                and following not in self._ordinal_starters
            ):
                return False  # "am 12. März", "die 2. Lesung"
        return True


class _GreekVars(PunktLanguageVars):  # type: ignore[misc]  # nltk ships no types
    sent_end_chars = (".", "?", "!", ";", "\u037e")


class _ArabicVars(PunktLanguageVars):  # type: ignore[misc]  # nltk ships no types
    sent_end_chars = (".", "?", "!", "\u061f", "\u06d4")


@functools.cache
def _punkt(language: str) -> _UntrainedPunkt:
    params = PunktParameters()
    params.abbrev_types = set(get_language(language).abbreviations)
    lang_vars: PunktLanguageVars
    if language == "greek":
        lang_vars = _GreekVars()
    elif language in {"arabic"}:
        lang_vars = _ArabicVars()
    else:
        lang_vars = PunktLanguageVars()
    return _UntrainedPunkt(params, lang_vars, _ORDINAL_STARTERS.get(language))


def split_sentences(text: str, language: Language) -> list[str]:
    """Split one paragraph into sentences, verbatim (only outer white space is trimmed)."""
    text = text.strip()
    if not text:
        return []
    if language.name in CJK_LANGUAGES:
        return [s.strip() for s in _CJK_SENTENCE.findall(text) if s.strip()]
    if language.name in UNSPACED_LANGUAGES:
        # Thai marks sentence ends with a space; a longer gap is a safer cut.
        return [s.strip() for s in re.split(r"\s{2,}|(?<=[.!?])\s+", text) if s.strip()]
    chunks = _punkt(language.name).tokenize(text)
    return _join_lower_case_starts(_verbatim(list(_repair(chunks)), text), text)


def _verbatim(parts: list[str], text: str) -> list[str]:
    """Each repaired sentence as the text's own span: the repairs join pieces with one
    space, where the text may have had a line break or several spaces between them."""
    out: list[str] = []
    cursor = 0
    for part in parts:
        position = text.find(part, cursor)
        if position >= 0:
            out.append(part)
            cursor = position + len(part)
            continue
        spaced = re.compile(r"\s+".join(re.escape(word) for word in part.split()))
        match = spaced.search(text, cursor)
        if match is None:  # cannot happen for pieces of this text; keep what was made
            out.append(part)
            continue
        out.append(match.group())
        cursor = match.end()
    return out


def _repair(chunks: list[str]) -> Iterator[str]:
    """Undo Punkt's false breaks after initials and add missed breaks after abbreviations."""
    merged: list[str] = []
    for chunk in chunks:
        if merged and _ENDS_WITH_INITIAL.search(merged[-1]) and chunk[:1].isupper():
            merged[-1] = f"{merged[-1]} {chunk}"
        else:
            merged.append(chunk)
    parts = [
        piece.strip()
        for sentence in merged
        for part in _END_ABBREVIATION.sub("\\1\0", sentence).split("\0")
        for piece in _unglue(part)
        if piece.strip()
    ]
    # An opening quote left at the end of a sentence belongs to the next one
    # ("… 1 200 spectateurs. «" + "Je dédie ce prix…").
    for i in range(len(parts) - 1):
        match = _TRAILING_OPEN_QUOTE.search(parts[i])
        if match and len(match.group()) < len(parts[i]):
            parts[i + 1] = f"{match.group().strip()} {parts[i + 1]}"
            parts[i] = parts[i][: match.start()].rstrip()
    yield from (p for p in parts if p)


def _unglue(text: str) -> list[str]:
    """Split sentences that the page glued together without a space."""
    pieces: list[str] = []
    start = 0
    for match in _GLUED.finditer(text):
        left = text.rfind(" ", 0, match.start()) + 1
        right = text.find(" ", match.start())
        token = text[left : right if right >= 0 else len(text)]
        if _ADDRESS.search(token):
            continue  # a web or e-mail address
        pieces.append(text[start : match.start()])
        start = match.start()
    pieces.append(text[start:])
    return pieces


def starts_lower_case(text: str) -> bool:
    """True when a sentence opens with a lower-case word that is not a name."""
    stripped = text.lstrip(" \"'“”„‘’«»‹›([{¿¡")
    if not stripped[:1].islower():
        return False
    first, _, rest = stripped.partition(" ")
    if _CAMEL.match(first):
        return False
    return not (first.casefold() in _PARTICLES and rest[:1].isupper())


def _join_lower_case_starts(parts: list[str], text: str) -> list[str]:
    """Undo a break before a lower-case word: the terminator was inside the sentence
    ("Choir! Choir! Choir! (previously) are...", an unknown abbreviation). The joined
    sentence is the text's own span, so it stays verbatim."""
    out: list[str] = []
    spans: list[tuple[int, int] | None] = []
    cursor = 0
    for part in parts:
        position = text.find(part, cursor)
        span = None if position < 0 else (position, position + len(part))
        if span is not None:
            cursor = span[1]
        previous = spans[-1] if spans else None
        if previous is not None and span is not None and starts_lower_case(part):
            spans[-1] = (previous[0], span[1])
            out[-1] = text[previous[0] : span[1]]
        else:
            out.append(part)
            spans.append(span)
    return out


def words(sentence: str, language: Language) -> list[str]:
    """The word tokens of a sentence (letters only; numbers and punctuation dropped)."""
    if language.name in CJK_LANGUAGES or _CJK_CHAR.search(sentence):
        return _cjk_words(sentence)
    if language.name in UNSPACED_LANGUAGES:
        return [run[i : i + 3] for run in _THAI_RUN.findall(sentence) for i in range(len(run) - 2)]
    return _WORD.findall(sentence)


def _cjk_words(sentence: str) -> list[str]:
    out: list[str] = []
    run: list[str] = []
    for char in sentence + " ":
        if _CJK_CHAR.match(char):
            run.append(char)
            continue
        if run:
            out.extend(a + b for a, b in itertools.pairwise(run))
            if len(run) == 1:
                out.append(run[0])
            run = []
    out.extend(_WORD.findall(_CJK_CHAR.sub(" ", sentence)))
    return out


def content_words(sentence: str, language: Language) -> list[str]:
    """The words of a sentence that carry its content: lower-cased, stop words removed."""
    stop = language.stop_words
    return [w for w in (t.lower() for t in words(sentence, language)) if w not in stop]


def terms(sentence: str, language: Language) -> list[str]:
    """Stemmed content words of a sentence: lower-cased, stop words removed."""
    stem = language.stemmer
    return [stem(w) for w in content_words(sentence, language)]


class SumyTokenizer:
    """Adapter giving sumy's summarizers our offline tokenizers (sumy's own needs punkt)."""

    def __init__(self, language: Language) -> None:
        self._language = language

    @property
    def language(self) -> str:
        """The language name, as sumy reads it."""
        return self._language.name

    def to_sentences(self, paragraph: str) -> tuple[str, ...]:
        """Sentences of a paragraph."""
        return tuple(split_sentences(paragraph, self._language))

    def to_words(self, sentence: str) -> tuple[str, ...]:
        """Words of a sentence."""
        return tuple(words(sentence, self._language))
