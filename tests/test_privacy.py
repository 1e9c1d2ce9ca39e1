"""The promises users trust the bot with: /stop stops, sample articles never reach real
readers, one user cannot slow anyone else, operators' exceptions are not users'
permissions, replies always fit and always answer, and every page is decoded one way.

Each test drives the real Application through the fake Bot API (or the real CLI), as a
user would.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from functools import partial
from pathlib import Path

import pytest

from bot.config import Feed, FetchSettings, Settings
from bot.ingest.ingester import SEEDS_SOURCE, Ingester
from bot.paths import BUNDLED_CONFIG, PROJECT_ROOT
from bot.store import EmbeddedStore, Store
from bot.telegram.app import ERASE_JOB, INGEST_JOB
from bot.telegram.context import RateLimits
from fakebotapi import FakeBotAPI, SentMessage, utf16_len
from tests.botharness import T0, USER, Clock, RunningBot, bot_running, make_settings, say
from tests.feedserver import FeedServer, Reply

ARTICLE = (
    "The city council approved a plan on Tuesday to rebuild the old harbour bridge. "
    "The bridge, built in 1931, has been closed to trucks since a crack was found last "
    "spring. Engineers said the new bridge will carry twice as much traffic. "
    "Construction starts in March and should take about two years."
)
PAGE = (
    f"<html><head><title>Bridge vote</title></head><body><article><p>{ARTICLE}</p>"
    "</article></body></html>"
)
HTML = {"Content-Type": "text/html; charset=utf-8"}
# A chat id that appears nowhere else in a data file, so the files can be searched for it.
CHAT = 987_654_321


class FakeMonotonic:
    """The rate limiter's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def bot(api: FakeBotAPI, settings: Settings, store: Store) -> AsyncIterator[RunningBot]:
    clock = Clock(T0)
    await Ingester(settings, store, clock=clock).run(feeds=False)
    clock.advance(minutes=5)
    async with bot_running(api, settings, store, clock) as running_bot:
        yield running_bot


async def press(bot: RunningBot, chat: int, message: SentMessage, data: str) -> str:
    """Press a button of a bot message and return the answer to the button press."""
    answered = len(bot.api.callback_answers)
    bot.api.user_presses(chat, chat, message.message_id, data, forged=True)
    await bot.api.wait_for(
        lambda: len(bot.api.callback_answers) > answered, what=f"the answer to the button {data!r}"
    )
    return bot.api.callback_answers[-1].text or ""


def data_files(settings: Settings) -> dict[str, bytes]:
    """Every file the store keeps next to its data file, by name."""
    folder = settings.data_file.parent
    return {p.name: p.read_bytes() for p in folder.glob(f"{settings.data_file.name}*")}


# --- 1. /stop stops --------------------------------------------------------------------------


async def test_after_stop_nothing_revives_the_subscription_and_its_data_leaves_the_files(
    bot: RunningBot, settings: Settings
) -> None:
    """Regression (issue 8, "/stop that does not stop"): after /stop and "Yes, delete
    everything", no reading or setting command and no button from an old message creates
    the subscription again; /settings says there is none; the slot passes without a digest;
    and within the erase interval the chat's id is gone from every file of the store."""
    await say(bot, "/start", CHAT, CHAT)
    [picker] = bot.api.messages(CHAT)
    await press(bot, CHAT, picker, "t:world")
    await say(bot, "/digest", CHAT, CHAT)
    await bot.api.wait_for(lambda: bot.store.delivered_ids(CHAT), what="the digest's ledger")
    await say(bot, "/stop", CHAT, CHAT)
    confirm = bot.api.messages(CHAT)[-1]
    # The question names all it deletes (it left out the chat's own feeds).
    assert "deletes your topics, words, feeds and history" in confirm.plain_text
    await press(bot, CHAT, confirm, "stop:yes")
    await bot.api.wait_for(lambda: bot.api.message(CHAT, confirm.message_id).edited)
    assert "deleted" in bot.api.message(CHAT, confirm.message_id).plain_text
    assert bot.store.get_subscriber(CHAT) is None

    answers = {}
    for command in (
        "/settings",
        "/digest",
        "/keywords",
        "/topics",
        "/help",
        "/time 07:00",
        "/timezone Europe/Berlin",
        "/follow climate",
        "/unsubscribe world",
        "/pause",
        "/resume",
        "/empty skip",
        f"/summarize {ARTICLE}",
    ):
        answers[command] = await say(bot, command, CHAT, CHAT)
        assert bot.store.get_subscriber(CHAT) is None, command
    assert "no subscription" in answers["/settings"]
    assert "/start" in answers["/settings"]
    for command in (
        "/digest",
        "/keywords",
        "/topics",
        "/time 07:00",
        "/follow climate",
        "/pause",
        "/resume",
        "/empty skip",
        "/unsubscribe world",
    ):
        assert answers[command] == "This chat has no subscription: send /start first.", command
    # Buttons of old messages: "Done" on the picker, "Yes, delete" again.
    await press(bot, CHAT, picker, "t:done")
    assert await press(bot, CHAT, confirm, "stop:yes") == ""
    await bot.api.wait_for(
        lambda: "nothing to delete" in bot.api.message(CHAT, confirm.message_id).plain_text
    )
    assert bot.store.get_subscriber(CHAT) is None

    # The default slot (08:00 UTC) comes and goes: no digest.
    sent = len(bot.api.messages(CHAT))
    bot.clock.advance(hours=3)
    await bot.dispatch()
    assert len(bot.api.messages(CHAT)) == sent

    assert any(str(CHAT).encode() in content for content in data_files(settings).values())
    [job] = bot.app.job_queue.get_jobs_by_name(ERASE_JOB)  # type: ignore[union-attr]  # the application is built with a job queue
    await job.run(bot.app)
    assert not any(str(CHAT).encode() in content for content in data_files(settings).values())


async def test_only_start_subscribe_and_topic_buttons_create_a_subscription(
    bot: RunningBot,
) -> None:
    """/subscribe and a topic button are explicit: they create the subscription (a topic
    button even on a picker from before /stop); nothing else does."""
    other = CHAT + 1
    assert "Added: Science" in await say(bot, "/subscribe science", CHAT, CHAT)
    subscriber = bot.store.get_subscriber(CHAT)
    assert subscriber is not None
    assert subscriber.topics == ("science",)

    await say(bot, "/start", other, other)
    [picker] = bot.api.messages(other)
    await say(bot, "/stop", other, other)
    await press(bot, other, bot.api.messages(other)[-1], "stop:yes")
    await bot.api.wait_for(lambda: bot.store.get_subscriber(other) is None)
    assert await press(bot, other, picker, "t:sport") == "Added Sport"
    again = bot.store.get_subscriber(other)
    assert again is not None
    assert again.topics == ("sport",)


# --- 2. sample articles never reach real users ------------------------------------------------

RSS = (
    "<?xml version='1.0'?><rss version='2.0'><channel><title>Wire</title>"
    "<item><title>Harbour reopens after storm</title><link>http://127.0.0.1/h</link>"
    "<description>The harbour reopened on Monday after a week of storms. Ships "
    "queued outside. Officials said repairs cost millions.</description></item>"
    "</channel></rss>"
)


@pytest.mark.parametrize("with_feed", [True, False], ids=["with-a-feed", "no-feeds"])
async def test_the_running_bot_stores_no_sample_articles_unless_told_to(
    api: FakeBotAPI, tmp_path: Path, server: FeedServer, with_feed: bool
) -> None:
    """Regression (issue 8, "sample articles reaching real users"): the ingest job of the
    running bot never reads seeds/, with or without feeds, unless ``sources.use_seeds``."""
    settings = make_settings(tmp_path, use_seeds=False)
    url = server.serve("/rss", RSS, headers={"Content-Type": "application/rss+xml"})
    if with_feed:
        settings = replace(settings, feeds=(Feed(url, "Wire", ("world",), None, False),))
    with EmbeddedStore.open(settings.data_file) as store:
        async with bot_running(api, settings, store, Clock(T0)) as bot:
            [job] = bot.app.job_queue.get_jobs_by_name(INGEST_JOB)  # type: ignore[union-attr]  # the application is built with a job queue
            await job.run(bot.app)
            sources = {a.feed for a in store.articles_since(T0 - timedelta(days=1))}
            assert sources == ({"Wire"} if with_feed else set())
            await say(bot, "/start")
            digest = await say(bot, "/digest")
            assert "Meridia" not in digest


async def test_sample_articles_from_an_earlier_version_are_removed_at_start(
    api: FakeBotAPI, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A deployment's data file that an earlier version filled with the sample articles is
    cleaned when the bot starts, with one log line; the operator can still opt in."""
    settings = make_settings(tmp_path, use_seeds=False)
    with EmbeddedStore.open(settings.data_file) as store:
        await Ingester(settings, store, clock=Clock(T0)).run(feeds=False, seeds=True)
        seeded = store.count_articles()
        assert seeded > 10
        with caplog.at_level(logging.INFO, logger="bot.telegram.app"):
            async with bot_running(api, settings, store, Clock(T0)):
                pass
        assert store.count_articles() == 0
    lines = [r.getMessage() for r in caplog.records if "sample articles" in r.getMessage()]
    assert lines == [f"removed {seeded} sample articles (seeds/) from {settings.data_file}"]

    opted_in = replace(settings, use_seeds=True)
    with EmbeddedStore.open(settings.data_file) as store:
        await Ingester(opted_in, store, clock=Clock(T0)).run(feeds=False, seeds=True)
        async with bot_running(api, opted_in, store, Clock(T0)):
            pass
        assert store.count_articles() == seeded


def test_the_terminal_digest_keeps_sample_articles_out_of_the_deployment_file(
    tmp_path: Path,
) -> None:
    """The README's first command prints the sample digest from a demo file of its own: the
    data file that ``newsdigest run`` opens is not even created."""
    data_file = tmp_path / "newsdigest.json"
    env = {**os.environ, "NEWSDIGEST_DATA_FILE": str(data_file), "CI": "true"}
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "--config", str(BUNDLED_CONFIG), "digest"],
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Your news digest" in result.stdout
    assert "sample articles" in result.stderr
    assert not data_file.exists()
    with EmbeddedStore.open(tmp_path / "demo.json") as demo:
        assert {a.feed for a in demo.articles_since(T0 - timedelta(days=3650))} == {SEEDS_SOURCE}


# --- 3. one user cannot slow anyone else --------------------------------------------------------


def held_page(server: FeedServer, release: threading.Event) -> str:
    """A page that is answered only once ``release`` is set (or after 20 s)."""

    def answer(_: object) -> Reply:
        release.wait(20)
        return Reply(body=PAGE.encode(), headers=HTML)

    return server.route("/slow", answer)


@pytest.mark.parametrize("attackers", [1, 6], ids=["one-user", "six-users"])
async def test_slow_links_of_one_user_do_not_delay_another_users_command(
    bot: RunningBot, server: FeedServer, attackers: int
) -> None:
    """Regression (issue 8, "one user able to stall everyone"): while slow links hold the
    fetches of one user (six /summarize, of which five are refused as still working) or of
    six users, another user's /settings is answered before any of those links is."""
    release = threading.Event()
    url = held_page(server, release)
    users = [CHAT + n for n in range(attackers)]
    try:
        for n in range(6):
            user = users[n % attackers]
            bot.api.user_sends(user, user, f"/summarize {url}?n={n}")
        await bot.api.wait_for(lambda: server.in_flight == attackers, what="the held fetches")
        if attackers == 1:
            await bot.api.wait_for_messages(CHAT, 5)
            assert all(
                "still working on your last link" in m.plain_text for m in bot.api.messages(CHAT)
            )
        started = time.monotonic()
        answer = await say(bot, "/settings")
        waited = time.monotonic() - started
        assert "no subscription" in answer
        assert not release.is_set()
        assert server.in_flight == attackers  # the links are still being fetched
    finally:
        release.set()

    def summarized(user: int) -> bool:
        return any("Bridge vote" in m.plain_text for m in bot.api.messages(user))

    for user in users:
        await bot.api.wait_for(partial(summarized, user), what=f"the summary for {user}")
    assert server.hits("/slow") == attackers
    assert waited < 5.0  # generous: the point is that it did not wait for the links


async def test_a_slow_delivery_to_one_chat_does_not_hold_up_another_chat(
    bot: RunningBot,
) -> None:
    """Updates of different chats are handled concurrently: while Telegram takes seconds to
    accept a digest for one chat, another chat's command is answered."""
    await say(bot, "/start", CHAT, CHAT)
    bot.api.inject("timeout", method="sendMessage", chat_id=CHAT, delay=3.0, performed=True)
    before = len(bot.api.messages(CHAT))
    bot.api.user_sends(CHAT, CHAT, "/digest")
    await bot.api.wait_for(lambda: len(bot.api.messages(CHAT)) > before, what="the held digest")
    started = time.monotonic()
    assert "no subscription" in await say(bot, "/settings")
    waited = time.monotonic() - started
    assert waited < 2.5  # the held answer takes 3 s
    assert bot.api.faults_served["timeout"] == 1


async def test_a_chats_updates_are_handled_in_the_order_they_were_sent(bot: RunningBot) -> None:
    """One chat's commands apply, and are answered, in the order they were sent, even when
    the first one waits for Telegram (checking a group admin) and the later ones would
    otherwise overtake it."""
    group, admin = -100500, 501
    bot.api.add_chat(group, "supergroup", title="Readers")
    bot.api.set_admins(group, [admin])
    bot.api.inject("timeout", method="getChatMember", delay=1.0, performed=True)
    for text in (
        "/start",
        "/time 07:00",
        "/time 08:00",
        "/timezone Europe/Berlin",
        "/time 06:15",
        "/settings",
    ):
        bot.api.user_sends(group, admin, text)
    messages = await bot.api.wait_for_messages(group, 6, timeout=10)
    texts = [m.plain_text for m in messages]
    assert "Welcome" in texts[0]
    assert "07:00" in texts[1]
    assert "08:00" in texts[2]
    assert "Europe/Berlin" in texts[3]
    assert "06:15" in texts[4]
    assert "06:15 (Europe/Berlin)" in texts[5]
    subscriber = bot.store.get_subscriber(group)
    assert subscriber is not None
    assert subscriber.times == ("06:15",)


async def test_limits_count_a_command_when_it_arrives_not_when_it_is_handled(
    bot: RunningBot,
) -> None:
    """Regression (issue 8: six requests every 61 s grew the wait with no refusal): six
    /digest sent at once are counted at arrival, so the sixth is refused even though each
    digest takes 30 s of the limiter's clock to send (handled one after the other, they
    would seem spread over minutes)."""
    monotonic = FakeMonotonic()
    bot.services.rate_limits = RateLimits(monotonic=monotonic)
    await say(bot, "/start")

    def slow_sending(event: str, message: SentMessage) -> None:
        if event == "sent" and message.chat_id == USER:
            monotonic.now += 30

    bot.api.add_listener(slow_sending)
    before = len(bot.api.messages(USER))
    for _ in range(6):
        bot.api.user_sends(USER, USER, "/digest")
    await bot.api.wait_for(
        lambda: any("Easy there" in m.plain_text for m in bot.api.messages(USER)[before:]),
        what="the refusal of the sixth /digest",
        timeout=20,
    )
    refusals = [m for m in bot.api.messages(USER)[before:] if "Easy there" in m.plain_text]
    assert len(refusals) == 1
    assert refusals[0] is bot.api.messages(USER)[-1]


# --- 4. operators' exceptions are not users' permissions ----------------------------------------


async def test_allowed_networks_open_configured_feeds_and_their_host_only(
    api: FakeBotAPI, tmp_path: Path, server: FeedServer
) -> None:
    """``fetch.allowed_networks = ["127.0.0.1"]`` lets the configured feed and its own pages
    through, but not a page on another host name that a feed entry links to, and never a
    user's /summarize link (even to the same server)."""
    own = server.serve("/own", PAGE, headers=HTML)
    other = server.serve("/other", PAGE, headers=HTML).replace("127.0.0.1", "localhost")
    rss = (
        "<?xml version='1.0'?><rss version='2.0'><channel><title>Bridge</title>"
        f"<item><title>Own page</title><link>{own}</link><description>Short.</description>"
        f"</item><item><title>Other host</title><link>{other}</link>"
        "<description>Short.</description></item></channel></rss>"
    )
    feed_url = server.serve("/feed", rss, headers={"Content-Type": "application/rss+xml"})
    settings = make_settings(tmp_path, use_seeds=False)
    settings = replace(
        settings,
        feeds=(Feed(feed_url, "Bridge", ("world",), None, True),),
        fetch=FetchSettings(
            timeout=5.0, allow_private_addresses=False, allowed_networks=("127.0.0.1",)
        ),
    )
    with EmbeddedStore.open(settings.data_file) as store:
        async with bot_running(api, settings, store, Clock(T0)) as bot:
            [job] = bot.app.job_queue.get_jobs_by_name(INGEST_JOB)  # type: ignore[union-attr]  # the application is built with a job queue
            await job.run(bot.app)
            assert server.hits("/feed") == 1
            assert server.hits("/own") == 1  # the feed's own host: full text fetched
            assert server.hits("/other") == 0  # another host: the teaser is kept
            assert store.count_articles() == 2
            answer = await say(bot, f"/summarize {own}")
            assert "private or local network address" in answer
            assert server.hits("/own") == 1


# --- 5. replies always fit, always answer -------------------------------------------------------


async def test_a_summary_of_a_page_with_a_huge_title_and_link_fits_in_one_message(
    bot: RunningBot, server: FeedServer
) -> None:
    """Regression (issue 8): a page whose <title> is 9,600 characters, reached by a
    3,900-character link, is summarized in one message within Telegram's limit, the title
    and the link clipped as in digests."""
    title = "Harbour " * 1200
    page = (
        f"<html><head><title>{title}</title></head><body><article><p>{ARTICLE}</p>"
        "</article></body></html>"
    )
    url = server.serve("/" + "p" * 3900, page, headers=HTML)
    before = len(bot.api.messages(USER))
    bot.api.user_sends(USER, USER, f"/summarize {url}")
    [reply] = (await bot.api.wait_for_messages(USER, before + 1))[before:]
    assert utf16_len(reply.plain_text) <= 4096
    assert reply.plain_text.startswith("Harbour Harbour")
    assert "harbour bridge" in reply.plain_text
    assert "…" in reply.plain_text


async def test_text_with_lone_surrogates_is_summarized(bot: RunningBot) -> None:
    """Regression (issue 8): a pasted text with unpaired UTF-16 surrogates (a broken client
    can send them) gets its summary, the broken characters shown as U+FFFD."""
    broken = ARTICLE.replace("harbour bridge", "harbour \ud83d bridge")
    reply = await say(bot, f"/summarize {broken}")
    assert "harbour \ufffd bridge" in reply


async def test_a_word_with_lone_surrogates_is_refused_in_plain_characters(
    bot: RunningBot,
) -> None:
    """A command's word with unpaired surrogates (bytes that were not UTF-8, from a broken
    client or a terminal) is refused showing U+FFFD, not Python escapes."""
    reply = await say(bot, "/follow \udcff\udcfe")
    assert "“\ufffd\ufffd” is not" in reply
    assert "\\u" not in reply


async def test_every_button_press_is_answered(bot: RunningBot) -> None:
    """Regression (issue 8): a press with unknown or stale data ("zzz:unknown", a topic that
    no longer exists) is answered, so the user's client stops its spinner."""
    await say(bot, "/start")
    [picker] = bot.api.messages(USER)
    assert "no longer works" in await press(bot, USER, picker, "zzz:unknown")
    assert "Unknown topic" in await press(bot, USER, picker, "t:astrology")
    assert len(bot.api.callback_answers) == 2


async def test_a_button_on_an_older_keyboard_is_no_error(
    bot: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    """Found in the terminal chat: a topic pressed on a keyboard that already shows the
    result (the topic was removed by command, then pressed again) made Telegram refuse the
    unchanged keyboard, and the bot logged it as an error with its traceback."""
    await say(bot, "/start")
    [picker] = bot.api.messages(USER)
    assert "Added World" in await press(bot, USER, picker, "t:world")
    await say(bot, "/unsubscribe world")
    with caplog.at_level(logging.INFO, logger="bot"):
        assert "Added World" in await press(bot, USER, picker, "t:world")
        await say(bot, "/help")  # handled after the press: its edit is done
    refused = [c for c in bot.api.calls_to("editMessageReplyMarkup") if not c.ok]
    assert len(refused) == 1
    assert "not modified" in (refused[0].description or "")
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert bot.store.get_subscriber(USER).topics == ("world",)  # type: ignore[union-attr]  # started above


# --- 6. one way to decode a page ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "text", "declared"),
    [
        ("cp1252", "La fête du quartier a réuni les habitants près du marché.", "header"),
        ("latin-1", "Die Brücke über den Fluß wird im März für Lastwagen gesperrt.", "meta"),
        ("koi8-r", "Городской совет одобрил план ремонта старого моста через реку.", "none"),
    ],
)
async def test_summarize_reads_a_page_in_its_declared_or_detected_encoding(
    bot: RunningBot, server: FeedServer, encoding: str, text: str, declared: str
) -> None:
    """Regression (issue 8: "Fête" came out as "F�te"): /summarize decodes a page by its
    Content-Type charset, its <meta charset>, or by detection when it declares nothing."""
    body = " ".join([text] * 6)
    meta = f'<meta charset="{encoding}">' if declared == "meta" else ""
    page = (
        f"<html><head>{meta}<title>{text[:20]}</title></head><body><article><p>{body}</p>"
        f"<p>{body}</p></article></body></html>"
    )
    headers = {
        "Content-Type": f"text/html; charset={encoding}" if declared == "header" else "text/html"
    }
    url = server.serve(f"/{encoding}", page.encode(encoding), headers=headers)
    reply = await say(bot, f"/summarize {url}")
    assert text in reply
    assert "\ufffd" not in reply
