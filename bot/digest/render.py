"""Rendering digests: Telegram HTML messages (at most 4096 characters each) and terminal text.

Telegram's HTML mode accepts only a few tags; every piece of text that comes from a feed is
escaped, links are only emitted for http(s) URLs, and a digest is split between items
(never inside one) so each message stays within Telegram's limit. Telegram counts UTF-16
code units, so lengths are measured that way.
"""

from __future__ import annotations

import functools
import html
import re
import textwrap
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_skeleton

from summarizer import Article

from ..i18n import DEFAULT_LANGUAGE, Html, Text, _, _n, locale
from ..memory import BoundedCache
from ..timeparse import zone as _zone  # the one zone cache, shared with scheduling
from .model import Digest, DigestItem

MAX_MESSAGE = 4096
MAX_TITLE = 300
_TAG = re.compile(r"<[^>]+>")
ALLOWED_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "a",
        "code",
        "pre",
        "blockquote",
        "tg-spoiler",
        "span",
    }
)


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def escape(text: str) -> str:
    """Escape text for Telegram HTML (``<``, ``>``, ``&`` and quotes)."""
    return html.escape(text, quote=True)


def safe_href(url: str) -> str | None:
    """The URL escaped for an href, or ``None`` if it is not a plain http(s) URL."""
    url = url.strip()
    if not url.lower().startswith(("http://", "https://")) or any(c in url for c in ' \n\r\t<>"'):
        return None
    return escape(url)


def clip(text: str, limit: int) -> str:
    """One line of at most ``limit`` characters (an ellipsis marks a cut)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """Text that can be sent: lone UTF-16 surrogates (from malformed input) become U+FFFD.

    A Python string holds a surrogate only when it is unpaired, and such a string cannot
    be encoded for the Bot API.
    """
    return _SURROGATE.sub("\ufffd", text)


def local_time(
    when: datetime, timezone: str, now: datetime | None = None, language: str = DEFAULT_LANGUAGE
) -> str:
    """'14:05' for today in the reader's zone, else 'Nov 24, 14:05' (or '24. Nov., 14:05':
    written as the reader's language writes dates, by Babel)."""
    zone = _zone(timezone)
    try:
        local = when.astimezone(zone)
    except (OverflowError, ValueError):
        local = when  # a date at the edge of the calendar: shown as given
    today = (now or datetime.now(zone)).astimezone(zone).date()
    where = locale(language)
    clock = format_skeleton("Hm", local, locale=where)
    if local.date() == today:
        return clock
    if local.year == today.year:
        day = format_skeleton("MMMd", local, locale=where)
        return str(where.datetime_formats["medium"]).format(clock, day)
    return format_skeleton("yMMMd", local, locale=where)


def render_item_html(
    item: DigestItem, timezone: str, now: datetime | None = None, language: str = DEFAULT_LANGUAGE
) -> str:
    """One item: linked bold title, source and time, the summary, other outlets."""
    title = escape(clip(item.title or _("(untitled)").render(language), MAX_TITLE))
    href = safe_href(item.url)
    heading = f'<b><a href="{href}">{title}</a></b>' if href else f"<b>{title}</b>"
    when = local_time(item.when, timezone, now, language)
    meta = f"<i>{escape(clip(item.source, 80))} · {escape(when)}</i>"
    lines = [heading, meta]
    if item.summary:
        lines.append(escape(" ".join(item.summary)))
    if item.also:
        links = []
        for source, url in item.also[:5]:
            name = escape(clip(source, 60))
            also_href = safe_href(url)
            links.append(f'<a href="{also_href}">{name}</a>' if also_href else name)
        lines.append(
            _("Also reported by {outlets}", outlets=Html(", ".join(links))).render(language)
        )
    return "\n".join(lines)


MAX_LINK_SHOWN = 200


def render_summary_html(article: Article, sentences: Sequence[str]) -> str:
    """A requested summary: bold title, the sentences as bullets, the source and link.

    Title and link are clipped as in digests; should the sentences still not fit in one
    message (a very large configured budget), the last ones are left out.
    """
    head = [f"<b>{escape(clip(article.title, MAX_TITLE))}</b>"] if article.title else []
    meta = [clip(m, MAX_LINK_SHOWN) for m in (article.source, article.url) if m]
    tail = [f"<i>{escape(' · '.join(meta))}</i>"] if meta else []
    bullets = [f"• {escape(s)}" for s in sentences]
    text = "\n".join([*head, *bullets, *tail])
    while utf16_len(text) > MAX_MESSAGE and len(bullets) > 1:
        bullets.pop()
        text = "\n".join([*head, *bullets, *tail])
    return text


def render_header_html(digest: Digest, now: datetime | None = None) -> str:
    """The first line of a digest."""
    return _header(digest.timezone, len(digest.items), now or datetime.now(UTC), digest.language)


@functools.lru_cache(maxsize=4096)
def _header(timezone: str, count: int, now: datetime, language: str) -> str:
    day = format_date(now.astimezone(_zone(timezone)), "full", locale=locale(language))
    header = _n(
        "<b>📰 Your news digest</b> · {day} · {count} story",
        "<b>📰 Your news digest</b> · {day} · {count} stories",
        count,
        day=day,
    )
    return header.render(language)


EMPTY = _("Nothing new since your last digest.")


def empty_note(digest: Digest) -> Text:
    """What an empty digest says: since the last digest, or for a first one the hours
    it looked back (it said "since your last digest" to readers who had none)."""
    if digest.first_hours is None:
        return EMPTY
    return _n(
        "Nothing new in the last {count} hour.",
        "Nothing new in the last {count} hours.",
        digest.first_hours,
    )


def pack(
    header: str,
    parts: Sequence[str],
    limit: int = MAX_MESSAGE,
    separator: str = "\n\n",
    sizes: Sequence[int] | None = None,
    labels: Sequence[str] | None = None,
) -> list[tuple[str, list[int]]]:
    """The one message splitter: whole parts packed into messages of at most ``limit``
    UTF-16 units (Telegram's measure), each with the indexes of the parts it carries.

    Messages are cut between parts, never inside one; a part over the limit on its own is
    reduced to plain text and cut (``_hard_cut``). The header opens the first message.
    ``sizes``, when given, are the parts' ``utf16_len`` (a caller that rendered them
    before knows them: measuring costs more than packing). ``labels``, when given, are
    ASCII texts put before each part ("1. "), counted in its size: each message is then
    joined once, without first copying every part to put its label in front.
    """
    fitted: Sequence[str] = parts
    measured: Sequence[int] = [utf16_len(p) for p in parts] if sizes is None else sizes
    if labels is not None:
        measured = [len(label) + size for label, size in zip(labels, measured, strict=True)]
    if measured and max(measured) > limit:
        if labels is not None:  # the label is part of what is cut
            fitted = [label + part for label, part in zip(labels, parts, strict=True)]
            labels = None
        fitted = [
            _hard_cut(p, limit) if size > limit else p
            for p, size in zip(fitted, measured, strict=True)
        ]
        measured = [utf16_len(p) for p in fitted]
    gap = utf16_len(separator)
    groups: list[list[int]] = []
    current: list[int] = []
    used = _header_len(header)
    opened = bool(header)
    for index, size in enumerate(measured):
        if (opened or current) and used + gap + size <= limit:
            current.append(index)
            used += gap + size
        else:
            if opened or current:
                groups.append(current)
            current, used = [index], size
        opened = False
    if current or opened:
        groups.append(current)
    messages = []
    for number, group in enumerate(groups):
        chunks = [header] if number == 0 and header else []
        if labels is None:
            chunks.extend([fitted[i] for i in group])
            messages.append((separator.join(chunks), group))
            continue
        for i in group:
            if chunks:
                chunks.append(separator)
            chunks.append(labels[i])
            chunks.append(fitted[i])
        messages.append(("".join(chunks), group))
    return messages


@functools.lru_cache(maxsize=4096)
def _header_len(header: str) -> int:
    """``utf16_len`` of a digest's header: a few distinct ones (zones x days x counts x
    languages) start every digest, and theirs is not ASCII (the emoji)."""
    return utf16_len(header)


def split_messages(
    header: str, parts: Sequence[str], limit: int = MAX_MESSAGE, separator: str = "\n\n"
) -> list[str]:
    """The texts of ``pack``: parts packed into messages of at most ``limit`` units."""
    return [text for text, _group in pack(header, parts, limit, separator)]


def _hard_cut(part: str, limit: int) -> str:
    """Last resort for a single part over the limit: drop tags, cut plain text."""
    plain = html_to_plain(part)
    while utf16_len(escape(plain)) > limit - 1:
        plain = plain[: int(len(plain) * 0.9)]
    return escape(plain.rstrip()) + "…"


# (article id, other outlets, time zone, language, the reader's date) -> the item's HTML
# and its utf16_len. The date is in the key because an item's time reads "14:05" on its
# own day and "Nov 24, 14:05" after: a cache kept across midnight must not mix them.
ItemCache = BoundedCache[tuple[str, tuple[tuple[str, str], ...], str, str, date], tuple[str, int]]


def item_cache() -> ItemCache:
    """An empty ItemCache, bounded: items x zones x languages grows with the readers."""
    return BoundedCache(20_000)


class RenderedMessage(NamedTuple):
    """One Telegram message of a digest and the articles whose items it carries (a named
    tuple: a delivery run makes two or three per digest, and one is made in half the time
    of a frozen dataclass)."""

    text: str
    article_ids: tuple[str, ...]


def render_digest_messages(
    digest: Digest, now: datetime | None = None, cache: ItemCache | None = None
) -> list[RenderedMessage]:
    """The digest as Telegram HTML messages, each with the article ids it carries.

    ``cache`` lets a batch of digests rendered at the same ``now`` share the rendering of
    items they have in common (one rendering per item and time zone, not per reader).
    """
    if digest.empty:
        return [RenderedMessage(empty_note(digest).render(digest.language), ())]
    items, zone, language = digest.items, digest.timezone, digest.language
    today = _today(zone, now or datetime.now(UTC))
    parts = []
    sizes = []
    for item in items:
        key = (item.article_id, item.also, zone, language, today)
        found = None if cache is None else cache[key]
        if found is None:
            rendered = render_item_html(item, zone, now, language)
            found = (rendered, utf16_len(rendered))
            if cache is not None:
                cache.put(key, found)
        parts.append(found[0])
        sizes.append(found[1])
    header = render_header_html(digest, now)
    return [
        RenderedMessage(text, tuple([items[i].article_id for i in group]))
        for text, group in pack(header, parts, sizes=sizes, labels=_numbers(len(parts)))
    ]


@functools.lru_cache(maxsize=64)
def _numbers(count: int) -> tuple[str, ...]:
    """ "1. ", "2. ", ...: the labels of a digest's items (ASCII: their length is their
    size)."""
    return tuple(f"{n}. " for n in range(1, count + 1))


@functools.lru_cache(maxsize=1024)
def _today(zone: str, now: datetime) -> date:
    """The reader's date at ``now`` (a batch renders many digests at one ``now``)."""
    return now.astimezone(_zone(zone)).date()


def render_digest_html(
    digest: Digest, now: datetime | None = None, cache: ItemCache | None = None
) -> list[str]:
    """The digest as Telegram HTML messages (an empty digest is one short line)."""
    return [m.text for m in render_digest_messages(digest, now, cache)]


def html_to_plain(text: str) -> str:
    """Strip tags and unescape: the plain-text fallback for a message Telegram rejected."""
    return html.unescape(_TAG.sub("", text))


def render_digest_text(digest: Digest, width: int = 88, now: datetime | None = None) -> str:
    """The digest as readable terminal text."""
    if digest.empty:
        return empty_note(digest).render(DEFAULT_LANGUAGE, html_mode=False)
    zone = ZoneInfo(digest.timezone)
    # The day as the bot's messages write it ("Tuesday, December 1, 2026").
    day = format_date((now or datetime.now(zone)).astimezone(zone), "full", locale="en")
    count = len(digest.items)
    stories = "1 story" if count == 1 else f"{count} stories"
    lines = [f"Your news digest · {day} · {stories}", "=" * min(width, 60)]
    for n, item in enumerate(digest.items, start=1):
        lines.append("")
        lines.extend(textwrap.wrap(f"{n}. {item.title}", width, subsequent_indent="   "))
        lines.append(f"   {item.source} · {local_time(item.when, digest.timezone, now)}")
        if item.url:
            lines.append(f"   {item.url}")
        if item.summary:
            lines.extend(
                textwrap.wrap(
                    " ".join(item.summary), width, initial_indent="   ", subsequent_indent="   "
                )
            )
        if item.also:
            lines.append("   Also reported by " + ", ".join(source for source, _url in item.also))
    return "\n".join(lines)
