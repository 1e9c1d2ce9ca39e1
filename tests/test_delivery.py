"""Delivery faults during a scheduled digest run: nothing dropped, nothing twice, all counted."""

from __future__ import annotations

import pytest
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.config import Settings
from bot.delivery.deliverer import classify
from bot.models import BLOCKED, Subscriber
from bot.store import Store
from fakebotapi import FakeBotAPI, SentMessage
from tests.botharness import ADMIN, T0, Clock, bot_running, ingest_seeds

CHATS = [1001, 1002, 1003, 1004, 1005, 1006]
GROUP = -4000  # a basic group that migrates to a supergroup


async def _greet(api: FakeBotAPI, chats: list[int]) -> None:
    """Each user writes once (Telegram lets a bot write only to users who did)."""
    for chat_id in chats:
        api.user_sends(chat_id, chat_id, "hi")
    for chat_id in chats:
        await api.wait_for_messages(chat_id, 1)


def _due_subscribers(api: FakeBotAPI, store: Store) -> None:
    for chat_id in CHATS:
        store.put_subscriber(Subscriber(chat_id=chat_id, times=("06:10",), created=T0))
    api.add_chat(GROUP, "group", title="Old group")
    store.put_subscriber(Subscriber(chat_id=GROUP, chat_type="group", times=("06:10",), created=T0))


async def test_faults_during_a_digest_run(
    api: FakeBotAPI, settings: Settings, store: Store
) -> None:
    """429, 5xx, timeouts, 403, migration and a parse error in one run: every deliverable
    digest arrives exactly once, the blocked chat is deactivated, the migrated chat moves,
    the rejected HTML arrives as plain text, and /stats counts each fault."""
    clock = Clock(T0)
    await ingest_seeds(settings, store, clock)
    _due_subscribers(api, store)
    async with bot_running(api, settings, store, clock, read_timeout=1.0) as bot:
        await _greet(api, CHATS)
    clock.advance(minutes=10, seconds=1)  # 06:10:01 UTC: everyone is due
    api.inject("flood", chat_id=CHATS[0], retry_after=1)
    api.inject("server_error", chat_id=CHATS[1], times=2)
    api.inject("server_error", chat_id=CHATS[1], status=502)
    api.inject("timeout", chat_id=CHATS[2], delay=3.0, performed=False)
    api.inject("forbidden", chat_id=CHATS[3], times=None)
    api.inject("parse", chat_id=CHATS[4])
    api.inject("migrate", chat_id=GROUP, migrate_to=-1004000)
    async with bot_running(api, settings, store, clock, read_timeout=1.0) as bot:
        await bot.dispatch()
        served = api.faults_served
        assert served["flood"] == 1
        assert served["server_error"] == 3
        assert served["timeout"] == 1
        assert served["forbidden"] == 1
        assert served["parse"] == 1
        assert served["migrate"] == 1
        for chat_id in (CHATS[0], CHATS[1], CHATS[2], CHATS[4], CHATS[5], -1004000):
            assert len(_digests(api, chat_id)) == 1, chat_id
        assert not _digests(api, CHATS[3])
        assert store.get_subscriber(CHATS[3]).status == BLOCKED  # type: ignore[union-attr]  # the test created this subscriber
        assert store.get_subscriber(GROUP) is None
        assert store.get_subscriber(-1004000) is not None
        [plain] = [m for m in api.messages(CHATS[4]) if "Your news digest" in m.plain_text]
        assert plain.parse_mode is None
        assert "<b>" not in plain.text
        counters = store.counters(clock().date())
        assert counters["digests_sent"] == 6
        for kind in ("flood", "network", "timeout", "blocked", "parse_error", "migrated"):
            assert counters[f"failures:{kind}"] >= 1, kind
        api.add_chat(ADMIN, "private")
        api.user_sends(ADMIN, ADMIN, "/stats")
        [stats] = await api.wait_for_messages(ADMIN, 1)
        assert "Digests sent today: 6" in stats.plain_text
        for kind in ("blocked 1", "flood 1", "migrated 1", "parse_error 1"):
            assert kind in stats.plain_text
        # Blocked chats are never tried again.
        clock.advance(days=1)
        await bot.dispatch()
        assert not _digests(api, CHATS[3])
        assert api.faults_served["forbidden"] == 1


async def test_network_down_is_retried_within_grace(
    api: FakeBotAPI, settings: Settings, store: Store
) -> None:
    """When every send fails, the slot is not lost: it is retried later and arrives once."""
    clock = Clock(T0)
    await ingest_seeds(settings, store, clock)
    store.put_subscriber(Subscriber(chat_id=CHATS[0], times=("06:10",), created=T0))
    async with bot_running(api, settings, store, clock) as bot:
        await _greet(api, CHATS[:1])
        clock.advance(minutes=10, seconds=1)
        fault = api.inject("server_error", chat_id=CHATS[0], times=None)
        await bot.dispatch()
        assert not _digests(api, CHATS[0])
        assert store.get_subscriber(CHATS[0]).last_slot is None  # type: ignore[union-attr]  # the test created this subscriber
        api.clear_faults()
        assert fault.served >= 1
        clock.advance(minutes=3)
        await bot.dispatch()
        assert len(_digests(api, CHATS[0])) == 1
        clock.advance(minutes=3)
        await bot.dispatch()
        assert len(_digests(api, CHATS[0])) == 1


def _digests(api: FakeBotAPI, chat_id: int) -> list[SentMessage]:
    return [m for m in api.messages(chat_id) if "Your news digest" in m.plain_text]


async def test_interrupted_digests_are_settled_at_start(
    api: FakeBotAPI, settings: Settings, store: Store
) -> None:
    """After a crash mid-delivery: a digest with a message already out is not sent again;
    one whose first message never went out is sent, once."""
    clock = Clock(T0)
    await ingest_seeds(settings, store, clock)
    partly, unsent = CHATS[0], CHATS[1]
    slot = T0.replace(minute=10)
    for chat_id in (partly, unsent):
        store.put_subscriber(Subscriber(chat_id=chat_id, times=("06:10",), created=T0))
    async with bot_running(api, settings, store, clock):
        await _greet(api, [partly, unsent])
    store.update_subscriber(partly, pending_slot=slot, pending_sent=1)
    store.update_subscriber(unsent, pending_slot=slot, pending_sent=0)
    clock.advance(minutes=20)
    async with bot_running(api, settings, store, clock) as bot:
        await bot.dispatch()
        await bot.dispatch()
    assert not _digests(api, partly)
    assert len(_digests(api, unsent)) == 1
    for chat_id in (partly, unsent):
        subscriber = store.get_subscriber(chat_id)
        assert subscriber is not None
        assert subscriber.last_slot == slot
        assert subscriber.pending_slot is None


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (RetryAfter(3), "flood"),
        (ChatMigrated(-1001), "migrated"),
        (Forbidden("Forbidden: bot was blocked by the user"), "blocked"),
        (BadRequest("Bad Request: can't parse entities: unclosed tag"), "parse_error"),
        (BadRequest("Bad Request: message thread not found"), "thread_not_found"),
        (BadRequest("Bad Request: chat not found"), "chat_not_found"),
        (BadRequest("Forbidden: user is deactivated"), "chat_not_found"),
        (BadRequest("Bad Request: message is too long"), "bad_request"),
        (TimedOut(), "timeout"),
        (NetworkError("httpx.ConnectError: refused"), "network"),
        (InvalidToken(), "other"),
    ],
)
def test_each_refusal_maps_to_one_row_of_the_fault_table(error: TelegramError, kind: str) -> None:
    """Telegram's refusals are told apart by PTB exception type first, by Telegram's
    wording only where one type covers several faults (one table, most specific first)."""
    assert classify(error).kind == kind
