"""Abuse and access through the real bot: rate limits, caps, private mode, admin commands,
oversized input, and a whole run's logs checked for the bot token.

Everything goes through the real ``Application`` talking to the fake Bot API server, as a
user or an attacker would reach it; a promise holds when the attacker gets a short refusal
and nothing else happens (no work done, nothing stored).
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.cli.serve import protect_token
from bot.config import FetchSettings, Settings
from bot.store import EmbeddedStore, Store
from bot.telegram.context import DEFAULT_RATES, RateLimits
from fakebotapi import FakeBotAPI, SentMessage
from summarizer import Article, Summarizer, Summary
from tests.botharness import (
    ADMIN,
    T0,
    TOKEN,
    USER,
    Clock,
    RunningBot,
    bot_running,
    ingest_seeds,
    make_settings,
)
from tests.feedserver import FeedServer, gzip_bomb, redirect

Record = Callable[[str, object], None]
OTHER = 5151
STRANGER = 6666
MAX_KEYWORDS = 20  # the promised cap per chat, for follow and for exclude
MAX_TEXT_CHARS = 20_000  # the promised cap on a pasted text
HELP_START = "newsdigest sends you a short digest"
ARTICLE = (
    "The city council approved a plan on Tuesday to rebuild the old harbour bridge. "
    "The bridge, built in 1931, has been closed to trucks since a crack was found last "
    "spring. Engineers said the new bridge will carry twice as much traffic. "
    "Construction starts in March and should take about two years."
)
PAGE = (
    f"<html><head><title>Bridge</title></head><body><article><p>{ARTICLE}</p></article>"
    "</body></html>"
)


class FakeMonotonic:
    """The rate limiter's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingSummarizer:
    """The bot's summarizer, counting how often it really ran."""

    def __init__(self, inner: Summarizer) -> None:
        self.inner = inner
        self.calls = 0

    def __call__(self, article: Article) -> Summary:
        self.calls += 1
        return self.inner(article)


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as server:
        yield server


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as running:
        yield running


async def start_bot(api: FakeBotAPI, settings: Settings, store: Store) -> Clock:
    clock = Clock(T0)
    await ingest_seeds(settings, store, clock)
    clock.advance(minutes=5)
    return clock


async def say(
    bot: RunningBot, text: str, chat: int = USER, user: int = USER, **kwargs: Any
) -> list[SentMessage]:
    """Send a message and return every reply it caused: a chat's updates are handled in
    order, so a /help sent after it is answered after every direct reply; a summary is
    worked on in the background, so it is waited for until the user has none in flight."""
    before = len(bot.api.messages(chat))
    bot.api.user_sends(chat, user, text, **kwargs)
    bot.api.user_sends(chat, user, "/help")

    def helped() -> bool:
        replies = bot.api.messages(chat)[before:]
        done = any(m.plain_text.startswith(HELP_START) for m in replies)
        return done and not bot.services.summaries.busy(user)

    await bot.api.wait_for(helped, what=f"the replies to {text[:30]!r}")
    return [m for m in bot.api.messages(chat)[before:] if not m.plain_text.startswith(HELP_START)]


async def reply(bot: RunningBot, text: str, chat: int = USER, user: int = USER) -> str:
    """The plain text of the one reply to a message."""
    [answer] = await say(bot, text, chat, user)
    return answer.plain_text


# --- rate limits ----------------------------------------------------------------------------


async def test_summarize_rate_limit_is_per_user_and_refuses_without_working(
    tmp_path: Path, api: FakeBotAPI, server: FeedServer, record_property: Record
) -> None:
    """Six /summarize a minute: the 7th is refused with the exact wait and fetches nothing;
    another user is unaffected; once the minute has passed the first user may go on."""
    assert DEFAULT_RATES["summarize"] == (6, 60.0)
    settings = make_settings(tmp_path)
    url = server.serve("/bridge", PAGE, headers={"Content-Type": "text/html"})
    with EmbeddedStore.open(settings.data_file) as store:
        clock = await start_bot(api, settings, store)
        async with bot_running(api, settings, store, clock) as bot:
            monotonic = FakeMonotonic()
            bot.services.rate_limits = RateLimits(monotonic=monotonic)
            for _ in range(6):
                assert "harbour bridge" in await reply(bot, f"/summarize {url}")
                monotonic.now += 1
            monotonic.now += 4  # the 7th comes 10 s after the first
            refused = await reply(bot, f"/summarize {url}")
            assert refused == "Easy there: you can use /summarize again in 50 s."
            assert server.hits("/bridge") == 6  # the refused request fetched nothing
            pasted = await reply(bot, f"{ARTICLE} {ARTICLE}")  # pasting counts the same
            assert pasted == "Easy there: you can use /summarize again in 50 s."
            assert "harbour bridge" in await reply(bot, f"/summarize {url}", OTHER, OTHER)
            monotonic.now = 1060.0  # a minute after the first: its slot is free again
            assert "harbour bridge" in await reply(bot, f"/summarize {url}")
            assert server.hits("/bridge") == 8
    record_property("figures", {"requests": 10, "refused": 2, "fetches_by_refused": 0})


@contextlib.asynccontextmanager
async def limited_bot(
    tmp_path: Path, api: FakeBotAPI
) -> AsyncIterator[tuple[RunningBot, FakeMonotonic]]:
    """A running bot whose rate limits count time on a clock the test moves."""
    settings = make_settings(tmp_path)
    with EmbeddedStore.open(settings.data_file) as store:
        clock = await start_bot(api, settings, store)
        async with bot_running(api, settings, store, clock) as bot:
            monotonic = FakeMonotonic()
            bot.services.rate_limits = RateLimits(monotonic=monotonic)
            yield bot, monotonic


async def test_digest_rate_limit_is_per_user(
    tmp_path: Path, api: FakeBotAPI, record_property: Record
) -> None:
    """/digest is limited per user (the configured uses a minute): one more is refused
    with the wait and sends no digest; another user still gets theirs; after the minute
    the first user gets one again."""
    uses, window = DEFAULT_RATES["digest"]
    async with limited_bot(tmp_path, api) as (bot, monotonic):
        await say(bot, "/start")
        for _ in range(uses):
            answer = await say(bot, "/digest")
            assert answer
            assert all("Easy there" not in m.plain_text for m in answer)
            monotonic.now += 1
        refused = await say(bot, "/digest")
        wait = round(window - uses)
        assert [m.plain_text for m in refused] == [
            f"Easy there: you can use /digest again in {wait} s."
        ]
        await say(bot, "/start", OTHER, OTHER)
        assert "Your news digest" in (await say(bot, "/digest", OTHER, OTHER))[0].plain_text
        monotonic.now += wait
        assert "Easy there" not in (await say(bot, "/digest"))[0].plain_text
    record_property("figures", {"requests": uses + 3, "refused": 1})


async def test_adding_feeds_is_limited_and_the_refusal_says_what_waits(
    tmp_path: Path, api: FakeBotAPI
) -> None:
    """/addfeed, even refused links, counts toward the feeds limit; one more is refused
    naming what must wait (adding feeds, which /addfeed and files of feeds share), not
    /feeds, which still answers at once."""
    uses, window = DEFAULT_RATES["feeds"]
    async with limited_bot(tmp_path, api) as (bot, _frozen):  # the wait is the whole window
        await say(bot, "/start")
        for _ in range(uses):
            assert "Easy there" not in await reply(bot, "/addfeed http://127.0.0.1/feed")
        refused = await reply(bot, "/addfeed http://127.0.0.1/feed")
        assert refused == f"Easy there: you can add feeds again in {round(window)} s."
        assert "Easy there" not in await reply(bot, "/feeds")


# --- caps -----------------------------------------------------------------------------------


async def test_keyword_and_topic_caps(
    tmp_path: Path, api: FakeBotAPI, record_property: Record
) -> None:
    """At most 20 followed and 20 excluded words per chat, each a plain word of at most
    32 characters; only configured topics can be subscribed, by command or button; each
    refusal leaves the stored subscription as it was."""
    settings = make_settings(tmp_path)
    refused: list[str] = []
    with EmbeddedStore.open(settings.data_file) as store:
        clock = await start_bot(api, settings, store)
        async with bot_running(api, settings, store, clock) as bot:

            async def refusal(text: str, chat: int = USER, user: int = USER) -> str:
                before = store.get_subscriber(chat)
                answer = await reply(bot, text, chat, user)
                assert store.get_subscriber(chat) == before, text
                refused.append(text)
                return answer

            await say(bot, "/start")
            for kind in ("follow", "exclude"):
                words = [f"{kind}{n}" for n in range(MAX_KEYWORDS + 1)]
                for word in words[:MAX_KEYWORDS]:
                    assert word in await reply(bot, f"/{kind} {word}")
                assert await refusal(f"/{kind} {words[-1]}") == (
                    "You can have at most 20 words here; remove one first."
                )
            subscriber = store.get_subscriber(USER)
            assert subscriber is not None
            assert subscriber.follow == tuple(f"follow{n}" for n in range(MAX_KEYWORDS))
            assert subscriber.exclude == tuple(f"exclude{n}" for n in range(MAX_KEYWORDS))
            await reply(bot, "/unfollow follow0")
            assert "at most 32 characters" in await refusal("/follow " + "a" * 33)
            assert "plain words" in await refusal("/follow <script>")
            assert "plain words" in await refusal("/follow .*")
            assert "Usage: /follow" in await refusal("/follow two words")

            answer = await refusal("/subscribe world admin <b>all</b> ../secret")
            assert answer.startswith("Unknown topics “admin”, “<b>all</b>”, “../secret”.")
            assert "Added: World" in await reply(bot, "/subscribe world")
            # A member of a group cannot press the group's topic buttons.
            group, admin, member = -100900, 901, 902
            api.add_chat(group, "supergroup", title="Readers")
            api.set_admins(group, [admin])
            [picker] = await say(bot, "/start", group, admin)
            group_before = store.get_subscriber(group)
            api.user_presses(group, member, picker.message_id, "t:sport")
            await api.wait_for(lambda: any(a.show_alert for a in api.callback_answers))
            assert "Only this group's administrators" in (api.callback_answers[-1].text or "")
            assert store.get_subscriber(group) == group_before
            refused.append("t:sport by a member")
    record_property(
        "figures",
        {
            "commands_sent": 2 * MAX_KEYWORDS + len(refused) + 3,
            "refused": len(refused),
            "stored_by_refused": 0,
        },
    )


async def test_pasted_text_length_cap(
    tmp_path: Path, api: FakeBotAPI, record_property: Record
) -> None:
    """A pasted text over 20,000 characters, or /summarize with one, is refused before
    any summarizing; exactly 20,000 is summarized. (Telegram caps a message at 4,096
    characters; the fake server lets the test send more, as a modified client could.)"""
    settings = make_settings(tmp_path)
    long_text = (ARTICLE + " ") * (MAX_TEXT_CHARS // len(ARTICLE) + 1)
    at_cap = long_text[:MAX_TEXT_CHARS]
    over = long_text[: MAX_TEXT_CHARS + 1]
    with EmbeddedStore.open(settings.data_file) as store:
        clock = await start_bot(api, settings, store)
        async with bot_running(api, settings, store, clock) as bot:
            counting = CountingSummarizer(bot.services.summaries.summarizer)
            bot.services.summaries.summarizer = counting  # type: ignore[assignment]  # a counting stand-in with the same call signature
            for text in (over, f"/summarize {over}", long_text * 3):
                answer = await reply(bot, text)
                assert answer.startswith("That text is too long: I summarize up to 20,000")
            assert counting.calls == 0
            assert "harbour bridge" in await reply(bot, at_cap)
            assert counting.calls == 1
    record_property("figures", {"oversized_texts": 3, "summarized": 0, "at_cap_summarized": 1})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/subscribe " + " ".join(["x"] * 2040), "Unknown topic"),
        ("/x" + "&" * 4090, "I don't know"),
        ("/x" + "<" * 4090, "I don't know"),
    ],
    ids=[
        "subscribe-2040-unknown-topics",
        "unknown-command-of-ampersands",
        "unknown-command-of-angle-brackets",
    ],
)
async def test_replies_that_echo_input_fit_in_one_message(
    tmp_path: Path, api: FakeBotAPI, text: str, expected: str
) -> None:
    """Regression (fixed in round 1): a refusal that quotes the user's input fits
    Telegram's 4,096 characters. A 4,096-character /subscribe of 2,040 unknown one-letter
    topics used to be answered with all 2,040 quoted, and an unknown command of 4,090
    characters echoed whole; Telegram refused both replies and the user got "something
    went wrong". Now a few names are quoted, each clipped, then a count."""
    assert len(text) <= 4096
    settings = make_settings(tmp_path)
    with EmbeddedStore.open(settings.data_file) as store:
        clock = await start_bot(api, settings, store)
        async with bot_running(api, settings, store, clock) as bot:
            await say(bot, "/start")
            answer = await reply(bot, text)
            assert [c.description for c in api.calls_to("sendMessage") if not c.ok] == []
            assert expected in answer


async def test_summarize_links_cannot_reach_private_addresses(
    tmp_path: Path, api: FakeBotAPI, server: FeedServer, record_property: Record
) -> None:
    """/summarize with a link to the metadata service, to a LAN address, to loopback
    (directly or through a redirect) is answered with a short reason, and no request leaves
    for a private address, even for the host the operator allowed for feeds
    (``allowed_networks`` covers configured feeds, never users' links)."""
    base = make_settings(tmp_path)
    settings = replace(
        base,
        fetch=FetchSettings(
            timeout=5.0,
            max_bytes=100_000,
            allow_private_addresses=False,
            allowed_networks=("127.0.0.1",),
        ),
    )
    page = server.serve("/admin", PAGE, headers={"Content-Type": "text/html"})
    hop = server.route("/hop", redirect("http://169.254.169.254/latest/meta-data/"))
    cases = [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/admin",
        "http://[::1]:8080/",
        "http://0.0.0.0/",
        "http://[::ffff:127.0.0.2]/",
        page,
        hop,
    ]
    with EmbeddedStore.open(settings.data_file) as store:
        clock = await start_bot(api, settings, store)
        async with bot_running(api, settings, store, clock) as bot:
            bot.services.rate_limits = RateLimits({})
            sent: list[str] = []

            async def remember(request: httpx.Request) -> None:
                sent.append(str(request.url.host))

            bot.services.http.event_hooks = {"request": [remember], "response": []}
            for url in cases:
                answer = await reply(bot, f"/summarize {url}")
                assert answer == (
                    "I could not fetch that page: that link points to a private or local "
                    "network address, which I don't fetch."
                ), (url, answer)
    assert sent == []
    assert server.hits("/admin") == server.hits("/hop") == 0
    record_property("figures", {"hostile_links": len(cases), "requests_to_private": 0})


async def test_a_gzip_bomb_link_is_not_expanded_past_the_size_cap(
    tmp_path: Path, api: FakeBotAPI, server: FeedServer
) -> None:
    """A link to a small gzip stream that expands to 50 MB is refused as too large after
    at most the size cap was decompressed (a trial setup that allows private addresses)."""
    base = make_settings(tmp_path)
    settings = replace(
        base, fetch=FetchSettings(timeout=5.0, max_bytes=100_000, allow_private_addresses=True)
    )
    bomb = server.serve(
        "/bomb",
        gzip_bomb(50_000_000),
        headers={"Content-Encoding": "gzip", "Content-Type": "text/html"},
    )
    with EmbeddedStore.open(settings.data_file) as store:
        clock = await start_bot(api, settings, store)
        async with bot_running(api, settings, store, clock) as bot:
            answer = await reply(bot, f"/summarize {bomb}")
    assert answer == "I could not fetch that page: the page is too large."
    assert server.hits("/bomb") == 1


# --- who may use the bot ------------------------------------------------------------------


async def test_private_mode_answers_strangers_once_and_does_nothing(
    tmp_path: Path, api: FakeBotAPI, record_property: Record
) -> None:
    """With an allowlist, a stranger's every message gets the private-bot notice and
    nothing else: no subscriber, no typing, no digest, no summary, no admin data; a
    stranger's group gets no answer at all. Allowed users and admins use the bot."""
    allowed = 3131
    settings = make_settings(tmp_path, allowed_chat_ids=frozenset({allowed}))
    attempts = [
        "/start",
        "/digest",
        "/stats",
        "/sources",
        "/follow climate",
        "/time 07:00",
        f"{ARTICLE} {ARTICLE}",
        "https://example.com/story",
        "/stop",
        "hello",
    ]
    with EmbeddedStore.open(settings.data_file) as store:
        clock = await start_bot(api, settings, store)
        async with bot_running(api, settings, store, clock) as bot:
            for n, text in enumerate(attempts, start=1):
                api.user_sends(STRANGER, STRANGER, text)
                [*_, notice] = await api.wait_for_messages(STRANGER, n)
                assert notice.plain_text == (
                    "This is a private newsdigest bot. Ask its owner to add you."
                )
            group = -100777
            api.add_chat(group, "supergroup", title="Strangers")
            api.set_admins(group, [STRANGER])
            api.user_sends(group, STRANGER, "/start")
            api.user_sends(group, STRANGER, "/digest")
            assert "Welcome" in await reply(bot, "/start", allowed, allowed)  # barrier
            assert api.messages(group) == []
            for chat in (STRANGER, group):
                assert store.get_subscriber(chat) is None
                assert [a for a in api.chat_actions if a.chat_id == chat] == []
            stranger_calls = [c.method for c in api.calls if c.chat_id in (STRANGER, group)]
            assert set(stranger_calls) == {"sendMessage"}
            assert len(stranger_calls) == len(attempts)  # one notice each
            assert store.get_subscriber(allowed) is not None
            assert "Your news digest" in (await say(bot, "/digest", allowed, allowed))[0].plain_text
            assert "Subscribers: 1 " in await reply(bot, "/stats", ADMIN, ADMIN)
    record_property("figures", {"stranger_messages": len(attempts) + 2, "acted_on": 0})


async def test_admin_commands_refuse_everyone_else(
    tmp_path: Path, api: FakeBotAPI, record_property: Record
) -> None:
    """/stats and /sources answer only the bot's administrators: a user, a group's own
    administrator and a user in a group get a refusal that shows no figures or sources;
    admin commands are only listed in /help and the command menu for admins."""
    settings = make_settings(tmp_path)
    group, group_admin = -100500, 501
    with EmbeddedStore.open(settings.data_file) as store:
        clock = await start_bot(api, settings, store)
        async with bot_running(api, settings, store, clock) as bot:
            api.add_chat(group, "supergroup", title="Club")
            api.set_admins(group, [group_admin])
            for chat, user in ((USER, USER), (group, group_admin), (group, USER)):
                for command in ("stats", "sources"):
                    answer = await reply(bot, f"/{command}", chat, user)
                    assert answer == f"Sorry, /{command} is for the bot's administrators."
            assert "Subscribers:" in await reply(bot, "/stats", ADMIN, ADMIN)
            assert "seeds folder" in await reply(bot, "/sources", ADMIN, ADMIN)
            await say(bot, "/help")
            await say(bot, "/help", ADMIN, ADMIN)
            public = {c["command"] for c in api.commands()}
            admin_menu = {c["command"] for c in api.commands({"type": "chat", "chat_id": ADMIN})}
            assert not {"stats", "sources"} & public
            assert {"stats", "sources"} <= admin_menu
            helps = [
                m.plain_text for m in api.messages(USER) if m.plain_text.startswith(HELP_START)
            ]
            assert helps
            assert all("/stats" not in text for text in helps)
            admin_help = [
                m.plain_text for m in api.messages(ADMIN) if m.plain_text.startswith(HELP_START)
            ]
            assert admin_help
            assert all("/stats" in text for text in admin_help)
    record_property("figures", {"refusals": 6})


# --- the token never reaches a log -------------------------------------------------------


class _Lines(logging.Handler):
    """Keeps each record's message as it was before any root handler's filter ran."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def debug_logs() -> Iterator[tuple[io.StringIO, _Lines]]:
    """Every logger at DEBUG into a buffer on the root logger, plus the raw httpx lines;
    all of it undone afterwards (root handlers, filters and levels)."""
    root = logging.getLogger()
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    raw = _Lines()
    names = ["", "httpx", "httpcore", "telegram", "apscheduler", "bot", "asyncio"]
    levels = {name: logging.getLogger(name).level for name in names}
    root.addHandler(handler)
    filters = {h: list(h.filters) for h in root.handlers}
    logging.getLogger("httpx").addHandler(raw)
    for name in names:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield buffer, raw
    finally:
        logging.getLogger("httpx").removeHandler(raw)
        root.removeHandler(handler)
        for h, kept in filters.items():
            h.filters[:] = kept
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def test_the_tokens_secret_part_alone_is_redacted_too(
    debug_logs: tuple[io.StringIO, _Lines],
) -> None:
    """Found by a stranger: with a Bot API address lacking its /bot path, httpx read the
    appended token's secret part as a port, and its error, logged as the bot retried,
    showed that part, which the filter (looking for the whole token) let through."""
    buffer, _raw = debug_logs
    protect_token(TOKEN)
    secret = TOKEN.split(":", 1)[1]
    log = logging.getLogger("bot.telegram.lifecycle")
    log.warning("cannot reach the Telegram Bot API (InvalidURL(\"Invalid port: '%s'\"))", secret)
    try:
        raise ValueError(f"Invalid port: '{secret}'")
    except ValueError:
        log.exception("failed")
    logged = buffer.getvalue()
    assert secret not in logged
    assert "Invalid port: '<token>'" in logged
    assert "ValueError: Invalid port: '<token>'" in logged


async def test_a_full_run_never_logs_the_token(
    tmp_path: Path,
    api: FakeBotAPI,
    server: FeedServer,
    debug_logs: tuple[io.StringIO, _Lines],
    record_property: Record,
) -> None:
    """With every logger at DEBUG (httpx and httpcore included) and the product's filter
    installed as `newsdigest run` installs it, a whole journey (start, topic button,
    digest, a link summary, a delivery fault that is retried, a scheduled digest, an
    error that reaches the error handler with its traceback) logs plenty, httpx logs each
    Bot API request line, yet the token appears nowhere: the URLs show "<token>"."""
    buffer, raw = debug_logs
    protect_token(TOKEN)
    settings = make_settings(tmp_path)
    url = server.serve("/bridge", PAGE, headers={"Content-Type": "text/html"})
    with EmbeddedStore.open(settings.data_file) as store:
        clock = await start_bot(api, settings, store)
        async with bot_running(api, settings, store, clock) as bot:
            await say(bot, "/start")
            [picker] = [m for m in api.messages(USER) if "t:world" in m.callback_data]
            api.user_presses(USER, USER, picker.message_id, "t:world")
            await api.wait_for(lambda: api.message(USER, picker.message_id).edited)
            api.inject("server_error", chat_id=USER)  # the digest's first send fails once
            digest = await say(bot, "/digest")
            assert "Your news digest" in digest[0].plain_text
            assert "harbour bridge" in await reply(bot, f"/summarize {url}")
            await say(bot, "/time 06:10")
            clock.advance(minutes=6)
            api.inject("server_error", chat_id=USER, status=502)
            before = len(api.messages(USER))
            await bot.dispatch()
            [scheduled] = (await api.wait_for_messages(USER, before + 1))[before:]
            assert "Your news digest" in scheduled.plain_text or "Nothing new" in (
                scheduled.plain_text
            )
            api.inject("server_error", chat_id=USER, status=500)  # the reply to /settings
            answer = await reply(bot, "/settings")
            assert answer.startswith("Sorry, something went wrong")
    logged = buffer.getvalue()
    secret = TOKEN.split(":", 1)[1]
    assert TOKEN not in logged
    assert secret not in logged
    # The filter is load-bearing: httpx really logged URLs carrying the token...
    leaking = [m for m in raw.messages if secret in m]
    assert len(leaking) >= 10
    # ...and they reached the log redacted.
    assert "HTTP Request: POST http://127.0.0.1:" in logged
    assert "/bot<token>/sendMessage" in logged
    assert logged.count("<token>") >= len(leaking)  # redacted, not dropped
    assert "error while handling an update" in logged
    assert "Traceback (most recent call last)" in logged
    assert api.faults_served["server_error"] == 3
    figures = {
        "log_lines": logged.count("\n"),
        "httpx_lines_with_token": len(leaking),
        "token_occurrences_in_log": logged.count(secret),
        "faults_injected": 3,
    }
    record_property("figures", figures)
    print(f"token in logs: {figures}")
