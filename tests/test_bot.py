"""User journeys through the real Application and the fake Bot API server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import Settings
from bot.fakeapi import FakeBotAPI
from bot.store import Store
from tests.botharness import T0, USER, Clock, RunningBot, bot_running, ingest_seeds, make_settings


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as server:
        yield server


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[Store]:
    with Store.open(settings.data_file) as opened:
        yield opened


@pytest.fixture
async def clock(settings: Settings, store: Store) -> Clock:
    clock = Clock(T0)
    await ingest_seeds(settings, store, clock)
    clock.advance(minutes=5)
    return clock


@pytest.fixture
async def bot(api: FakeBotAPI, settings: Settings, store: Store, clock: Clock
              ) -> AsyncIterator[RunningBot]:
    async with bot_running(api, settings, store, clock) as running_bot:
        yield running_bot


async def say(bot: RunningBot, text: str, chat: int = USER, user: int = USER) -> str:
    """Send a message as the user and return the plain text of the bot's next reply."""
    before = len(bot.api.messages(chat))
    bot.api.user_sends(chat, user, text)
    messages = await bot.api.wait_for_messages(chat, before + 1)
    return messages[before].plain_text


async def test_start_pick_topics_and_read_digest(bot: RunningBot) -> None:
    """/start shows a topic picker; pressing buttons ticks topics; /digest sends them."""
    welcome = await say(bot, "/start")
    assert "Welcome to newsdigest" in welcome
    [picker] = bot.api.messages(USER)
    assert "t:world" in picker.callback_data
    bot.api.user_presses(USER, USER, picker.message_id, "t:sport")
    await bot.api.wait_for(lambda: bot.api.message(USER, picker.message_id).edited)
    labels = [b["text"] for row in bot.api.message(USER, picker.message_id).buttons for b in row]
    assert "✅ Sport" in labels
    assert bot.store.get_subscriber(USER).topics == ("sport",)  # type: ignore[union-attr]
    digest = await say(bot, "/digest")
    assert "Your news digest" in digest
    assert "Ferrante" in digest  # the football seed
    assert "Meridia" not in digest  # business is not a chosen topic
    assert any(a.action == "typing" for a in bot.api.chat_actions)
