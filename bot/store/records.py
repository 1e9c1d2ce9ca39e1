"""The records of the store's tables, and the changes to them.

Table names and keys, how documents and changes are encoded as JSON, the checks every
document and journal record passes at open (so a damaged file is refused with the record
and field named, not loaded into a bot that breaks later), what a change does to the
tables, and the side indexes kept beside them.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
import sys
import types
import typing
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, TypeGuard

from ..i18n import is_language_code
from ..models import (
    ACTIVE,
    STATUSES,
    Channel,
    FeedState,
    Selection,
    StoredArticle,
    Subscriber,
    from_iso,
)
from ..timeparse import CLOCK, zone_exists

SUBSCRIBERS = "subscribers"
ARTICLES = "articles"
DELIVERIES = "deliveries"
FEEDS = "feeds"
COUNTERS = "counters"
CHANNELS = "channels"
SELECTIONS = "selections"
TABLES = (SUBSCRIBERS, ARTICLES, DELIVERIES, FEEDS, COUNTERS, CHANNELS, SELECTIONS)

_SENT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00")

# table name -> key -> record. On disk and in the journal a record is a JSON document; in
# memory it is its typed value (see ``to_value``): a ``bot.models`` record, a chat's
# delivery ledger as a :class:`Ledger`, a day's counters as a dict. Values are replaced,
# never changed in place.
Tables = dict[str, dict[str, Any]]
Op = list[Any]


class Invalid(Exception):
    """A document or journal record that does not have the expected shape."""


# -- keys and encoding ---------------------------------------------------------------------


def chat_key(chat_id: int) -> str:
    return str(chat_id)


def sent_text(sent: datetime) -> str:
    """A delivery time as UTC ISO text to the second: same length, so text order is time order."""
    if sent.tzinfo is None:
        raise ValueError("naive datetimes are not stored; attach a timezone")
    return sent.astimezone(UTC).isoformat(timespec="seconds")


def encode(value: Any) -> bytes:
    """Compact JSON as UTF-8 (ASCII escapes if the text holds unpaired surrogates); the
    store's in-memory values are written as their documents (``to_document``)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=to_document)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value, separators=(",", ":"), default=to_document).encode("ascii")


def is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_chat_key(key: Any) -> None:
    if not isinstance(key, str):
        raise Invalid(f"chat key {shown(key)} is not text")
    try:
        canonical = str(int(key))
    except ValueError:
        canonical = ""
    if canonical != key:
        raise Invalid(f"chat key {shown(key)} is not a chat id")


@functools.lru_cache(maxsize=4096)
def _is_sent_text(value: str) -> bool:
    # Cached: a digest's entries share their time, so 2.4M ledger entries at open hold a
    # few thousand distinct times.
    try:
        return bool(_SENT.fullmatch(value)) and datetime.fromisoformat(value) is not None
    except ValueError:
        return False


def _check_sent(value: Any, what: str) -> None:
    """A delivery time as the store writes it (``sent_text``): text order is time order."""
    if not (isinstance(value, str) and _is_sent_text(value)):
        raise Invalid(f"{what} {shown(value)} is not a UTC time like 2026-01-31T08:00:00+00:00")


# -- documents -----------------------------------------------------------------------------


def shown(value: Any) -> str:
    """A value for an error message: its repr, clipped to one short line."""
    text = repr(value)
    return text if len(text) <= 60 else text[:56] + "...'"


def _is_datetime_text(value: Any) -> bool:
    try:
        return type(value) is str and from_iso(value) is not None
    except ValueError:
        return False


def _is_texts(value: Any) -> bool:
    return type(value) is list and all(type(item) is str for item in value)


def _is_ints(value: Any) -> bool:
    return type(value) is list and all(type(item) is int for item in value)


# What a field's annotation in bot.models asks of its JSON value, and how to say it isn't:
# the exact JSON type (JSON gives exactly int, str, bool or list, and True must not pass
# for 1), or a test for what a type cannot say.
_KINDS: dict[Any, tuple[type | Callable[[Any], bool], str]] = {
    int: (int, "a whole number"),
    str: (str, "text"),
    bool: (bool, "true or false"),
    datetime: (_is_datetime_text, "a date and time"),
    tuple[str, ...]: (_is_texts, "a list"),
    tuple[int, ...]: (_is_ints, "a list of whole numbers"),
}


def _is_aware_datetime(value: Any) -> bool:
    return isinstance(value, datetime) and value.tzinfo is not None


# The same for a database row, whose values the driver has already typed: times arrive as
# aware datetimes instead of ISO text.
_ROW_KINDS = {**_KINDS, datetime: (_is_aware_datetime, "a date and time")}


def _kind(hint: Any, *, row: bool) -> tuple[bool, type | Callable[[Any], bool], str]:
    """Whether None is allowed, the JSON type or test of a value, what it should have been."""
    kinds = _ROW_KINDS if row else _KINDS
    args = typing.get_args(hint)
    optional = typing.get_origin(hint) in (types.UnionType, typing.Union) and type(None) in args
    if optional:
        (hint,) = (a for a in args if a is not type(None))
    if hint not in kinds:  # a new field type in bot.models needs its test in _KINDS
        raise TypeError(f"no check for fields of type {hint!r}")
    return (optional, *kinds[hint])


def _type_problem(name: str, value: Any, kind: str) -> str:
    """Why a value that failed its type test is wrong (naming the bad item of a list)."""
    if kind == "a list" and type(value) is list:
        bad = next(i for i, item in enumerate(value) if type(item) is not str)
        return f"{name}[{bad}] {shown(value[bad])} is not text"
    if kind == "a list of whole numbers" and type(value) is list:
        bad = next(i for i, item in enumerate(value) if type(item) is not int)
        return f"{name}[{bad}] {shown(value[bad])} is not a whole number"
    return f"{name} {shown(value)} is not {kind}"


def _clocks(name: str, value: list[str]) -> str | None:
    bad = next((i for i, clock in enumerate(value) if not CLOCK.match(clock)), None)
    return None if bad is None else f"{name}[{bad}] {shown(value[bad])} is not a 24-hour time"


def _zone(name: str, value: str) -> str | None:
    return None if zone_exists(value) else f"{name} {shown(value)} is not a time zone"


def _status(name: str, value: str) -> str | None:
    if value in STATUSES:
        return None
    return f"{name} {shown(value)} is not one of {', '.join(STATUSES)}"


def _language(name: str, value: str) -> str | None:
    return None if is_language_code(value) else f"{name} {shown(value)} is not a language code"


def _not_negative(name: str, value: int) -> str | None:
    return None if value >= 0 else f"{name} {value} is negative"


# Checks beyond the field's type, run once the type is right: (name, value) -> problem.
_MEANING: dict[tuple[type, str], Callable[[str, Any], str | None]] = {
    (Subscriber, "times"): _clocks,
    (Subscriber, "timezone"): _zone,
    (Subscriber, "status"): _status,
    (Subscriber, "pending_sent"): _not_negative,
    (Subscriber, "language"): _language,
    (Subscriber, "telegram_language"): _language,
    (FeedState, "failures"): _not_negative,
    (FeedState, "articles_total"): _not_negative,
    (FeedState, "entries"): _not_negative,
}


_Field = tuple[
    str, bool, bool, type | Callable[[Any], bool], str, Callable[[str, Any], str | None] | None
]


@functools.cache
def _fields_of(record: type, row: bool = False) -> tuple[_Field, ...]:
    """Each field of a record class: name, required, None allowed, JSON type or test, what
    it should be, further check. Built once from the dataclass and its annotations."""
    hints = typing.get_type_hints(record)
    found = []
    for f in dataclasses.fields(record):
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        optional, test, kind = _kind(hints[f.name], row=row)
        found.append((f.name, required, optional, test, kind, _MEANING.get((record, f.name))))
    return tuple(found)


_ABSENT = object()


def _check_record(record: type, doc: dict[str, Any], *, row: bool = False) -> None:
    """Raise Invalid unless ``record.from_dict(doc)`` gives a record the bot can use (with
    ``row``: unless ``doc``, a database row's typed values, makes one)."""
    # At open this runs for every record (100k subscribers): one flat loop, no closures
    # per field beyond the type test.
    for name, required, optional, test, kind, meaning in _fields_of(record, row):
        value = doc.get(name, _ABSENT)
        if value is _ABSENT:
            if required:
                raise Invalid(f"{name} is missing")
        elif value is None and optional:
            pass
        elif type(value) is not test and (isinstance(test, type) or not test(value)):
            raise Invalid(_type_problem(name, value, kind))
        elif meaning is not None:
            problem = meaning(name, value)
            if problem:
                raise Invalid(problem)


def _record_name(table: str, key: str) -> str:
    """How an error names a record: ``subscriber 12345``, ``article 'a1b2'``."""
    names = {
        SUBSCRIBERS: "subscriber",
        ARTICLES: "article",
        FEEDS: "feed",
        DELIVERIES: "delivery ledger of chat",
        COUNTERS: "counters of",
        CHANNELS: "channel",
        SELECTIONS: "selected chat of user",
    }
    plain = (SUBSCRIBERS, DELIVERIES, COUNTERS, CHANNELS, SELECTIONS)
    text = key if table in plain and len(key) <= 40 else shown(key)
    return f"{names[table]} {text}"


def check_doc(name: str, key: str, doc: Any) -> None:
    """Raise Invalid (naming the record and the field) unless ``doc`` can live at
    ``tables[name][key]`` and be read back as its record."""
    try:
        if not isinstance(doc, dict):
            raise Invalid("is not an object")
        if name == SUBSCRIBERS:
            if not is_int(doc.get("chat_id")) or str(doc["chat_id"]) != key:
                raise Invalid(f"has chat_id {shown(doc.get('chat_id'))}")
            _check_record(Subscriber, doc)
        elif name == ARTICLES:
            if doc.get("id") != key:
                raise Invalid(f"has id {shown(doc.get('id'))}")
            _check_record(StoredArticle, doc)
        elif name == FEEDS:
            if doc.get("url") != key:
                raise Invalid(f"has url {shown(doc.get('url'))}")
            _check_record(FeedState, doc)
        elif name == CHANNELS:
            if not is_int(doc.get("chat_id")) or str(doc["chat_id"]) != key:
                raise Invalid(f"has chat_id {shown(doc.get('chat_id'))}")
            _check_record(Channel, doc)
        elif name == SELECTIONS:
            if not is_int(doc.get("user_id")) or str(doc["user_id"]) != key:
                raise Invalid(f"has user_id {shown(doc.get('user_id'))}")
            _check_record(Selection, doc)
        elif name == DELIVERIES:
            _check_chat_key(key)
            for article_id, sent in doc.items():
                if not (type(sent) is str and _is_sent_text(sent)):  # named only if wrong
                    _check_sent(sent, f"sent time of {shown(article_id)}")
        elif name == COUNTERS:
            try:
                date.fromisoformat(key)
            except ValueError:
                raise Invalid(f"{shown(key)} is not a day (YYYY-MM-DD)") from None
            bad = next((n for n, count in doc.items() if not is_int(count)), None)
            if bad is not None:
                raise Invalid(f"{shown(bad)} {shown(doc[bad])} is not a whole number")
    except Invalid as exc:
        raise Invalid(f"{_record_name(name, key)}: {exc}") from None


def check_row(name: str, key: str, values: dict[str, Any]) -> None:
    """Raise Invalid (naming the record and the field) unless a database row's values make
    a record of table ``name`` the bot can use: the checks of :func:`check_doc` that the
    database's own column types and constraints cannot make."""
    record = {
        SUBSCRIBERS: Subscriber,
        ARTICLES: StoredArticle,
        FEEDS: FeedState,
        CHANNELS: Channel,
        SELECTIONS: Selection,
    }[name]
    try:
        _check_record(record, values, row=True)
    except Invalid as exc:
        raise Invalid(f"{_record_name(name, key)}: {exc}") from None


def record_name(name: str, key: str) -> str:
    """How an error names a record: ``subscriber 12345``, ``article 'a1b2'``."""
    return _record_name(name, key)


def check_table_names(tables: Any) -> None:
    """Raise Invalid unless ``tables`` has exactly the current schema's tables."""
    if not isinstance(tables, dict) or set(tables) != set(TABLES):
        found = sorted(tables) if isinstance(tables, dict) else type(tables).__name__
        raise Invalid(f"expected the tables {list(TABLES)}, found {found}")


def check_tables(tables: Any) -> None:
    """Raise Invalid unless ``tables`` are the current schema's tables of valid documents."""
    check_table_names(tables)
    for name in TABLES:
        if not isinstance(tables[name], dict):
            raise Invalid(f"table {name!r} is not an object")
        for key, doc in tables[name].items():
            check_doc(name, key, doc)


# -- changes (journal records) -------------------------------------------------------------


def check_op(op: Any) -> None:
    """Raise Invalid unless ``op`` is a well-formed journal record (and its documents)."""
    if not isinstance(op, list) or not op or not isinstance(op[0], str):
        raise Invalid("not a journal record (a JSON array starting with its kind)")
    kind = op[0]
    if kind in ("put", "del"):
        if len(op) != (4 if kind == "put" else 3) or op[1] not in TABLES:
            raise Invalid(f"malformed {kind!r} record")
        if kind == "put" and not (isinstance(op[2], str) and isinstance(op[3], dict)):
            raise Invalid("malformed 'put' record")
        if kind == "put":
            check_doc(op[1], op[2], op[3])
        if kind == "del" and not (
            isinstance(op[2], list) and all(isinstance(k, str) for k in op[2])
        ):
            raise Invalid("malformed 'del' record")
    elif kind == "deliver":
        if not (
            len(op) == 5
            and isinstance(op[2], str)
            and isinstance(op[3], list)
            and all(isinstance(a, str) for a in op[3])
            and is_int(op[4])
            and op[4] > 0
        ):
            raise Invalid("malformed 'deliver' record")
        _check_chat_key(op[1])
        _check_sent(op[2], f"delivery to chat {op[1]}: sent time")
    elif kind == "forget":
        if len(op) != 2:
            raise Invalid("malformed 'forget' record")
        _check_sent(op[1], "'forget' cutoff")
    elif kind == "batch":
        if len(op) != 2 or not isinstance(op[1], list):
            raise Invalid("malformed 'batch' record")
        for inner in op[1]:
            check_op(inner)
    else:
        raise Invalid(f"unknown record kind {kind!r}")


# -- shared strings ------------------------------------------------------------------------
#
# The same short strings recur in every record: topics, times, zones and statuses of 100k
# subscribers; the words of 10k articles (the digest builder's word lists); the article
# ids and sent times of every ledger entry (a digest's entries share one time). Parsed
# JSON gives each occurrence its own string object; interning keeps one of each, which
# takes the embedded store's tables from ~590 MB to ~310 MB for 100k subscribers, 10k
# articles and 24 ledger entries each (bench/memory.py).

_SHARED_LISTS = {
    SUBSCRIBERS: ("topics", "follow", "exclude", "times"),
    ARTICLES: ("topics", "words"),
}
_SHARED_TEXTS = {
    SUBSCRIBERS: ("chat_type", "timezone", "status"),
    ARTICLES: ("language", "source", "feed"),
}
_intern = sys.intern


def share_strings(name: str, doc: Any) -> Any:
    """``doc`` (a checked document of table ``name``) with its recurring strings interned,
    changed in place."""
    for field_name in _SHARED_TEXTS.get(name, ()):
        value = doc.get(field_name)
        if type(value) is str:
            doc[field_name] = _intern(value)
    for field_name in _SHARED_LISTS.get(name, ()):
        value = doc.get(field_name)
        if type(value) is list:
            doc[field_name] = [_intern(v) if type(v) is str else v for v in value]
    return doc


SHORT = 40  # strings up to this long may recur (a word, a zone, a time); longer ones rarely


def shared_strings_hook(doc: dict[str, Any]) -> dict[str, Any]:
    """``json.loads``'s ``object_hook`` for a snapshot: each object's short strings, and
    those of its lists, interned as they are parsed (interning after the whole file is
    parsed would leave the process's memory at the peak of the unshared copies)."""
    for key, value in doc.items():
        kind = type(value)
        if kind is str:
            if len(value) <= SHORT:
                doc[key] = _intern(value)
        elif kind is list:
            doc[key] = [_intern(v) if type(v) is str and len(v) <= SHORT else v for v in value]
    return doc


# -- values: the records in memory ---------------------------------------------------------


class Ledger:
    """A chat's delivery ledger in memory: article id -> sent time (``sent_text``), oldest
    first, held as a tuple of article ids and the sent times as runs (a digest's entries
    share one time): ``(sent, count, sent, count, ...)``, every string shared.

    A dict of 24 entries takes about 1.2 KB, this about 0.35 KB: for 100k chats, about
    85 MB less (``bench/memory.py``). Ledgers are small (``max_deliveries_per_chat``), so
    the linear reads cost nothing that matters. Immutable: a change makes a new one.
    """

    __slots__ = ("_ids", "_runs")

    def __init__(self, entries: Iterable[tuple[str, str]] = ()) -> None:
        """A ledger of (article id, sent time) pairs, oldest first. Both strings are
        interned: the ids are a document's keys, which a snapshot's parsing leaves
        unshared (2.4M of them at 100k chats)."""
        ids: list[str] = []
        runs: list[str | int] = []
        for article_id, sent in entries:
            ids.append(_intern(article_id))
            if runs and runs[-2] == sent:
                runs[-1] = typing.cast(int, runs[-1]) + 1
            else:
                runs += [_intern(sent), 1]
        self._ids = tuple(ids)
        self._runs = tuple(runs)

    @classmethod
    def of(cls, doc: dict[str, str]) -> Ledger:
        """The ledger of a (checked) document: article id -> sent time."""
        return cls(doc.items())

    def __len__(self) -> int:
        return len(self._ids)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Ledger) and (self._ids, self._runs) == (other._ids, other._runs)

    __hash__ = None  # type: ignore[assignment]  # compared by content, like the dict it replaces

    def ids(self) -> tuple[str, ...]:
        """The article ids, oldest first."""
        return self._ids

    def entries(self) -> Iterator[tuple[str, str]]:
        """(article id, sent time) pairs, oldest first."""
        ids, runs, start = self._ids, self._runs, 0
        for n in range(0, len(runs), 2):
            sent, count = typing.cast(str, runs[n]), typing.cast(int, runs[n + 1])
            for article_id in ids[start : start + count]:
                yield article_id, sent
            start += count

    def to_dict(self) -> dict[str, str]:
        """The ledger as its JSON document."""
        return dict(self.entries())

    def delivered(self, sent: str, article_ids: Iterable[str], cap: int) -> Ledger:
        """This ledger with ``article_ids`` sent at ``sent``: an article sent again moves to
        the newest end, and only the newest ``cap`` entries are kept."""
        entries = self.to_dict()
        for article_id in article_ids:
            entries.pop(article_id, None)
            entries[article_id] = sent
        kept = list(entries.items())
        return Ledger(kept[max(0, len(kept) - cap) :])

    def forgotten(self, cutoff: str) -> Ledger:
        """This ledger without the entries sent before ``cutoff`` (itself if none were)."""
        if all(typing.cast(str, sent) >= cutoff for sent in self._runs[0::2]):
            return self
        return Ledger((a, sent) for a, sent in self.entries() if sent >= cutoff)


# The record class of each table whose values are ``bot.models`` records.
RECORDS: dict[str, type[Subscriber | StoredArticle | FeedState | Channel | Selection]] = {
    SUBSCRIBERS: Subscriber,
    ARTICLES: StoredArticle,
    FEEDS: FeedState,
    CHANNELS: Channel,
    SELECTIONS: Selection,
}
Value = Subscriber | StoredArticle | FeedState | Channel | Selection | Ledger | dict[str, int]


def to_value(name: str, doc: dict[str, Any], *, shared: bool = False) -> Any:
    """The in-memory value of a checked document of table ``name``, its recurring strings
    shared (``shared``: they already are, by ``shared_strings_hook``). Records are held
    typed, so a lookup returns the stored (immutable) record itself rather than building
    one from a dict each time (``bench/store.py``)."""
    if name == DELIVERIES:
        return Ledger.of(doc)
    if name == COUNTERS:
        return doc
    doc = doc if shared else share_strings(name, doc)
    return RECORDS[name].from_dict(doc, parse_time=_shared_time)


# Equal times are one object: the subscribers of one slot share their last slot and last
# digest times (48 bytes each, 100k subscribers).
_shared_time = functools.lru_cache(maxsize=1 << 14)(from_iso)


def to_document(value: Any) -> Any:
    """The JSON document of an in-memory value (``json.dumps``'s ``default``)."""
    if isinstance(value, Ledger | Subscriber | StoredArticle | FeedState | Channel | Selection):
        return value.to_dict()
    raise TypeError(f"{type(value).__name__} is not a store value")


def to_values(tables: Tables, *, shared: bool = False) -> Tables:
    """Checked tables of documents, turned into values in place (each document is dropped
    as its value replaces it, so the two are never all held at once)."""
    for name, table in tables.items():
        for key in list(table):
            table[key] = to_value(name, table[key], shared=shared)
    return tables


def apply_op(tables: Tables, op: Op, on_change: Callable[[str, str, Any, Any], None]) -> None:
    """Apply one (checked) journal record to tables of values; ``on_change`` keeps indexes."""
    kind = op[0]
    if kind == "put":
        _, name, key, doc = op
        table = tables[name]
        old = table.get(key)
        new = to_value(name, doc)
        table[key] = new
        on_change(name, key, old, new)
    elif kind == "del":
        _, name, keys = op
        table = tables[name]
        for key in keys:
            old = table.pop(key, None)
            if old is not None:
                on_change(name, key, old, None)
    elif kind == "deliver":
        _, chat, sent, article_ids, cap = op
        deliveries = tables[DELIVERIES]
        deliveries[_intern(chat)] = deliveries.get(chat, _EMPTY).delivered(sent, article_ids, cap)
    elif kind == "forget":
        cutoff = op[1]
        deliveries = tables[DELIVERIES]
        for chat, ledger in list(deliveries.items()):
            kept = ledger.forgotten(cutoff)
            if not kept:
                del deliveries[chat]
            elif kept is not ledger:
                deliveries[chat] = kept
    elif kind == "batch":
        for inner in op[1]:
            apply_op(tables, inner, on_change)


_EMPTY = Ledger()


def ignore_change(table: str, key: str, old: Any, new: Any) -> None:
    """The ``on_change`` of a replay at open: indexes are built afterwards."""


# -- side indexes --------------------------------------------------------------------------


@dataclass
class Indexes:
    """Lookups the tables alone would answer by a scan: kept in step with every change."""

    active: dict[str, None] = field(default_factory=dict)  # a set that keeps its order
    statuses: Counter[str] = field(default_factory=Counter)  # subscribers by status
    article_by_url: dict[str, str] = field(default_factory=dict)
    article_time: dict[str, datetime] = field(default_factory=dict)
    # The chats' own feeds: URL -> how many active subscribers added it.
    chat_feeds: Counter[str] = field(default_factory=Counter)

    def count_feeds(self, subscriber: Subscriber | None, by: int) -> None:
        """Count (``by`` 1) or uncount (-1) the own feeds of an active subscriber."""
        if subscriber is not None and subscriber.status == ACTIVE:
            for url in subscriber.feeds:
                self.chat_feeds[url] += by
                if self.chat_feeds[url] <= 0:
                    del self.chat_feeds[url]

    def change(self, name: str, key: str, old: Any, new: Any) -> None:
        """Follow a value of table ``name`` changed from ``old`` to ``new`` (None: absent)."""
        if name == SUBSCRIBERS:
            if old is not None:
                self.statuses[old.status] -= 1
            if new is not None:
                self.statuses[new.status] += 1
            if new is not None and new.status == ACTIVE:
                self.active[key] = None
            else:
                self.active.pop(key, None)
            self.count_feeds(old, -1)
            self.count_feeds(new, 1)
        elif name == ARTICLES:
            if old is not None and self.article_by_url.get(old.url) == key:
                del self.article_by_url[old.url]
            if new is None:
                self.article_time.pop(key, None)
            else:
                self.article_by_url[new.url] = key
                self.article_time[key] = new.fetched


def build_indexes(tables: Tables) -> Indexes:
    """The side indexes of tables of values."""
    indexes = Indexes()
    for key, subscriber in tables[SUBSCRIBERS].items():
        indexes.change(SUBSCRIBERS, key, None, subscriber)
    for key, article in tables[ARTICLES].items():
        indexes.change(ARTICLES, key, None, article)
    return indexes
