"""The records of the store's tables, and the changes to them.

Table names and keys, how documents and changes are encoded as JSON, the checks every
document and journal record passes at open (so a damaged file is refused with the record
and field named, not loaded into a bot that breaks later), what a change does to the
tables, and the side indexes kept beside them.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import json
import re
import sys
import types
import typing
from collections import Counter
from collections.abc import Callable
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

# table name -> key -> document. Documents are replaced, never changed in place, except a
# chat's delivery ledger (``deliveries`` maps article id -> sent time).
Tables = dict[str, dict[str, dict[str, Any]]]
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
    """Compact JSON as UTF-8 (ASCII escapes if the text holds unpaired surrogates)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value, separators=(",", ":")).encode("ascii")


def article_time(doc: dict[str, Any]) -> datetime:
    # When the article reached us: a feed may publish late or backdate, and a digest is
    # about what is new to its reader since the last one.
    try:
        when = from_iso(doc.get("fetched"))
    except (TypeError, ValueError) as exc:
        raise Invalid(f"articles[{doc.get('id')!r}] has a bad time: {exc}") from None
    if when is None:
        raise Invalid(f"articles[{doc.get('id')!r}] has no 'fetched' time")
    return when


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


def _check_sent(value: Any, what: str) -> None:
    """A delivery time as the store writes it (``sent_text``): text order is time order."""
    try:
        ok = isinstance(value, str) and bool(_SENT.fullmatch(value))
        ok = ok and datetime.fromisoformat(value) is not None
    except ValueError:
        ok = False
    if not ok:
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


def check_tables(tables: Any) -> None:
    """Raise Invalid unless ``tables`` are the current schema's tables of valid documents."""
    if not isinstance(tables, dict) or set(tables) != set(TABLES):
        found = sorted(tables) if isinstance(tables, dict) else type(tables).__name__
        raise Invalid(f"expected the tables {list(TABLES)}, found {found}")
    for name in TABLES:
        if not isinstance(tables[name], dict):
            raise Invalid(f"table {name!r} is not an object")
        for key, doc in tables[name].items():
            check_doc(name, key, doc)


# -- changes (journal records) -------------------------------------------------------------


def check_op(op: Any, *, docs: bool) -> None:
    """Raise Invalid unless ``op`` is a well-formed journal record (and its documents)."""
    if not isinstance(op, list) or not op or not isinstance(op[0], str):
        raise Invalid("not a journal record (a JSON array starting with its kind)")
    kind = op[0]
    if kind in ("put", "del"):
        if len(op) != (4 if kind == "put" else 3) or op[1] not in TABLES:
            raise Invalid(f"malformed {kind!r} record")
        if kind == "put" and not (isinstance(op[2], str) and isinstance(op[3], dict)):
            raise Invalid("malformed 'put' record")
        if kind == "put" and docs:
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
            check_op(inner, docs=docs)
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
    """``doc`` (a checked document of table ``name``) with its recurring strings interned;
    lists and ledgers are rebuilt, other documents changed in place."""
    if name == DELIVERIES:
        return {_intern(a): _intern(v) if type(v) is str else v for a, v in doc.items()}
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


def share_table_strings(tables: Tables) -> None:
    """Intern the recurring strings of every record of checked tables (at open)."""
    for name in (SUBSCRIBERS, ARTICLES, DELIVERIES):
        table = tables[name]
        for key in list(table):
            table[_intern(key)] = share_strings(name, table.pop(key))


def apply_op(tables: Tables, op: Op, on_change: Callable[[str, str, Any, Any], None]) -> None:
    """Apply one (checked) journal record to the tables; ``on_change`` keeps indexes."""
    kind = op[0]
    if kind == "put":
        _, name, key, doc = op
        table = tables[name]
        old = table.get(key)
        doc = share_strings(name, doc)
        table[key] = doc
        on_change(name, key, old, doc)
    elif kind == "del":
        _, name, keys = op
        table = tables[name]
        for key in keys:
            old = table.pop(key, None)
            if old is not None:
                on_change(name, key, old, None)
    elif kind == "deliver":
        _, chat, sent, article_ids, cap = op
        ledger = tables[DELIVERIES].setdefault(chat, {})
        sent = _intern(sent)
        for article_id in article_ids:
            ledger.pop(article_id, None)  # re-sent: it moves to the newest end
            ledger[_intern(article_id)] = sent
        excess = len(ledger) - cap
        if excess > 0:
            for article_id in list(itertools.islice(ledger, excess)):
                del ledger[article_id]
    elif kind == "forget":
        cutoff = op[1]
        deliveries = tables[DELIVERIES]
        for chat, ledger in list(deliveries.items()):
            for article_id in [a for a, sent in ledger.items() if sent < cutoff]:
                del ledger[article_id]
            if not ledger:
                del deliveries[chat]
    elif kind == "batch":
        for inner in op[1]:
            apply_op(tables, inner, on_change)


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

    def count_feeds(self, doc: Any, by: int) -> None:
        """Count (``by`` 1) or uncount (-1) the own feeds of a subscriber's document."""
        if doc is not None and doc.get("status", ACTIVE) == ACTIVE:
            for url in doc.get("feeds") or ():
                self.chat_feeds[url] += by
                if self.chat_feeds[url] <= 0:
                    del self.chat_feeds[url]

    def change(self, name: str, key: str, old: Any, new: Any) -> None:
        """Follow a document of table ``name`` changed from ``old`` to ``new`` (None: absent)."""
        if name == SUBSCRIBERS:
            if old is not None:
                self.statuses[old.get("status", ACTIVE)] -= 1
            if new is not None:
                self.statuses[new.get("status", ACTIVE)] += 1
            if new is not None and new.get("status", ACTIVE) == ACTIVE:
                self.active[key] = None
            else:
                self.active.pop(key, None)
            self.count_feeds(old, -1)
            self.count_feeds(new, 1)
        elif name == ARTICLES:
            if old is not None and self.article_by_url.get(old["url"]) == key:
                del self.article_by_url[old["url"]]
            if new is None:
                self.article_time.pop(key, None)
            else:
                self.article_by_url[new["url"]] = key
                self.article_time[key] = article_time(new)


def build_indexes(tables: Tables) -> Indexes:
    """The side indexes of checked tables."""
    indexes = Indexes()
    for key, doc in tables[SUBSCRIBERS].items():
        indexes.statuses[doc.get("status", ACTIVE)] += 1
        if doc.get("status", ACTIVE) == ACTIVE:
            indexes.active[key] = None
        indexes.count_feeds(doc, 1)
    for key, doc in tables[ARTICLES].items():
        indexes.article_by_url[doc["url"]] = key
        indexes.article_time[key] = article_time(doc)
    return indexes
