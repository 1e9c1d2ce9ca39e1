"""Topic assignment and the subscriber's keyword filters.

An article gets a topic when
  * its feed declares the topic, or
  * one of the topic's keywords appears in its title, or
  * its body mentions the topic's keywords at least three times, with at least two
    different keywords.
Keywords match whole words, case-insensitively ("ai" matches "AI chips", not "said"); a
keyword of several words matches them in sequence. One stray word in a long article (a
football club mentioned in a business story) is not enough to file it under a topic.

Subscribers' followed and excluded keywords are plain words (letters, digits, hyphens,
apostrophes), never regular expressions. They match a word of the title or body, or its
plural ("vaccine" matches "vaccines").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

import regex

from ..config import Topic
from ..i18n import Text, _, quoted

BODY_KEYWORDS_NEEDED = 2
BODY_MENTIONS_NEEDED = 3
MAX_KEYWORD_LENGTH = 32
# A word: letters and digits with the combining marks that belong to them (NFC leaves
# some letters decomposed, e.g. Gurmukhi "ਖ਼" is "ਖ" + the mark U+0A3C), joined by
# apostrophes or hyphens. ``regex`` because ``re`` has no class for combining marks.
_PART = r"[\p{L}\p{N}][\p{L}\p{N}\p{M}]*"
WORD = regex.compile(rf"{_PART}(?:['’\-]{_PART})*")
KEYWORD = regex.compile(rf"^{_PART}(?:['’\-]{_PART})*$")


class KeywordError(ValueError):
    """A followed or excluded keyword that is not a plain word."""

    def __init__(self, text: Text) -> None:
        super().__init__(str(text))
        self.text = text


def fold_word(word: str) -> str:
    """The form words are compared in, the same for articles and for users' keywords.

    Unicode-normalized and lower-cased; a typographic apostrophe (what phone keyboards
    type) is a plain one; and the dot that lower-casing leaves on "İ" is dropped.
    """
    folded = unicodedata.normalize("NFC", word).lower().replace("’", "'")
    return folded.replace("i\u0307", "i")


def normalize_keyword(text: str) -> str:
    """Validate a user's keyword and return it folded (see ``fold_word``)."""
    word = fold_word(text.strip())
    if not word:
        raise KeywordError(_("Give one word, e.g. /follow climate"))
    if len(word) > MAX_KEYWORD_LENGTH:
        raise KeywordError(_("Keywords are at most {count} characters.", count=MAX_KEYWORD_LENGTH))
    if not KEYWORD.match(word):
        raise KeywordError(
            _(
                "Keywords are plain words (letters, digits, hyphens), one at a time: "
                "{word} is not.",
                word=quoted(text),
            )
        )
    return word


def _keyword_regex(keywords: Iterable[str]) -> re.Pattern[str] | None:
    parts = sorted({k.strip().lower() for k in keywords if k.strip()}, key=len, reverse=True)
    if not parts:
        return None
    alternatives = "|".join(r"\s+".join(map(re.escape, k.split())) for k in parts)
    return re.compile(rf"(?<![^\W_])(?:{alternatives})(?![^\W_])", re.IGNORECASE)


class TopicMatcher:
    """Assigns topics to articles; built once from the configured topics."""

    def __init__(self, topics: Sequence[Topic]) -> None:
        self._topics = tuple(topics)
        self._patterns = {t.name: _keyword_regex(t.keywords) for t in topics}

    def topics_for(self, title: str, body: str, feed_topics: Iterable[str] = ()) -> tuple[str, ...]:
        """The topics of an article, in configuration order."""
        chosen = set(feed_topics)
        for topic in self._topics:
            if topic.name in chosen:
                continue
            pattern = self._patterns[topic.name]
            if pattern is None:
                continue
            if pattern.search(title):
                chosen.add(topic.name)
                continue
            found = [" ".join(m.lower().split()) for m in pattern.findall(body)]
            if len(found) >= BODY_MENTIONS_NEEDED and len(set(found)) >= BODY_KEYWORDS_NEEDED:
                chosen.add(topic.name)
        return tuple(t.name for t in self._topics if t.name in chosen) + tuple(
            sorted(chosen - {t.name for t in self._topics})
        )


def article_words(title: str, body: str, limit: int = 4000) -> tuple[str, ...]:
    """The distinct lower-cased words of an article, title first, for keyword filters."""
    seen: dict[str, None] = {}
    for match in WORD.finditer(f"{title}\n{body}"):
        seen.setdefault(fold_word(match.group()), None)
        if len(seen) >= limit:
            break
    return tuple(seen)


def keyword_forms(keyword: str) -> tuple[str, str, str]:
    """The words a followed or excluded keyword matches: itself and its plurals."""
    return (keyword, f"{keyword}s", f"{keyword}es")


def mentions(words: frozenset[str] | set[str], keyword: str) -> bool:
    """True when the keyword, or its plural, is one of the article's words."""
    return not words.isdisjoint(keyword_forms(keyword))
