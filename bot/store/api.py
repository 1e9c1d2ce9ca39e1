"""The embedded store's record API: subscribers, channels, articles, the ledger, feed
state, counters.

:class:`EmbeddedStore` implements :class:`~bot.store.base.Store` over an
:class:`~bot.store.engine.Engine`: it turns typed records (``bot.models``) into the
documents, keys and changes of the engine, and back. Every rule about what the records
mean to the embedded store lives here: which key a record has, what deleting a subscriber
also deletes, how a chat moves to a new id, how the ledger is capped and pruned.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Self

from ..memory import release_free_memory
from ..models import (
    ACTIVE,
    STATUSES,
    Channel,
    Delivery,
    FeedState,
    Selection,
    StoredArticle,
    Subscriber,
)
from .base import DEFAULT_MAX_DELIVERIES_PER_CHAT, DueTimes, DumpRecord, Store, checked_dump
from .due import MemoryDueTimes
from .engine import DEFAULT_COMPACT_MIN_BYTES, Engine
from .errors import NotFoundError, StoreError
from .records import (
    ARTICLES,
    CHANNELS,
    COUNTERS,
    DELIVERIES,
    FEEDS,
    SELECTIONS,
    SUBSCRIBERS,
    TABLES,
    Op,
    Tables,
    chat_key,
    sent_text,
    to_document,
)


class EmbeddedStore(Store):
    """The bot's state in a data file and its journal, held in memory. Open with
    :meth:`EmbeddedStore.open` (or ``bot.store.open_store``); use from one thread only."""

    def __init__(
        self,
        path: Path,
        *,
        max_deliveries_per_chat: int = DEFAULT_MAX_DELIVERIES_PER_CHAT,
        compact_min_bytes: int = DEFAULT_COMPACT_MIN_BYTES,
    ) -> None:
        """Open (or create) the store at ``path``; prefer :meth:`EmbeddedStore.open`."""
        if max_deliveries_per_chat < 1:
            raise ValueError("max_deliveries_per_chat must be at least 1")
        self._max_deliveries = max_deliveries_per_chat
        self._engine = Engine(path, compact_min_bytes=compact_min_bytes)
        release_free_memory()  # what parsing the file took beyond the records themselves
        self._due = MemoryDueTimes(self)

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        max_deliveries_per_chat: int = DEFAULT_MAX_DELIVERIES_PER_CHAT,
        compact_min_bytes: int = DEFAULT_COMPACT_MIN_BYTES,
    ) -> Self:
        """Open the store at ``path``, creating an empty one if the file does not exist.

        ``max_deliveries_per_chat`` caps each chat's delivery ledger (the oldest entries go
        first); the journal is compacted once it is larger than the snapshot and than
        ``compact_min_bytes``.

        Raises :class:`StoreCorruptError` (a file is damaged; it is left unchanged),
        :class:`StoreLockedError` (another process has it open), :class:`StorePathError`
        (``path`` is a folder) or :class:`StoreWriteError` (the files cannot be created or
        repaired).
        """
        return cls(
            path,
            max_deliveries_per_chat=max_deliveries_per_chat,
            compact_min_bytes=compact_min_bytes,
        )

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def path(self) -> Path:
        """The data (snapshot) file."""
        return self._engine.path

    @property
    def location(self) -> str:
        """The data (snapshot) file, as text."""
        return str(self._engine.path)

    def close(self) -> None:
        """Close the files and release the lock (nothing to flush: writes are already on disk)."""
        self._engine.close()

    def batch(self) -> contextlib.AbstractContextManager[None]:
        """Group the writes of a block into one journal line and one fsync.

        Writes inside the block are visible to reads at once and become durable together
        when the block exits. If the block raises, the writes made so far are still stored
        (a batch changes when writes reach the disk, not what is written). If storing them
        fails, :class:`StoreWriteError` is raised and the in-memory state is reloaded from
        disk, so none of the block's writes remain. Nested batches join the outer one.
        """
        return self._engine.batch()

    @property
    def erase_pending(self) -> bool:
        """Deleted subscribers may still be readable in the files (the journal keeps what was
        written until the next compaction); :meth:`compact` removes them."""
        return self._engine.erase_pending

    def compact(self) -> None:
        """Write a new snapshot and start an empty journal (also done automatically)."""
        self._engine.compact()

    # -- subscribers --------------------------------------------------------------------------

    def get_subscriber(self, chat_id: int) -> Subscriber | None:
        """The subscriber of a chat, or None."""
        subscriber: Subscriber | None = self._engine.get(SUBSCRIBERS, chat_key(chat_id))
        return subscriber

    def put_subscriber(self, subscriber: Subscriber) -> None:
        """Store a subscriber, replacing the chat's previous one."""
        if subscriber.status not in STATUSES:
            raise ValueError(f"unknown status {subscriber.status!r}; expected one of {STATUSES}")
        key = chat_key(subscriber.chat_id)
        self._engine.commit(["put", SUBSCRIBERS, key, subscriber.to_dict()])

    def delete_subscriber(self, chat_id: int) -> bool:
        """Remove a subscriber and everything stored under its chat id: its delivery
        ledger, its channel record (a channel) and the chat its user had selected (a
        private chat). False if there was no subscriber."""
        key = chat_key(chat_id)
        existed = key in self._engine.table(SUBSCRIBERS)
        tables = (SUBSCRIBERS, DELIVERIES, CHANNELS, SELECTIONS)
        if any(key in self._engine.table(name) for name in tables):
            self._engine.commit(["batch", [["del", name, [key]] for name in tables]], erases=True)
        return existed

    def subscribers(self, *, active_only: bool = False) -> Iterator[Subscriber]:
        """Subscribers (only those with status active if asked).

        Safe to change the store while iterating: subscribers deleted meanwhile are skipped,
        and added ones may not be seen.
        """
        engine = self._engine
        keys = list(engine.indexes.active if active_only else engine.table(SUBSCRIBERS))
        for subscriber in engine.values(SUBSCRIBERS, keys):
            if not active_only or subscriber.status == ACTIVE:
                yield subscriber

    def pending_subscribers(self) -> Iterator[Subscriber]:
        """Subscribers with a scheduled digest in flight (``pending_slot`` set): the ones a
        crash may have interrupted. Safe to change the store while iterating."""
        engine = self._engine
        keys = [k for k, s in engine.table(SUBSCRIBERS).items() if s.pending_slot is not None]
        for subscriber in engine.values(SUBSCRIBERS, keys):
            if subscriber.pending_slot is not None:
                yield subscriber

    def count_subscribers(self, *, active_only: bool = False) -> int:
        """How many subscribers (only active ones if asked)."""
        self._engine.check_open()
        return len(self._engine.indexes.active) if active_only else self._engine.count(SUBSCRIBERS)

    def count_by_status(self) -> dict[str, int]:
        """How many subscribers have each status (kept as they change: no scan)."""
        self._engine.check_open()
        return {status: n for status, n in self._engine.indexes.statuses.items() if n}

    def change_chat_id(self, old: int, new: int) -> Subscriber:
        """Move a subscription and its ledger to a new chat id (a group became a supergroup).

        Raises NotFoundError if ``old`` has no subscriber and ValueError if ``new`` has one.
        """
        current = self.get_subscriber(old)
        if current is None:
            raise NotFoundError(f"no subscriber with chat id {old}")
        if self.get_subscriber(new) is not None:
            raise ValueError(f"chat {new} already has a subscription")
        moved = current.evolve(chat_id=new)
        old_key, new_key = chat_key(old), chat_key(new)
        ops: list[Op] = [
            ["put", SUBSCRIBERS, new_key, moved.to_dict()],
            ["del", SUBSCRIBERS, [old_key]],
        ]
        deliveries = self._engine.table(DELIVERIES)
        if old_key in deliveries:
            ledger = deliveries[old_key].to_dict()
            if new_key in deliveries:
                ledger.update(deliveries[new_key].to_dict())
            ops += [["put", DELIVERIES, new_key, ledger], ["del", DELIVERIES, [old_key]]]
        self._engine.commit(["batch", ops])
        return moved

    # -- channels and the selected chat -------------------------------------------------------

    def get_channel(self, chat_id: int) -> Channel | None:
        """The channel record of a chat, or None (deleted with the chat's subscriber)."""
        channel: Channel | None = self._engine.get(CHANNELS, chat_key(chat_id))
        return channel

    def put_channel(self, channel: Channel) -> None:
        """Store a channel record, replacing the previous one."""
        self._engine.commit(["put", CHANNELS, chat_key(channel.chat_id), channel.to_dict()])

    def channels_managed_by(self, user_id: int) -> list[Channel]:
        """The channels that name ``user_id`` among their managers, by title."""
        channels: list[Channel] = self._engine.all(CHANNELS)
        found = [c for c in channels if user_id in c.managers]
        return sorted(found, key=lambda c: (c.title.casefold(), c.chat_id))

    def selected_chat(self, user_id: int) -> int | None:
        """The chat a user's commands in their private chat act on (None: that chat)."""
        selection: Selection | None = self._engine.get(SELECTIONS, chat_key(user_id))
        return None if selection is None else selection.chat_id

    def select_chat(self, user_id: int, chat_id: int | None) -> None:
        """Make ``chat_id`` the chat a user's commands act on (None or their own: forget)."""
        key = chat_key(user_id)
        if chat_id is None or chat_id == user_id:
            if key in self._engine.table(SELECTIONS):
                self._engine.commit(["del", SELECTIONS, [key]])
            return
        selection = Selection(user_id=user_id, chat_id=chat_id)
        self._engine.commit(["put", SELECTIONS, key, selection.to_dict()])

    # -- articles -----------------------------------------------------------------------------

    def put_article(self, article: StoredArticle) -> None:
        """Store an article, replacing one with the same id."""
        self._engine.commit(["put", ARTICLES, article.id, article.to_dict()])

    def get_article(self, article_id: str) -> StoredArticle | None:
        """The article with this id, or None."""
        article: StoredArticle | None = self._engine.get(ARTICLES, article_id)
        return article

    def article_by_url(self, url: str) -> StoredArticle | None:
        """The most recently stored article with exactly this (canonical) URL, or None."""
        self._engine.check_open()
        article_id = self._engine.indexes.article_by_url.get(url)
        return None if article_id is None else self.get_article(article_id)

    def articles_since(self, since: datetime) -> list[StoredArticle]:
        """Articles stored (fetched) at or after ``since``, oldest first."""
        self._engine.check_open()
        if since.tzinfo is None:
            raise ValueError("articles_since needs an aware datetime")
        found = sorted(
            (when, article_id)
            for article_id, when in self._engine.indexes.article_time.items()
            if when >= since
        )
        articles = (self.get_article(article_id) for _, article_id in found)
        return [a for a in articles if a is not None]

    def count_articles(self) -> int:
        """How many articles are stored."""
        return self._engine.count(ARTICLES)

    def prune_articles(self, older_than: datetime) -> int:
        """Delete articles fetched before ``older_than``; return how many."""
        self._engine.check_open()
        if older_than.tzinfo is None:
            raise ValueError("prune_articles needs an aware datetime")
        old = [k for k, when in self._engine.indexes.article_time.items() if when < older_than]
        if old:
            self._engine.commit(["del", ARTICLES, old])
        return len(old)

    def delete_articles_of_feed(self, feed: str) -> int:
        """Delete every article stored from the source named ``feed``; return how many."""
        self._engine.check_open()
        doomed = [k for k, a in self._engine.table(ARTICLES).items() if a.feed == feed]
        if doomed:
            self._engine.commit(["del", ARTICLES, doomed])
        return len(doomed)

    # -- delivery ledger ----------------------------------------------------------------------

    def record_delivery(self, chat_id: int, article_ids: Iterable[str], sent: datetime) -> None:
        """Remember that these articles were sent to a chat.

        Each chat keeps at most ``max_deliveries_per_chat`` entries (the oldest go first);
        :meth:`prune_deliveries` removes entries by age.
        """
        ids = list(dict.fromkeys(article_ids))
        if ids:
            self._engine.commit(
                ["deliver", chat_key(chat_id), sent_text(sent), ids, self._max_deliveries]
            )

    def delivered_ids(self, chat_id: int) -> set[str]:
        """The ids of the articles a chat has been sent (within the ledger's bounds)."""
        ledger = self._engine.table(DELIVERIES).get(chat_key(chat_id))
        return set() if ledger is None else set(ledger.ids())

    def deliveries(self, chat_id: int) -> list[Delivery]:
        """A chat's ledger, oldest first."""
        ledger = self._engine.table(DELIVERIES).get(chat_key(chat_id))
        return [
            Delivery(chat_id=chat_id, article_id=article_id, sent=datetime.fromisoformat(sent))
            for article_id, sent in (() if ledger is None else ledger.entries())
        ]

    def count_deliveries(self) -> int:
        """How many ledger entries there are, over all chats."""
        return sum(len(ledger) for ledger in self._engine.table(DELIVERIES).values())

    def prune_deliveries(self, older_than: datetime) -> int:
        """Forget deliveries sent before ``older_than``; return how many were removed."""
        cutoff = sent_text(older_than)
        removed = sum(
            1
            for ledger in self._engine.table(DELIVERIES).values()
            for _, sent in ledger.entries()
            if sent < cutoff
        )
        if removed:
            self._engine.commit(["forget", cutoff])
        return removed

    # -- feeds --------------------------------------------------------------------------------

    def get_feed_state(self, url: str) -> FeedState | None:
        """What the ingester remembers about a feed, or None."""
        state: FeedState | None = self._engine.get(FEEDS, url)
        return state

    def put_feed_state(self, state: FeedState) -> None:
        """Store a feed's state, replacing the previous one."""
        self._engine.commit(["put", FEEDS, state.url, state.to_dict()])

    def delete_feed_state(self, url: str) -> bool:
        """Forget a feed (it left the configuration); False if it was not known."""
        if url not in self._engine.table(FEEDS):
            return False
        self._engine.commit(["del", FEEDS, [url]])
        return True

    def chat_feed_urls(self) -> dict[str, int]:
        """The chats' own feeds (``Subscriber.feeds``) of active subscribers: URL -> how
        many of them added it (kept as subscribers change: no scan)."""
        self._engine.check_open()
        return dict(self._engine.indexes.chat_feeds)

    def feed_states(self) -> Iterator[FeedState]:
        """Every feed's state."""
        states: list[FeedState] = self._engine.all(FEEDS)
        return iter(states)

    # -- counters -----------------------------------------------------------------------------

    def increment(self, name: str, day: date, by: int = 1) -> int:
        """Add ``by`` to a day's counter (e.g. "digests_sent", "failures:timeout"); return it."""
        if not name:
            raise ValueError("a counter needs a name")
        key = day.isoformat()
        counts: dict[str, int] = dict(self._engine.table(COUNTERS).get(key, {}))
        counts[name] = counts.get(name, 0) + by
        self._engine.commit(["put", COUNTERS, key, counts])
        return counts[name]

    def counters(self, day: date) -> dict[str, int]:
        """A day's counters by name (empty if none were counted)."""
        return dict(self._engine.table(COUNTERS).get(day.isoformat(), {}))

    def prune_counters(self, older_than: date) -> int:
        """Delete the counters of days before ``older_than``; return how many days."""
        cutoff = older_than.isoformat()
        old = [key for key in self._engine.table(COUNTERS) if key < cutoff]
        if old:
            self._engine.commit(["del", COUNTERS, old])
        return len(old)

    # -- scheduling ---------------------------------------------------------------------------

    def due_times(self) -> DueTimes:
        """The subscribers' next due times, in memory (rebuilt from the records at start)."""
        return self._due

    # -- copying ------------------------------------------------------------------------------

    def dump(self) -> Iterator[DumpRecord]:
        """Every record as (table, key, document): the documents of the snapshot's tables."""
        self._engine.check_open()
        for name in TABLES:
            table = self._engine.table(name)
            for key in list(table):
                value = table.get(key)
                if value is not None:
                    yield name, key, to_document(value) if name != COUNTERS else dict(value)

    def restore(self, records: Iterable[DumpRecord]) -> int:
        """Store the records of a dump into this store, which must be empty; every record is
        checked as an open checks it, and the store is written as a new snapshot."""
        engine = self._engine
        engine.check_open()
        if any(engine.count(name) for name in TABLES):
            raise StoreError(f"{self.location} is not empty: copy into a new, empty store")
        tables: Tables = {name: {} for name in TABLES}
        count = 0
        for name, key, doc in checked_dump(records, self.location):
            tables[name][key] = doc
            count += 1
        engine.replace_tables(tables)
        return count
