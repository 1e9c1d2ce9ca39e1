"""Users' own feeds: /addfeed, /feeds, /removefeed, OPML files in and /export out, and the
digest that holds a chat's own feeds' entries. Journeys through the real Application and
the fake Bot API, with real feeds and pages served from 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import defusedxml.ElementTree
import pytest

from bot.config import Feed, Settings
from bot.ingest.ingester import Ingester
from bot.models import FeedState
from bot.services.feeds import opml_feeds
from bot.services.subscriptions import UserError
from bot.sources.discover import feed_links
from bot.store import Store, open_store
from fakebotapi import FakeBotAPI, SentMessage
from tests.botharness import T0, Clock, RunningBot, bot_running, ingest_seeds, make_settings
from tests.feedserver import FeedServer, Reply

ANNA, BORIS = 6101, 6102
BODIES = {
    "ferry": "The harbour authority said on Tuesday that the new ferry line will run every "
    "hour between the old town and the islands, starting next month. Tickets go on sale "
    "next week. The operator bought two electric boats for the crossing.",
    "pier": "The council voted to widen the pier before the summer season begins. Work "
    "starts in March and closes the south walkway for six weeks. Fishing boats keep their "
    "moorings during the works.",
    "lighthouse": "After two years of repairs the lighthouse museum opens its doors again. "
    "Visitors can climb the tower on weekends. A new room shows the keepers' logbooks from "
    "the nineteenth century.",
}


def rss(title: str, *items: tuple[str, str]) -> bytes:
    """An RSS 2.0 document with ``items`` (title, link), each with its own long text."""
    entries = "".join(
        f"<item><title>{t}</title><link>{link}</link>"
        f"<description>{(BODIES[link.rsplit('/', 1)[1]] + ' ') * 2}</description>"
        "<pubDate>Wed, 25 Nov 2026 05:30:00 GMT</pubDate></item>"
        for t, link in items
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>https://example.org/</link>{entries}</channel></rss>"
    ).encode()


GAZETTE = rss(
    "Harbour Gazette",
    ("Ferry line to the islands opens", "https://gazette.example/ferry"),
    ("Pier to be widened before summer", "https://gazette.example/pier"),
    ("Lighthouse museum reopens", "https://gazette.example/lighthouse"),
)
HERALD = rss("Island Herald", ("Ferry line to the islands opens", "https://gazette.example/ferry"))
PAGE = (
    b"<!doctype html><html><head><title>Gazette</title>"
    b'<link rel="stylesheet" href="/style.css">'
    b'<link rel="alternate" type="application/rss+xml" title="All news" href="/gazette.xml">'
    b"</head><body><p>Welcome</p></body></html>"
)


def opml(*urls: str) -> bytes:
    outlines = "".join(f'<outline type="rss" text="x" xmlUrl="{u}"/>' for u in urls)
    return (
        '<?xml version="1.0"?><opml version="2.0"><head><title>mine</title></head>'
        f"<body><outline text='news'>{outlines}</outline></body></opml>"
    ).encode()


def serve_feeds(server: FeedServer) -> None:
    xml = {"Content-Type": "application/rss+xml"}
    server.route("/gazette.xml", Reply(body=GAZETTE, headers=xml))
    server.route("/herald.xml", Reply(body=HERALD, headers=xml))
    server.route("/site", Reply(body=PAGE, headers={"Content-Type": "text/html"}))
    server.route(
        "/plain",
        Reply(body=b"<html><body>no feed</body></html>", headers={"Content-Type": "text/html"}),
    )
    server.route("/gone.xml", Reply(status=404, body=b"not here"))
    server.route(
        "/broken.xml",
        Reply(body=b"<rss><channel><title>Broken</title><item><title>x</ti", headers=xml),
    )


async def start_bot(
    api: FakeBotAPI, settings: Settings, store: Store, server: FeedServer
) -> AsyncIterator[RunningBot]:
    clock = Clock(T0)
    await ingest_seeds(settings, store, clock)
    clock.advance(minutes=5)
    serve_feeds(server)
    async with bot_running(api, settings, store, clock) as running_bot:
        yield running_bot


@pytest.fixture
async def bot(
    api: FakeBotAPI, settings: Settings, store: Store, server: FeedServer
) -> AsyncIterator[RunningBot]:
    async for running_bot in start_bot(api, settings, store, server):
        yield running_bot


async def say(bot: RunningBot, chat: int, text: str) -> SentMessage:
    """Send a message as the chat's user; return the bot's next message."""
    before = len(bot.api.messages(chat))
    bot.api.user_sends(chat, chat, text)
    return (await bot.api.wait_for_messages(chat, before + 1, timeout=30))[before]


async def digest_of(bot: RunningBot, chat: int) -> str:
    """The chat's digest now, all its messages: /digest, then /help, whose answer comes
    after the digest's last message (a chat's updates are handled in order)."""
    before = len(bot.api.messages(chat))
    bot.api.user_sends(chat, chat, "/digest")
    bot.api.user_sends(chat, chat, "/help")

    def helped() -> bool:
        return any("/addfeed" in m.plain_text for m in bot.api.messages(chat)[before:])

    await bot.api.wait_for(helped, timeout=30)
    return "\n".join(m.plain_text for m in bot.api.messages(chat)[before:-1])


async def send_file(bot: RunningBot, chat: int, name: str, content: bytes) -> SentMessage:
    before = len(bot.api.messages(chat))
    bot.api.user_sends_document(chat, chat, name, content, mime_type="text/x-opml")
    return (await bot.api.wait_for_messages(chat, before + 1, timeout=30))[before]


async def test_own_feed_journey(bot: RunningBot, server: FeedServer) -> None:
    """A reader adds a feed, sees it in /feeds, gets its entries in the digest (and nobody
    else does), a second reader shares it without another fetch, and a button removes it."""
    gazette = server.url("/gazette.xml")
    await say(bot, ANNA, "/start")
    added = await say(bot, ANNA, f"/addfeed {gazette}")
    assert "Added: Harbour Gazette, 3 entries" in added.plain_text
    listing = await say(bot, ANNA, "/feeds")
    assert "1. ✅ Harbour Gazette: 3 entries, read" in listing.plain_text
    assert "(1 of 20)" in listing.plain_text
    assert "Own feeds: 1 (/feeds)" in (await say(bot, ANNA, "/settings")).plain_text
    digest = await digest_of(bot, ANNA)
    for title in ("Ferry line to the islands opens", "Pier to be widened", "Lighthouse museum"):
        assert title in digest
    await say(bot, BORIS, "/start")
    assert "Ferry line" not in await digest_of(bot, BORIS)
    assert server.hits("/gazette.xml") == 1
    shared = await say(bot, BORIS, f"/addfeed {gazette}")
    assert "Added: Harbour Gazette, 3 entries" in shared.plain_text
    assert server.hits("/gazette.xml") == 1  # the second chat's add fetched nothing
    await bot.services.ingester.run(seeds=False, force=True)
    assert server.hits("/gazette.xml") == 2  # one poll for both chats
    keyboard = await say(bot, ANNA, "/removefeed")
    [[button]] = keyboard.buttons
    assert "Harbour Gazette" in button["text"]
    answered = len(bot.api.callback_answers)
    bot.api.user_presses(ANNA, ANNA, keyboard.message_id, button["callback_data"])
    await bot.api.wait_for(lambda: len(bot.api.callback_answers) > answered)
    await bot.api.wait_for(lambda: bot.api.message(ANNA, keyboard.message_id).edited)
    assert "Removed: Harbour Gazette." in bot.api.message(ANNA, keyboard.message_id).plain_text
    assert bot.store.get_subscriber(ANNA).feeds == ()  # type: ignore[union-attr]  # started above
    assert bot.store.chat_feed_urls() == {gazette: 1}
    assert "no feeds of its own" in (await say(bot, ANNA, "/feeds")).plain_text


async def test_a_restart_keeps_what_the_bot_knows_of_chats_own_feeds(
    api: FakeBotAPI, settings: Settings, store: Store, server: FeedServer
) -> None:
    """Found by an operator reopening `newsdigest chat`: every start forgot the state of
    the feeds only chats read (title, entries, last read, backoff), as if they were
    configured feeds removed from the configuration. Those are still forgotten; a feed a
    chat reads keeps its state across a restart."""
    async for bot in start_bot(api, settings, store, server):
        await say(bot, ANNA, "/start")
        await say(bot, ANNA, f"/addfeed {server.url('/gazette.xml')}")
        before = (await say(bot, ANNA, "/feeds")).plain_text
        assert "1. ✅ Harbour Gazette: 3 entries, read" in before
    store.put_feed_state(FeedState(url="https://removed.example/rss", failures=3))
    async for bot in start_bot(api, settings, store, server):
        assert (await say(bot, ANNA, "/feeds")).plain_text == before
    assert store.get_feed_state(server.url("/gazette.xml")) is not None
    assert store.get_feed_state("https://removed.example/rss") is None


async def test_a_page_that_links_its_feed_is_added_by_its_feed(
    bot: RunningBot, server: FeedServer
) -> None:
    """/addfeed with a site's page finds the feed its <link rel="alternate"> names."""
    await say(bot, ANNA, "/start")
    added = await say(bot, ANNA, f"/addfeed {server.url('/site')}")
    assert "Added: Harbour Gazette, 3 entries" in added.plain_text
    assert bot.store.get_subscriber(ANNA).feeds == (server.url("/gazette.xml"),)  # type: ignore[union-attr]  # started above


async def test_the_same_story_from_two_own_feeds_comes_once(
    bot: RunningBot, server: FeedServer
) -> None:
    """Two of the chat's feeds carry the same entry: the digest has it once."""
    await say(bot, ANNA, "/start")
    await say(bot, ANNA, f"/addfeed {server.url('/gazette.xml')}")
    assert (
        "Island Herald"
        in (await say(bot, ANNA, f"/addfeed {server.url('/herald.xml')}")).plain_text
    )
    digest = await digest_of(bot, ANNA)
    assert digest.count("Ferry line to the islands opens") == 1


async def test_a_mistyped_feed_link_is_answered_at_once(bot: RunningBot) -> None:
    """Found by a stranger: "/addfeed not a url" showed "typing…" before its usage line,
    and spent one of the user's rate-limited additions."""
    await say(bot, ANNA, "/start")
    actions = len(bot.api.chat_actions)
    for _ in range(12):  # more than the rate limit lets through
        answer = await say(bot, ANNA, "/addfeed not a url")
        assert answer.plain_text == "Usage: /addfeed <link to a feed or a site>"
    assert len(bot.api.chat_actions) == actions


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/addfeed", "Usage: /addfeed <link to a feed or a site>"),
        ("/addfeed ftp://example.org/feed", "is not a web link"),
        # The one rule of web links (bot/weburl.py): a port out of range, no site.
        ("/addfeed http://example.org:99999/feed", "“http://example.org:99999/feed” is not a web"),
        ("/addfeed http://", "“http://” is not a web link"),
        ("/addfeed {base}/plain", "neither an RSS or Atom feed nor a page that links to one"),
        ("/addfeed {base}/gone.xml", "the site answered with an error (404)"),
        # Found in the terminal chat: it said 'Added: Broken, 0 entries' and /feeds ✅.
        ("/addfeed {base}/broken.xml", "it is not a valid RSS or Atom feed"),
        ("/removefeed 7", "That feed is not in this chat's sources"),
    ],
)
async def test_bad_feed_links_are_answered_in_words_and_nothing_is_stored(
    bot: RunningBot, server: FeedServer, command: str, expected: str
) -> None:
    """Each refusal is one clear line, and the chat's sources stay as they were."""
    await say(bot, ANNA, "/start")
    answer = await say(bot, ANNA, command.format(base=server.base_url))
    assert expected in answer.plain_text
    assert bot.store.get_subscriber(ANNA).feeds == ()  # type: ignore[union-attr]  # started above
    assert bot.store.chat_feed_urls() == {}


async def test_a_feed_before_start_is_refused(bot: RunningBot, server: FeedServer) -> None:
    """Adding a feed never creates a subscription."""
    answer = await say(bot, ANNA, f"/addfeed {server.url('/gazette.xml')}")
    assert "send /start first" in answer.plain_text
    assert bot.store.get_subscriber(ANNA) is None
    assert server.hits("/gazette.xml") == 0


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"max_feeds_per_chat": 1}, "This chat has 1 feed, the most it can have; remove it first"),
        ({"user_feeds": False}, "Adding your own feeds is turned off on this bot."),
    ],
)
async def test_operator_limits(
    api: FakeBotAPI,
    tmp_path: Path,
    server: FeedServer,
    changes: dict[str, object],
    expected: str,
) -> None:
    """sources.max_feeds_per_chat caps a chat's feeds; sources.user_feeds = false turns
    them off."""
    settings = make_settings(tmp_path, **changes)
    with open_store(settings.data_file) as store:
        async for bot in start_bot(api, settings, store, server):
            await say(bot, ANNA, "/start")
            await say(bot, ANNA, f"/addfeed {server.url('/gazette.xml')}")
            answer = await say(bot, ANNA, f"/addfeed {server.url('/herald.xml')}")
            assert expected in answer.plain_text
            assert server.url("/herald.xml") not in bot.store.chat_feed_urls()


async def test_private_addresses_are_refused_unless_the_operator_allows_them(
    api: FakeBotAPI, tmp_path: Path, server: FeedServer
) -> None:
    """The guarded fetcher refuses a feed on a loopback address with the default settings;
    ``fetch.allowed_networks`` (an operator's exception for *their* feeds) does not open
    it to users."""
    base = make_settings(tmp_path)
    fetch = replace(base.fetch, allow_private_addresses=False, allowed_networks=("127.0.0.1",))
    settings = replace(base, fetch=fetch)
    with open_store(settings.data_file) as store:
        async for bot in start_bot(api, settings, store, server):
            await say(bot, ANNA, "/start")
            answer = await say(bot, ANNA, f"/addfeed {server.url('/gazette.xml')}")
            assert "private or local network address" in answer.plain_text
            assert server.hits("/gazette.xml") == 0


async def test_opml_import_and_export(bot: RunningBot, server: FeedServer) -> None:
    """An OPML file adds the feeds it lists and says which failed and why; /export sends
    the chat's feeds back as an OPML file that lists them."""
    await say(bot, ANNA, "/start")
    assert "no feeds of its own" in (await say(bot, ANNA, "/export")).plain_text
    gazette, herald, gone = (server.url(p) for p in ("/gazette.xml", "/herald.xml", "/gone.xml"))
    report = await send_file(bot, ANNA, "subscriptions.opml", opml(gazette, herald, gone, gazette))
    assert "2 feeds added, 1 failed." in report.plain_text
    assert f"• {gone}: the site answered with an error (404)" in report.plain_text
    assert bot.store.get_subscriber(ANNA).feeds == (gazette, herald)  # type: ignore[union-attr]  # started above
    again = await send_file(bot, ANNA, "subscriptions.xml", opml(gazette))
    assert "0 feeds added, 0 failed." in again.plain_text
    assert "1 was already in this chat's sources." in again.plain_text
    exported = await say(bot, ANNA, "/export")
    assert exported.document is not None
    assert exported.document["file_name"] == "newsdigest-feeds.opml"
    content = bot.api.file(exported.document["file_id"]).content
    assert opml_feeds(content) == [gazette, herald]
    titles = [o.get("title") for o in defusedxml.ElementTree.fromstring(content).iter("outline")]
    assert titles == ["Harbour Gazette", "Island Herald"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"this is not xml", "That file is not an OPML list of feeds I can read."),
        (b"<opml><body><outline text='x'/></body></opml>", "That file lists no feeds"),
        (
            b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            b'<!ENTITY lol2 "&lol;&lol;&lol;">]><opml><body>&lol2;</body></opml>',
            "That file is not an OPML list of feeds I can read.",
        ),
    ],
    ids=["not xml", "no feeds", "entities"],
)
async def test_bad_opml_files_are_answered_in_words(
    bot: RunningBot, content: bytes, expected: str
) -> None:
    """A file that is not a usable OPML list gets one clear line, and nothing is added."""
    await say(bot, ANNA, "/start")
    answer = await send_file(bot, ANNA, "feeds.opml", content)
    assert expected in answer.plain_text
    assert bot.store.get_subscriber(ANNA).feeds == ()  # type: ignore[union-attr]  # started above


def test_feed_links_of_a_page() -> None:
    """Only alternate links of feed types count, relative ones made absolute, each once."""
    page = (
        b'<html><head><link rel="alternate" type="application/atom+xml" href="/atom">'
        b'<link rel="alternate" type="text/html" href="/fr/">'
        b'<link rel="Alternate feed" type="application/rss+xml; charset=utf-8" href="rss.xml">'
        b'<link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">'
        b'<link rel="alternate" type="application/atom+xml" href="/atom"></head></html>'
    )
    assert feed_links(page, "https://example.org/news/") == [
        "https://example.org/atom",
        "https://example.org/news/rss.xml",
    ]
    assert feed_links(b"", "https://example.org/") == []
    assert feed_links(b"\x00\x01 not html", "https://example.org/") == []


def test_opml_refusals_name_the_problem() -> None:
    """opml_feeds raises UserError (a message for the user) for each kind of bad file."""
    with pytest.raises(UserError, match="too large"):
        opml_feeds(b" " * 1_000_001)
    with pytest.raises(UserError, match="lists no feeds"):
        opml_feeds(b"<opml/>")


async def test_stop_forgets_the_feeds_only_that_chat_read(
    bot: RunningBot, server: FeedServer
) -> None:
    """/stop deletes what the bot knows of a chat's own feeds (a feed URL may hold a
    private token) unless another chat reads the same feed."""
    gazette, herald = server.url("/gazette.xml"), server.url("/herald.xml")
    for chat, feeds in ((ANNA, (gazette, herald)), (BORIS, (gazette,))):
        await say(bot, chat, "/start")
        for url in feeds:
            await say(bot, chat, f"/addfeed {url}")
    confirm = await say(bot, ANNA, "/stop")
    answered = len(bot.api.callback_answers)
    bot.api.user_presses(ANNA, ANNA, confirm.message_id, "stop:yes")
    await bot.api.wait_for(lambda: len(bot.api.callback_answers) > answered)
    await bot.api.wait_for(lambda: bot.store.get_subscriber(ANNA) is None)
    assert bot.store.get_feed_state(herald) is None
    assert bot.store.get_feed_state(gazette) is not None
    assert bot.store.chat_feed_urls() == {gazette: 1}


async def test_an_ingest_run_polls_each_own_feed_once_and_a_bounded_number_at_a_time(
    tmp_path: Path, server: FeedServer
) -> None:
    """Forty chats' own feeds (two chats sharing each): every feed is fetched once per run,
    and at most FEED_CONCURRENCY of them at the same time."""
    from bot.ingest.ingester import FEED_CONCURRENCY, Ingester
    from bot.models import Subscriber

    empty = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Quiet</title></channel></rss>'
    urls = [server.route(f"/f{n}.xml", Reply(body=empty, delay=0.05)) for n in range(40)]
    settings = make_settings(tmp_path)
    with open_store(settings.data_file) as store:
        for chat in (1, 2):
            store.put_subscriber(Subscriber(chat, feeds=tuple(urls)))
        report = await Ingester(settings, store, clock=Clock(T0)).run(seeds=False)
        assert {s.url for s in report.sources} == set(urls)
        assert not report.failed
        assert all(server.hits(f"/f{n}.xml") == 1 for n in range(40))
        assert 1 < server.max_in_flight <= FEED_CONCURRENCY
        state = store.get_feed_state(urls[0])
        assert state is not None
        assert (state.title, state.entries) == ("Quiet", 0)


async def test_the_scheduled_digest_brings_own_feed_entries_in_the_chats_language(
    bot: RunningBot, server: FeedServer
) -> None:
    """A German reader adds a feed (answered in German) and the scheduled digest, which no
    message triggers, holds its entries."""
    bot.api.add_user(ANNA, "Anna", language_code="de")
    await say(bot, ANNA, "/start")
    added = await say(bot, ANNA, f"/addfeed {server.url('/gazette.xml')}")
    assert "Hinzugefügt: Harbour Gazette, 3 Einträge" in added.plain_text
    assert "Die Feeds dieses Chats" in (await say(bot, ANNA, "/feeds")).plain_text
    await say(bot, ANNA, "/time 06:10")
    before = len(bot.api.messages(ANNA))
    bot.clock.advance(minutes=6)
    await bot.dispatch()
    titles = ("Ferry line to the islands opens", "Pier to be widened", "Lighthouse museum")

    def digest() -> str:
        return "\n".join(m.plain_text for m in bot.api.messages(ANNA)[before:])

    await bot.api.wait_for(lambda: all(t in digest() for t in titles), timeout=30)
    assert "Deine Nachrichten" in digest()


async def test_a_feed_named_by_a_page_goes_through_the_same_guard(server: FeedServer) -> None:
    """A page may name a feed on a private address: that fetch is refused by the address
    guard like any other (here the page's own host is an allowed exception; the named feed's
    is not), so a page cannot make the bot read the operator's network."""
    from bot.sources.discover import find_feed
    from bot.sources.fetch import FetchError, FetchLimits, new_client

    server.route(
        "/sneaky",
        Reply(
            body=b'<html><head><link rel="alternate" type="application/rss+xml" '
            b'href="http://10.20.30.40/internal.xml"></head></html>',
            headers={"Content-Type": "text/html"},
        ),
    )
    limits = FetchLimits(timeout=5.0, allowed_networks=("127.0.0.1",))
    async with new_client(limits) as client:
        with pytest.raises(FetchError) as refused:
            await find_feed(server.url("/sneaky"), limits, client)
    assert refused.value.kind == "blocked"
    assert server.hits("/sneaky") == 1


async def test_a_chats_own_feed_cannot_retitle_a_story_of_the_configured_feeds(
    bot: RunningBot, server: FeedServer
) -> None:
    """Found by an operator trying the bot: a chat's own feed whose entry links a story a
    configured feed runs too stored it first, under its own title and name, and the
    configured feed's entry then counted as known, so every topic reader got the other
    chat's title ("FAKE: ..."). The configured feed's entry now takes the story's place;
    the chat that added the feed still gets the story once."""
    poison = rss("Evil Feed", ("FAKE: ferry line cancelled", "https://gazette.example/ferry"))
    server.route("/poison.xml", Reply(body=poison, headers={"Content-Type": "application/rss+xml"}))
    await say(bot, ANNA, "/start")
    assert (
        "Added: Evil Feed"
        in (await say(bot, ANNA, f"/addfeed {server.url('/poison.xml')}")).plain_text
    )
    assert "FAKE" in await digest_of(bot, ANNA)
    await say(bot, BORIS, "/start")
    assert "FAKE" not in await digest_of(bot, BORIS)  # an own feed's entry: Anna's only

    configured = Feed(server.url("/gazette.xml"), "Harbour Gazette", ("world",), full_text=False)
    settings = replace(bot.services.settings, feeds=(configured,))
    bot.clock.advance(minutes=5)
    report = await Ingester(settings, bot.store, clock=bot.clock).run(seeds=False)
    bot.clock.advance(minutes=5)
    assert {s.name: s.new for s in report.sources}["Harbour Gazette"] == 3
    [ferry] = [a for a in bot.store.articles_since(T0) if a.url == "https://gazette.example/ferry"]
    assert (ferry.title, ferry.source, ferry.private) == (
        "Ferry line to the islands opens",
        "Harbour Gazette",
        False,
    )
    assert set(ferry.feed_urls) == {server.url("/poison.xml"), configured.url}
    boris = await digest_of(bot, BORIS)
    assert "Ferry line to the islands opens" in boris
    assert "FAKE" not in boris
    assert "Evil Feed" not in boris
    anna = await digest_of(bot, ANNA)  # her first digest had the story: it is not repeated
    assert "ferry" not in anna.lower()
