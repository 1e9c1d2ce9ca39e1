"""Hostile news sources, served from loopback, in one ingest run next to good feeds.

What a feed can do to the bot: send broken XML or a web page, answer 404/500, never finish,
send too much, send a small gzip stream that expands enormously, redirect in circles or to
the cloud metadata service, and fill titles and summaries with markup and broken entities.
The promise: nothing crashes, the good feeds' articles all arrive, each failure is recorded
against its own feed and shown to an admin, and the hostile text reaches readers as the
literal characters in valid Telegram HTML.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest

import bot.ingest.ingester
from bot.config import Feed, FetchSettings, Settings
from bot.ingest.ingester import Ingester
from bot.models import StoredArticle
from bot.sources.fetch import FetchLimits, new_client
from bot.store import EmbeddedStore, Store
from fakebotapi import FakeBotAPI, SentMessage
from tests import feedserver
from tests.botharness import ADMIN, T0, USER, Clock, RunningBot, bot_running, make_settings
from tests.feedserver import FeedServer, Handler, Reply, Request, gzip_bomb, redirect

FEED_TIMEOUT = 2.0  # seconds: the feed that never finishes is cut off after this
MAX_BYTES = 100_000
BOMB_SIZE = 50_000_000  # decompressed; about 50 kB on the wire
HANG_GUARD = 30.0  # a hang fails the test instead of stalling CI (not a timing assert)
METADATA = "169.254.169.254"
MALFORMED = b'<?xml version="1.0"?><rss><channel><title>x</chan<<&'
HELP_START = "newsdigest sends you a short digest"


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as server:
        yield server


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FeedServer]:
    # The bot polls every feed at once; socketserver's default listen backlog of 5 would
    # drop the extra connection attempts and the kernel retries them only after a second,
    # which reads as a timeout of the test server rather than of the feed under test.
    monkeypatch.setattr(feedserver._Server, "request_queue_size", 128)
    with FeedServer() as running:
        yield running


def rss(channel: str, *items: str) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>{channel}</title><link>http://127.0.0.1/</link>"
        + "".join(f"<item>{item}</item>" for item in items)
        + "</channel></rss>"
    )


def item(
    title: str, link: str, description: str, pub_date: str = "Wed, 25 Nov 2026 05:00:00 GMT"
) -> str:
    return (
        f"<title>{title}</title><link>{link}</link><description>{description}</description>"
        f"<pubDate>{pub_date}</pubDate>"
    )


def good_feed(server: FeedServer, path: str, stories: list[tuple[str, str]]) -> str:
    """A well-formed feed whose entries carry their full text (no page fetches)."""
    body = rss(
        f"Good feed {path}",
        *(item(title, server.url(f"{path}/{n}"), text) for n, (title, text) in enumerate(stories)),
    )
    return server.serve(path, body, headers={"Content-Type": "application/rss+xml"})


GOOD_A = [
    (
        "Harbour bridge reopens after two years of repairs",
        "The old harbour bridge reopened to traffic on Wednesday after two years of repairs. "
        "Engineers replaced the steel cables and the road deck. The city council said the "
        "bridge can now carry twice as many trucks. Shop owners near the harbour welcomed "
        "the news. The repairs cost 48 million euros.",
    ),
    (
        "Orchestra announces free concerts in city parks",
        "The city orchestra will play twelve free concerts in parks this summer. The first "
        "concert is in the botanical garden in June. Musicians said they want to reach "
        "people who never go to the concert hall. Tickets are not needed.",
    ),
]
GOOD_B = [
    (
        "Researchers map the seabed of the northern fjords",
        "Researchers finished the first detailed map of the seabed of the northern fjords. "
        "The survey ship spent four months at sea. Scientists found three unknown reefs and "
        "an old shipwreck. The data will be published next spring.",
    ),
    (
        "Regional trains get more seats for winter",
        "The regional rail company is adding carriages to its winter timetable. Every "
        "morning train will have two more carriages. Commuters had complained about crowded "
        "trains for years. The change starts in December.",
    ),
]

# Teasers (short bodies): the bot tries to fetch each linked page for the full text, and
# each page is hostile in its own way; the teaser must survive.
HOSTILE_STORIES = [
    (
        "5 &lt; 6 &amp; 7 &gt; 3: AT&amp;T &amp;bogus; &amp;#0; deal",
        "<![CDATA[<p>Shares of AT&T rose 5% &amp; more &bogus; today as 3 < 4 and 9 > 8 in the "
        "market report.</p><p>&lt;script&gt;alert('x')&lt;/script&gt; was printed in the "
        "filing as literal text, analysts said.</p><p>The &quot;deal&quot; closes in May "
        "&amp; June.</p>]]>",
        "/page-bomb",
    ),
    (
        "<![CDATA[<script>alert(1)</script>Tom & Jerry <3 &lt;b&gt;bold&lt;/b&gt; &amp;amp; "
        "&#x3C;i&#x3E;]]>",
        "Plain &lt;b&gt;text&lt;/b&gt; &amp;amp; an &amp;unknown; entity. Another sentence "
        "follows &amp; here with a &lt; sign. And the third one &gt; the second.",
        "/page-ssrf",
    ),
    (
        "Broken &amp;#xZZ; &amp;#99999999; &amp;lt entity &lt;/a&gt;&lt;/b&gt; &lt;3",
        "<![CDATA[Closing tags </b></a></i> and a stray </code> in the body. A "
        '<a href="javascript:alert(1)">link</a> too. Then <pre>code & more</pre> end.]]>',
        "/page-script",
    ),
]
SCRIPT_PAGE = (
    "<!doctype html><html><head><title>x</title><script>steal()</script></head><body>"
    "<article><h1>Page</h1><p>Short &amp; sweet &lt;script&gt;.</p></article></body></html>"
)


@dataclass(frozen=True)
class Failing:
    """A hostile feed and how its failure must be recorded."""

    name: str
    path: str
    reply: Reply | Handler
    kind: str
    message: str


def hostile_feeds() -> list[Failing]:
    """Every way a feed fails, each expected to cost that feed one recorded failure."""
    stalled_head = b'<?xml version="1.0"?><rss version="2.0"><channel><title>slow'
    return [
        Failing("malformed", "/malformed", Reply(body=MALFORMED), "parse", "not an RSS/Atom feed"),
        Failing(
            "web page",
            "/page",
            Reply(
                body=b"<!doctype html><html><body><p>Welcome!</p></body></html>",
                headers={"Content-Type": "text/html; charset=utf-8"},
            ),
            "parse",
            "the server sent text/html",
        ),
        Failing("gone", "/gone", Reply(status=404, body=b"no"), "http_status", "404"),
        Failing("broken server", "/broken", Reply(status=500, body=b"oops"), "http_status", "500"),
        Failing(
            "never finishes",
            "/never",
            Reply(body=stalled_head, trickle=0.05, forever=True),
            "timeout",
            f"within {FEED_TIMEOUT:g} s",
        ),
        Failing(
            "oversized",
            "/huge",
            Reply(body=b"<rss>" + b" " * (MAX_BYTES * 2)),
            "too_large",
            "larger than",
        ),
        Failing(
            "oversized, no length",
            "/huge-stream",
            Reply(body=b"<rss>" + b" " * (MAX_BYTES * 2), content_length=False),
            "too_large",
            "larger than",
        ),
        Failing(
            "gzip bomb",
            "/bomb",
            Reply(
                body=gzip_bomb(BOMB_SIZE),
                headers={"Content-Encoding": "gzip", "Content-Type": "application/rss+xml"},
            ),
            "too_large",
            "expands past",
        ),
        Failing("redirect loop", "/loop-a", redirect("/loop-b"), "redirects", "redirect loop"),
        Failing(
            "to metadata",
            "/to-metadata",
            redirect(f"http://{METADATA}/latest/meta-data/"),
            "blocked",
            "link-local",
        ),
        Failing(
            "to lan",
            "/to-lan",
            redirect("http://10.0.0.1/feed.xml", status=301),
            "blocked",
            "private",
        ),
        Failing(
            "to mapped metadata",
            "/to-mapped",
            redirect(f"http://[::ffff:{METADATA}]/latest/", status=307),
            "blocked",
            "link-local",
        ),
    ]


def hostile_settings(
    tmp_path: Path, feeds: list[Feed], *, timeout: float = FEED_TIMEOUT
) -> Settings:
    """Private addresses refused except the loopback feed server itself; no seeds."""
    base = make_settings(tmp_path)
    return replace(
        base,
        feeds=tuple(feeds),
        seeds_dir=None,
        digest=replace(base.digest, max_items=20),
        fetch=FetchSettings(
            timeout=timeout,
            max_bytes=MAX_BYTES,
            allow_private_addresses=False,
            allowed_networks=("127.0.0.1",),
        ),
    )


def record_requests(monkeypatch: pytest.MonkeyPatch) -> list[httpx.URL]:
    """Every request the ingester's HTTP client sends (pinned: the host is the IP)."""
    sent: list[httpx.URL] = []
    real = new_client

    async def remember(request: httpx.Request) -> None:
        sent.append(request.url)

    def recording(limits: FetchLimits) -> httpx.AsyncClient:
        client = real(limits)
        client.event_hooks = {"request": [remember], "response": []}
        return client

    monkeypatch.setattr(bot.ingest.ingester, "new_client", recording)
    return sent


async def say(
    running: RunningBot, text: str, chat: int = USER, user: int = USER
) -> list[SentMessage]:
    """Send a message and return every reply it caused (``/help`` after it is the barrier:
    the bot handles one update at a time, so its answer comes after all of them)."""
    api = running.api
    before = len(api.messages(chat))
    api.user_sends(chat, user, text)
    api.user_sends(chat, user, "/help")
    await api.wait_for(
        lambda: (
            len(api.messages(chat)) > before + 1
            and api.messages(chat)[-1].plain_text.startswith(HELP_START)
        ),
        what=f"the replies to {text[:30]!r}",
    )
    return api.messages(chat)[before:-1]


def stored(store: Store) -> list[StoredArticle]:
    return store.articles_since(T0.replace(year=2000))


async def test_hostile_sources_in_one_ingest_run(
    tmp_path: Path,
    server: FeedServer,
    api: FakeBotAPI,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    record_property: Callable[[str, object], None],
) -> None:
    """Twelve hostile feeds and two good ones in one run: nothing raises, all four good
    articles and the three markup-laden ones arrive (their hostile article pages cost only
    the full text), each failure is recorded against its own feed with its kind, no request
    ever goes to a private address, /sources and /stats show the failures to an admin, and
    the hostile titles and summaries reach the reader through the real bot as valid
    Telegram HTML showing the literal characters."""
    failing = hostile_feeds()
    for feed in failing:
        server.route(feed.path, feed.reply)
    server.route("/loop-b", redirect("/loop-a"))
    server.route(
        "/page-bomb",
        Reply(
            body=gzip_bomb(BOMB_SIZE),
            headers={"Content-Encoding": "gzip", "Content-Type": "text/html"},
        ),
    )
    server.route("/page-ssrf", redirect(f"http://{METADATA}/latest/meta-data/iam/"))
    server.serve("/page-script", SCRIPT_PAGE, headers={"Content-Type": "text/html"})
    hostile_rss = rss(
        "Hostile &amp; &lt;Co&gt;",
        *(item(title, server.url(page), text) for title, text, page in HOSTILE_STORIES),
    )
    feeds = [
        Feed(good_feed(server, "/good-a", GOOD_A), "Good A", ("world",), full_text=False),
        Feed(good_feed(server, "/good-b", GOOD_B), "Good B", ("science",), full_text=False),
        Feed(
            server.serve("/hostile", hostile_rss),
            "Hostile <b>&amp;</b> Co",
            ("business",),
            full_text=True,
        ),
        *(Feed(server.url(f.path), f.name, ("world",), full_text=False) for f in failing),
    ]
    settings = hostile_settings(tmp_path, feeds)
    sent = record_requests(monkeypatch)
    clock = Clock(T0)
    caplog.set_level(logging.INFO, logger="bot")

    with EmbeddedStore.open(settings.data_file) as store:
        async with asyncio.timeout(HANG_GUARD):
            report = await Ingester(settings, store, clock=clock).run()

        # The good feeds: every article arrived, nothing lost.
        by_url = {s.url: s for s in report.sources}
        for good, stories in ((feeds[0], GOOD_A), (feeds[1], GOOD_B)):
            assert (by_url[good.url].new, by_url[good.url].error) == (len(stories), None)
        assert (by_url[feeds[2].url].new, by_url[feeds[2].url].error) == (3, None)
        articles = stored(store)
        titles = {a.title for a in articles}
        for title, _ in GOOD_A + GOOD_B:
            assert title in titles
        assert len(articles) == len(GOOD_A) + len(GOOD_B) + len(HOSTILE_STORIES)

        # Each failure is the feed's own, with its kind and a readable reason.
        for feed in failing:
            state = store.get_feed_state(server.url(feed.path))
            assert state is not None, feed.name
            assert (state.failures, state.last_error_kind) == (1, feed.kind), feed.name
            assert feed.message in (state.last_error or ""), (feed.name, state.last_error)
            assert by_url[server.url(feed.path)].error == state.last_error
        for healthy in feeds[:3]:
            state = store.get_feed_state(healthy.url)
            assert state is not None
            assert (state.failures, state.last_error_kind) == (0, None)

        # The guard decided before connecting: no request ever left for a private address,
        # though the redirects to them (feed and article page) were each followed once.
        assert {url.host for url in sent} == {"127.0.0.1"}
        for path in ("/to-metadata", "/to-lan", "/to-mapped", "/page-ssrf"):
            assert server.hits(path) == 1, path
        # The bombs were cut off: nothing near their expanded size was read.
        assert server.hits("/bomb") == server.hits("/page-bomb") == 1

        # The hostile text is stored as plain text that still has its literal characters.
        hostile = [a for a in articles if a.feed == "Hostile <b>&amp;</b> Co"]
        hostile_text = " ".join(a.title + " " + " ".join(a.summary) for a in hostile)
        for literal in ("<", ">", "&", "&bogus;", "<script>"):
            assert literal in hostile_text, literal
        # Their article pages (a bomb, a redirect to the metadata service, a page of
        # scripts) cost at most the full text: each entry is kept.
        assert {a.url.rsplit("/", 1)[-1] for a in hostile} == {
            "page-bomb",
            "page-ssrf",
            "page-script",
        }
        # Nothing unexpected was raised and caught along the way (those are logged with
        # their traceback, e.g. a feed failing with kind "internal").
        assert [r.getMessage() for r in caplog.records if r.exc_info] == []

        clock.advance(minutes=5)
        async with bot_running(api, settings, store, clock) as running:
            await say(running, "/start")
            digest = await say(running, "/digest")
            visible = "\n".join(m.plain_text for m in digest)
            assert "Your news digest" in visible
            # Every message went out as HTML: a rejected one (400) would have been resent
            # as plain text, so a parse_mode check plus no failed call proves validity.
            assert all(m.parse_mode == "HTML" for m in digest)
            assert [c.description for c in api.calls_to("sendMessage") if not c.ok] == []
            for article in articles:
                assert article.title in visible, article.title
                assert " ".join(article.summary) in visible, article.summary
            for literal in ("&bogus;", "<script>", "AT&T", "<3"):
                assert literal in visible, literal
            assert "<script>" not in "".join(m.text for m in digest)  # escaped on the wire

            sources = "\n".join(m.plain_text for m in await say(running, "/sources", ADMIN, ADMIN))
            for feed in failing:
                assert f"{feed.name} (world): failing ×1:" in sources, feed.name
            assert "Good A (world): ok, 2 articles" in sources
            assert "Good B (science): ok, 2 articles" in sources
            assert "Hostile <b>&amp;</b> Co (business): ok, 3 articles" in sources
            [stats] = await say(running, "/stats", ADMIN, ADMIN)
            assert f"Feeds: {len(feeds)} configured, {len(failing)} failing" in stats.plain_text
            shown = [line for line in stats.plain_text.splitlines() if " failures (" in line]
            assert len(shown) == min(10, len(failing))
            for line in shown:
                assert "1 failures (" in line
            assert "/stats is for the bot's administrators" in (
                (await say(running, "/stats"))[0].plain_text
            )

    figures = {
        "feeds": len(feeds),
        "faults_injected": len(failing) + 2,  # + the bomb page and the SSRF page
        "good_articles_stored": len(GOOD_A) + len(GOOD_B) + len(HOSTILE_STORIES),
        "good_articles_lost": 0,
        "digest_messages": len(digest),
    }
    record_property("figures", figures)
    print(f"hostile sources: {figures}")


async def test_ingest_job_runs_while_the_bot_answers(
    tmp_path: Path,
    server: FeedServer,
    api: FakeBotAPI,
    record_property: Callable[[str, object], None],
) -> None:
    """The application's own "ingest" job polls a feed that holds its answer back, a gzip
    bomb and broken XML; while the slow feed is still pending the bot answers a user's
    command, and once it answers its article reaches the next /digest."""
    asked = threading.Event()
    release = threading.Event()

    def held(request: Request) -> Reply:
        asked.set()
        release.wait(HANG_GUARD)
        return Reply(
            body=rss("Held", item(GOOD_A[0][0], server.url("/held/1"), GOOD_A[0][1])).encode()
        )

    feeds = [
        Feed(server.route("/held", held), "Held", ("world",), full_text=False),
        Feed(
            server.serve("/bomb", gzip_bomb(BOMB_SIZE), headers={"Content-Encoding": "gzip"}),
            "Bomb",
            ("world",),
            full_text=False,
        ),
        Feed(server.serve("/malformed", MALFORMED), "Malformed", ("world",), full_text=False),
    ]
    settings = hostile_settings(tmp_path, feeds, timeout=HANG_GUARD)
    clock = Clock(T0)
    try:
        with EmbeddedStore.open(settings.data_file) as store:
            async with bot_running(api, settings, store, clock) as running:
                await say(running, "/start")
                app = running.app
                assert app.job_queue is not None
                [job] = app.job_queue.get_jobs_by_name("ingest")
                ingest = asyncio.create_task(job.run(app))
                assert await asyncio.to_thread(asked.wait, HANG_GUARD)
                answer = await say(running, "/settings")
                assert "Your settings" in answer[0].plain_text
                assert not ingest.done()  # the answer came while the feed was still pending
                release.set()
                async with asyncio.timeout(HANG_GUARD):
                    await ingest
                assert store.count_articles() == 1
                states = {f.name: store.get_feed_state(f.url) for f in feeds}
                assert states["Held"] is not None
                assert states["Held"].failures == 0
                assert states["Bomb"] is not None
                assert states["Bomb"].last_error_kind == "too_large"
                assert states["Malformed"] is not None
                assert states["Malformed"].last_error_kind == "parse"
                digest = await say(running, "/digest")
                assert GOOD_A[0][0] in "\n".join(m.plain_text for m in digest)
    finally:
        release.set()
    record_property(
        "figures",
        {"faults_injected": 2, "commands_answered_during_ingest": 1, "good_articles_lost": 0},
    )


async def test_far_dated_entries_do_not_break_digests(
    tmp_path: Path, server: FeedServer, api: FakeBotAPI
) -> None:
    """Regression (open bug): a feed entry dated 9999-12-31 or 0001-01-01 is stored as it
    is, and rendering its time in a reader's zone overflows (``OverflowError: date value
    out of range`` in ``bot.render.local_time``), so every /digest (and every scheduled
    digest) that includes it fails for readers east of UTC (year 9999) or west of it
    (year 1). One hostile feed must not take the digest away from readers: each of them
    gets a valid HTML digest with the other stories."""
    body = rss(
        "Far dated",
        item(
            "Time capsule opened in the year 9999",
            server.url("/far/future"),
            "Archivists opened a time capsule. It held letters and photographs.",
            pub_date="Fri, 31 Dec 9999 23:59:59 GMT",
        ),
        item(
            "Scroll dated to the first day of year one",
            server.url("/far/past"),
            "Historians read an old scroll. It describes a harvest festival.",
            pub_date="Mon, 01 Jan 0001 00:00:00 GMT",
        ),
    )
    feeds = [
        Feed(server.serve("/far", body), "Far", ("world",), full_text=False),
        Feed(good_feed(server, "/good-a", GOOD_A), "Good A", ("world",), full_text=False),
    ]
    settings = hostile_settings(tmp_path, feeds)
    clock = Clock(T0)
    readers = {1001: "Asia/Tokyo", 1002: "America/New_York", 1003: "UTC"}
    with EmbeddedStore.open(settings.data_file) as store:
        report = await Ingester(settings, store, clock=clock).run()
        # The scroll of year one is older than articles are kept: left out at ingest.
        # The capsule of year 9999 is stored and must still render.
        assert report.new == 3
        assert [s.too_old for s in report.sources] == [1, 0]
        clock.advance(minutes=5)
        async with bot_running(api, settings, store, clock) as running:
            outcomes = {}
            for chat, zone in readers.items():
                await say(running, "/start", chat, chat)
                await say(running, f"/timezone {zone}", chat, chat)
                digest = await say(running, "/digest", chat, chat)
                visible = "\n".join(m.plain_text for m in digest)
                outcomes[zone] = "Your news digest" in visible and GOOD_A[0][0] in visible
    assert outcomes == dict.fromkeys(readers.values(), True)


async def test_a_feed_error_full_of_ampersands_cannot_break_sources(
    tmp_path: Path, server: FeedServer, api: FakeBotAPI
) -> None:
    """Regression (fixed in round 1): a feed's failure message can carry a URL the feed's
    server chose ("the server answered 404 for http://…/x?&&&&…"). /sources used to cut
    an escaped line inside an "&amp;", which Telegram refused, so the admin never saw the
    rest of the list. Every feed's health reaches the admin."""
    # Five names of different lengths move the cut across all five offsets of "&amp;".
    feeds = [Feed(good_feed(server, "/good-a", GOOD_A), "Good A", ("world",), full_text=False)]
    for n in range(5):
        server.route(f"/amp{n}", redirect(f"/missing{n}?" + "&" * 3000))
        feeds.append(Feed(server.url(f"/amp{n}"), "Amp" + "!" * n, ("world",), full_text=False))
    settings = hostile_settings(tmp_path, feeds)
    clock = Clock(T0)
    with EmbeddedStore.open(settings.data_file) as store:
        report = await Ingester(settings, store, clock=clock).run()
        assert [s.error is None for s in report.sources] == [True] + [False] * 5
        async with bot_running(api, settings, store, clock) as running:
            listing = await say(running, "/sources", ADMIN, ADMIN)
            shown = "\n".join(m.plain_text for m in listing)
            refused = [c.description for c in api.calls_to("sendMessage") if not c.ok]
    assert refused == []
    assert "Good A (world): ok, 2 articles" in shown
    for n in range(5):
        assert f"Amp{'!' * n} (world): failing ×1" in shown
