"""Plain records the store keeps: subscribers, channels, articles, deliveries, feed state.

They are frozen dataclasses with JSON-friendly ``to_dict``/``from_dict`` so the store is
the only place that knows how they are persisted. Times are aware datetimes in memory and
ISO 8601 strings (with offset) on disk.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import Any, Self

# A subscriber's status. "blocked" means Telegram refused delivery (403): never send again.
ACTIVE = "active"
PAUSED = "paused"
BLOCKED = "blocked"
STATUSES = (ACTIVE, PAUSED, BLOCKED)


def now_utc() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def to_iso(value: datetime | None) -> str | None:
    """An aware datetime as ISO 8601 text (``None`` stays ``None``)."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetimes are not stored; attach a timezone")
    return value.isoformat()


def from_iso(value: str | None) -> datetime | None:
    """ISO 8601 text back to an aware datetime (naive text is read as UTC)."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class _Record:
    """JSON conversion shared by the records: datetimes as ISO text, tuples as lists.

    The records use slots: the embedded store holds 100k subscribers in memory, and a
    slotted record takes about a third of a dict of the same fields.
    """

    __slots__ = ()

    _DATETIME_FIELDS: tuple[str, ...] = ()
    _TUPLE_FIELDS: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        # Field by field, not dataclasses.asdict: asdict deep-copies, and this runs on every
        # store write (the values are immutable, so a shallow copy is safe).
        data = {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]  # a mixin: every subclass is a dataclass
        for name in self._DATETIME_FIELDS:
            data[name] = to_iso(data[name])
        for name in self._TUPLE_FIELDS:
            data[name] = list(data[name])
        return data

    @classmethod
    def from_dict(
        cls, data: dict[str, Any], *, parse_time: Callable[[str | None], datetime | None] = from_iso
    ) -> Self:
        """The record of a document; ``parse_time`` reads its times (a caching one lets
        records read together share equal times)."""
        known = {f.name for f in fields(cls)}  # type: ignore[arg-type]  # a mixin: every subclass is a dataclass
        values = {k: v for k, v in data.items() if k in known}
        for name in cls._DATETIME_FIELDS:
            if name in values:
                values[name] = parse_time(values[name])
        for name in cls._TUPLE_FIELDS:
            if name in values and values[name] is not None:
                values[name] = tuple(values[name])
        return cls(**values)


@dataclass(frozen=True, slots=True)
class Subscriber(_Record):
    """A chat that receives digests (a private chat, a group, or a forum topic's group)."""

    chat_id: int
    chat_type: str = "private"
    topics: tuple[str, ...] = ()
    follow: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    # Local delivery times, "HH:MM" (24 h), in ``timezone``.
    times: tuple[str, ...] = ("08:00",)
    timezone: str = "UTC"
    status: str = ACTIVE
    created: datetime = field(default_factory=now_utc)
    # The last digest slot delivered (its scheduled instant, UTC): never send it twice.
    last_slot: datetime | None = None
    # When the last digest was delivered: the next digest covers articles since then.
    last_digest: datetime | None = None
    thread_id: int | None = None
    skip_empty: bool = False
    # A scheduled digest being sent: its slot and how many of its messages went out.
    pending_slot: datetime | None = None
    pending_sent: int = 0
    # The language chosen with /language (None: follow Telegram's), and the language of
    # the Telegram app that last wrote from this private chat (or that started the group).
    language: str | None = None
    telegram_language: str | None = None
    # The URLs of the chat's own feeds (/addfeed), in the order added.
    feeds: tuple[str, ...] = ()

    _DATETIME_FIELDS = ("created", "last_slot", "last_digest", "pending_slot")
    _TUPLE_FIELDS = ("topics", "follow", "exclude", "times", "feeds")

    @property
    def active(self) -> bool:
        """True when digests should be sent."""
        return self.status == ACTIVE

    @property
    def digest_language(self) -> str:
        """The language of the chat's digests: its choice, else its Telegram app's."""
        return self.language or self.telegram_language or "en"

    def evolve(self, **changes: Any) -> Subscriber:
        """A copy with some fields changed."""
        return replace(self, **changes)


@dataclass(frozen=True, slots=True)
class Channel(_Record):
    """A Telegram channel whose digest is managed from its administrators' private chats.

    Its subscription is an ordinary :class:`Subscriber` under the same ``chat_id``;
    ``managers`` are the users who linked it (each was an administrator when they did).
    """

    chat_id: int
    title: str
    managers: tuple[int, ...] = ()
    username: str | None = None
    linked: datetime = field(default_factory=now_utc)

    _DATETIME_FIELDS = ("linked",)
    _TUPLE_FIELDS = ("managers",)

    def evolve(self, **changes: Any) -> Channel:
        """A copy with some fields changed."""
        return replace(self, **changes)


@dataclass(frozen=True, slots=True)
class Selection(_Record):
    """The chat a user's commands in their private chat act on (their own, or a channel)."""

    user_id: int
    chat_id: int


@dataclass(frozen=True, slots=True)
class StoredArticle(_Record):
    """An ingested article with its summary, computed once when it is stored."""

    id: str
    url: str
    title: str
    source: str
    published: datetime | None
    fetched: datetime
    language: str
    topics: tuple[str, ...]
    summary: tuple[str, ...]
    # Lower-cased words of title and body: keyword filters and duplicate detection.
    words: tuple[str, ...] = ()
    feed: str = ""
    # The URLs of the feeds that carried it; ``private``: only chats' own feeds did, so
    # it goes only to the chats that added one of them, never to a topic's readers.
    feed_urls: tuple[str, ...] = ()
    private: bool = False

    _DATETIME_FIELDS = ("published", "fetched")
    _TUPLE_FIELDS = ("topics", "summary", "words", "feed_urls")

    @property
    def when(self) -> datetime:
        """Publication time, or the time it was fetched when the source gave none."""
        return self.published or self.fetched


@dataclass(frozen=True, slots=True)
class Delivery(_Record):
    """One article sent to one chat (the ledger that prevents repeats)."""

    chat_id: int
    article_id: str
    sent: datetime

    _DATETIME_FIELDS = ("sent",)


@dataclass(frozen=True, slots=True)
class FeedState(_Record):
    """What the ingester remembers about one feed between runs."""

    url: str
    etag: str | None = None
    last_modified: str | None = None
    failures: int = 0
    last_error: str | None = None
    last_error_kind: str | None = None
    last_success: datetime | None = None
    next_attempt: datetime | None = None
    articles_total: int = 0
    # The feed's own title and how many entries it had, as last read.
    title: str | None = None
    entries: int = 0

    _DATETIME_FIELDS = ("last_success", "next_attempt")
