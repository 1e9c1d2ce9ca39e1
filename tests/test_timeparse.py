"""One parser for times and zones: the running bot and the configuration agree."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, parse_settings
from bot.store import Store
from bot.timeparse import ScheduleError, parse_timezone, zone, zone_exists
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


@pytest.mark.parametrize(
    ("typed", "hours"),
    [("GMT-5", -5), ("UTC+2", 2), ("utc + 14", 14), ("+3", 3), ("UTC\u22124", -4), ("GMT", 0)],
)
def test_an_offset_is_answered_with_the_zone_of_that_offset(typed: str, hours: int) -> None:
    """Regression: "GMT-5" was answered "Did you mean Etc/GMT-5" (UTC+5: ten hours off,
    the tz database writes those names' signs reversed) and "GMT" with Etc/GMT-9. The
    zone suggested for an offset is at that offset, and the bot accepts it."""
    with pytest.raises(ScheduleError) as refused:
        parse_timezone(typed)
    [suggested] = refused.value.suggestions
    assert parse_timezone(suggested) == suggested
    offset = datetime(2026, 1, 15, tzinfo=UTC).astimezone(zone(suggested)).utcoffset()
    assert offset == timedelta(hours=hours)


def test_an_offset_in_hours_and_minutes_suggests_places_at_it_now() -> None:
    """UTC+05:30 has no fixed-offset zone: the places at that offset now are suggested."""
    with pytest.raises(ScheduleError) as refused:
        parse_timezone("UTC+05:30")
    assert "Asia/Kolkata" in refused.value.suggestions
    now = datetime.now(UTC)
    for name in refused.value.suggestions:
        assert now.astimezone(zone(name)).utcoffset() == timedelta(hours=5, minutes=30)


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("EST", "America/New_York"), ("pst", "America/Los_Angeles"), ("CET", "Europe/Berlin")],
)
def test_an_abbreviation_suggests_the_place_people_mean(typed: str, meant: str) -> None:
    """ "EST" was answered with Australia/West and Brazil/East: an abbreviation suggests
    the zone people mean by it first."""
    with pytest.raises(ScheduleError) as refused:
        parse_timezone(typed)
    assert refused.value.suggestions[0] == meant
