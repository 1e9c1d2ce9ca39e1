"""One parser for times and zones: the running bot and the configuration agree."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, parse_settings
from bot.store import Store
from bot.timeparse import zone, zone_exists
from fakebotapi import FakeBotAPI
from tests.botharness import T0, USER, Clock, RunningBot, bot_running

TIMES = [
    "7.30",
    "7:30",
    "07:30",
    "7h30",
    "23:59",
    "0:00",
    "24:00",
    "7:60",
    "7",
    "730",
    "12:30pm",
    "seven",
]
ZONES = [
    "Europe/Berlin",
    "europe/berlin",
    "America/New York",
    "UTC",
    "Etc/UTC",
    "EST5EDT",
    "CET",
    "GMT",
    "Japan",
    "Europe",
    "Berlin",
    "Mars/Olympus",
]


def config_verdict(key: str, text: str) -> str | None:
    """What the configuration makes of ``text`` as delivery.<key> (None: refused)."""
    try:
        settings = parse_settings(
            {"delivery": {key: text}}, base=Path("/srv/nd/config"), path=None, environ={}
        )
    except ConfigError:
        return None
    return settings.default_time if key == "time" else settings.default_timezone


async def say(bot: RunningBot, text: str) -> str:
    """Send as the user; the plain text of the bot's next reply."""
    before = len(bot.api.messages(USER))
    bot.api.user_sends(USER, USER, text)
    messages = await bot.api.wait_for_messages(USER, before + 1)
    return messages[before].plain_text


async def test_the_bot_and_the_config_accept_the_same_times_and_zones(
    api: FakeBotAPI, settings: Settings, store: Store
) -> None:
    """Every time and zone below is accepted by the running bot's /time and /timezone
    exactly when delivery.time and delivery.timezone accept it, as the same value: "7.30"
    works in both, "EST5EDT" is refused by both with the same suggestion."""
    async with bot_running(api, settings, store, Clock(T0)) as bot:
        await say(bot, "/start")
        for text in TIMES:
            reply = await say(bot, f"/time {text}")
            stored = store.get_subscriber(USER)
            assert stored is not None
            expected = config_verdict("time", text)
            if expected is None:
                assert "daily at" not in reply, (text, reply)
            else:
                assert f"daily at {expected}" in reply, (text, reply)
                assert stored.times == (expected,)
        for text in ZONES:
            reply = await say(bot, f"/timezone {text}")
            stored = store.get_subscriber(USER)
            assert stored is not None
            expected = config_verdict("timezone", text)
            if expected is None:
                assert "Time zone set" not in reply, (text, reply)
            else:
                assert f"Time zone set to {expected}" in reply, (text, reply)
                assert stored.timezone == expected
        refused = await say(bot, "/timezone EST5EDT")
    assert "America/New_York" in refused
    with pytest.raises(ConfigError, match=r"EST5EDT.*did you mean America/New_York\?"):
        parse_settings(
            {"delivery": {"timezone": "EST5EDT"}}, base=Path("/srv"), path=None, environ={}
        )


def test_stored_old_style_zones_still_load() -> None:
    """A zone an older configuration handed out (EST5EDT) is refused as new input but
    still loads for the subscribers who have it; a name that never was a zone falls back
    to UTC instead of stopping the scheduler."""
    assert zone_exists("EST5EDT")
    assert str(zone("EST5EDT")) == "EST5EDT"
    assert not zone_exists("Mars/Olympus")
    assert not zone_exists("Europe")  # a folder of the tz database, not a zone
    assert str(zone("Mars/Olympus")) == "UTC"
