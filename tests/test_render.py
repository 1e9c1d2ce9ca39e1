"""Rendering digests as Telegram HTML and as terminal text."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest

from bot.digest.model import Digest, DigestItem
from bot.digest.render import (
    ALLOWED_TAGS,
    MAX_MESSAGE,
    ItemCache,
    html_to_plain,
    item_cache,
    pack,
    render_digest_html,
    render_digest_text,
    split_messages,
    utf16_len,
)

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def item(
    n: int,
    title: str = "Title",
    summary: str = "A summary sentence.",
    url: str = "",
    source: str = "Outlet",
) -> DigestItem:
    return DigestItem(
        article_id=f"a{n}",
        title=title,
        url=url or f"https://news.example/{n}",
        source=source,
        when=NOW - timedelta(hours=n),
        summary=(summary,),
    )


class _Checker(HTMLParser):
    """Validates Telegram HTML: allowed tags only, properly nested and closed."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag in ALLOWED_TAGS, tag
        if tag == "a":
            assert [name for name, _ in attrs] == ["href"]
            href = attrs[0][1] or ""
            assert href.startswith(("http://", "https://"))
        else:
            assert not attrs
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack, tag
        assert self.stack[-1] == tag, (self.stack, tag)
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def assert_valid_telegram_html(message: str) -> str:
    """Raise unless the message is valid Telegram HTML; return its visible text."""
    assert utf16_len(message) <= MAX_MESSAGE
    # Bare "&" or "<" would be rejected by Telegram: every & starts a known entity.
    assert not re.search(r"&(?!(?:amp|lt|gt|quot|#x27|#39);)", message), message
    checker = _Checker()
    checker.feed(message)
    checker.close()
    assert checker.stack == []
    return "".join(checker.text)


def test_hostile_titles_are_escaped() -> None:
    """Markup and broken entities in feed text arrive as literal text, never as tags."""
    hostile = item(
        1,
        title='<script>alert(1)</script> & "Tom & Jerry" &amp broken &#',
        summary="1 < 2 && 3 > 2 <b>not bold</b>",
        source="<i>Evil</i> & Co",
    )
    digest = Digest(chat_id=1, items=(hostile,), created=NOW)
    [message] = render_digest_html(digest, now=NOW)
    text = assert_valid_telegram_html(message)
    assert '<script>alert(1)</script> & "Tom & Jerry" &amp broken &#' in text
    assert "1 < 2 && 3 > 2 <b>not bold</b>" in text
    assert "<i>Evil</i> & Co" in text


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "ftp://x.example/a", 'https://x.example/"><b>', "data:text/html,hi"],
)
def test_only_http_links(url: str) -> None:
    """Non-http(s) or malformed URLs are not linked; the title is still shown."""
    [message] = render_digest_html(Digest(1, (item(1, url=url),)), now=NOW)
    assert_valid_telegram_html(message)
    assert "href" not in message


def test_long_digest_is_split_between_items() -> None:
    """A digest over 4096 characters becomes several messages, each within the limit,
    each item whole, in order."""
    items = tuple(item(n, title=f"Story number {n}", summary="Word " * 110) for n in range(30))
    messages = render_digest_html(Digest(1, items), now=NOW)
    assert len(messages) > 1
    joined = "\n\n".join(messages)
    for n in range(30):
        assert joined.count(f"Story number {n}<") == 1
    order = [int(m) for m in re.findall(r"Story number (\d+)<", joined)]
    assert order == list(range(30))
    for message in messages:
        assert_valid_telegram_html(message)


def test_limit_counts_utf16_units() -> None:
    """Emoji count double, as Telegram counts them."""
    parts = ["😀" * 1500, "😀" * 1500]
    messages = split_messages("", parts)
    assert len(messages) == 2
    assert all(utf16_len(m) <= MAX_MESSAGE for m in messages)


def test_a_single_oversized_part_is_cut_not_dropped() -> None:
    """Even one part over the limit is delivered, cut to fit."""
    [message] = split_messages("", ["<b>x</b> " + "a" * 9000])
    assert utf16_len(message) <= MAX_MESSAGE
    assert message.endswith("…")


def test_empty_digest_is_one_line() -> None:
    """Nothing new is said in one line; a first digest says the hours it looked back (it
    said "since your last digest" to readers who had none), and not "in your topics"
    (a reader's words and own feeds count too)."""
    since = "Nothing new since your last digest."
    assert render_digest_html(Digest(1, ()), now=NOW) == [since]
    assert render_digest_text(Digest(1, ()), now=NOW) == since
    first = Digest(1, (), first_hours=24)
    assert render_digest_html(first, now=NOW) == ["Nothing new in the last 24 hours."]
    assert render_digest_text(Digest(1, (), first_hours=1)) == "Nothing new in the last 1 hour."
    assert render_digest_html(first._replace(language="de"), now=NOW) != [
        "Nothing new in the last 24 hours."
    ]


def test_times_are_local_to_the_reader() -> None:
    """Item times are shown in the subscriber's time zone."""
    digest = Digest(1, (item(0),), timezone="Asia/Tokyo")
    [message] = render_digest_html(digest, now=NOW)
    assert "· 18:00</i>" in message  # 09:00 UTC is 18:00 in Tokyo


def test_other_outlets_are_named() -> None:
    """A story reported by several outlets names the others, linked."""
    story = DigestItem(
        "a",
        "Rates cut",
        "https://a.example/1",
        "Ledger",
        NOW,
        ("Cut.",),
        also=(("Herald", "https://h.example/2"), ("Wire", "https://w.example/3")),
    )
    [message] = render_digest_html(Digest(1, (story,)), now=NOW)
    assert_valid_telegram_html(message)
    assert 'Also reported by <a href="https://h.example/2">Herald</a>' in message
    text = render_digest_text(Digest(1, (story,)), now=NOW)
    assert "Also reported by Herald, Wire" in text
    assert text.splitlines()[0].endswith(" · 1 story")  # it said '1 stories'
    two = render_digest_text(Digest(1, (story, item(1))), now=NOW)
    assert two.splitlines()[0].endswith(" · 2 stories")
    # The day as the bot writes it (it read "Wednesday, November 25" here, and "December
    # 01" on the first of a month).
    assert two.splitlines()[0] == "Your news digest · Wednesday, November 25, 2026 · 2 stories"
    assert "Wednesday, November 25, 2026" in render_digest_html(Digest(1, (story,)), now=NOW)[0]


def test_plain_fallback_strips_tags_and_unescapes() -> None:
    """The fallback for a rejected message reads as the same text without markup."""
    assert html_to_plain("<b>A &amp; B</b> &lt;3") == "A & B <3"


def test_the_one_splitter_counts_utf16_units_and_keeps_lines_whole() -> None:
    """Regression (issue 11: /sources had a splitter of its own that counted len()): lines
    of emoji, two UTF-16 units each, are packed by Telegram's measure, whole, in order."""
    lines = [f"{n:02d} " + "😀" * 300 for n in range(20)]
    messages = split_messages("<b>Sources</b>", lines, separator="\n")
    assert len(messages) > 1
    assert all(utf16_len(m) <= MAX_MESSAGE for m in messages)
    assert "\n".join(messages) == "\n".join(["<b>Sources</b>", *lines])


@pytest.mark.parametrize(
    "parts",
    [
        ["short", "😀" * 1500, "x" * 2000, "y" * 2100],
        ["a" * 4094, "b" * 4093, "c"],  # each fits alone only without its label
        ["<b>x</b> " + "z" * 9000, "after"],  # over the limit even alone: cut
        [],
    ],
)
def test_labels_pack_as_parts_with_the_label_in_front(parts: list[str]) -> None:
    """``pack`` with labels ("1. ") gives the messages of packing each part with its
    label put in front: the same cuts, the same texts, the same parts per message."""
    labels = [f"{n}. " for n in range(1, len(parts) + 1)]
    for header in ("", "<b>📰 Header</b>"):
        labelled = pack(header, parts, labels=labels)
        assert labelled == pack(header, [a + b for a, b in zip(labels, parts, strict=True)])
        assert all(utf16_len(text) <= MAX_MESSAGE for text, _group in labelled)


def test_a_shared_cache_renders_the_same_messages() -> None:
    """A batch's shared item cache (which keeps each item's measured length) packs as a
    render without it does: emoji counted twice, an item over the limit cut to fit."""
    items = (
        item(1, title="😀 wide", summary="😀" * 1500),
        item(2, summary="Word " * 1000),
        item(3, summary="An ordinary sentence."),
    )
    digest = Digest(1, items, timezone="Asia/Tokyo", created=NOW)
    alone = render_digest_html(digest, now=NOW)
    cache: ItemCache = item_cache()
    first = render_digest_html(digest, now=NOW, cache=cache)
    again = render_digest_html(digest, now=NOW, cache=cache)
    assert first == again == alone
    assert len(alone) == 3
    assert all(utf16_len(m) <= MAX_MESSAGE for m in alone)


def test_a_cache_kept_past_midnight_shows_the_new_day() -> None:
    """An item renders "09:00" on its own day and with its date the day after; a cache kept
    across the reader's midnight (the dispatcher keeps one for minutes) gives each day's
    form, never yesterday's."""
    digest = Digest(1, (item(1),), timezone="UTC", created=NOW)
    cache: ItemCache = item_cache()
    evening = render_digest_html(digest, now=NOW.replace(hour=23, minute=59), cache=cache)
    after = render_digest_html(digest, now=NOW + timedelta(hours=15, minutes=1), cache=cache)
    assert after == render_digest_html(digest, now=NOW + timedelta(hours=15, minutes=1))
    assert after != evening
