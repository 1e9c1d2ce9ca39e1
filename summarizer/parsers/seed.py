"""The seed text format: a title line, a date line, a time line and the body.

    Netanyahu and Trump Strengthen Alliance Amid Escalating Tensions with Iran
    November 11, 2024
    12:13 PM
    Reading time: 4 minutes
    Source: Example Wire              <- optional header lines (see HEADER_KEYS)
    Israeli Prime Minister ...        <- one paragraph per line
    Strengthening the U.S.-Israel Alliance   <- a heading: short, no final punctuation

The date and time are read in UTC unless a ``Timezone:`` header names an IANA zone.
"""

from __future__ import annotations

import re
from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..article import Article
from ..errors import SummarizerError
from .lines import clean_text, collapse_spaces, is_heading

HEADER_KEYS = ("source", "url", "language", "timezone", "author")
_HEADER = re.compile(r"^(?P<key>[A-Za-z]+):\s*(?P<value>\S.*)$")
_READING_TIME = re.compile(r"^reading time:\s*\d+\s*(?:min|minutes?)\.?$", re.IGNORECASE)
_DATE_FORMATS = ("%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%Y-%m-%d")
_TIME = re.compile(r"^(?P<h>\d{1,2})[:.](?P<m>\d{2})\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?$")


def _parse_date(line: str) -> datetime | None:
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(line.strip(), fmt)
        except ValueError:
            continue
    return None


def _parse_time(line: str) -> time | None:
    match = _TIME.match(line.strip())
    if not match:
        return None
    hour, minute = int(match["h"]), int(match["m"])
    ampm = (match["ampm"] or "").lower().replace(".", "")
    if ampm:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def looks_like_seed(text: str) -> bool:
    """True when the second non-empty line is a date, as in the seed format."""
    lines = [line for line in clean_text(text).split("\n", 6)[:6] if line.strip()]
    return len(lines) >= 3 and _parse_date(lines[1]) is not None


def parse_seed(text: str, *, source: str = "", url: str = "") -> Article:
    """Parse a seed article; metadata and heading lines are kept out of the paragraphs."""
    lines = [line.strip() for line in clean_text(text).split("\n")]
    lines = [line for line in lines if line]
    if len(lines) < 3:
        raise SummarizerError("not a seed article: it needs a title, a date and a body")
    title = collapse_spaces(lines[0])
    day = _parse_date(lines[1])
    if day is None:
        raise SummarizerError(f"not a seed article: line 2 is not a date: {lines[1][:60]!r}")
    rest = lines[2:]
    clock = _parse_time(rest[0]) if rest else None
    if clock is not None:
        rest = rest[1:]
    header: dict[str, str] = {}
    while rest:
        line = rest[0]
        match = _HEADER.match(line)
        if _READING_TIME.match(line):
            header["reading_time"] = line.split(":", 1)[1].strip()
        elif match and match["key"].lower() in HEADER_KEYS:
            header[match["key"].lower()] = match["value"].strip()
        else:
            break
        rest = rest[1:]
    zone_name = header.get("timezone", "UTC")
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SummarizerError(f"seed article: unknown Timezone {zone_name!r}") from exc
    published = datetime.combine(day.date(), clock or time(0, 0), tzinfo=zone)
    paragraphs: list[str] = []
    headings: list[str] = []
    for index, line in enumerate(rest):
        is_last = index == len(rest) - 1
        if not is_last and is_heading(line):
            headings.append(collapse_spaces(line))
        else:
            paragraphs.append(collapse_spaces(line))
    if not paragraphs:
        raise SummarizerError("seed article has a title but no body text")
    extra = {k: v for k, v in header.items() if k not in {"source", "url", "language"}}
    return Article(
        title=title,
        paragraphs=tuple(paragraphs),
        headings=tuple(headings),
        published=published,
        source=header.get("source", source),
        url=header.get("url", url),
        language=header.get("language"),
        extra=extra,
    )
