"""Composing and delivering digests while the bot runs: on demand and on schedule.

``DigestService`` keeps one ``DigestBuilder`` for the stored articles and rebuilds it (off
the event loop) only when new articles arrive, so a /digest or a batch of scheduled
digests costs a lookup, not a re-ranking of the news.

``Dispatcher`` is the scheduler: one JobQueue job wakes every few seconds, pops the
subscribers whose slot has come from a ``DueIndex`` built from the store at start, and
delivers their digests, a bounded number at a time: a few workers take the due
subscribers in chunks, so a morning peak of a million digests holds a chunk in memory,
not a million.

At most one digest per subscriber and slot, across crashes and restarts: before the
first message of a scheduled digest the slot is recorded as *pending*, after each
message Telegram accepted the count of sent messages is recorded, and when the digest is
complete the slot becomes the subscriber's ``last_slot`` (each step is durable before
the next begins). At start, a pending slot with at least one message sent counts as
delivered (the rest of a split digest is not re-sent); a pending slot with none sent is
sent again if still within the grace window. The one case this cannot settle is a crash
while the *first* message is in flight to Telegram (it may or may not have arrived, and
Telegram offers no way to ask): that digest is re-sent, so it may arrive twice. A
temporary failure (network, timeouts after the retries) clears the pending slot; it is
retried a little later while within the grace window. Missed slots are caught up at
start if they are at most ``grace_hours`` late.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..config import Settings
from ..digest.builder import DigestBuilder
from ..digest.model import Digest
from ..digest.render import ItemCache, item_cache, render_digest_messages
from ..memory import release_free_memory
from ..models import Subscriber
from ..store import NotFoundError, Store
from .deliverer import BLOCKED_OUTCOME, FAILED, SENT, Deliverer, Outcome
from .schedule import DueIndex

logger = logging.getLogger(__name__)

# Articles older than this are not offered, even to a reader whose last digest is older.
MAX_LOOKBACK = timedelta(days=3)
SKIPPED = "skipped"
ABANDONED = "abandoned"
# A digest that could not be delivered for a temporary reason is tried again this late.
RETRY_AFTER = timedelta(minutes=2)
# Due subscribers are taken from the index this many at a time.
POP_CHUNK = 256


class DigestService:
    """Digests for subscribers from a cached builder over the recent articles."""

    def __init__(self, settings: Settings, store: Store, clock: Callable[[], datetime]) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self._builder: DigestBuilder | None = None
        self._built_for: tuple[int, datetime] | None = None
        self._render_cache: ItemCache = item_cache()
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        """Forget the builder (new articles were stored)."""
        self._builder = None

    async def builder(self) -> DigestBuilder:
        """The current builder, rebuilt off the loop when the articles changed."""
        async with self._lock:
            now = self.clock()
            key = (self.store.count_articles(), now.replace(second=0, microsecond=0))
            fresh = (
                self._builder is not None
                and self._built_for is not None
                and (
                    self._built_for[0] == key[0]
                    and now - self._built_for[1] < timedelta(minutes=10)
                )
            )
            if not fresh:
                started = time.monotonic()
                articles = self.store.articles_since(now - MAX_LOOKBACK)
                self._builder = await asyncio.to_thread(
                    DigestBuilder,
                    articles,
                    now=now,
                    max_items=self.settings.digest.max_items,
                    window=timedelta(hours=self.settings.digest.window_hours),
                )
                self._built_for = key
                self._render_cache = item_cache()
                release_free_memory()  # the old builder and the new one's scratch work
                logger.info(
                    "digest index built: %s articles in %.1f s",
                    len(articles),
                    time.monotonic() - started,
                )
            assert self._builder is not None
            return self._builder

    async def compose(self, subscriber: Subscriber) -> Digest:
        """The subscriber's digest now (new stories only)."""
        builder = await self.builder()
        if subscriber.feeds and not self.settings.user_feeds:
            subscriber = subscriber.evolve(feeds=())  # the operator turned own feeds off
        return builder.build(subscriber, self.store.delivered_ids(subscriber.chat_id))

    async def deliver(
        self, subscriber: Subscriber, deliverer: Deliverer, *, slot: datetime | None = None
    ) -> Outcome:
        """Compose, send and record one subscriber's digest (``slot``: a scheduled one).

        What was sent is recorded as it goes: after each message but the last, the ledger
        entries of its stories, ``last_digest`` and (for a slot) ``pending_sent`` are
        written together; after the last one, everything that completes the digest (the
        rest of the ledger, ``last_slot``, the counter) is written in one batch. A crash
        between two messages therefore never makes the next digest repeat what arrived.
        """
        digest = await self.compose(subscriber)
        if digest.empty and subscriber.skip_empty:
            return Outcome(SKIPPED, subscriber.chat_id)
        rendered = render_digest_messages(digest, now=self.clock(), cache=self._render_cache)
        recorded = 0

        def record(chat_id: int, upto: int, *, complete: bool) -> None:
            nonlocal recorded
            now = self.clock()
            ids = [i for m in rendered[recorded:upto] for i in m.article_ids]
            # The next digest covers what came after this one; an empty one delivered
            # nothing, so it moves nothing (the stories of a topic just chosen, or of a
            # word no longer excluded, are still new to the reader).
            changes: dict[str, object] = {} if digest.empty else {"last_digest": now}
            if slot is not None:
                changes.update(
                    {"last_slot": slot, "pending_slot": None, "pending_sent": 0}
                    if complete
                    else {"pending_sent": upto}
                )
            # The chat may have been deleted (/stop) while its digest was being sent.
            with contextlib.suppress(NotFoundError), self.store.batch():
                if ids:
                    self.store.record_delivery(chat_id, ids, now)
                if changes:
                    self.store.update_subscriber(chat_id, **changes)
                if complete:
                    self.store.increment("digests_sent", now.date())
            recorded = upto

        def on_sent(chat_id: int, count: int) -> None:
            if count < len(rendered):  # the last message is recorded with the whole digest
                record(chat_id, count, complete=False)

        outcome = await deliverer.send(
            subscriber.chat_id,
            [m.text for m in rendered],
            thread_id=subscriber.thread_id,
            on_sent=on_sent,
        )
        if outcome.sent:
            record(outcome.chat_id, outcome.sent, complete=True)
        return outcome


@dataclass
class DispatchReport:
    """What one dispatcher pass did (``abandoned``: left for the next start at a shutdown)."""

    due: int = 0
    sent: int = 0
    skipped: int = 0
    blocked: int = 0
    failed: int = 0
    abandoned: int = 0


def _tally(report: DispatchReport, result: str) -> None:
    if result == SENT:
        report.sent += 1
    elif result == SKIPPED:
        report.skipped += 1
    elif result == BLOCKED_OUTCOME:
        report.blocked += 1
    elif result == ABANDONED:
        report.abandoned += 1
    else:
        report.failed += 1


class Dispatcher:
    """Delivers scheduled digests from an index of due times."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        digests: DigestService,
        clock: Callable[[], datetime],
        *,
        concurrency: int = 32,
    ) -> None:
        self.settings = settings
        self.store = store
        self.digests = digests
        self.clock = clock
        self.grace = timedelta(hours=settings.grace_hours)
        self.index = DueIndex(store.due_times())
        self.concurrency = concurrency
        self._running = asyncio.Lock()
        self._stopping = False
        self._passes = 0
        self._inflight: set[asyncio.Future[None]] = set()
        self._idle = asyncio.Event()  # set while no delivery is in flight
        self._idle.set()

    def rebuild(self) -> None:
        """Build the index from the store (at start: jobs are never persisted).

        Digests interrupted by a crash are settled first (see the module docstring).
        """
        for subscriber in list(self.store.pending_subscribers()):
            if subscriber.pending_slot is None:
                continue
            if subscriber.pending_sent > 0:
                self.store.update_subscriber(
                    subscriber.chat_id,
                    last_slot=subscriber.pending_slot,
                    pending_slot=None,
                    pending_sent=0,
                )
            else:
                self.store.update_subscriber(subscriber.chat_id, pending_slot=None)
        now = self.clock()
        self.index.rebuild(self.index.times.to_reschedule(now), now, self.grace)

    def changed(self, subscriber: Subscriber | int) -> None:
        """A subscriber was created, changed or deleted: recompute their next slot."""
        if isinstance(subscriber, int):
            current = self.store.get_subscriber(subscriber)
            if current is None:
                self.index.remove(subscriber)
                return
            subscriber = current
        self.index.schedule(subscriber, self.clock(), self.grace)

    async def run_due(self, deliverer: Deliverer) -> DispatchReport:
        """Deliver every digest that is due now. Passes never overlap; after ``stop`` no
        delivery starts (the digests still due are sent after the next start)."""
        report = DispatchReport()
        if self._running.locked() or self._stopping:
            return report
        async with self._running:
            now = self.clock()
            self._passes += 1
            if self._passes == 1:
                upcoming = self.index.next_due()
                logger.info(
                    "first dispatcher pass: %s scheduled, the first due at %s",
                    len(self.index),
                    f"{upcoming:%Y-%m-%d %H:%M} UTC" if upcoming else "none",
                )
            waiting: deque[tuple[int, datetime]] = deque()

            def take() -> tuple[int, datetime] | None:
                if not waiting and not self._stopping:
                    popped = self.index.pop_due(now, POP_CHUNK)
                    report.due += len(popped)
                    waiting.extend(popped)
                return waiting.popleft() if waiting else None

            async def worker() -> None:
                while (entry := take()) is not None:
                    if self._stopping:
                        report.abandoned += 1
                        continue
                    try:
                        result = await self._deliver_slot(*entry, deliverer)
                    except asyncio.CancelledError:
                        report.abandoned += 1
                        raise
                    except Exception:
                        logger.exception("scheduled delivery failed")
                        report.failed += 1
                        continue
                    _tally(report, result)

            first = take()
            if first is None:
                return report
            waiting.appendleft(first)
            workers = [asyncio.ensure_future(worker()) for _ in range(self.concurrency)]
            self._inflight.update(workers)
            self._idle.clear()
            try:
                await asyncio.gather(*workers, return_exceptions=True)
            finally:
                self._inflight.difference_update(workers)
                self._idle.set()
            report.abandoned += len(waiting)  # taken from the index, left at a stop
            logger.info("dispatched %s digests: %s", report.due, report)
            return report

    async def stop(self, grace: float, hurry: asyncio.Event | None = None) -> None:
        """Start no more deliveries; give the ones in flight ``grace`` seconds (less if
        ``hurry`` is set) to finish, then cancel them.

        A digest cut off this way is settled at the next start like one interrupted by a
        crash (see the module docstring): nothing is lost; a message Telegram accepted in
        the instant before the cancel may arrive twice.
        """
        self._stopping = True
        if self._idle.is_set():
            return
        waits: list[asyncio.Future[object]] = [asyncio.ensure_future(self._idle.wait())]
        if hurry is not None:
            waits.append(asyncio.ensure_future(hurry.wait()))
        try:
            await asyncio.wait(waits, timeout=grace, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waits:
                waiter.cancel()
        if not self._idle.is_set():
            unfinished = [t for t in self._inflight if not t.done()]
            logger.info("shutting down: %s deliveries cut short", len(unfinished))
            for task in unfinished:
                task.cancel()
            await self._idle.wait()

    async def _deliver_slot(self, chat_id: int, slot: datetime, deliverer: Deliverer) -> str:
        subscriber = self.store.get_subscriber(chat_id)
        if subscriber is None or not subscriber.active:
            return SKIPPED
        if subscriber.last_slot is not None and subscriber.last_slot >= slot:
            self.changed(subscriber)
            return SKIPPED
        subscriber = self.store.update_subscriber(chat_id, pending_slot=slot, pending_sent=0)
        try:
            outcome = await self.digests.deliver(subscriber, deliverer, slot=slot)
        except Exception:
            self._retry_later(chat_id, slot)
            raise
        if outcome.status == FAILED and outcome.sent == 0:
            self._retry_later(outcome.chat_id, slot)
            return outcome.status
        if outcome.sent == 0:
            # Skipped (nothing new) or blocked: this slot is done all the same.
            with contextlib.suppress(NotFoundError):
                self.store.update_subscriber(
                    outcome.chat_id, last_slot=slot, pending_slot=None, pending_sent=0
                )
        self.changed(outcome.chat_id)
        return outcome.status

    def _retry_later(self, chat_id: int, slot: datetime) -> None:
        """Temporary trouble: forget the pending slot and try again within the grace."""
        try:
            current = self.store.update_subscriber(chat_id, pending_slot=None, pending_sent=0)
        except NotFoundError:
            return
        retry = self.clock() + RETRY_AFTER
        if current.active and retry - slot <= self.grace:
            self.index.defer(chat_id, slot, retry)
        else:
            self.changed(current)
