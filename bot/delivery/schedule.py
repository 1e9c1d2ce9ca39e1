"""When digests are due: local delivery times to UTC instants, and an index of due times.

A *slot* is one delivery: a local date and a local "HH:MM" in the subscriber's IANA
zone, turned into an aware UTC instant. Slots are computed per local date, so every
local day has exactly one slot per configured time whatever the DST rules do: on the
spring-forward day a time that does not exist (02:30 in Berlin) is delivered at the
equivalent instant after the jump (03:30 local); on the fall-back day a time that
occurs twice is delivered once, at its first occurrence.

Why one dispatcher and not one APScheduler job per subscriber: at 100k subscribers,
100k jobs cost APScheduler a lot of memory and a slow start (every job is an object
with its own trigger, and the job store is re-sorted on each add), and rebuilding them at
every start is the slow part. The next slot of each subscriber is computed from the store
in one pass, and a single job (every 10 s) pops whatever is due. ``bench/schedule.py``
measures both (see the README). The times live where the store keeps them
(``Store.due_times``): a heap in memory beside the embedded store, a column of the
subscribers table in PostgreSQL.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ..models import Subscriber
from ..store import DueTimes, MemoryDueTimes
from ..timeparse import zone

# Due times computed at start are written this many at a time.
REBUILD_CHUNK = 1000


def slot_at(day: date, clock: str, tz: ZoneInfo) -> datetime:
    """The UTC instant of local ``clock`` on local ``day`` (DST-normalized)."""
    hour, minute = (int(x) for x in clock.split(":"))
    local = datetime.combine(day, time(hour, minute), tzinfo=tz)
    # Round-tripping through UTC moves a non-existent local time past the DST gap.
    return local.astimezone(UTC)


def _slots_around(subscriber: Subscriber, moment: datetime) -> Iterator[datetime]:
    tz = zone(subscriber.timezone)
    today = moment.astimezone(tz).date()
    for offset in (-1, 0, 1, 2):
        day = today + timedelta(days=offset)
        for clock in subscriber.times:
            yield slot_at(day, clock, tz)


def next_slot(subscriber: Subscriber, after: datetime) -> datetime | None:
    """The first slot strictly after ``after`` (``None`` if the subscriber has no times)."""
    later = [s for s in _slots_around(subscriber, after) if s > after]
    return min(later) if later else None


def latest_slot(subscriber: Subscriber, at: datetime) -> datetime | None:
    """The most recent slot at or before ``at``."""
    earlier = [s for s in _slots_around(subscriber, at) if s <= at]
    return max(earlier) if earlier else None


def due_slot(subscriber: Subscriber, now: datetime, grace: timedelta) -> datetime | None:
    """The slot to deliver now, if any: the latest one not yet delivered and not too old.

    This is both the regular case (the slot just arrived) and the catch-up after
    downtime: a slot missed by more than ``grace`` is skipped, never sent late.
    """
    if not subscriber.active or not subscriber.times:
        return None
    slot = latest_slot(subscriber, now)
    if slot is None or now - slot > grace:
        return None
    if subscriber.last_slot is not None and slot <= subscriber.last_slot:
        return None
    return slot


class DueIndex:
    """Next slot per subscriber, kept in the store's :class:`~bot.store.DueTimes` (a heap in
    memory for the embedded store, a column in PostgreSQL).

    Normally a subscriber wakes at their slot; a failed delivery can be ``defer``red to
    wake later for the *same* slot.
    """

    def __init__(self, times: DueTimes | None = None) -> None:
        self.times = times if times is not None else MemoryDueTimes(None)

    def __len__(self) -> int:
        return len(self.times)

    @staticmethod
    def pending_slot(subscriber: Subscriber, now: datetime, grace: timedelta) -> datetime | None:
        """The slot this subscriber waits for: one due now (catch-up), else the next one."""
        if not subscriber.active or not subscriber.times:
            return None
        due = due_slot(subscriber, now, grace)
        if due is None:
            after = max(now, subscriber.last_slot) if subscriber.last_slot else now
            due = next_slot(subscriber, after)
        return due

    def schedule(self, subscriber: Subscriber, now: datetime, grace: timedelta) -> None:
        """(Re)compute the subscriber's next due time; inactive ones are dropped."""
        due = self.pending_slot(subscriber, now, grace)
        self.times.set_many([(subscriber.chat_id, due, due)])

    def defer(self, chat_id: int, slot: datetime, wake: datetime) -> None:
        """Try ``slot`` again at ``wake`` (after a temporary delivery failure)."""
        self.times.set(chat_id, wake, slot)

    def rebuild(self, subscribers: Iterable[Subscriber], now: datetime, grace: timedelta) -> None:
        """Compute the due time of each of ``subscribers``, in one pass (written in chunks,
        so a database keeps up and nothing grows with the number of subscribers)."""
        chunk: list[tuple[int, datetime | None, datetime | None]] = []
        for subscriber in subscribers:
            due = self.pending_slot(subscriber, now, grace)
            chunk.append((subscriber.chat_id, due, due))
            if len(chunk) >= REBUILD_CHUNK:
                self.times.set_many(chunk)
                chunk = []
        self.times.set_many(chunk)

    def remove(self, chat_id: int) -> None:
        """Forget a subscriber (stopped, paused or blocked)."""
        self.times.remove(chat_id)

    def next_due(self) -> datetime | None:
        """The earliest pending wake-up time."""
        return self.times.next_due()

    def pop_due(self, now: datetime, limit: int = sys.maxsize) -> list[tuple[int, datetime]]:
        """Up to ``limit`` (chat id, slot) due at ``now`` (all by default), removed from the
        index."""
        return self.times.pop_due(now, limit)
