"""The store in PostgreSQL: the same record API, for installs one machine cannot serve.

Chosen by a ``postgresql://`` URL (``storage.url`` or ``NEWSDIGEST_DATABASE_URL``). The
bot, ``newsdigest worker`` processes on other machines and ``newsdigest migrate`` share
one database; each opens it with :meth:`PostgresStore.open`, which creates the tables and
applies the migrations that are missing (``bot.store.pgschema``).

Durability: the connection is in autocommit mode, so a mutating method that returns has
committed; a method made of several statements (deleting a subscriber and their ledger,
moving a chat) runs them in one transaction. :meth:`~bot.store.base.Store.batch` is a
transaction too: the dispatcher's bookkeeping of a digest (ledger, slot, counter) commits
as a whole or not at all. As in the embedded store, an exception raised by the block
itself still commits the writes made before it; a write the database refuses rolls the
whole batch back and raises :class:`StoreWriteError`.

Records are checked both ways: the columns' types and constraints refuse a bad write
(the error names the record and the constraint), and every row read passes the checks
the embedded store makes at open (an unknown zone, for one): a damaged row raises
:class:`StoreCorruptError` naming the record and the field, and is never handed to the
bot.

Nothing is cached: every call asks the database, so what another process wrote is seen at
once, and the process holds no more memory for a million subscribers than for ten
(iteration reads pages of 1,000 rows by key; the scheduler's due times are the ``due``
table). PostgreSQL cannot store U+0000 or unpaired surrogates in text: they are stored
as U+FFFD.

Threading: one connection, used from one thread (the asyncio loop thread), like the
embedded store; a call blocks that thread for one round trip to the server.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import itertools
import logging
import operator
import re
import sys
import typing
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import Any, Self
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import pq

from ..models import (
    STATUSES,
    Channel,
    Delivery,
    FeedState,
    Selection,
    StoredArticle,
    Subscriber,
)
from .base import DEFAULT_MAX_DELIVERIES_PER_CHAT, DueTimes, DumpRecord, Store, checked_dump
from .errors import (
    DATABASE_ADVICE,
    NotFoundError,
    StoreCorruptError,
    StoreError,
    StoreWriteError,
)
from .pgschema import BOOKKEEPING, LOCK_KEY, MIGRATIONS, VERSION
from .records import (
    ARTICLES,
    CHANNELS,
    COUNTERS,
    DELIVERIES,
    FEEDS,
    SELECTIONS,
    SUBSCRIBERS,
    TABLES,
    Invalid,
    chat_key,
    check_row,
    record_name,
    sent_text,
)

log = logging.getLogger(__name__)

PAGE = 1000  # rows per page when iterating
_FIRST_KEY = -(2**63)  # below every bigint chat id
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def redact(url: str) -> str:
    """The URL without its password (in the authority or as a ``password`` parameter)."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        netloc = f"{userinfo.split(':', 1)[0]}@{host}"
    kept = [(k, v) for k, v in parse_qsl(parts.query) if k != "password"]
    query = urlencode(kept, safe="/", quote_via=quote)
    shown = urlunsplit(parts._replace(netloc=netloc, query=query))
    if not netloc and url.startswith(f"{parts.scheme}://"):  # "postgresql://": the defaults
        shown = f"{parts.scheme}://{shown[len(parts.scheme) + 1 :]}"
    return shown


def _reason(exc: BaseException) -> str:
    """A driver error on one line."""
    text = str(exc).strip() or type(exc).__name__
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())


@dataclasses.dataclass(frozen=True)
class _Shape:
    """How one record class maps to its table's columns."""

    record: type[Any]
    table: str
    names: tuple[str, ...]
    tuples: frozenset[str]
    datetimes: frozenset[str]

    @classmethod
    def of(cls, record: type[Any], table: str) -> _Shape:
        names = tuple(f.name for f in dataclasses.fields(record))
        return cls(
            record,
            table,
            names,
            frozenset(record._TUPLE_FIELDS),
            frozenset(record._DATETIME_FIELDS),
        )

    @functools.cache  # noqa: B019  # a few shapes, made once, live as long as the module
    def setters(self) -> tuple[Callable[[Any, Any], None], ...]:
        """Each field's slot setter (the records have slots), in column order."""
        return tuple(getattr(self.record, name).__set__ for name in self.names)

    @property
    def columns(self) -> str:
        return ", ".join(f'"{name}"' for name in self.names)

    @property
    def columns_lists_as_text(self) -> str:
        """The columns, each list as the text PostgreSQL writes for it (``{a,"b c"}``):
        the driver reads an array element by element, ten times the cost of one text,
        and a list's text recurs from row to row as the list does (``_RecurringRows``)."""
        return ", ".join(
            f'"{name}"::text' if name in self.tuples else f'"{name}"' for name in self.names
        )

    @property
    def list_texts(self) -> str:
        """The lists' texts alone, in column order."""
        return ", ".join(f'"{name}"::text' for name in self.names if name in self.tuples)

    @property
    def placeholders(self) -> str:
        return ", ".join(["%s"] * len(self.names))

    def upsert(self, key: str) -> str:
        """An INSERT that replaces the row with the same key."""
        changes = ", ".join(f'"{n}" = EXCLUDED."{n}"' for n in self.names if n != key)
        return (
            f"INSERT INTO {self.table} ({self.columns}) VALUES ({self.placeholders}) "
            f"ON CONFLICT ({key}) DO UPDATE SET {changes}"
        )

    def params(self, record: Any) -> list[Any]:
        """The row of a record: naive times refused, tuples as lists, text storable."""
        values: list[Any] = []
        for name in self.names:
            value = getattr(record, name)
            if name in self.datetimes and value is not None and value.tzinfo is None:
                raise ValueError("naive datetimes are not stored; attach a timezone")
            if name in self.tuples:
                value = _storable_texts(value)
            elif isinstance(value, str) and _UNSTORABLE.search(value):
                value = _UNSTORABLE.sub("\ufffd", value)
            values.append(value)
        return values

    def values(self, row: Sequence[Any]) -> dict[str, Any]:
        return dict(zip(self.names, row, strict=False))

    def make(self, values: dict[str, Any]) -> Any:
        # Words, topics and times recur across rows: one string object each, as in the
        # embedded store (an article's 300 words, 10k articles: ~160 MB otherwise).
        for name in self.tuples:
            items = values[name]
            texts = all(isinstance(item, str) for item in items)  # not a channel's managers
            values[name] = tuple(map(sys.intern, items)) if texts else tuple(items)
        return self.record(**values)


def _storable_texts(items: Iterable[Any]) -> list[Any]:
    items = list(items)
    if not all(isinstance(item, str) for item in items):  # ids (a channel's managers)
        return items
    if _UNSTORABLE.search("".join(items)):
        return [_UNSTORABLE.sub("\ufffd", item) for item in items]
    return items


class _RecurringRows:
    """Rows of a table whose values mostly recur from row to row (subscribers: topics,
    words, zones, times, statuses), made into records at a fraction of a full check's cost.

    The column types of a page are checked once, from the result's description: each
    must give the Python type its field holds (``int8`` an int, ``timestamptz`` a
    datetime with its zone, ``bool`` a bool: not an ``integer`` 1 for True, nor a
    ``timestamp`` without zone). A page with another type is read again with its real
    columns, every row through the full check (:func:`check_row`).

    In a page of the right types, a row's values are of three kinds. Its own (the key and
    the times) differ from row to row; their types are right, and a missing value where
    one is required sends the row to the full check. Each list (topics, words, times)
    takes few values over all the rows, and so do the other values taken together (type,
    zone, status, languages...). The lists are read as the text PostgreSQL writes for
    them (``_Shape.columns_lists_as_text``): the text of a list seen in a row that passed
    the full check stands for that list. A row with a list's text, or a combination of
    the others, not seen before is read again with its real columns and takes the full
    check, and what it holds is remembered, interned. A row made only of what was seen in
    rows that passed only looks it up. Nothing is checked less: ``check_row`` checks each
    field on its own, so a value that passed once passes again, and a damaged value,
    never seen before, takes the full check, which refuses the row by name. A list's
    column another client changed to text is refused when its text is not a list's
    (``a,b``; ``{a,b}`` would read as the list it spells).
    """

    LIMIT = 10_000  # lists and combinations remembered: memory stays flat however many rows

    def __init__(self, shape: _Shape) -> None:
        self._shape = shape
        hints = typing.get_type_hints(shape.record)
        setters = shape.setters()
        # The column types (oids) that give each field's Python type; a list is its text.
        types = psycopg.postgres.types
        oids = {
            int: {types[n].oid for n in ("int2", "int4", "int8")},
            str: {types[n].oid for n in ("text", "varchar")},
            bool: {types["bool"].oid},
            datetime: {types["timestamptz"].oid},
        }
        self._column_types = tuple(
            frozenset(oids[str])
            if name in shape.tuples
            else frozenset(oids[next(t for t in typing.get_args(hints[name]) or (hints[name],))])
            for name in shape.names
        )
        own = [0, *(i for i, n in enumerate(shape.names) if n in shape.datetimes)]
        self._own = tuple((i, setters[i]) for i in own)
        required = [i for i in own if type(None) not in typing.get_args(hints[shape.names[i]])]
        # The own values a row must have, as a tuple (``None in`` it is one C call).
        self._required: Callable[[Sequence[Any]], tuple[Any, ...]] = (
            operator.itemgetter(*required)
            if len(required) > 1
            else lambda row: tuple([row[i] for i in required])
        )
        others = [i for i in range(len(shape.names)) if i not in own]
        # (index, setter, {a list's text: the list}) of each list.
        self._lists: tuple[tuple[int, Callable[[Any, Any], None], dict[str, Any]], ...] = tuple(
            (i, setters[i], {}) for i in others if shape.names[i] in shape.tuples
        )
        self._scalar_at = tuple(i for i in others if shape.names[i] not in shape.tuples)
        self._scalar_setters = tuple(setters[i] for i in self._scalar_at)
        # The combination of a row's other values, taken at C speed (a tuple, even of one).
        self._combination: Callable[[Sequence[Any]], tuple[Any, ...]] = (
            operator.itemgetter(*self._scalar_at)
            if len(self._scalar_at) > 1
            else lambda row: tuple([row[i] for i in self._scalar_at])
        )
        # A combination of the other values -> the values, interned.
        self._scalars: dict[tuple[Any, ...], tuple[Any, ...]] = {}

    def types_right(self, description: Sequence[Any] | None) -> bool:
        """Whether a page's columns (its result's description) have the types that give
        each field's Python type, a list's as text."""
        return description is not None and all(
            column.type_code in allowed
            for column, allowed in zip(description, self._column_types, strict=True)
        )

    def record(self, row: Sequence[Any]) -> Any | None:
        """The record of ``row``, from a page whose types are right (:meth:`types_right`)
        with its lists as text, or None when the row must be read again and take the
        full check."""
        if None in self._required(row):
            return None
        # Every field comes from the row: the frozen dataclass's __init__ would set them
        # one by one through object.__setattr__ (by name); the records' slot descriptors
        # set them directly, about 30% faster.
        made = object.__new__(self._shape.record)
        for i, set_field in self._own:
            set_field(made, row[i])
        for i, set_field, seen in self._lists:
            known = seen.get(row[i])
            if known is None:
                return None
            set_field(made, known)
        known = self._scalars.get(self._combination(row))
        if known is None:
            return None
        for set_field, value in zip(self._scalar_setters, known, strict=True):
            set_field(made, value)
        return made

    def kind(self, row: Sequence[Any]) -> tuple[Any, ...]:
        """What a row of a page whose types are right shares with the rows alike: its
        lists' texts and its other values."""
        return (*(row[i] for i, _set, _seen in self._lists), *self._combination(row))

    def remember(self, made: Any, texts: Sequence[str]) -> Any:
        """Remember what ``made``, a record that passed the full check, holds: ``texts``
        are its lists' texts, read from the same row."""
        names = self._shape.names
        for (i, _set, seen), text in zip(self._lists, texts, strict=True):
            if len(seen) >= self.LIMIT:
                seen.clear()
            seen[text] = getattr(made, names[i])
        if len(self._scalars) >= self.LIMIT:
            self._scalars.clear()
        values = tuple(getattr(made, names[i]) for i in self._scalar_at)
        self._scalars[values] = values
        return made


_SUBSCRIBER = _Shape.of(Subscriber, SUBSCRIBERS)
_ARTICLE = _Shape.of(StoredArticle, ARTICLES)
_FEED = _Shape.of(FeedState, FEEDS)
_CHANNEL = _Shape.of(Channel, CHANNELS)
_SELECTION = _Shape.of(Selection, SELECTIONS)


class PostgresStore(Store):
    """The bot's state in a PostgreSQL database. Open with :meth:`PostgresStore.open` (or
    ``bot.store.open_store``); use from one thread only."""

    def __init__(
        self, url: str, *, max_deliveries_per_chat: int = DEFAULT_MAX_DELIVERIES_PER_CHAT
    ) -> None:
        """Connect to the database at ``url`` and bring its schema up to date; prefer
        :meth:`PostgresStore.open`."""
        if max_deliveries_per_chat < 1:
            raise ValueError("max_deliveries_per_chat must be at least 1")
        self._url = url
        self._location = redact(url)
        self._max_deliveries = max_deliveries_per_chat
        self._closed = False
        self._depth = 0
        self._erasures = False
        self._conn = self._connect()
        try:
            self._migrate()
        except BaseException:
            self._conn.close()
            raise
        self._due = PostgresDueTimes(self)
        self._subscriber_rows = _RecurringRows(_SUBSCRIBER)

    @classmethod
    def open(
        cls, url: str, *, max_deliveries_per_chat: int = DEFAULT_MAX_DELIVERIES_PER_CHAT
    ) -> Self:
        """Connect to the database at ``url`` (a ``postgresql://`` URL), creating the tables
        or applying the migrations that are missing.

        Raises :class:`StoreError` when the server cannot be reached or the database was
        set up by a newer newsdigest, :class:`StoreWriteError` when the schema cannot be
        created.
        """
        return cls(url, max_deliveries_per_chat=max_deliveries_per_chat)

    # -- connection ---------------------------------------------------------------------------

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            conn = psycopg.connect(self._url, autocommit=True, connect_timeout=10)
            conn.execute("SET TIME ZONE 'UTC'")
        except psycopg.Error as exc:
            raise StoreError(
                f"cannot connect to the database {self._location}: {_reason(exc)}"
            ) from None
        return conn

    def _connection(self) -> psycopg.Connection[Any]:
        if self._closed:
            raise StoreError(f"the store {self._location} is closed")
        if self._conn.closed or self._conn.broken:
            if self._depth:
                raise StoreWriteError(
                    f"the connection to {self._location} was lost inside a batch; nothing of "
                    "the batch was stored"
                )
            log.warning("reconnecting to %s", self._location)
            self._conn = self._connect()
        return self._conn

    def _run(
        self,
        query: str,
        params: Sequence[Any] | None = None,
        *,
        what: str = "",
        binary: bool = False,
    ) -> psycopg.Cursor[Any]:
        """Execute one statement; driver errors become the store's errors. ``binary``
        asks for the results in binary (the bulk reads: arrays and times cost the driver
        about a third less to read than as text)."""
        conn = self._connection()
        try:
            return conn.execute(query, params, binary=binary)
        except psycopg.errors.IntegrityError as exc:
            constraint = exc.diag.constraint_name or "a constraint"
            subject = f"{what}: " if what else ""
            raise StoreWriteError(
                f"{self._location}: {subject}the database refused the change ({constraint}: "
                f"{exc.diag.message_primary}); nothing was stored"
            ) from None
        except psycopg.OperationalError as exc:
            raise StoreWriteError(
                f"{self._location}: the database could not be used ({_reason(exc)})"
            ) from None
        except psycopg.Error as exc:
            raise StoreError(f"{self._location}: {_reason(exc)}") from None

    def _value(self, query: str, params: Sequence[Any] | None = None, *, what: str = "") -> Any:
        """The one value a query returns (a count, a minimum)."""
        row = self._run(query, params, what=what).fetchone()
        if row is None:
            raise StoreError(f"{self._location}: no answer to {query.split()[0]}")
        return row[0]

    def _migrate(self) -> None:
        """Create the tables, or apply the migrations this database lacks (one transaction
        each, under an advisory lock)."""
        conn = self._conn
        while True:
            try:
                with conn.transaction():
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
                    conn.execute(BOOKKEEPING)
                    row = conn.execute(
                        "SELECT coalesce(max(version), 0) FROM newsdigest_schema"
                    ).fetchone()
                    current = int(row[0]) if row else 0
                    if current > VERSION:
                        raise StoreError(
                            f"the database {self._location} was set up by a newer newsdigest "
                            f"(schema version {current}; this version knows up to {VERSION}): "
                            "upgrade newsdigest"
                        )
                    if current == VERSION:
                        return
                    version, description, script = MIGRATIONS[current]
                    conn.execute(script)
                    conn.execute(
                        "INSERT INTO newsdigest_schema (version, description) VALUES (%s, %s)",
                        (version, description),
                    )
            except psycopg.Error as exc:
                raise StoreWriteError(
                    f"cannot set up the tables in {self._location}: {_reason(exc)}"
                ) from None
            log.info("%s: applied schema version %d (%s)", self._location, version, description)

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def location(self) -> str:
        """The database URL, without its password."""
        return self._location

    def close(self) -> None:
        """Close the connection (nothing to flush: every write has committed)."""
        if self._closed:
            return
        if self._depth:
            raise StoreError("close() inside batch(): leave the batch first")
        self._closed = True
        self._conn.close()

    def batch(self) -> contextlib.AbstractContextManager[None]:
        """Group the writes of a block into one transaction.

        Writes inside the block are visible to this store's reads at once and commit
        together when the block exits. If the block raises, the writes made so far are
        still committed (as in the embedded store). If a write is refused, or the commit
        fails, :class:`StoreWriteError` is raised and the transaction is rolled back.
        Nested batches join the outer one.
        """
        return self._batch()

    @contextlib.contextmanager
    def _batch(self) -> Iterator[None]:
        conn = self._connection()
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._run("BEGIN")
        self._depth = 1
        try:
            yield
        except BaseException:
            self._depth = 0
            self._end(conn, failed_block=True)
            raise
        self._depth = 0
        self._end(conn, failed_block=False)

    def _end(self, conn: psycopg.Connection[Any], *, failed_block: bool) -> None:
        """Commit the transaction of a batch, or roll it back if one of its writes failed."""
        if conn.closed or conn.broken:
            if failed_block:
                return
            raise StoreWriteError(
                f"the connection to {self._location} was lost; the batch was not stored"
            )
        if conn.info.transaction_status == pq.TransactionStatus.INERROR:
            with contextlib.suppress(psycopg.Error):
                conn.execute("ROLLBACK")
            if failed_block:
                return  # the write that failed raised StoreWriteError already
            raise StoreWriteError(
                f"{self._location}: a write of the batch failed, so none of it was stored"
            )
        try:
            conn.execute("COMMIT")
        except psycopg.Error as exc:
            raise StoreWriteError(
                f"{self._location}: the batch could not be committed ({_reason(exc)})"
            ) from None

    @property
    def erase_pending(self) -> bool:
        """A subscriber was deleted since the last :meth:`compact`: their rows may still be
        readable in the table files until PostgreSQL reuses the space."""
        return self._erasures

    def compact(self) -> None:
        """Vacuum the tables that held deleted subscribers, so their space is reused (the
        write-ahead log and any backups keep them for as long as those are kept)."""
        if self._depth:
            raise StoreError("compact() inside batch(): leave the batch first")
        self._run("VACUUM subscribers, deliveries, due")
        self._erasures = False

    # -- rows and records ---------------------------------------------------------------------

    def _record(self, shape: _Shape, row: Sequence[Any]) -> Any:
        values = shape.values(row)
        key = values[shape.names[0]]
        try:
            check_row(shape.table, str(key), values)
        except Invalid as exc:
            raise StoreCorruptError(self._location, str(exc), DATABASE_ADVICE) from None
        return shape.make(values)

    def _subscriber(self, row: Sequence[Any]) -> Subscriber:
        found: Subscriber = self._record(_SUBSCRIBER, row)
        return found

    def _get(self, shape: _Shape, key_column: str, key: Any) -> Any:
        row = self._run(
            f"SELECT {shape.columns} FROM {shape.table} WHERE {key_column} = %s", (key,)
        ).fetchone()
        return None if row is None else self._record(shape, row)

    def _subscriber_pages(self, condition: str, params: Sequence[Any] = ()) -> Iterator[Any]:
        """Subscribers matching ``condition``, read by key in pages (no cursor stays open,
        so the store can be changed meanwhile)."""
        last = _FIRST_KEY
        recurring = self._subscriber_rows
        while True:
            cursor = self._run(
                f"SELECT {_SUBSCRIBER.columns_lists_as_text} FROM subscribers "
                f"WHERE {condition} AND chat_id > %s ORDER BY chat_id LIMIT %s",
                (*params, last, PAGE),
                binary=True,
            )
            rows = cursor.fetchall()
            if recurring.types_right(cursor.description):
                made = [recurring.record(row) for row in rows]
                if not all(made):  # a record is true; None is not
                    made = self._check_unseen(rows, made)
            else:  # a column another client changed: every row takes the full check
                checked = self._checked_subscribers([row[0] for row in rows], remember=False)
                made = [checked.get(row[0]) for row in rows]
            yield from (record for record in made if record is not None)
            if len(rows) < PAGE:
                return
            last = rows[-1][0]

    def _check_unseen(self, rows: list[Any], made: list[Any]) -> list[Any]:
        """``made`` with the records of the rows the page reader had not seen (None):
        read again with their real columns and fully checked. Rows whose lists and
        other values are alike are read once, and the rest made from what that one
        taught the reader; a row still unseen then is read again too."""
        recurring = self._subscriber_rows
        first: dict[Any, int] = {}
        for row, record in zip(rows, made, strict=True):
            if record is None:
                first.setdefault(recurring.kind(row), row[0])
        checked = self._checked_subscribers(list(first.values()))
        made = [
            checked.get(row[0]) or recurring.record(row) if record is None else record
            for row, record in zip(rows, made, strict=True)
        ]
        rest = [row[0] for row, record in zip(rows, made, strict=True) if record is None]
        if rest:
            checked = self._checked_subscribers(rest)
            made = [
                checked.get(row[0]) if record is None else record
                for row, record in zip(rows, made, strict=True)
            ]
        return made

    def _checked_subscribers(
        self, chat_ids: list[int], *, remember: bool = True
    ) -> dict[int, Subscriber]:
        """The subscribers of ``chat_ids`` read with their real columns, through the full
        check, and (``remember``) remembered by the page reader (one deleted since the
        page was read is left out)."""
        width = len(_SUBSCRIBER.names)
        rows = self._run(
            f"SELECT {_SUBSCRIBER.columns}, {_SUBSCRIBER.list_texts} FROM subscribers "
            "WHERE chat_id = ANY(%b::bigint[])",
            (chat_ids,),
            binary=True,
        )
        recurring = self._subscriber_rows
        checked = {row[0]: (self._subscriber(row[:width]), row[width:]) for row in rows}
        if remember:
            for made, texts in checked.values():
                recurring.remember(made, texts)
        return {chat_id: made for chat_id, (made, _texts) in checked.items()}

    # -- subscribers --------------------------------------------------------------------------

    def get_subscriber(self, chat_id: int) -> Subscriber | None:
        """The subscriber of a chat, or None."""
        found: Subscriber | None = self._get(_SUBSCRIBER, "chat_id", chat_id)
        return found

    def put_subscriber(self, subscriber: Subscriber) -> None:
        """Store a subscriber, replacing the chat's previous one."""
        if subscriber.status not in STATUSES:
            raise ValueError(f"unknown status {subscriber.status!r}; expected one of {STATUSES}")
        self._run(
            _SUBSCRIBER_UPSERT,
            _SUBSCRIBER.params(subscriber),
            what=record_name(SUBSCRIBERS, chat_key(subscriber.chat_id)),
        )

    def delete_subscriber(self, chat_id: int) -> bool:
        """Remove a subscriber and everything stored under its chat id: its delivery
        ledger, its channel record (a channel) and the chat its user had selected (a
        private chat). False if there was no subscriber."""
        with self.batch():
            existed = self._run("DELETE FROM subscribers WHERE chat_id = %s", (chat_id,)).rowcount
            others = sum(
                self._run(f"DELETE FROM {table} WHERE {column} = %s", (chat_id,)).rowcount
                for table, column in (
                    ("deliveries", "chat_id"),
                    ("channels", "chat_id"),
                    ("selections", "user_id"),
                )
            )
        if existed or others:
            self._erasures = True
        return bool(existed)

    def subscribers(self, *, active_only: bool = False) -> Iterator[Subscriber]:
        """Subscribers (only those with status active if asked), by chat id.

        Read in pages of 1,000: safe to change the store while iterating (deleted ones are
        skipped, added ones may not be seen), and memory stays flat however many there are.
        """
        return self._subscriber_pages("status = 'active'" if active_only else "true")

    def pending_subscribers(self) -> Iterator[Subscriber]:
        """Subscribers with a scheduled digest in flight (``pending_slot`` set)."""
        return self._subscriber_pages("pending_slot IS NOT NULL")

    def count_subscribers(self, *, active_only: bool = False) -> int:
        """How many subscribers (only active ones if asked)."""
        where = "WHERE status = 'active'" if active_only else ""
        return int(self._value(f"SELECT count(*) FROM subscribers {where}"))

    def count_by_status(self) -> dict[str, int]:
        """How many subscribers have each status (an index-only count in the database)."""
        rows = self._run("SELECT status, count(*) FROM subscribers GROUP BY status").fetchall()
        return {status: int(n) for status, n in rows if n}

    def change_chat_id(self, old: int, new: int) -> Subscriber:
        """Move a subscription and its ledger to a new chat id (a group became a supergroup).

        Raises NotFoundError if ``old`` has no subscriber and ValueError if ``new`` has one.
        """
        with self.batch():
            current = self.get_subscriber(old)
            if current is None:
                raise NotFoundError(f"no subscriber with chat id {old}")
            if self.get_subscriber(new) is not None:
                raise ValueError(f"chat {new} already has a subscription")
            moved = current.evolve(chat_id=new)
            self.put_subscriber(moved)
            # The new chat's own entries win over the old chat's for the same article.
            self._run(
                "UPDATE deliveries SET chat_id = %s WHERE chat_id = %s AND article_id NOT IN "
                "(SELECT article_id FROM deliveries WHERE chat_id = %s)",
                (new, old, new),
            )
            self._run("DELETE FROM deliveries WHERE chat_id = %s", (old,))
            self._run("DELETE FROM subscribers WHERE chat_id = %s", (old,))
        return moved

    # -- articles -----------------------------------------------------------------------------

    def put_article(self, article: StoredArticle) -> None:
        """Store an article, replacing one with the same id (it becomes the newest stored
        with its URL)."""
        self._run(
            _ARTICLE_UPSERT,
            _ARTICLE.params(article),
            what=record_name(ARTICLES, article.id),
        )

    def get_article(self, article_id: str) -> StoredArticle | None:
        """The article with this id, or None."""
        found: StoredArticle | None = self._get(_ARTICLE, "id", article_id)
        return found

    def article_by_url(self, url: str) -> StoredArticle | None:
        """The most recently stored article with exactly this (canonical) URL, or None."""
        row = self._run(
            f"SELECT {_ARTICLE.columns} FROM articles WHERE url = %s ORDER BY stored DESC LIMIT 1",
            (url,),
        ).fetchone()
        return None if row is None else self._record(_ARTICLE, row)

    def articles_since(self, since: datetime) -> list[StoredArticle]:
        """Articles stored (fetched) at or after ``since``, oldest first (ties by id)."""
        if since.tzinfo is None:
            raise ValueError("articles_since needs an aware datetime")
        # Each row is made into a record as it is read from the result, never all rows at
        # once: 10k articles' raw word lists (3M strings before they are shared) left
        # ~190 MB of scattered small-object memory behind that the process never got back.
        rows = self._run(
            f"SELECT {_ARTICLE.columns} FROM articles WHERE fetched >= %s ORDER BY fetched, id",
            (since,),
        )
        return [self._record(_ARTICLE, row) for row in rows]

    def count_articles(self) -> int:
        """How many articles are stored."""
        return int(self._value("SELECT count(*) FROM articles"))

    def prune_articles(self, older_than: datetime) -> int:
        """Delete articles fetched before ``older_than``; return how many."""
        if older_than.tzinfo is None:
            raise ValueError("prune_articles needs an aware datetime")
        return self._run("DELETE FROM articles WHERE fetched < %s", (older_than,)).rowcount

    def delete_articles_of_feed(self, feed: str) -> int:
        """Delete every article stored from the source named ``feed``; return how many."""
        return self._run("DELETE FROM articles WHERE feed = %s", (feed,)).rowcount

    # -- delivery ledger ----------------------------------------------------------------------

    def record_delivery(self, chat_id: int, article_ids: Iterable[str], sent: datetime) -> None:
        """Remember that these articles were sent to a chat (``sent`` to the second).

        Each chat keeps at most ``max_deliveries_per_chat`` entries (the oldest go first);
        :meth:`prune_deliveries` removes entries by age.
        """
        ids = _storable_texts(dict.fromkeys(article_ids))
        if not ids:
            return
        when = datetime.fromisoformat(sent_text(sent))
        with self.batch():
            self._run(
                "INSERT INTO deliveries (chat_id, article_id, sent) "
                "SELECT %s, a.id, %s FROM unnest(%s::text[]) WITH ORDINALITY AS a(id, n) "
                "ORDER BY a.n "
                "ON CONFLICT (chat_id, article_id) DO UPDATE "
                "SET sent = EXCLUDED.sent, position = EXCLUDED.position",
                (chat_id, when, ids),
                what=record_name(DELIVERIES, chat_key(chat_id)),
            )
            self._run(
                "DELETE FROM deliveries WHERE chat_id = %s AND position <= ("
                "SELECT position FROM deliveries WHERE chat_id = %s "
                "ORDER BY position DESC OFFSET %s LIMIT 1)",
                (chat_id, chat_id, self._max_deliveries),
            )

    def delivered_ids(self, chat_id: int) -> set[str]:
        """The ids of the articles a chat has been sent (within the ledger's bounds)."""
        rows = self._run("SELECT article_id FROM deliveries WHERE chat_id = %s", (chat_id,))
        return {article_id for (article_id,) in rows}

    def delivered_ids_many(self, chat_ids: Iterable[int]) -> dict[int, set[str]]:
        """:meth:`delivered_ids` of many chats, in one query; empty ledgers are left out."""
        # One row per chat, its ids in one text, and the chat ids sent as one text: a row
        # per entry, an array of ids, or the chat ids as an array (which the driver dumps
        # one by one), cost the driver more than the query does. The ids are hex; one
        # with a space in it splits into more parts than the chat has entries, and that
        # chat's ledger is read again, as a set.
        rows = self._run(
            "SELECT chat_id, count(*), string_agg(article_id, ' ') FROM deliveries "
            "WHERE chat_id = ANY(string_to_array(%s, ' ')::bigint[]) GROUP BY chat_id",
            (" ".join(map(str, map(int, chat_ids))),),
            binary=True,
        ).fetchall()
        ledgers = {}
        for chat_id, count, joined in rows:
            ids = joined.split(" ")
            ledgers[chat_id] = set(ids) if len(ids) == count else self.delivered_ids(chat_id)
        return ledgers

    def deliveries(self, chat_id: int) -> list[Delivery]:
        """A chat's ledger, oldest first."""
        rows = self._run(
            "SELECT article_id, sent FROM deliveries WHERE chat_id = %s ORDER BY position",
            (chat_id,),
        )
        return [Delivery(chat_id=chat_id, article_id=a, sent=sent) for a, sent in rows]

    def count_deliveries(self) -> int:
        """How many ledger entries there are, over all chats."""
        return int(self._value("SELECT count(*) FROM deliveries"))

    def prune_deliveries(self, older_than: datetime) -> int:
        """Forget deliveries sent before ``older_than``; return how many were removed."""
        cutoff = datetime.fromisoformat(sent_text(older_than))
        return self._run("DELETE FROM deliveries WHERE sent < %s", (cutoff,)).rowcount

    # -- channels and the selected chat -------------------------------------------------------

    def get_channel(self, chat_id: int) -> Channel | None:
        """The channel record of a chat, or None (deleted with the chat's subscriber)."""
        found: Channel | None = self._get(_CHANNEL, "chat_id", chat_id)
        return found

    def put_channel(self, channel: Channel) -> None:
        """Store a channel record, replacing the previous one."""
        self._run(
            _CHANNEL_UPSERT,
            _CHANNEL.params(channel),
            what=record_name(CHANNELS, chat_key(channel.chat_id)),
        )

    def channels_managed_by(self, user_id: int) -> list[Channel]:
        """The channels that name ``user_id`` among their managers, by title."""
        rows = self._run(
            f"SELECT {_CHANNEL.columns} FROM channels WHERE managers @> ARRAY[%s]::bigint[]",
            (user_id,),
        ).fetchall()
        found: list[Channel] = [self._record(_CHANNEL, row) for row in rows]
        return sorted(found, key=lambda c: (c.title.casefold(), c.chat_id))

    def selected_chat(self, user_id: int) -> int | None:
        """The chat a user's commands in their private chat act on (None: that chat)."""
        found: Selection | None = self._get(_SELECTION, "user_id", user_id)
        return None if found is None else found.chat_id

    def select_chat(self, user_id: int, chat_id: int | None) -> None:
        """Make ``chat_id`` the chat a user's commands act on (None or their own: forget)."""
        if chat_id is None or chat_id == user_id:
            self._run("DELETE FROM selections WHERE user_id = %s", (user_id,))
            return
        selection = Selection(user_id=user_id, chat_id=chat_id)
        self._run(
            _SELECTION_UPSERT,
            _SELECTION.params(selection),
            what=record_name(SELECTIONS, chat_key(user_id)),
        )

    # -- feeds --------------------------------------------------------------------------------

    def get_feed_state(self, url: str) -> FeedState | None:
        """What the ingester remembers about a feed, or None."""
        found: FeedState | None = self._get(_FEED, "url", url)
        return found

    def put_feed_state(self, state: FeedState) -> None:
        """Store a feed's state, replacing the previous one."""
        self._run(_FEED_UPSERT, _FEED.params(state), what=record_name(FEEDS, state.url))

    def delete_feed_state(self, url: str) -> bool:
        """Forget a feed (it left the configuration); False if it was not known."""
        return bool(self._run("DELETE FROM feeds WHERE url = %s", (url,)).rowcount)

    def feed_states(self) -> Iterator[FeedState]:
        """Every feed's state, by URL."""
        rows = self._run(f"SELECT {_FEED.columns} FROM feeds ORDER BY url").fetchall()
        return (self._record(_FEED, row) for row in rows)

    def chat_feed_urls(self) -> dict[str, int]:
        """The chats' own feeds of active subscribers: URL -> how many of them added it
        (read through the partial index of active subscribers that have own feeds)."""
        rows = self._run(
            "SELECT url, count(*) FROM subscribers, unnest(feeds) AS url "
            "WHERE status = 'active' AND cardinality(feeds) > 0 GROUP BY url"
        )
        return {url: int(count) for url, count in rows}

    # -- counters -----------------------------------------------------------------------------

    def increment(self, name: str, day: date, by: int = 1) -> int:
        """Add ``by`` to a day's counter (e.g. "digests_sent", "failures:timeout"); return it.
        Processes sharing the database add up: the addition happens in the database."""
        if not name:
            raise ValueError("a counter needs a name")
        return int(
            self._value(
                "INSERT INTO counters (day, name, value) VALUES (%s, %s, %s) "
                "ON CONFLICT (day, name) DO UPDATE SET value = counters.value + EXCLUDED.value "
                "RETURNING value",
                (day, name, by),
                what=record_name(COUNTERS, day.isoformat()),
            )
        )

    def counters(self, day: date) -> dict[str, int]:
        """A day's counters by name (empty if none were counted)."""
        rows = self._run("SELECT name, value FROM counters WHERE day = %s", (day,))
        return {name: int(value) for name, value in rows}

    def prune_counters(self, older_than: date) -> int:
        """Delete the counters of days before ``older_than``; return how many days."""
        rows = self._run("DELETE FROM counters WHERE day < %s RETURNING day", (older_than,))
        return len({day for (day,) in rows})

    # -- scheduling ---------------------------------------------------------------------------

    def due_times(self) -> DueTimes:
        """The subscribers' next due times: the ``due`` table, kept across restarts."""
        return self._due

    # -- copying ------------------------------------------------------------------------------

    def dump(self) -> Iterator[DumpRecord]:
        """Every record as (table, key, document), read in one consistent snapshot of the
        database (a transaction of its own, on a connection of its own)."""
        with psycopg.connect(self._url, autocommit=True, connect_timeout=10) as conn:
            conn.execute("SET TIME ZONE 'UTC'")
            with conn.transaction():
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                yield from self._dump(conn)

    def _dump(self, conn: psycopg.Connection[Any]) -> Iterator[DumpRecord]:
        def rows(query: str) -> Iterator[Any]:
            with conn.cursor(name="newsdigest_dump") as cursor:
                cursor.itersize = PAGE
                cursor.execute(query)
                yield from cursor

        for shape, key, order in (
            (_SUBSCRIBER, "chat_id", "chat_id"),
            (_ARTICLE, "id", "stored"),
            (_FEED, "url", "url"),
            (_CHANNEL, "chat_id", "chat_id"),
            (_SELECTION, "user_id", "user_id"),
        ):
            query = f"SELECT {shape.columns} FROM {shape.table} ORDER BY {order}"
            for row in rows(query):
                record = self._record(shape, row)
                yield shape.table, str(getattr(record, key)), record.to_dict()
        ledgers = rows(
            "SELECT chat_id, article_id, sent FROM deliveries ORDER BY chat_id, position"
        )
        for chat_id, entries in itertools.groupby(ledgers, key=lambda row: row[0]):
            yield DELIVERIES, chat_key(chat_id), {a: sent_text(sent) for _, a, sent in entries}
        counted = rows("SELECT day, name, value FROM counters ORDER BY day, name")
        for day, entries in itertools.groupby(counted, key=lambda row: row[0]):
            yield COUNTERS, day.isoformat(), {name: int(value) for _, name, value in entries}

    def restore(self, records: Iterable[DumpRecord]) -> int:
        """Store the records of a dump into this database, which must hold no records; each
        is checked as an open of the embedded store checks it. One transaction: all of them
        or none."""
        for table in TABLES:
            if self._value(f"SELECT EXISTS (SELECT 1 FROM {table})"):
                raise StoreError(f"{self._location} is not empty: copy into a new, empty database")
        count = 0
        with self.batch(), _Copier(self._connection()) as copier:
            for name, key, doc in checked_dump(records, self._location):
                copier.add(name, key, doc)
                count += 1
        return count


_COPY_COLUMNS = {
    SUBSCRIBERS: _SUBSCRIBER.columns,
    ARTICLES: _ARTICLE.columns,
    FEEDS: _FEED.columns,
    CHANNELS: _CHANNEL.columns,
    SELECTIONS: _SELECTION.columns,
    DELIVERIES: "chat_id, article_id, sent",
    COUNTERS: "day, name, value",
}


class _Copier:
    """Rows of dumped documents, sent to their tables with COPY.

    A dump interleaves tables (a subscriber, then their ledger), and one connection runs
    one COPY at a time: rows wait per table and go in one COPY per ``FLUSH`` rows (one
    COPY per record made a million-subscriber restore take hours).
    """

    FLUSH = 5000

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._cursor = conn.cursor()
        self._rows: dict[str, list[Sequence[Any]]] = {table: [] for table in _COPY_COLUMNS}

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            if exc_info[0] is None:
                for table in self._rows:
                    self._flush(table)
        finally:
            self._cursor.close()

    def _flush(self, table: str) -> None:
        rows = self._rows[table]
        if not rows:
            return
        with self._cursor.copy(f"COPY {table} ({_COPY_COLUMNS[table]}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        rows.clear()

    def add(self, table: str, key: str, doc: dict[str, Any]) -> None:
        rows = self._rows[table]
        if table == SUBSCRIBERS:
            rows.append(_SUBSCRIBER.params(Subscriber.from_dict(doc)))
        elif table == ARTICLES:
            rows.append(_ARTICLE.params(StoredArticle.from_dict(doc)))
        elif table == FEEDS:
            rows.append(_FEED.params(FeedState.from_dict(doc)))
        elif table == CHANNELS:
            rows.append(_CHANNEL.params(Channel.from_dict(doc)))
        elif table == SELECTIONS:
            rows.append(_SELECTION.params(Selection.from_dict(doc)))
        elif table == DELIVERIES:
            chat_id = int(key)
            rows.extend((chat_id, a, datetime.fromisoformat(sent)) for a, sent in doc.items())
        else:
            day = date.fromisoformat(key)
            rows.extend((day, name, value) for name, value in doc.items())
        if len(rows) >= self.FLUSH:
            self._flush(table)


class PostgresDueTimes(DueTimes):
    """The scheduler's due times in the ``due`` table: they survive restarts, so a start
    computes only the ones missing or past, and the bot holds none of them in memory."""

    def __init__(self, store: PostgresStore) -> None:
        self._store = store

    def __len__(self) -> int:
        return int(self._store._value("SELECT count(*) FROM due"))

    def to_reschedule(self, now: datetime) -> Iterator[Subscriber]:
        """Drop the times of subscribers no longer active, keep the future ones, and yield
        the active subscribers without one (or with one at or before ``now``)."""
        self._store._run(
            "DELETE FROM due USING subscribers s "
            "WHERE due.chat_id = s.chat_id AND s.status <> 'active'"
        )
        return self._store._subscriber_pages(
            "status = 'active' AND NOT EXISTS "
            "(SELECT 1 FROM due d WHERE d.chat_id = subscribers.chat_id AND d.wake_at > %s)",
            (now,),
        )

    def set_many(self, entries: Iterable[tuple[int, datetime | None, datetime | None]]) -> None:
        """Set (chat id, wake-up time, slot) for each entry; a None time removes the chat.
        Chats without a subscriber are left out (one was deleted meanwhile)."""
        latest: dict[int, tuple[datetime | None, datetime | None]] = {}
        for chat_id, wake, slot in entries:
            latest[chat_id] = (wake, slot)
        gone = [c for c, (wake, slot) in latest.items() if wake is None or slot is None]
        kept = [(c, w, s) for c, (w, s) in latest.items() if w is not None and s is not None]
        if gone:
            self._store._run("DELETE FROM due WHERE chat_id = ANY(%s::bigint[])", (gone,))
        if kept:
            chats, wakes, slots = zip(*kept, strict=True)
            self._store._run(
                "INSERT INTO due (chat_id, wake_at, slot) "
                "SELECT v.chat_id, v.wake_at, v.slot FROM unnest("
                "%s::bigint[], %s::timestamptz[], %s::timestamptz[]) AS v(chat_id, wake_at, slot) "
                "WHERE EXISTS (SELECT 1 FROM subscribers s WHERE s.chat_id = v.chat_id) "
                "ON CONFLICT (chat_id) DO UPDATE "
                "SET wake_at = EXCLUDED.wake_at, slot = EXCLUDED.slot",
                (list(chats), list(wakes), list(slots)),
            )

    def next_due(self) -> datetime | None:
        """The earliest wake-up time, or None."""
        found: datetime | None = self._store._value("SELECT min(wake_at) FROM due")
        return found

    def pop_due(self, now: datetime, limit: int) -> list[tuple[int, datetime]]:
        """Up to ``limit`` (chat id, slot) due at ``now``, earliest first, removed."""
        rows = self._store._run(
            "DELETE FROM due WHERE chat_id IN (SELECT chat_id FROM due WHERE wake_at <= %s "
            "ORDER BY wake_at LIMIT %s) RETURNING wake_at, chat_id, slot",
            (now, min(limit, 2**62)),
        ).fetchall()
        return [(chat_id, slot) for _, chat_id, slot in sorted(rows)]


_SUBSCRIBER_UPSERT = _SUBSCRIBER.upsert("chat_id")
_FEED_UPSERT = _FEED.upsert("url")
_CHANNEL_UPSERT = _CHANNEL.upsert("chat_id")
_SELECTION_UPSERT = _SELECTION.upsert("user_id")
_ARTICLE_UPSERT = (
    _ARTICLE.upsert("id") + ", stored = nextval('articles_stored')"
)  # a replaced article becomes the newest with its URL, as in the embedded store
