"""Article parsers: seed text, plain text and HTML."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.paths import SEED_ARTICLE
from summarizer import SummarizerError, parse_file, parse_html, parse_plain, parse_text
from summarizer.parsers.auto import decode
from summarizer.parsers.lines import is_heading


def test_seed_article_metadata_and_headings() -> None:
    """The seed's title, date and headings are read; none of them is a body paragraph."""
    article = parse_file(SEED_ARTICLE)
    assert article.title.startswith("Netanyahu and Trump Strengthen Alliance")
    assert article.published == datetime(2024, 11, 11, 12, 13, tzinfo=UTC)
    assert "Strengthening the U.S.-Israel Alliance" in article.headings
    assert "Divisions and Challenges" in article.headings
    body = article.text
    for metadata in ("November 11, 2024", "12:13 PM", "Reading time", *article.headings):
        assert metadata not in body
    assert article.paragraphs[0].startswith("Israeli Prime Minister")


def test_seed_header_lines_and_timezone() -> None:
    """Optional Source/URL/Language/Timezone headers become metadata, not text."""
    text = (
        "Storm Closes Ports\nNovember 24, 2026\n9:40 PM\nReading time: 2 minutes\n"
        "Source: Harbour Times\nURL: https://harbour.example/storm\nLanguage: en\n"
        "Timezone: Europe/Paris\nA storm closed three ports on Monday. Ships waited offshore.\n"
    )
    article = parse_text(text)
    assert article.source == "Harbour Times"
    assert article.url == "https://harbour.example/storm"
    assert article.language == "en"
    assert article.published is not None
    assert article.published.utcoffset() is not None
    assert article.published.astimezone(UTC) == datetime(2026, 11, 24, 20, 40, tzinfo=UTC)
    assert article.paragraphs == ("A storm closed three ports on Monday. Ships waited offshore.",)


@pytest.mark.parametrize(
    ("line", "heading"),
    [
        ("Strengthening the U.S.-Israel Alliance", True),
        ("U.S. Efforts on Ceasefire", True),
        ("The relationship has had its ups and downs.", False),
        ('He called it "a disgrace"', False),
        ("lowercase start without punctuation", False),
        (
            "A very long line without any final punctuation that goes on and on and on well "
            "past any reasonable heading length",
            False,
        ),
    ],
)
def test_heading_rule(line: str, heading: bool) -> None:
    """Short capitalized lines without final punctuation are headings."""
    assert is_heading(line) is heading


def test_plain_text_title_and_paragraphs() -> None:
    """Pasted text: a short first line is the title, blank lines separate paragraphs."""
    article = parse_plain(
        "Rates Held Steady\n\nThe bank held rates.\nIt cited inflation.\n\nMarkets rose."
    )
    assert article.title == "Rates Held Steady"
    assert article.paragraphs == ("The bank held rates. It cited inflation.", "Markets rose.")


def test_pasted_text_loses_its_dateline_and_byline_as_a_page_does() -> None:
    """Found by a stranger: text copied from a news page kept "LONDON (Reuters) - " in
    its summary, which a page's text never did."""
    article = parse_plain(
        "Harbour Council Votes\n\nBy Jane Smith and Tom Brown\n\nUpdated 3 hours ago\n\n"
        "LONDON (Reuters) - The harbour council voted on Monday to rebuild the old pier.\n\n"
        "Work is due to start in the spring (CNN) - or so the engineers said.\n\n"
        "Photo: Jane Smith"
    )
    assert article.title == "Harbour Council Votes"
    assert article.paragraphs == (
        "The harbour council voted on Monday to rebuild the old pier.",
        "Work is due to start in the spring (CNN) - or so the engineers said.",
    )


def test_pasted_text_takes_its_title_below_the_furniture_above_it() -> None:
    """Found by a reader: the title of pasted text was its byline, a date alone, "FOR
    IMMEDIATE RELEASE" or "Share this article"."""
    article = parse_plain(
        "FOR IMMEDIATE RELEASE\n\nAcme Launches HelperBot 3\n\n"
        "SAN JOSE, Calif., March 4, 2025 /PRNewswire/ -- Acme Robotics today announced "
        "HelperBot 3, a home robot. It ships in May."
    )
    assert article.title == "Acme Launches HelperBot 3"
    assert article.paragraphs == (
        "Acme Robotics today announced HelperBot 3, a home robot. It ships in May.",
    )
    article = parse_plain(
        "We use cookies to improve your experience.\nHome > News > World\n"
        "Share this article\nFacebook Twitter WhatsApp Email\n"
        "Volcano erupts in Iceland\nBy Sarah Jones\n"
        "A volcano erupted early on Sunday, sending lava towards the town.\n"
    )
    assert article.title == "Volcano erupts in Iceland"
    assert article.paragraphs == (
        "A volcano erupted early on Sunday, sending lava towards the town.",
    )
    byline_first = parse_plain(
        "By Maria Lopez\n\nThe Senate passed the bill. It goes to the House."
    )
    assert byline_first.title == ""


def test_pasted_text_of_furniture_alone_is_kept_as_given() -> None:
    """Nothing is taken away when nothing else would be left."""
    assert parse_plain("By Jane Smith").paragraphs == ("By Jane Smith",)


def test_html_page_extraction() -> None:
    """An HTML page yields its main text, title, date, site and language; no markup."""
    html = """<!doctype html><html lang="de"><head><title>Gro&szlig;e Nachrichten</title>
    <meta property="og:site_name" content="Beispiel Zeitung">
    <meta property="article:published_time" content="2026-11-20T10:30:00+01:00"></head>
    <body><nav>Start | Welt</nav><article><h1>Große Nachrichten</h1>
    <p>Die Regierung hat am Montag ein neues Gesetz beschlossen. Es tritt im Januar in Kraft
    und betrifft viele Menschen im ganzen Land.</p><h2>Reaktionen</h2>
    <p>Die Opposition kritisierte den Plan scharf. Sie will vor Gericht ziehen, sagte ein
    Sprecher am Dienstag in Berlin.</p></article><footer>Impressum</footer></body></html>"""
    article = parse_html(html, url="https://zeitung.example/a")
    assert article.title == "Große Nachrichten"
    assert article.language == "de"
    assert article.source == "Beispiel Zeitung"
    assert article.published == datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    assert "Reaktionen" in article.headings
    assert all("<" not in p for p in article.paragraphs)
    assert not any("Impressum" in p for p in article.paragraphs)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"   \n\n  ", "empty"),
        (b"\x7fELF\x02\x01\x01\x00\x00\x00\x00", "binary"),
        (bytes(range(256)) * 40, "binary"),
    ],
)
def test_bad_bytes_are_refused_clearly(data: bytes, message: str) -> None:
    """Empty input and binary files get a plain-words error, not a traceback."""
    with pytest.raises(SummarizerError, match=message):
        decode(data)


def test_empty_html_page() -> None:
    """A page without article text is a clear error."""
    with pytest.raises(SummarizerError, match="no article text"):
        parse_html("<html><body><nav>menu</nav></body></html>")
