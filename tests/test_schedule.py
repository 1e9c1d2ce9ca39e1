"""Delivery times: parsing, DST-correct slots, catch-up grace and the due index."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.delivery.schedule import DueIndex, due_slot, next_slot
from bot.models import PAUSED, Subscriber
from bot.timeparse import ScheduleError, parse_clock, parse_timezone

GRACE = timedelta(hours=2)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "clock"),
    [
        ("7:30", "07:30"),
        ("07:30", "07:30"),
        ("7.30", "07:30"),
        (" 23:59 ", "23:59"),
        ("0:00", "00:00"),
        ("7h30", "07:30"),
    ],
)
def test_clock_formats(text: str, clock: str) -> None:
    """The usual ways of writing a 24-hour time are accepted."""
    assert parse_clock(text) == clock


@pytest.mark.parametrize("text", ["24:00", "7:60", "seven", "7", "", "7:3", "-1:00", "12:30pm"])
def test_bad_clocks_explain(text: str) -> None:
    """A bad time is refused with an example of a good one."""
    with pytest.raises(ScheduleError, match=r"07:30|00:00"):
        parse_clock(text)


def test_timezone_names() -> None:
    """IANA names are accepted case-insensitively and returned in canonical form."""
    assert parse_timezone("europe/berlin") == "Europe/Berlin"
    assert parse_timezone("UTC") == "UTC"
    assert parse_timezone("America/New York") == "America/New_York"


@pytest.mark.parametrize(
    ("text", "suggestion"),
    [
        ("Berlin", "Europe/Berlin"),
        ("Europe/Berln", "Europe/Berlin"),
        ("Tokio", "Asia/Tokyo"),
        ("America/Newyork", "America/New_York"),
    ],
)
def test_timezone_suggestions(text: str, suggestion: str) -> None:
    """A wrong zone name gets close matches suggested."""
    with pytest.raises(ScheduleError, match=suggestion):
        parse_timezone(text)


def sub(times: tuple[str, ...] = ("08:00",), tz: str = "Europe/Berlin", **kw: object) -> Subscriber:
    return Subscriber(chat_id=1, times=times, timezone=tz, **kw)  # type: ignore[arg-type]  # the test's field values, checked by the dataclass


def test_spring_forward_gap() -> None:
    """02:30 does not exist in Berlin on 2026-03-29: delivered once, at 03:30 local."""
    s = sub(("02:30",))
    slot = next_slot(s, utc(2026, 3, 28, 12, 0))
    assert slot == utc(2026, 3, 29, 1, 30)  # 03:30 CEST
    assert next_slot(s, slot) == utc(2026, 3, 30, 0, 30)  # 02:30 CEST next day


def test_fall_back_repeated_hour() -> None:
    """02:30 happens twice in Berlin on 2026-10-25: delivered once, the first time."""
    s = sub(("02:30",))
    slot = next_slot(s, utc(2026, 10, 24, 12, 0))
    assert slot == utc(2026, 10, 25, 0, 30)  # 02:30 CEST, before the clocks go back
    assert next_slot(s, slot) == utc(2026, 10, 26, 1, 30)  # 02:30 CET


def test_local_time_holds_across_dst() -> None:
    """08:00 New York is 13:00 UTC in winter and 12:00 UTC in summer."""
    s = sub(tz="America/New_York")
    assert next_slot(s, utc(2026, 1, 10, 0, 0)) == utc(2026, 1, 10, 13, 0)
    assert next_slot(s, utc(2026, 7, 10, 0, 0)) == utc(2026, 7, 10, 12, 0)


def test_several_times_a_day() -> None:
    """Each configured time is its own slot, in order."""
    s = sub(("18:00", "08:00"), tz="UTC")
    assert next_slot(s, utc(2026, 5, 1, 9, 0)) == utc(2026, 5, 1, 18, 0)
    assert next_slot(s, utc(2026, 5, 1, 18, 0)) == utc(2026, 5, 2, 8, 0)


def test_missed_slot_within_grace_is_due_once() -> None:
    """After downtime, a slot missed by less than the grace window is due; once sent, not."""
    s = sub(tz="UTC")
    now = utc(2026, 5, 1, 9, 30)
    assert due_slot(s, now, GRACE) == utc(2026, 5, 1, 8, 0)
    delivered = s.evolve(last_slot=utc(2026, 5, 1, 8, 0))
    assert due_slot(delivered, now, GRACE) is None


def test_missed_slot_beyond_grace_is_skipped() -> None:
    """A slot missed by more than the grace window is not sent late."""
    assert due_slot(sub(tz="UTC"), utc(2026, 5, 1, 10, 30), GRACE) is None


def test_paused_subscribers_are_never_due() -> None:
    """Paused subscribers get nothing."""
    assert due_slot(sub(tz="UTC", status=PAUSED), utc(2026, 5, 1, 8, 0), GRACE) is None


def test_due_index_orders_and_skips_stale_entries() -> None:
    """The index pops due subscribers in time order; a rescheduled one only once."""
    now = utc(2026, 5, 1, 7, 0)
    a = Subscriber(chat_id=1, times=("07:30",), timezone="UTC")
    b = Subscriber(chat_id=2, times=("07:10",), timezone="UTC")
    c = Subscriber(chat_id=3, times=("09:00",), timezone="UTC")
    index = DueIndex()
    index.rebuild([a, b, c], now, GRACE)
    assert index.next_due() == utc(2026, 5, 1, 7, 10)
    index.schedule(b.evolve(times=("07:20",)), now, GRACE)  # b changed its time
    assert index.pop_due(utc(2026, 5, 1, 7, 45)) == [
        (2, utc(2026, 5, 1, 7, 20)),
        (1, utc(2026, 5, 1, 7, 30)),
    ]
    assert index.next_due() == utc(2026, 5, 1, 9, 0)
    index.remove(3)
    assert index.next_due() is None
