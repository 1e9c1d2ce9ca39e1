"""The headline of a page, as its reader sees it.

A page names itself in several places: the ``<h1>`` the reader sees, the social-media
title (``og:title``), the structured data (``headline``) and the ``<title>`` in the tab,
which usually carries the site's name ("Headline | Site", "Headline - Site") and on some
sites is a CMS's name or a section. No single one is reliable, so they are compared: an
``<h1>`` that another source confirms is the headline; otherwise the best-confirmed
metadata title, with the site's name taken off; a candidate that shares no word with
the article is not a headline at all.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

_SEPARATOR = re.compile(r"\s+[|–—»«·•/:]+\s+|\s+-{1,2}\s+|\s*\|\s*|\s+::\s+")
_WORD = re.compile(r"[^\W_]+")
_FOLD = str.maketrans(
    {
        "‘": "'",
        "’": "'",
        "“": '"',
        "”": '"',
        "„": '"',
        "«": '"',
        "»": '"',
        "′": "'",
        "–": "-",
        "—": "-",
    }
)
_DATE_PART = re.compile(r"^[\d\s./-]+$")


def _key(text: str) -> str:
    """Text folded for comparison: case, spaces, typographic quotes and dashes."""
    text = unicodedata.normalize("NFKC", text).translate(_FOLD)
    return " ".join(text.split()).casefold().rstrip(" .")


def _letters(text: str) -> str:
    return "".join(_WORD.findall(text.casefold()))


@dataclass(frozen=True)
class TitleSources:
    """Every place a page names itself, in the page's order."""

    headings: Sequence[str]  # the <h1> texts
    metadata: Sequence[str]  # og:title, structured-data headline, twitter:title, <title>
    site_names: Sequence[str]  # og:site_name, publisher, the host's labels
    body: str  # the start of the article text


def _is_site(part: str, site_names: Sequence[str]) -> bool:
    if _DATE_PART.match(part):
        return True
    letters = _letters(part)
    for name in site_names:
        site = _letters(name)
        if len(site) < 2:
            continue
        if letters == site or (len(site) >= 4 and site in letters):
            return True
        if len(letters) >= 2 and letters in site and len(part.split()) <= 4:
            return True
    return False


_LEADING_LABEL = re.compile(r"^(.{2,40}?):\s+")


def strip_site_name(title: str, site_names: Sequence[str]) -> str:
    """The title without the site's name (and what follows it) at either end."""
    label = _LEADING_LABEL.match(title)
    if label and _is_site(label.group(1), site_names):
        title = title[label.end() :]
    pieces = _SEPARATOR.split(title)
    separators = _SEPARATOR.findall(title)
    if len(pieces) < 2:
        return title.strip()
    # "Site: Headline" or "Site | Headline".
    start = 0
    while start < len(pieces) - 1 and _is_site(pieces[start], site_names):
        start += 1
    end = len(pieces)
    for k in range(start + 1, len(pieces)):
        if _is_site(pieces[k], site_names):
            end = k
            break
    kept = [pieces[start]]
    for k in range(start + 1, end):
        kept.append(separators[k - 1] + pieces[k])
    return "".join(kept).strip()


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.casefold()) if len(w) > 1}


def _overlap(a: str, b: str) -> float:
    wa, wb = _words(a), _words(b)
    if not wa or not wb:
        return 0.0
    return len(wa & wb) / min(len(wa), len(wb))


def _plausible(title: str, body: str) -> bool:
    """A headline has a few words or shares one with the article."""
    words = _words(title)
    if len(words) >= 3:
        return True
    body_words = _words(body)
    return any(len(w) >= 4 and w in body_words for w in words)


def _separated(inner: str, outer: str, *, either_end: bool = True) -> bool:
    """``outer`` is ``inner`` with more parts attached by separators (after it, or with
    ``either_end`` also before it)."""
    if outer.startswith(inner):
        return bool(re.fullmatch(r"\s*[|–—»«·•/:-]+\s.*", outer[len(inner) :]))
    if either_end and outer.endswith(inner):
        return bool(re.fullmatch(r".*\s[|–—»«·•/:-]+\s*", outer[: -len(inner)]))
    return False


def _first_piece(title: str) -> str:
    return _SEPARATOR.split(title)[0].strip()


def _shared_words(text: str, body: str) -> int:
    body_words = _words(body)
    return sum(1 for w in _words(text) if len(w) >= 4 and w in body_words)


def choose_title(sources: TitleSources) -> str:
    """The page's headline (empty if it has none)."""
    # A site's logo is often an <h1> too.
    headings = [
        h
        for h in (" ".join(h.split()) for h in sources.headings)
        if h and not _is_site(h, sources.site_names)
    ]
    metadata = [m for m in (" ".join(m.split()) for m in sources.metadata) if m]
    stripped = [strip_site_name(m, sources.site_names) for m in metadata]
    keys = {_key(m) for m in metadata} | {_key(m) for m in stripped}
    # An <h1> that a metadata title repeats, alone or with more parts after it (a
    # heading that only ends a title is usually the site's name).
    for heading in headings:
        key = _key(heading)
        if key in keys or any(_separated(key, _key(m), either_end=False) for m in metadata):
            return heading
    # A metadata title cut short ("Headline" for "Headline Worldwide").
    shorts = {_key(t) for t in stripped} | {_key(_first_piece(m)) for m in metadata}
    for heading in headings:
        key = _key(heading)
        if any(len(short.split()) >= 3 and key.startswith(short) for short in shorts):
            return heading
    # A metadata title that an <h1> carries with a section or a kicker around it.
    for title in stripped:
        if any(_separated(_key(title), _key(h)) for h in headings):
            return title
    for heading in headings:
        if any(_overlap(heading, title) >= 0.7 for title in stripped):
            return heading
    for title in stripped:
        if _plausible(title, sources.body):
            return title
    plausible = [h for h in headings if _plausible(h, sources.body)]
    if plausible:
        return max(plausible, key=lambda h: _shared_words(h, sources.body))
    return ""
