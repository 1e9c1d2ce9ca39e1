"""The store's interface: what every backend offers the rest of the bot.

:class:`Store` is the record API the services, the dispatcher, the ingester and the
command line use. Two backends implement it:

``EmbeddedStore`` (``bot.store.api``, the default)
    One process, no server: a TinyDB-format snapshot file, an append-only journal, the
    records in memory.
``PostgresStore`` (``bot.store.postgres``)
    A PostgreSQL database (``storage.url`` / ``NEWSDIGEST_DATABASE_URL``): several
    processes on several machines, nothing held in memory beyond what a call returns.

Both keep the same promises, and ``tests/test_store_contract.py`` runs one suite of tests
against both: a mutating method that returns has made its change durable; :meth:`batch`
groups changes into one durable unit (the exactly-once bookkeeping of deliveries relies
on it); a record that is not valid is refused by name, never handed to the bot.

:class:`DueTimes` is where the scheduler keeps each subscriber's next due time: in memory
beside the embedded store (rebuilt at every start), in a column of the subscribers table
in PostgreSQL (so a bot with a million subscribers holds none of them in memory).

Adding a method to the interface: declare it here (abstract, with its docstring: that is
the contract), implement it in ``EmbeddedStore`` and ``PostgresStore`` (plus a migration
in ``bot.store.pgschema`` if it needs a new column or table), and test it in the contract
suite so both backends are held to it.
"""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from types import TracebackType
from typing import Any, Self

from ..models import Channel, Delivery, FeedState, StoredArticle, Subscriber
from .errors import NotFoundError, StoreError
from .records import TABLES, Invalid, check_doc

# A chat's delivery ledger keeps at most this many entries (the oldest go first).
DEFAULT_MAX_DELIVERIES_PER_CHAT = 2000

# One record of a dump (see Store.dump): table name, key, document in the JSON form of
# the embedded store's tables (the format the snapshot file holds).
DumpRecord = tuple[str, str, dict[str, Any]]


def checked_dump(records: Iterable[DumpRecord], location: str) -> Iterator[DumpRecord]:
    """The records of a dump as :meth:`Store.restore` takes them: each checked as an open
    of the embedded store checks it; the first bad one stops it with StoreError, naming
    the record and ``location`` (the store restored into)."""
    for name, key, doc in records:
        try:
            if name not in TABLES:
                raise Invalid(f"unknown table {name!r}")
            check_doc(name, key, doc)
        except Invalid as exc:
            raise StoreError(f"cannot restore into {location}: {exc}") from None
        yield name, key, doc


class DueTimes(abc.ABC):
    """When each subscriber's next digest is due: (chat id, wake-up time, slot).

    The wake-up time is normally the slot itself; a delivery that failed for a temporary
    reason wakes later for the same slot. The scheduler (``bot.delivery.schedule``)
    computes the times; this keeps them and hands out the ones that are due.
    """

    @abc.abstractmethod
    def __len__(self) -> int:
        """How many subscribers have a due time."""

    @abc.abstractmethod
    def to_reschedule(self, now: datetime) -> Iterator[Subscriber]:
        """At start: the active subscribers whose due time must be computed (again).

        Times kept in memory are forgotten and every active subscriber is yielded; times
        kept in the database are kept where still in the future, and only the
        subscribers without one (new, moved, popped before a stop, or due while the bot
        was down) are yielded.
        """

    @abc.abstractmethod
    def set_many(self, entries: Iterable[tuple[int, datetime | None, datetime | None]]) -> None:
        """Set (chat id, wake-up time, slot) for each entry; a None time removes the chat."""

    def set(self, chat_id: int, wake: datetime, slot: datetime) -> None:
        """Wake up ``chat_id`` at ``wake`` for ``slot``."""
        self.set_many([(chat_id, wake, slot)])

    def remove(self, chat_id: int) -> None:
        """Forget a chat's due time (stopped, paused, blocked, or no times)."""
        self.set_many([(chat_id, None, None)])

    @abc.abstractmethod
    def next_due(self) -> datetime | None:
        """The earliest wake-up time, or None."""

    @abc.abstractmethod
    def pop_due(self, now: datetime, limit: int) -> list[tuple[int, datetime]]:
        """Up to ``limit`` (chat id, slot) whose wake-up time is at or before ``now``,
        earliest first, removed from the due times."""


class Store(abc.ABC):
    """The bot's persistent state: subscribers, articles, the delivery ledger, feed state,
    counters. Use from one thread only; open it with ``bot.store.open_store``, close it
    (or use it as a context manager).

    Times are aware datetimes; a naive one is refused with ValueError before anything is
    written.
    """

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    @abc.abstractmethod
    def location(self) -> str:
        """Where the data lives, for logs and messages: the data file, or the database URL
        without its password."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the store (nothing to flush: writes are already durable). Closing twice
        is harmless; any other use after closing raises StoreError."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @abc.abstractmethod
    def batch(self) -> contextlib.AbstractContextManager[None]:
        """Group the writes of a block into one durable unit (one journal line and fsync,
        or one database transaction).

        Writes inside the block are visible to reads at once and become durable together
        when the block exits. If the block raises, the writes made so far are still stored
        (a batch changes when writes reach the disk, not what is written). If storing them
        fails, :class:`StoreWriteError` is raised and none of the block's writes remain.
        Nested batches join the outer one.
        """

    @property
    @abc.abstractmethod
    def erase_pending(self) -> bool:
        """Deleted subscribers may still be readable in the files (the journal keeps what was
        written until the next compaction); :meth:`compact` removes them."""

    @abc.abstractmethod
    def compact(self) -> None:
        """Make deleted records unreadable from the storage too (the embedded store writes a
        new snapshot and starts an empty journal; PostgreSQL leaves it to its own vacuum)."""

    # -- subscribers --------------------------------------------------------------------------

    @abc.abstractmethod
    def get_subscriber(self, chat_id: int) -> Subscriber | None:
        """The subscriber of a chat, or None."""

    @abc.abstractmethod
    def put_subscriber(self, subscriber: Subscriber) -> None:
        """Store a subscriber, replacing the chat's previous one."""

    def update_subscriber(self, chat_id: int, /, **changes: Any) -> Subscriber:
        """Change some fields of a subscriber and return it; NotFoundError if there is none."""
        if "chat_id" in changes:
            raise ValueError("use change_chat_id() to move a subscription to another chat")
        with self.batch():
            current = self.get_subscriber(chat_id)
            if current is None:
                raise NotFoundError(f"no subscriber with chat id {chat_id}")
            updated = current.evolve(**changes)
            self.put_subscriber(updated)
        return updated

    @abc.abstractmethod
    def delete_subscriber(self, chat_id: int) -> bool:
        """Remove a subscriber and everything stored under its chat id: its delivery
        ledger, its channel record (a channel) and the chat its user had selected (a
        private chat). False if there was no subscriber."""

    @abc.abstractmethod
    def subscribers(self, *, active_only: bool = False) -> Iterator[Subscriber]:
        """Subscribers (only those with status active if asked).

        Safe to change the store while iterating: no error, no subscriber twice, every one
        present throughout is seen; added ones may not be, and deleted ones may still be
        (PostgreSQL reads ahead a page of 1,000; the embedded store skips them). The order
        is the backend's own.
        """

    @abc.abstractmethod
    def pending_subscribers(self) -> Iterator[Subscriber]:
        """Subscribers with a scheduled digest in flight (``pending_slot`` set): the ones a
        crash may have interrupted. Safe to change the store while iterating."""

    @abc.abstractmethod
    def count_subscribers(self, *, active_only: bool = False) -> int:
        """How many subscribers (only active ones if asked)."""

    @abc.abstractmethod
    def count_by_status(self) -> dict[str, int]:
        """How many subscribers have each status (statuses nobody has are left out)."""

    @abc.abstractmethod
    def change_chat_id(self, old: int, new: int) -> Subscriber:
        """Move a subscription and its ledger to a new chat id (a group became a supergroup).

        Raises NotFoundError if ``old`` has no subscriber and ValueError if ``new`` has one.
        """

    # -- channels and the selected chat -------------------------------------------------------

    @abc.abstractmethod
    def get_channel(self, chat_id: int) -> Channel | None:
        """The channel record of a chat, or None (deleted with the chat's subscriber)."""

    @abc.abstractmethod
    def put_channel(self, channel: Channel) -> None:
        """Store a channel record, replacing the previous one."""

    @abc.abstractmethod
    def channels_managed_by(self, user_id: int) -> list[Channel]:
        """The channels that name ``user_id`` among their managers, by title (case-folded),
        then chat id."""

    @abc.abstractmethod
    def selected_chat(self, user_id: int) -> int | None:
        """The chat a user's commands in their private chat act on (None: that chat)."""

    @abc.abstractmethod
    def select_chat(self, user_id: int, chat_id: int | None) -> None:
        """Make ``chat_id`` the chat a user's commands act on (None or their own: forget)."""

    # -- articles -----------------------------------------------------------------------------

    @abc.abstractmethod
    def put_article(self, article: StoredArticle) -> None:
        """Store an article, replacing one with the same id."""

    @abc.abstractmethod
    def get_article(self, article_id: str) -> StoredArticle | None:
        """The article with this id, or None."""

    @abc.abstractmethod
    def article_by_url(self, url: str) -> StoredArticle | None:
        """The most recently stored article with exactly this (canonical) URL, or None."""

    @abc.abstractmethod
    def articles_since(self, since: datetime) -> list[StoredArticle]:
        """Articles stored (fetched) at or after ``since``, oldest first (ties by id)."""

    @abc.abstractmethod
    def count_articles(self) -> int:
        """How many articles are stored."""

    @abc.abstractmethod
    def prune_articles(self, older_than: datetime) -> int:
        """Delete articles fetched before ``older_than``; return how many."""

    @abc.abstractmethod
    def delete_articles_of_feed(self, feed: str) -> int:
        """Delete every article stored from the source named ``feed``; return how many."""

    # -- delivery ledger ----------------------------------------------------------------------

    @abc.abstractmethod
    def record_delivery(self, chat_id: int, article_ids: Iterable[str], sent: datetime) -> None:
        """Remember that these articles were sent to a chat (``sent`` is kept to the second).

        Each chat keeps at most ``max_deliveries_per_chat`` entries (the oldest go first; an
        article sent again counts as new); :meth:`prune_deliveries` removes entries by age.
        """

    @abc.abstractmethod
    def delivered_ids(self, chat_id: int) -> set[str]:
        """The ids of the articles a chat has been sent (within the ledger's bounds)."""

    def delivered_ids_many(self, chat_ids: Iterable[int]) -> dict[int, set[str]]:
        """:meth:`delivered_ids` of many chats at once (a server database reads them in one
        query); chats with an empty ledger are left out."""
        found = {chat_id: self.delivered_ids(chat_id) for chat_id in chat_ids}
        return {chat_id: ids for chat_id, ids in found.items() if ids}

    @abc.abstractmethod
    def deliveries(self, chat_id: int) -> list[Delivery]:
        """A chat's ledger, oldest first."""

    @abc.abstractmethod
    def count_deliveries(self) -> int:
        """How many ledger entries there are, over all chats."""

    @abc.abstractmethod
    def prune_deliveries(self, older_than: datetime) -> int:
        """Forget deliveries sent before ``older_than``; return how many were removed."""

    # -- feeds --------------------------------------------------------------------------------

    @abc.abstractmethod
    def get_feed_state(self, url: str) -> FeedState | None:
        """What the ingester remembers about a feed, or None."""

    @abc.abstractmethod
    def put_feed_state(self, state: FeedState) -> None:
        """Store a feed's state, replacing the previous one."""

    @abc.abstractmethod
    def delete_feed_state(self, url: str) -> bool:
        """Forget a feed (it left the configuration); False if it was not known."""

    @abc.abstractmethod
    def feed_states(self) -> Iterator[FeedState]:
        """Every feed's state."""

    @abc.abstractmethod
    def chat_feed_urls(self) -> dict[str, int]:
        """The chats' own feeds (``Subscriber.feeds``) of active subscribers: URL -> how
        many of them added it."""

    # -- counters -----------------------------------------------------------------------------

    @abc.abstractmethod
    def increment(self, name: str, day: date, by: int = 1) -> int:
        """Add ``by`` to a day's counter (e.g. "digests_sent", "failures:timeout"); return it."""

    @abc.abstractmethod
    def counters(self, day: date) -> dict[str, int]:
        """A day's counters by name (empty if none were counted)."""

    @abc.abstractmethod
    def prune_counters(self, older_than: date) -> int:
        """Delete the counters of days before ``older_than``; return how many days."""

    # -- scheduling ---------------------------------------------------------------------------

    @abc.abstractmethod
    def due_times(self) -> DueTimes:
        """Where the scheduler keeps the subscribers' next due times (one object per store)."""

    # -- copying ------------------------------------------------------------------------------

    @abc.abstractmethod
    def dump(self) -> Iterator[DumpRecord]:
        """Every record as (table, key, document), in the JSON form of the embedded store's
        snapshot: what ``newsdigest migrate`` copies from one store to another."""

    @abc.abstractmethod
    def restore(self, records: Iterable[DumpRecord]) -> int:
        """Store the records of a :meth:`dump` into this store, which must be empty (else
        StoreError); every record is checked as an open checks it. Return how many."""
