"""News sources: canonical URLs, the seeds folder, and RSS/Atom feeds served on loopback."""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from bot.config import Feed
from bot.models import FeedState
from bot.sources.feeds import Backoff, FeedPoll, SourceError, is_due, poll_feed
from bot.sources.fetch import FetchLimits, new_client
from bot.sources.markup import html_paragraphs, is_teaser, plain_title
from bot.sources.pages import NotAPage, fetch_article
from bot.sources.seeds import load_seed_folder
from bot.sources.urls import article_id, canonical_url
from summarizer import Article
from tests.feedserver import FeedServer, Reply, Request

LIMITS = FetchLimits(allow_private=True, timeout=5.0)
NOW = datetime(2024, 11, 11, 12, 0, tzinfo=UTC)
REPO_SEEDS = Path(__file__).resolve().parent.parent / "seeds"
TAG = re.compile(r"<\s*/?\s*[A-Za-z!]")


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with new_client(LIMITS) as http:
        yield http


def rss(*items: str, title: str = "Loopback News", language: str = "en-gb") -> str:
    """An RSS 2.0 document with the given <item> bodies."""
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rss version="2.0"><channel>'
        f"<title>{title}</title><link>http://news.test/</link><language>{language}</language>"
        + "".join(f"<item>{item}</item>" for item in items)
        + "</channel></rss>"
    )


def rss_item(title: str, link: str, description: str = "", pub_date: str = "") -> str:
    parts = [f"<title>{title}</title>", f"<link>{link}</link>"]
    if description:
        parts.append(f"<description>{description}</description>")
    if pub_date:
        parts.append(f"<pubDate>{pub_date}</pubDate>")
    return "".join(parts)


LONG_BODY = " ".join(
    f"Sentence number {n} of the council report explains the budget in some detail."
    for n in range(1, 9)
)

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="de">
  <title type="html">Atom &amp;amp; Friends</title>
  <id>urn:test:atom</id>
  <updated>2024-11-11T10:00:00Z</updated>
  <entry>
    <title type="html">&lt;em&gt;Rathaus&lt;/em&gt; beschlie&#223;t Haushalt</title>
    <link rel="alternate" href="https://news.test/de/haushalt/?utm_campaign=rss"/>
    <id>urn:test:1</id>
    <updated>2024-11-11T10:00:00Z</updated>
    <summary>Kurz.</summary>
    <content type="html">&lt;p&gt;Der Rat hat entschieden.&lt;/p&gt;
      &lt;p&gt;Es gibt mehr Geld.&lt;/p&gt;</content>
  </entry>
</feed>"""


def fresh_state(server: FeedServer, path: str = "/feed") -> FeedState:
    return FeedState(url=server.url(path))


async def poll(
    server: FeedServer,
    client: httpx.AsyncClient,
    path: str = "/feed",
    *,
    state: FeedState | None = None,
    now: datetime = NOW,
    **spec: object,
) -> FeedPoll:
    """Poll the feed at ``path`` once, with a deadline so a hang fails instead of stalling."""
    options: dict[str, object] = {"name": "", "topics": (), "full_text": False, **spec}
    feed = Feed(url=server.url(path), **options)  # type: ignore[arg-type]  # test options
    async with asyncio.timeout(LIMITS.timeout * 10):
        return await poll_feed(feed, state or fresh_state(server, path), client, LIMITS, now)


# --- canonical URLs -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("HTTP://News.Example.COM/a", "http://news.example.com/a"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com/", "https://example.com/"),
        ("https://example.com/story/", "https://example.com/story"),
        ("https://example.com/story#comments", "https://example.com/story"),
        ("https://example.com/app#!/story/1", "https://example.com/app#!/story/1"),
        ("https://example.com/s?utm_source=rss&utm_medium=feed", "https://example.com/s"),
        ("https://example.com/s?UTM_Campaign=x&id=7", "https://example.com/s?id=7"),
        (
            "https://example.com/s?fbclid=1&gclid=2&mc_cid=3&mc_eid=4&igshid=5&b=2",
            "https://example.com/s?b=2",
        ),
        (
            "https://example.com/s?ref=tw&ref_src=twsrc&cmpid=rss&ocid=msn&page=2",
            "https://example.com/s?page=2",
        ),
        ("https://example.com/s?at_medium=rss&at_campaign=feed", "https://example.com/s"),
        ("https://example.com/s?b=2&a=1&c=3", "https://example.com/s?a=1&b=2&c=3"),
        ("https://example.com/s?tag=b&tag=a", "https://example.com/s?tag=b&tag=a"),
        ("https://example.com/s?q=caf%C3%A9+au+lait", "https://example.com/s?q=caf%C3%A9+au+lait"),
        ("https://example.com/s?flag&a=1", "https://example.com/s?a=1&flag"),
        ("https://EXAMPLE.com./s", "https://example.com/s"),
        ("http://[2001:DB8::1]:80/x/", "http://[2001:db8::1]/x"),
        ("  https://example.com/s  ", "https://example.com/s"),
        ("mailto:editor@example.com", "mailto:editor@example.com"),
        ("http://example.com:notaport/", "http://example.com:notaport/"),
    ],
)
def test_canonical_url(url: str, canonical: str) -> None:
    """Variants of the same article URL fold into one; meaningful parts stay."""
    assert canonical_url(url) == canonical


def test_canonical_url_is_idempotent() -> None:
    """Canonicalizing twice changes nothing."""
    once = canonical_url("HTTPS://Example.com:443/a/b/?z=1&utm_source=x&a=2#top")
    assert canonical_url(once) == once


def test_article_id_is_short_stable_and_distinct() -> None:
    """The same canonical URL always gets the same short id; different URLs differ."""
    first = article_id("https://example.com/a")
    assert first == article_id("https://example.com/a")
    assert re.fullmatch(r"[0-9a-f]{16}", first)
    assert first != article_id("https://example.com/b")


def test_tracking_variants_share_an_article_id() -> None:
    """The same story reached through a campaign link is the same article."""
    plain = article_id(canonical_url("https://example.com/story"))
    tracked = article_id(canonical_url("https://Example.com/story/?utm_source=tg#x"))
    assert plain == tracked


# --- HTML to plain text -------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "title"),
    [
        ("<script>alert(1)</script>Breaking &amp; news", "Breaking & news"),
        ("&lt;script&gt;alert(1)&lt;/script&gt;Escaped twice", "Escaped twice"),
        ("<b>Bold</b> <i>claims</i>", "Bold claims"),
        ('Pic <img src="x" onerror="alert(1)"> here', "Pic here"),
        ("5 < 6 & 7 > 3", "5 < 6 & 7 > 3"),
        ("AT&T &bogus; &amp &#x26; &#0;", "AT&T &bogus; & & \ufffd"),
        ("<!-- hidden -->Shown<style>p{color:red}</style>", "Shown"),
        ("Tabs\tand\nnew\x00lines\x07", "Tabs and new lines"),
        ("", ""),
    ],
)
def test_hostile_titles_become_plain_text(raw: str, title: str) -> None:
    """Markup, scripts, comments and entities in a title come out as one line of text."""
    assert plain_title(raw) == title


def test_long_titles_are_cut_at_a_word() -> None:
    """A title is at most 300 characters, cut between words with an ellipsis."""
    title = plain_title("word " * 200)
    assert len(title) <= 300
    assert title.endswith("word…")


def test_html_paragraphs_keep_text_and_drop_markup() -> None:
    """Block elements and <br> end paragraphs; inline markup and scripts disappear."""
    markup = (
        "<p>One &amp; two.</p><script>evil()</script><p>Three<br>four</p>"
        "<div>Five <span>six</span><ul><li>seven</li></ul>eight</div>"
    )
    assert html_paragraphs(markup) == ["One & two.", "Three", "four", "Five six", "seven", "eight"]


def test_html_paragraphs_accept_an_xml_declaration() -> None:
    """Regression: lxml refuses Unicode text that declares an encoding, which lost the
    whole body of entries starting with an XML declaration."""
    declared = '<?xml version="1.0" encoding="utf-8"?><p>Kept.</p><p>Also kept.</p>'
    assert html_paragraphs(declared) == ["Kept.", "Also kept."]


@pytest.mark.parametrize(
    ("text", "teaser"),
    [
        ("One short sentence.", True),
        ("One. Two. Three.", True),  # three sentences but far too short
        (LONG_BODY, False),
        ("x" * 800, True),  # long but a single "sentence"
    ],
)
def test_is_teaser(text: str, teaser: bool) -> None:
    """A body under 500 characters or under three sentences is a teaser."""
    assert is_teaser(Article(title="t", paragraphs=(text,))) is teaser


# --- polling feeds ------------------------------------------------------------------


async def test_rss_entries_become_clean_articles(
    server: FeedServer, client: httpx.AsyncClient
) -> None:
    """RSS items become articles: plain title and paragraphs, canonical absolute link,
    aware UTC date, the feed's title as source and its language."""
    body = rss(
        rss_item(
            "&lt;b&gt;Council&lt;/b&gt; passes budget &amp;amp; more",
            "/local/budget/?utm_source=rss&amp;id=4",
            "&lt;p&gt;First paragraph.&lt;/p&gt;&lt;script&gt;x()&lt;/script&gt;"
            "&lt;p&gt;Second &amp;amp; last.&lt;/p&gt;",
            "Mon, 11 Nov 2024 12:13:00 +0100",
        )
    )
    server.serve("/feed", body, headers={"Content-Type": "application/rss+xml"})
    result = await poll(server, client)
    assert result.error is None
    [article] = result.entries
    assert article.title == "Council passes budget & more"
    assert article.url == server.url("/local/budget?id=4")
    assert article.paragraphs == ("First paragraph.", "Second & last.")
    assert article.published == datetime(2024, 11, 11, 11, 13, tzinfo=UTC)
    assert article.source == "Loopback News"
    assert article.language == "en-gb"


async def test_atom_entries_and_configured_name_and_language(
    server: FeedServer, client: httpx.AsyncClient
) -> None:
    """Atom entries work too; the configured name and language win over the feed's."""
    server.serve("/atom", ATOM, headers={"Content-Type": "application/atom+xml"})
    result = await poll(server, client, "/atom", name="Stadtblatt", language="de-at")
    [article] = result.entries
    assert article.title == "Rathaus beschließt Haushalt"
    assert article.url == "https://news.test/de/haushalt"
    assert article.paragraphs == ("Der Rat hat entschieden.", "Es gibt mehr Geld.")
    assert article.published == datetime(2024, 11, 11, 10, 0, tzinfo=UTC)
    assert (article.source, article.language) == ("Stadtblatt", "de-at")


async def test_plain_text_content_keeps_its_paragraphs(
    server: FeedServer, client: httpx.AsyncClient
) -> None:
    """Atom text content marks paragraphs with blank lines; they stay apart, and stray
    markup in it is still removed."""
    atom = ATOM.replace(
        """<content type="html">&lt;p&gt;Der Rat hat entschieden.&lt;/p&gt;
      &lt;p&gt;Es gibt mehr Geld.&lt;/p&gt;</content>""",
        """<content type="text">Der Rat hat
entschieden.

Es gibt &lt;b&gt;mehr&lt;/b&gt; Geld &amp; Streit.</content>""",
    )
    assert atom != ATOM
    server.serve("/atom", atom)
    [article] = (await poll(server, client, "/atom")).entries
    assert article.paragraphs == ("Der Rat hat entschieden.", "Es gibt mehr Geld & Streit.")


async def test_feed_title_is_plain_text_when_used_as_source(
    server: FeedServer, client: httpx.AsyncClient
) -> None:
    """With no configured name the feed's own title names the source, as plain text."""
    server.serve("/atom", ATOM)
    [article] = (await poll(server, client, "/atom")).entries
    assert article.source == "Atom & Friends"
    assert article.language == "de"


async def test_hostile_entries_yield_no_markup(
    server: FeedServer, client: httpx.AsyncClient
) -> None:
    """Titles and bodies full of tags, scripts and broken entities reach the article as
    plain text; entries without a usable link are dropped."""
    body = rss(
        rss_item(
            "<![CDATA[<script>steal()</script><img src=x onerror=alert(1)>Evil &amp title]]>",
            "http://news.test/evil",
            "<![CDATA[<p onclick='x()'>Body <iframe src='http://evil/'></iframe>text &bogus;</p>"
            "<style>*{}</style><p>&lt;script&gt;alert(2)&lt;/script&gt;</p>]]>",
        ),
        rss_item("No link at all", ""),
        rss_item("Script link", "javascript:alert(1)"),
    )
    server.serve("/feed", body)
    result = await poll(server, client)
    [article] = result.entries
    assert article.title == "Evil & title"
    for text in (article.title, *article.paragraphs):
        assert not TAG.search(text.replace("<script>alert(2)</script>", ""))
    assert article.paragraphs[0].startswith("Body text &bogus")


async def test_entries_are_limited_to_the_newest(
    server: FeedServer, client: httpx.AsyncClient
) -> None:
    """A long feed yields only the 30 newest entries, newest first, duplicates once."""
    items = [
        rss_item(f"Story {n}", f"http://news.test/{n}", pub_date=f"{n:02d} Nov 2024 08:00:00 GMT")
        for n in range(1, 31)
    ]
    items += [
        rss_item(f"Old {n}", f"http://news.test/old/{n}", pub_date="01 Jan 2020 08:00:00 GMT")
        for n in range(10)
    ]
    duplicate = rss_item("Story 30 again", "http://news.test/30?utm_source=x")
    server.serve("/feed", rss(*reversed(items), duplicate))
    result = await poll(server, client)
    titles = [a.title for a in result.entries]
    assert titles == [f"Story {n}" for n in range(30, 0, -1)]


async def test_conditional_get_second_poll_is_not_modified(
    server: FeedServer, client: httpx.AsyncClient
) -> None:
    """The first poll stores ETag and Last-Modified; the second sends them, gets 304,
    returns no entries and keeps the validators."""
    validators = {"ETag": '"abc"', "Last-Modified": "Mon, 11 Nov 2024 11:00:00 GMT"}
    body = rss(rss_item("Only story", "http://news.test/only"))

    def conditional(request: Request) -> Reply:
        if request.headers.get("if-none-match") == '"abc"':
            return Reply(status=304, headers=validators)
        return Reply(body=body.encode(), headers=validators)

    server.route("/feed", conditional)
    first = await poll(server, client)
    assert len(first.entries) == 1
    assert (first.state.etag, first.state.last_modified) == ('"abc"', validators["Last-Modified"])
    later = NOW + timedelta(hours=1)
    second = await poll(server, client, state=first.state, now=later)
    assert second.not_modified
    assert second.entries == []
    assert second.error is None
    assert second.state.etag == '"abc"'
    assert second.state.last_success == later
    seen = server.last("/feed").headers
    assert seen["if-none-match"] == '"abc"'
    assert seen["if-modified-since"] == validators["Last-Modified"]


@pytest.mark.parametrize(
    ("failures", "delay"),
    [
        (1, timedelta(minutes=5)),
        (2, timedelta(minutes=10)),
        (3, timedelta(minutes=20)),
        (7, timedelta(minutes=320)),
        (8, timedelta(hours=6)),
        (10_000, timedelta(hours=6)),
    ],
)
def test_backoff_doubles_up_to_the_cap(failures: int, delay: timedelta) -> None:
    """Each consecutive failure doubles the wait from 5 minutes, capped at 6 hours."""
    assert Backoff().delay(failures) == delay


async def test_failing_feed_backs_off_and_recovers(
    server: FeedServer, client: httpx.AsyncClient
) -> None:
    """Failures are counted and push next_attempt out exponentially; the first success
    clears the count, the error and the wait."""
    server.serve("/feed", b"down", status=503)
    state = fresh_state(server)
    waits = []
    for _ in range(3):
        result = await poll(server, client, state=state)
        state = result.state
        assert result.entries == []
        assert result.error is not None
        assert state.next_attempt is not None
        waits.append(state.next_attempt - NOW)
    assert waits == [timedelta(minutes=5), timedelta(minutes=10), timedelta(minutes=20)]
    assert (state.failures, state.last_error_kind) == (3, "http_status")
    assert "503" in (state.last_error or "")
    assert not is_due(state, NOW)
    assert is_due(state, NOW + timedelta(minutes=20))

    server.serve("/feed", rss(rss_item("Back", "http://news.test/back")))
    recovered = await poll(server, client, state=state)
    assert [a.title for a in recovered.entries] == ["Back"]
    assert recovered.state.failures == 0
    assert recovered.state.last_error is None
    assert recovered.state.last_error_kind is None
    assert recovered.state.next_attempt is None
    assert recovered.state.last_success == NOW


@pytest.mark.parametrize(
    ("reply", "kind", "message"),
    [
        (
            Reply(body=b'<?xml version="1.0"?><rss><channel><title>x</chan', status=200),
            "parse",
            "not an RSS/Atom feed",
        ),
        (
            Reply(
                body=b"<!doctype html><html><body><p>Welcome to our site</p></body></html>",
                headers={"Content-Type": "text/html; charset=utf-8"},
            ),
            "parse",
            "not an RSS/Atom feed (the server sent text/html)",
        ),
        (Reply(body=b"", headers={"Content-Type": "application/rss+xml"}), "parse", "not an"),
        (Reply(status=404, body=b"gone"), "http_status", "404"),
        (Reply(status=500, body=b"oops"), "http_status", "500"),
    ],
    ids=["malformed-xml", "html", "empty", "404", "500"],
)
async def test_broken_feeds_are_recorded_failures(
    server: FeedServer, client: httpx.AsyncClient, reply: Reply, kind: str, message: str
) -> None:
    """Malformed XML, an HTML page, an empty body or an error status is a recorded
    failure with a readable message, never an exception."""
    server.route("/feed", reply)
    result = await poll(server, client)
    assert result.entries == []
    assert result.error is not None
    assert message in result.error
    assert (result.state.failures, result.state.last_error_kind) == (1, kind)
    assert result.state.last_error == result.error


async def test_entries_left_out_and_xml_read_past_a_fault_are_reported(
    server: FeedServer, client: httpx.AsyncClient
) -> None:
    """An operator saw "No links: 1 new" for a feed of four entries, and a feed of broken
    XML read quietly: entries without a link, or without title and text, are counted as
    left out, and XML read up to a fault is a problem to report (not a failure)."""
    good = rss_item("Council passes budget", server.url("/a"), "The council voted.")
    server.serve(
        "/feed",
        rss(
            good,
            "<title>No link at all</title><description>Text.</description>",
            f"<link>{server.url('/b')}</link>",  # neither title nor text
            "<title>A mail link</title><link>mailto:desk@news.test</link>",
            good,  # the same entry twice is one article, not an unusable one
        ),
    )
    result = await poll(server, client)
    assert [a.title for a in result.entries] == ["Council passes budget"]
    assert (result.unusable, result.problem, result.error) == (3, None, None)
    server.serve("/broken", rss(good)[: -len("</channel></rss>")] + "<item><title>Cut &")
    broken = await poll(server, client, "/broken", state=fresh_state(server, "/broken"))
    assert [a.title for a in broken.entries] == ["Council passes budget"]
    assert broken.error is None
    assert broken.problem is not None
    assert broken.problem.startswith("malformed XML, read up to the fault")


async def test_valid_empty_feed_is_a_success(server: FeedServer, client: httpx.AsyncClient) -> None:
    """A well-formed feed with no items is quiet, not broken."""
    server.serve("/feed", rss())
    result = await poll(server, client)
    assert (result.entries, result.error, result.state.failures) == ([], None, 0)


async def test_feed_body_naming_a_local_file_is_not_read(
    server: FeedServer, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    """Regression: feedparser treats a bytes argument as a possible file name, so a server
    answering with the path of a local feed file made the bot parse that file."""
    local = tmp_path / "private.xml"
    local.write_text(rss(rss_item("Local secret", "http://news.test/secret")))
    server.serve("/feed", str(local).encode())
    result = await poll(server, client)
    assert result.entries == []
    assert result.error is not None
    assert "not an RSS/Atom feed" in result.error


async def test_one_failing_feed_does_not_stop_the_others(
    server: FeedServer, client: httpx.AsyncClient
) -> None:
    """Feeds polled together each get their own outcome: the good one its entries, the
    broken ones their recorded failures."""
    server.serve("/good", rss(rss_item("Fine", "http://news.test/fine")))
    server.serve("/down", b"", status=500)
    server.serve("/junk", b"\x00\x01\x02 not a feed")
    server.route("/slow", Reply(delay=60.0))
    slow_limits = FetchLimits(allow_private=True, timeout=0.5)
    paths = ["/good", "/down", "/junk", "/slow"]
    polls = [
        poll_feed(
            Feed(server.url(path), "", (), full_text=False),
            fresh_state(server, path),
            client,
            slow_limits if path == "/slow" else LIMITS,
            NOW,
        )
        for path in paths
    ]
    async with asyncio.timeout(LIMITS.timeout * 10):
        good, down, junk, slow = await asyncio.gather(*polls)
    assert [a.title for a in good.entries] == ["Fine"]
    assert good.error is None
    assert (down.state.last_error_kind, junk.state.last_error_kind) == ("http_status", "parse")
    assert slow.state.last_error_kind == "timeout"
    assert all(p.state.failures == 1 for p in (down, junk, slow))


async def test_poll_feed_needs_an_aware_now(client: httpx.AsyncClient) -> None:
    """Naive times are refused: backoff is scheduled in aware UTC."""
    naive = datetime(2024, 1, 1)  # the point of the test
    with pytest.raises(ValueError, match="aware"):
        await poll_feed(
            Feed("http://127.0.0.1:9/", "", (), full_text=False),
            FeedState(url="http://127.0.0.1:9/"),
            client,
            LIMITS,
            naive,
        )


# --- full text ----------------------------------------------------------------------

ARTICLE_PAGE = """<!doctype html>
<html lang="en"><head><title>Council passes budget | Loopback News</title></head>
<body><nav>Home | World | Local</nav>
<article><h1>Council passes budget</h1>
<p>The city council passed the annual budget on Monday after a long debate.</p>
<p>The budget raises spending on schools by four percent and on roads by two.</p>
<p>Opposition members said the plan relies on optimistic tax forecasts.</p>
<p>The mayor called the vote a win for residents and promised quick action.</p>
<p>A final reading is planned for next month, when amendments can still be made.</p>
</article><footer>Copyright Loopback News</footer></body></html>"""


async def test_teaser_is_replaced_by_the_page_text(
    server: FeedServer, client: httpx.AsyncClient
) -> None:
    """With full_text on, a one-line teaser is replaced by the linked page's main text;
    the feed's title, link and date stay."""
    server.serve("/article", ARTICLE_PAGE, headers={"Content-Type": "text/html; charset=utf-8"})
    body = rss(
        rss_item(
            "Council passes budget",
            server.url("/article?utm_medium=rss"),
            "The council voted.",
            "Mon, 11 Nov 2024 09:00:00 GMT",
        )
    )
    server.serve("/feed", body)
    [article] = (await poll(server, client, full_text=True)).entries
    assert article.title == "Council passes budget"
    assert article.url == server.url("/article")
    assert len(article.paragraphs) >= 4
    assert "schools by four percent" in article.text
    assert "Copyright" not in article.text
    assert article.published == datetime(2024, 11, 11, 9, 0, tzinfo=UTC)
    assert article.extra["full_text"] == "page"
    assert server.hits("/article") == 1


async def test_an_entry_without_a_title_takes_its_pages_title(
    server: FeedServer, client: httpx.AsyncClient
) -> None:
    """An entry with no title of its own stood under the first words of its teaser even
    once its page was read: the page's headline replaces them. Without the page (full
    text off) the teaser's first words still stand in, rather than no headline."""
    server.serve("/article", ARTICLE_PAGE, headers={"Content-Type": "text/html; charset=utf-8"})
    item = f"<link>{server.url('/article')}</link><description>The council voted.</description>"
    server.serve("/feed", rss(item))
    [article] = (await poll(server, client, full_text=True)).entries
    assert article.title == "Council passes budget"
    assert "schools by four percent" in article.text
    [teaser] = (await poll(server, client)).entries
    assert teaser.title == "The council voted."


async def test_full_text_is_off_unless_asked(server: FeedServer, client: httpx.AsyncClient) -> None:
    """Without full_text the teaser is kept and the page is never requested."""
    server.serve("/article", ARTICLE_PAGE)
    server.serve("/feed", rss(rss_item("Budget", server.url("/article"), "The council voted.")))
    [article] = (await poll(server, client)).entries
    assert article.paragraphs == ("The council voted.",)
    assert server.hits("/article") == 0


async def test_full_entries_are_not_refetched(
    server: FeedServer, client: httpx.AsyncClient
) -> None:
    """An entry whose feed body is already the article is not fetched again."""
    server.serve("/article", ARTICLE_PAGE)
    server.serve("/feed", rss(rss_item("Budget", server.url("/article"), LONG_BODY)))
    [article] = (await poll(server, client, full_text=True)).entries
    assert article.text == LONG_BODY
    assert server.hits("/article") == 0


@pytest.mark.parametrize(
    "page",
    [
        Reply(status=404, body=b"missing"),
        Reply(body=b"%PDF-1.7 binary", headers={"Content-Type": "application/pdf"}),
        Reply(body=b"<html><body></body></html>", headers={"Content-Type": "text/html"}),
    ],
    ids=["404", "pdf", "empty-page"],
)
async def test_failed_full_text_keeps_the_teaser(
    server: FeedServer, client: httpx.AsyncClient, page: Reply
) -> None:
    """If the page cannot be fetched or read, the teaser is kept, the reason is noted on
    the article and the feed poll still succeeds."""
    server.route("/article", page)
    server.serve("/feed", rss(rss_item("Budget", server.url("/article"), "The council voted.")))
    result = await poll(server, client, full_text=True)
    [article] = result.entries
    assert article.paragraphs == ("The council voted.",)
    assert article.extra["full_text_error"]
    assert (result.error, result.state.failures) == (None, 0)


async def test_page_fetches_per_feed_are_limited(
    server: FeedServer, client: httpx.AsyncClient
) -> None:
    """At most four article pages of one feed are fetched at the same time."""
    items = []
    for n in range(10):
        server.route(f"/page{n}", Reply(body=ARTICLE_PAGE.encode(), delay=0.1))
        items.append(rss_item(f"Story {n}", server.url(f"/page{n}"), "Teaser."))
    server.serve("/feed", rss(*items))
    result = await poll(server, client, full_text=True)
    assert len(result.entries) == 10
    assert all(a.extra.get("full_text") == "page" for a in result.entries)
    assert server.max_in_flight <= 4


# --- the seeds folder ---------------------------------------------------------------


def test_seed_folder_loads_articles_and_reports_bad_files(tmp_path: Path) -> None:
    """Good files load in name order; empty and binary files are reported, not fatal;
    other file types and hidden files are ignored."""
    for seed in sorted(REPO_SEEDS.glob("*.txt")):
        shutil.copy(seed, tmp_path / seed.name)
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02" * 100)
    (tmp_path / "picture.png").write_bytes(b"\x89PNG")
    (tmp_path / ".hidden.txt").write_text("x")
    (tmp_path / "page.html").write_text(ARTICLE_PAGE)
    problems: list[tuple[str, str]] = []
    loaded = load_seed_folder(tmp_path, on_error=lambda p, msg: problems.append((p.name, msg)))
    names = [path.name for path, _ in loaded]
    assert names == sorted(names)
    assert "page.html" in names
    assert len(loaded) == len(list(REPO_SEEDS.glob("*.txt"))) + 1
    assert sorted(name for name, _ in problems) == ["binary.txt", "empty.txt"]
    assert all(message for _, message in problems)
    assert all(article.paragraphs for _, article in loaded)


def test_bundled_seeds_load() -> None:
    """The repository's own seeds/ folder parses without problems."""
    problems: list[Path] = []
    loaded = load_seed_folder(REPO_SEEDS, on_error=lambda path, _: problems.append(path))
    assert loaded
    assert problems == []
    assert all(article.title and article.published for _, article in loaded)


def test_missing_seed_folder_is_an_error(tmp_path: Path) -> None:
    """A seeds path that does not exist is a clear error, not an empty source."""
    with pytest.raises(SourceError, match="does not exist"):
        load_seed_folder(tmp_path / "nope")


async def test_a_link_to_another_kind_of_file_is_refused_in_words(
    server: FeedServer, client: httpx.AsyncClient
) -> None:
    """A PDF is named by its type, in a sentence that reads whatever the type ('the link
    is a application/pdf file' it said)."""
    url = server.route(
        "/paper", Reply(body=b"%PDF-1.7", headers={"Content-Type": "application/pdf"})
    )
    with pytest.raises(NotAPage) as refused:
        await fetch_article(url, LIMITS, client)
    assert str(refused.value) == (
        "the link leads to a file of type application/pdf, not to a web page"
    )


@pytest.mark.parametrize(("user_feed", "level"), [(False, "WARNING"), (True, "INFO")])
async def test_a_failing_feed_is_a_warning_when_it_is_the_operators(
    server: FeedServer,
    client: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
    user_feed: bool,
    level: str,
) -> None:
    """Found by a stranger: a configured feed's 404 was logged at INFO, which the README's
    `journalctl -p warning` hides; a chat's own feed stays at INFO (its /feeds says it)."""
    server.route("/gone.xml", Reply(status=404, body=b"gone"))
    with caplog.at_level(logging.INFO, logger="bot.sources.feeds"):
        result = await poll(server, client, "/gone.xml", user_feed=user_feed)
    assert result.error
    [record] = [r for r in caplog.records if "failed (http_status)" in r.getMessage()]
    assert record.levelname == level
