"""The bot's state on disk: subscribers, articles, the delivery ledger, feed state, counters.

This is the only module that imports TinyDB. Everything else sees typed records
(``bot.models``) and the :class:`Store` methods.

Durability promise
------------------
When a mutating method returns, its change is in the journal and ``fsync``'ed: it survives
the process being killed (SIGKILL, the OOM killer) and a power loss, provided the disk
honours ``fsync``. Inside :meth:`Store.batch` the block's changes become durable together
when the block exits, as one journal line: after a crash either all of them are there or
none. A method that raises :class:`StoreWriteError` stored nothing, and the in-memory state
still matches the disk (write-ahead: the journal line is written and synced first, then the
change is applied in memory).

Files (for a store at ``data/newsdigest.json``), all created with mode 0600
------------------------------------------------------------------------------
``newsdigest.json``
    The snapshot: ``{"format": "newsdigest-store", "schema": 2, "generation": G,
    "tables": {...}}``. It is only ever replaced whole, by rename, never written in place.
``newsdigest.json.journal.G``
    The changes since snapshot G, one JSON array per line (``["put", table, key, doc]``,
    ``["del", table, [keys]]``, ``["deliver", ...]``, ``["forget", ...]``,
    ``["batch", [...]]``). A final line without its newline is a write that was never
    acknowledged (a crash mid-append): it is ignored and cut off at the next open. A bad
    line before the end means the file was damaged: the store refuses to open.
``newsdigest.json.lock``
    ``flock``'ed while a process has the store open; a second opener gets
    :class:`StoreLockedError`. The kernel drops the lock when the holder dies.
``newsdigest.json.tmp``
    A snapshot being written by compaction; a crash can leave it behind, and the next open
    deletes it.
``newsdigest.json.schema1-<time>.bak``
    The original bytes of a file that was migrated from an older schema.

Compaction writes snapshot G+1 and an empty journal G+1 (both fsync'ed, then the folder),
renames the snapshot into place, fsyncs the folder and deletes journal G. A crash at any
step leaves a loadable pair: before the rename, snapshot G + journal G; after it, snapshot
G+1 + journal G+1. Leftovers (older journals, empty newer ones, the temp file) are deleted
at open; a non-empty journal newer than the snapshot means the snapshot was replaced by an
older copy, and the store refuses to open. Compaction runs when the journal outgrows the
snapshot (and ``compact_min_bytes``), so its cost (about half a second for the 35 MB
snapshot of 100k subscribers) is amortised over ~90k writes; :meth:`Store.compact` runs it
on demand.

A data file that cannot be read or understood is never modified: the store raises
:class:`StoreCorruptError` naming the file and what is wrong. Schema 1 is what a plain
TinyDB store of these records looks like (``TinyDB(path)``: one document per record under
TinyDB's integer ids, no header); ``MIGRATIONS`` holds one function per schema step, run
at open, and the original file is kept as a ``.bak`` file before the new one replaces it.

Why not plain TinyDB
--------------------
``JSONStorage`` re-reads and re-parses the whole file on every query and overwrites it in
place on every change (seek to 0, write, truncate): 1.5 s per lookup and 2.3 s per update
at 100k subscribers in ``bench/store.py``, and a crash mid-write leaves a torn file. Even
over an in-memory storage, TinyDB's ``Table`` write path copies every document id of the
table twice per call (``Table._update_table``), which is O(table size) per update. So the
tables live in memory as plain dicts keyed by natural keys (chat id, article id, feed URL,
day); TinyDB ``Table`` objects over a :class:`_MemoryStorage` serve the reads (a keyed
lookup is a dict lookup), while every change goes through the journal and is then applied
to those dicts directly. Side indexes keep the active subscribers, article URL -> id and
article times. The price is memory (about 170 MB for 100k subscribers) and an open that
parses the snapshot (about a second at 100k); ``bench/store.py`` reports both.

Threading: a Store is used from one thread only (the asyncio loop thread); it has no locks
of its own. Compaction blocks that thread while it runs.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import itertools
import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeGuard

from tinydb.storages import Storage
from tinydb.table import Table

from .models import ACTIVE, STATUSES, Delivery, FeedState, StoredArticle, Subscriber, from_iso

log = logging.getLogger(__name__)

FORMAT = "newsdigest-store"
SUBSCRIBERS = "subscribers"
ARTICLES = "articles"
DELIVERIES = "deliveries"
FEEDS = "feeds"
COUNTERS = "counters"
TABLES = (SUBSCRIBERS, ARTICLES, DELIVERIES, FEEDS, COUNTERS)

FILE_MODE = 0o600
DEFAULT_MAX_DELIVERIES_PER_CHAT = 2000
DEFAULT_COMPACT_MIN_BYTES = 8 * 1024 * 1024

# table name -> key -> document. Documents are replaced, never changed in place, except a
# chat's delivery ledger (``deliveries`` maps article id -> sent time).
Tables = dict[str, dict[str, dict[str, Any]]]
Op = list[Any]


class StoreError(Exception):
    """Base class of the store's errors."""


class StoreCorruptError(StoreError):
    """A data or journal file cannot be read or understood; it was left unchanged."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(
            f"{path}: {problem}. The file was left unchanged: restore it from a backup, or move "
            "it away to start with an empty store."
        )
        self.path = path
        self.problem = problem


class StoreLockedError(StoreError):
    """Another process has the store open."""


class StoreWriteError(StoreError):
    """A change could not be written (disk full, read-only, ...); nothing was stored."""


class NotFoundError(StoreError):
    """The record to change does not exist."""


class _Invalid(Exception):
    """A document or journal record that does not have the expected shape."""


# -- migrations ----------------------------------------------------------------------------


def _migrate_1_to_2(old: dict[str, Any]) -> dict[str, Any]:
    """Schema 1 (a plain TinyDB file) to 2: natural keys, one delivery ledger per chat.

    Schema 1 kept the records' ``to_dict()`` under TinyDB's integer document ids in the
    tables ``subscribers``, ``articles``, ``deliveries`` (one document per chat and
    article) and ``feeds``. Later documents win over earlier ones with the same key.
    """
    known = {SUBSCRIBERS, ARTICLES, DELIVERIES, FEEDS, "_default"}
    for name, table in old.items():
        if name not in known:
            raise _Invalid(f"unexpected table {name!r}")
        if not isinstance(table, dict) or not all(isinstance(d, dict) for d in table.values()):
            raise _Invalid(f"table {name!r} is not a TinyDB table of documents")
    if old.get("_default"):
        raise _Invalid("unexpected documents in TinyDB's '_default' table")

    def docs(name: str) -> Iterator[dict[str, Any]]:
        yield from old.get(name, {}).values()

    def key_of(doc: dict[str, Any], name: str, table: str) -> Any:
        if name not in doc:
            raise _Invalid(f"a document in {table!r} has no {name!r}")
        return doc[name]

    ledgers: dict[str, dict[str, str]] = {}
    dated = []
    for doc in docs(DELIVERIES):
        chat, article = key_of(doc, "chat_id", DELIVERIES), key_of(doc, "article_id", DELIVERIES)
        try:
            sent = from_iso(doc.get("sent"))
        except (TypeError, ValueError) as exc:
            raise _Invalid(f"a delivery has a bad 'sent' time: {exc}") from None
        if sent is None or not isinstance(chat, int) or not isinstance(article, str):
            raise _Invalid("a delivery lacks chat_id, article_id or sent")
        dated.append((sent, str(chat), article))
    for sent, chat_key, article in sorted(dated):
        ledgers.setdefault(chat_key, {})[article] = _sent_text(sent)
    return {
        SUBSCRIBERS: {str(key_of(d, "chat_id", SUBSCRIBERS)): d for d in docs(SUBSCRIBERS)},
        ARTICLES: {str(key_of(d, "id", ARTICLES)): d for d in docs(ARTICLES)},
        DELIVERIES: ledgers,
        FEEDS: {str(key_of(d, "url", FEEDS)): d for d in docs(FEEDS)},
        COUNTERS: {},
    }


# MIGRATIONS[n - 1] turns schema n's tables into schema n + 1's.
MIGRATIONS: tuple[Callable[[dict[str, Any]], dict[str, Any]], ...] = (_migrate_1_to_2,)
SCHEMA = len(MIGRATIONS) + 1


# -- keys, encoding, validation --------------------------------------------------------------


def _chat_key(chat_id: int) -> str:
    return str(chat_id)


def _sent_text(sent: datetime) -> str:
    """A delivery time as UTC ISO text to the second: same length, so text order is time order."""
    if sent.tzinfo is None:
        raise ValueError("naive datetimes are not stored; attach a timezone")
    return sent.astimezone(UTC).isoformat(timespec="seconds")


def _encode(value: Any) -> bytes:
    """Compact JSON as UTF-8 (ASCII escapes if the text holds unpaired surrogates)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value, separators=(",", ":")).encode("ascii")


def _article_time(doc: dict[str, Any]) -> datetime:
    # When the article reached us: a feed may publish late or backdate, and a digest is
    # about what is new to its reader since the last one.
    try:
        when = from_iso(doc.get("fetched"))
    except (TypeError, ValueError) as exc:
        raise _Invalid(f"articles[{doc.get('id')!r}] has a bad time: {exc}") from None
    if when is None:
        raise _Invalid(f"articles[{doc.get('id')!r}] has no 'fetched' time")
    return when


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_chat_key(key: Any) -> None:
    if not isinstance(key, str):
        raise _Invalid(f"chat key {key!r} is not text")
    try:
        int(key)
    except ValueError:
        raise _Invalid(f"chat key {key!r} is not a chat id") from None


def _check_op(op: Any, *, docs: bool) -> None:
    """Raise _Invalid unless ``op`` is a well-formed journal record (and its documents)."""
    if not isinstance(op, list) or not op or not isinstance(op[0], str):
        raise _Invalid("not a journal record (a JSON array starting with its kind)")
    kind = op[0]
    if kind in ("put", "del"):
        if len(op) != (4 if kind == "put" else 3) or op[1] not in TABLES:
            raise _Invalid(f"malformed {kind!r} record")
        if kind == "put" and not (isinstance(op[2], str) and isinstance(op[3], dict)):
            raise _Invalid("malformed 'put' record")
        if kind == "put" and docs:
            _check_doc(op[1], op[2], op[3])
        if kind == "del" and not (
            isinstance(op[2], list) and all(isinstance(k, str) for k in op[2])
        ):
            raise _Invalid("malformed 'del' record")
    elif kind == "deliver":
        if not (
            len(op) == 5
            and isinstance(op[2], str)
            and isinstance(op[3], list)
            and all(isinstance(a, str) for a in op[3])
            and _is_int(op[4])
            and op[4] > 0
        ):
            raise _Invalid("malformed 'deliver' record")
        _check_chat_key(op[1])
    elif kind == "forget":
        if len(op) != 2 or not isinstance(op[1], str):
            raise _Invalid("malformed 'forget' record")
    elif kind == "batch":
        if len(op) != 2 or not isinstance(op[1], list):
            raise _Invalid("malformed 'batch' record")
        for inner in op[1]:
            _check_op(inner, docs=docs)
    else:
        raise _Invalid(f"unknown record kind {kind!r}")


def _apply(tables: Tables, op: Op, on_change: Callable[[str, str, Any, Any], None]) -> None:
    """Apply one (checked) journal record to the tables; ``on_change`` keeps indexes."""
    kind = op[0]
    if kind == "put":
        _, name, key, doc = op
        table = tables[name]
        old = table.get(key)
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
        _, chat_key, sent, article_ids, cap = op
        ledger = tables[DELIVERIES].setdefault(chat_key, {})
        for article_id in article_ids:
            ledger.pop(article_id, None)  # re-sent: it moves to the newest end
            ledger[article_id] = sent
        excess = len(ledger) - cap
        if excess > 0:
            for article_id in list(itertools.islice(ledger, excess)):
                del ledger[article_id]
    elif kind == "forget":
        cutoff = op[1]
        deliveries = tables[DELIVERIES]
        for chat_key, ledger in list(deliveries.items()):
            for article_id in [a for a, sent in ledger.items() if sent < cutoff]:
                del ledger[article_id]
            if not ledger:
                del deliveries[chat_key]
    elif kind == "batch":
        for inner in op[1]:
            _apply(tables, inner, on_change)


def _ignore_change(table: str, key: str, old: Any, new: Any) -> None:
    """The ``on_change`` of a replay at open: indexes are built afterwards."""


@dataclass
class _Indexes:
    active: dict[str, None] = field(default_factory=dict)  # a set that keeps its order
    article_by_url: dict[str, str] = field(default_factory=dict)
    article_time: dict[str, datetime] = field(default_factory=dict)


def _check_doc(name: str, key: str, doc: Any) -> None:
    """Raise _Invalid unless ``doc`` can live at ``tables[name][key]``."""
    where = f"{name}[{key!r}]"
    if not isinstance(doc, dict):
        raise _Invalid(f"{where} is not an object")
    if name == SUBSCRIBERS:
        if not _is_int(doc.get("chat_id")) or str(doc["chat_id"]) != key:
            raise _Invalid(f"{where} has chat_id {doc.get('chat_id')!r}")
        if doc.get("status", ACTIVE) not in STATUSES:
            raise _Invalid(f"{where} has an unknown status {doc.get('status')!r}")
    elif name == ARTICLES:
        if doc.get("id") != key or not isinstance(doc.get("url"), str):
            raise _Invalid(f"{where} has id {doc.get('id')!r} and url {doc.get('url')!r}")
        _article_time(doc)
    elif name == FEEDS:
        if doc.get("url") != key:
            raise _Invalid(f"{where} has url {doc.get('url')!r}")
    elif name == DELIVERIES:
        _check_chat_key(key)
        if not all(isinstance(sent, str) for sent in doc.values()):
            raise _Invalid(f"{where} holds a sent time that is not text")
    elif name == COUNTERS:
        try:
            date.fromisoformat(key)
        except ValueError:
            raise _Invalid(f"{where}: {key!r} is not a day (YYYY-MM-DD)") from None
        if not all(_is_int(n) for n in doc.values()):
            raise _Invalid(f"{where} holds a count that is not an integer")


def _check_tables(tables: Any) -> None:
    """Raise _Invalid unless ``tables`` are the current schema's tables of valid documents."""
    if not isinstance(tables, dict) or set(tables) != set(TABLES):
        found = sorted(tables) if isinstance(tables, dict) else type(tables).__name__
        raise _Invalid(f"expected the tables {list(TABLES)}, found {found}")
    for name in TABLES:
        if not isinstance(tables[name], dict):
            raise _Invalid(f"table {name!r} is not an object")
        for key, doc in tables[name].items():
            _check_doc(name, key, doc)


def _build_indexes(tables: Tables) -> _Indexes:
    """The side indexes of checked tables."""
    indexes = _Indexes()
    for key, doc in tables[SUBSCRIBERS].items():
        if doc.get("status", ACTIVE) == ACTIVE:
            indexes.active[key] = None
    for key, doc in tables[ARTICLES].items():
        indexes.article_by_url[doc["url"]] = key
        indexes.article_time[key] = _article_time(doc)
    return indexes


# -- files ------------------------------------------------------------------------------------


def _why(exc: OSError) -> str:
    """A human reason for a failed write."""
    reasons = {
        errno.ENOSPC: "the disk is full",
        errno.EDQUOT: "the disk quota is exceeded",
        errno.EROFS: "the file system is read-only",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.EFBIG: "the file is too large (file size limit)",
        errno.EIO: "an input/output error (failing disk?)",
    }
    return reasons.get(exc.errno or 0, exc.strerror or str(exc))


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _create(path: Path, flags: int = 0) -> int:
    """Open ``path`` for writing, created with mode 0600 whatever the umask."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | flags, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    except OSError:
        os.close(fd)
        raise
    return fd


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        view = view[written:]


def _unlink_quietly(path: Path) -> bool:
    """Delete a file if it exists; True if it did."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


class _MemoryStorage(Storage):
    """TinyDB storage over the Store's in-memory tables; writes go through the journal."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    def read(self) -> dict[str, dict[str, Any]] | None:
        return self._tables

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        raise TypeError("the store's TinyDB tables are read-only; change them through Store")


class _Table(Table):
    """A TinyDB table whose document ids are the records' natural keys (text)."""

    document_id_class = str  # type: ignore[assignment]  # TinyDB assumes int ids; ours are keys


@dataclass
class _Loaded:
    """What a complete, successful read of the files found."""

    tables: Tables
    indexes: _Indexes
    schema: int  # of the snapshot on disk, before migration
    generation: int
    original: bytes  # the snapshot's bytes
    journal_good: int  # bytes of complete journal lines
    journal_size: int  # bytes in the journal, a torn final line included
    strays: list[Path]  # leftovers of interrupted compactions: safe to delete


class Store:
    """The bot's persistent state. Open with :meth:`Store.open`; use from one thread only."""

    def __init__(
        self,
        path: Path,
        *,
        max_deliveries_per_chat: int = DEFAULT_MAX_DELIVERIES_PER_CHAT,
        compact_min_bytes: int = DEFAULT_COMPACT_MIN_BYTES,
    ) -> None:
        """Open (or create) the store at ``path``; prefer :meth:`Store.open`."""
        if max_deliveries_per_chat < 1:
            raise ValueError("max_deliveries_per_chat must be at least 1")
        self._path = Path(path).resolve()
        self._dir = self._path.parent
        self._max_deliveries = max_deliveries_per_chat
        self._compact_min_bytes = compact_min_bytes
        self._compact_retry_at = 0
        self._pending: list[bytes] | None = None
        self._broken: str | None = None
        self._closed = False
        self._journal_fd = -1
        self._lock_fd = -1
        self._generation = 0
        self._journal_size = 0
        self._snapshot_size = 0
        self._erasures = 0
        self._tables: Tables = {name: {} for name in TABLES}
        self._indexes = _Indexes()
        self._tinydb: dict[str, Table] = {}
        started = time.monotonic()
        try:
            self._dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise StoreWriteError(f"cannot create the folder {self._dir}: {_why(exc)}") from exc
        self._lock()
        try:
            self._open_files()
        except BaseException:
            self._release()
            raise
        # The journal of an earlier run may hold records deleted since (they are gone from
        # memory, not yet from the files): treat it as an erasure to finish.
        self._erasures = int(self._journal_size > 0)
        log.info(
            "opened %s: %d subscribers, %d articles, generation %d, in %.2f s",
            self._path,
            len(self._tables[SUBSCRIBERS]),
            len(self._tables[ARTICLES]),
            self._generation,
            time.monotonic() - started,
        )

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
        :class:`StoreLockedError` (another process has it open) or :class:`StoreWriteError`
        (the files cannot be created or repaired).
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
        return self._path

    def close(self) -> None:
        """Close the files and release the lock (nothing to flush: writes are already on disk)."""
        if self._closed:
            return
        if self._pending is not None:
            raise StoreError("close() inside batch(): leave the batch first")
        self._closed = True
        self._release()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Group the writes of a block into one journal line and one fsync.

        Writes inside the block are visible to reads at once and become durable together
        when the block exits. If the block raises, the writes made so far are still stored
        (a batch changes when writes reach the disk, not what is written). If storing them
        fails, :class:`StoreWriteError` is raised and the in-memory state is reloaded from
        disk, so none of the block's writes remain. Nested batches join the outer one.
        """
        self._check_open()
        if self._pending is not None:
            yield
            return
        self._pending = []
        try:
            yield
        finally:
            lines, self._pending = self._pending, None
            if lines:
                self._flush_batch(lines)

    @property
    def erase_pending(self) -> bool:
        """Deleted subscribers may still be readable in the files (the journal keeps what was
        written until the next compaction); :meth:`compact` removes them."""
        return self._erasures > 0

    def compact(self) -> None:
        """Write a new snapshot and start an empty journal (also done automatically)."""
        self._check_open()
        if self._pending is not None:
            raise StoreError("compact() inside batch(): leave the batch first")
        self._write_generation(self._generation + 1)

    # -- subscribers --------------------------------------------------------------------------

    def get_subscriber(self, chat_id: int) -> Subscriber | None:
        """The subscriber of a chat, or None."""
        doc = self._get(SUBSCRIBERS, _chat_key(chat_id))
        return None if doc is None else Subscriber.from_dict(doc)

    def put_subscriber(self, subscriber: Subscriber) -> None:
        """Store a subscriber, replacing the chat's previous one."""
        if subscriber.status not in STATUSES:
            raise ValueError(f"unknown status {subscriber.status!r}; expected one of {STATUSES}")
        key = _chat_key(subscriber.chat_id)
        self._commit(["put", SUBSCRIBERS, key, subscriber.to_dict()])

    def update_subscriber(self, chat_id: int, /, **changes: Any) -> Subscriber:
        """Change some fields of a subscriber and return it; NotFoundError if there is none."""
        if "chat_id" in changes:
            raise ValueError("use change_chat_id() to move a subscription to another chat")
        current = self.get_subscriber(chat_id)
        if current is None:
            raise NotFoundError(f"no subscriber with chat id {chat_id}")
        updated = current.evolve(**changes)
        self.put_subscriber(updated)
        return updated

    def delete_subscriber(self, chat_id: int) -> bool:
        """Remove a subscriber and their delivery ledger; False if there was no subscriber."""
        key = _chat_key(chat_id)
        existed = key in self._read_table(SUBSCRIBERS)
        if existed or key in self._read_table(DELIVERIES):
            self._commit(["batch", [["del", SUBSCRIBERS, [key]], ["del", DELIVERIES, [key]]]])
            self._erasures += 1
        return existed

    def subscribers(self, *, active_only: bool = False) -> Iterator[Subscriber]:
        """Subscribers (only those with status active if asked).

        Safe to change the store while iterating: subscribers deleted meanwhile are skipped,
        and added ones may not be seen.
        """
        keys = list(self._indexes.active if active_only else self._read_table(SUBSCRIBERS))
        table = self._tinydb[SUBSCRIBERS]
        for key in keys:
            doc = table.get(doc_id=key)  # type: ignore[call-overload]  # ids are text here
            if doc is not None and (not active_only or doc.get("status") == ACTIVE):
                yield Subscriber.from_dict(doc)

    def count_subscribers(self, *, active_only: bool = False) -> int:
        """How many subscribers (only active ones if asked)."""
        self._check_open()
        return len(self._indexes.active) if active_only else len(self._tinydb[SUBSCRIBERS])

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
        old_key, new_key = _chat_key(old), _chat_key(new)
        ops: list[Op] = [
            ["put", SUBSCRIBERS, new_key, moved.to_dict()],
            ["del", SUBSCRIBERS, [old_key]],
        ]
        deliveries = self._read_table(DELIVERIES)
        if old_key in deliveries:
            ledger = dict(deliveries[old_key])
            ledger.update(deliveries.get(new_key, {}))
            ops += [["put", DELIVERIES, new_key, ledger], ["del", DELIVERIES, [old_key]]]
        self._commit(["batch", ops])
        return moved

    # -- articles -----------------------------------------------------------------------------

    def put_article(self, article: StoredArticle) -> None:
        """Store an article, replacing one with the same id."""
        self._commit(["put", ARTICLES, article.id, article.to_dict()])

    def get_article(self, article_id: str) -> StoredArticle | None:
        """The article with this id, or None."""
        doc = self._get(ARTICLES, article_id)
        return None if doc is None else StoredArticle.from_dict(doc)

    def article_by_url(self, url: str) -> StoredArticle | None:
        """The most recently stored article with exactly this (canonical) URL, or None."""
        self._check_open()
        article_id = self._indexes.article_by_url.get(url)
        return None if article_id is None else self.get_article(article_id)

    def articles_since(self, since: datetime) -> list[StoredArticle]:
        """Articles stored (fetched) at or after ``since``, oldest first."""
        self._check_open()
        if since.tzinfo is None:
            raise ValueError("articles_since needs an aware datetime")
        found = sorted(
            (when, article_id)
            for article_id, when in self._indexes.article_time.items()
            if when >= since
        )
        articles = (self.get_article(article_id) for _, article_id in found)
        return [a for a in articles if a is not None]

    def count_articles(self) -> int:
        """How many articles are stored."""
        self._check_open()
        return len(self._tinydb[ARTICLES])

    def prune_articles(self, older_than: datetime) -> int:
        """Delete articles fetched before ``older_than``; return how many."""
        self._check_open()
        if older_than.tzinfo is None:
            raise ValueError("prune_articles needs an aware datetime")
        old = [k for k, when in self._indexes.article_time.items() if when < older_than]
        if old:
            self._commit(["del", ARTICLES, old])
        return len(old)

    def delete_articles_of_feed(self, feed: str) -> int:
        """Delete every article stored from the source named ``feed``; return how many."""
        self._check_open()
        doomed = [k for k, doc in self._read_table(ARTICLES).items() if doc.get("feed") == feed]
        if doomed:
            self._commit(["del", ARTICLES, doomed])
        return len(doomed)

    # -- delivery ledger ----------------------------------------------------------------------

    def record_delivery(self, chat_id: int, article_ids: Iterable[str], sent: datetime) -> None:
        """Remember that these articles were sent to a chat.

        Each chat keeps at most ``max_deliveries_per_chat`` entries (the oldest go first);
        :meth:`prune_deliveries` removes entries by age.
        """
        ids = list(dict.fromkeys(article_ids))
        if ids:
            self._commit(
                ["deliver", _chat_key(chat_id), _sent_text(sent), ids, self._max_deliveries]
            )

    def delivered_ids(self, chat_id: int) -> set[str]:
        """The ids of the articles a chat has been sent (within the ledger's bounds)."""
        return set(self._read_table(DELIVERIES).get(_chat_key(chat_id), ()))

    def deliveries(self, chat_id: int) -> list[Delivery]:
        """A chat's ledger, oldest first."""
        ledger = self._read_table(DELIVERIES).get(_chat_key(chat_id), {})
        return [
            Delivery(chat_id=chat_id, article_id=article_id, sent=datetime.fromisoformat(sent))
            for article_id, sent in ledger.items()
        ]

    def count_deliveries(self) -> int:
        """How many ledger entries there are, over all chats."""
        return sum(len(ledger) for ledger in self._read_table(DELIVERIES).values())

    def prune_deliveries(self, older_than: datetime) -> int:
        """Forget deliveries sent before ``older_than``; return how many were removed."""
        cutoff = _sent_text(older_than)
        removed = sum(
            1
            for ledger in self._read_table(DELIVERIES).values()
            for sent in ledger.values()
            if sent < cutoff
        )
        if removed:
            self._commit(["forget", cutoff])
        return removed

    # -- feeds --------------------------------------------------------------------------------

    def get_feed_state(self, url: str) -> FeedState | None:
        """What the ingester remembers about a feed, or None."""
        doc = self._get(FEEDS, url)
        return None if doc is None else FeedState.from_dict(doc)

    def put_feed_state(self, state: FeedState) -> None:
        """Store a feed's state, replacing the previous one."""
        self._commit(["put", FEEDS, state.url, state.to_dict()])

    def delete_feed_state(self, url: str) -> bool:
        """Forget a feed (it left the configuration); False if it was not known."""
        if url not in self._read_table(FEEDS):
            return False
        self._commit(["del", FEEDS, [url]])
        return True

    def feed_states(self) -> Iterator[FeedState]:
        """Every feed's state."""
        self._check_open()
        docs = list(self._tinydb[FEEDS])
        return (FeedState.from_dict(doc) for doc in docs)

    # -- counters -----------------------------------------------------------------------------

    def increment(self, name: str, day: date, by: int = 1) -> int:
        """Add ``by`` to a day's counter (e.g. "digests_sent", "failures:timeout"); return it."""
        if not name:
            raise ValueError("a counter needs a name")
        key = day.isoformat()
        counts: dict[str, int] = dict(self._read_table(COUNTERS).get(key, {}))
        counts[name] = counts.get(name, 0) + by
        self._commit(["put", COUNTERS, key, counts])
        return counts[name]

    def counters(self, day: date) -> dict[str, int]:
        """A day's counters by name (empty if none were counted)."""
        return dict(self._read_table(COUNTERS).get(day.isoformat(), {}))

    def prune_counters(self, older_than: date) -> int:
        """Delete the counters of days before ``older_than``; return how many days."""
        cutoff = older_than.isoformat()
        old = [key for key in self._read_table(COUNTERS) if key < cutoff]
        if old:
            self._commit(["del", COUNTERS, old])
        return len(old)

    # -- reading ------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"the store {self._path} is closed")

    def _read_table(self, name: str) -> dict[str, dict[str, Any]]:
        self._check_open()
        return self._tables[name]

    def _get(self, name: str, key: str) -> dict[str, Any] | None:
        self._check_open()
        doc: dict[str, Any] | None = self._tinydb[name].get(
            doc_id=key  # type: ignore[call-overload]  # TinyDB types ids as int; ours are text
        )
        return doc

    # -- writing ------------------------------------------------------------------------------

    def _commit(self, op: Op) -> None:
        """Make one change durable (or queue it in a batch), then apply it in memory."""
        self._check_open()
        line = _encode(op)
        if self._pending is not None:
            self._pending.append(line)
            self._apply_live(op)
            return
        self._append(line + b"\n")
        self._apply_live(op)
        self._maybe_compact()

    def _apply_live(self, op: Op) -> None:
        _apply(self._tables, op, self._on_change)

    def _on_change(self, name: str, key: str, old: Any, new: Any) -> None:
        """Keep the side indexes and TinyDB's query cache in step with a changed document."""
        indexes = self._indexes
        if name == SUBSCRIBERS:
            if new is not None and new.get("status", ACTIVE) == ACTIVE:
                indexes.active[key] = None
            else:
                indexes.active.pop(key, None)
        elif name == ARTICLES:
            if old is not None and indexes.article_by_url.get(old["url"]) == key:
                del indexes.article_by_url[old["url"]]
            if new is None:
                indexes.article_time.pop(key, None)
            else:
                indexes.article_by_url[new["url"]] = key
                indexes.article_time[key] = _article_time(new)
        self._tinydb[name].clear_cache()

    def _append(self, data: bytes) -> None:
        """Append to the journal and fsync; on failure cut the journal back and raise."""
        if self._broken:
            raise StoreWriteError(self._broken)
        start = self._journal_size
        try:
            _write_all(self._journal_fd, data)
            os.fsync(self._journal_fd)
        except OSError as exc:
            self._cut_journal(start)
            raise StoreWriteError(
                f"could not write to {self._journal_path()}: {_why(exc)}; the change was not stored"
            ) from exc
        self._journal_size = start + len(data)

    def _cut_journal(self, size: int) -> None:
        """Remove a partly written line, so a later append cannot turn it into damage."""
        try:
            os.ftruncate(self._journal_fd, size)
            os.fsync(self._journal_fd)
        except OSError as exc:
            # The torn line is ignored at the next open, but another line after it would
            # look like damage: no more writes in this process.
            self._broken = (
                f"a write to {self._journal_path()} failed and the partial line could not be "
                f"removed ({_why(exc)}); restart the bot to recover the store"
            )
            log.error("%s", self._broken)

    def _flush_batch(self, lines: list[bytes]) -> None:
        data = lines[0] if len(lines) == 1 else b'["batch",[' + b",".join(lines) + b"]]"
        try:
            self._append(data + b"\n")
        except StoreWriteError:
            self._reload()
            raise
        self._maybe_compact()

    def _reload(self) -> None:
        """Replace the in-memory state with what is on disk (after a failed batch)."""
        try:
            loaded = self._load()
            if loaded.generation != self._generation or loaded.schema != SCHEMA:
                raise StoreError("the files changed under the store")
        except StoreError as exc:
            self._broken = (
                f"the store {self._path} could not be reloaded after a failed write: {exc}"
            )
            log.error("%s", self._broken)
            return
        self._install(loaded.tables, loaded.indexes)

    def _maybe_compact(self) -> None:
        size = self._journal_size
        if size <= max(self._compact_min_bytes, self._snapshot_size, self._compact_retry_at):
            return
        try:
            self._write_generation(self._generation + 1)
        except StoreWriteError as exc:
            self._compact_retry_at = size + self._compact_min_bytes
            log.warning("compaction failed, the journal keeps growing until it works: %s", exc)

    # -- files --------------------------------------------------------------------------------

    def _journal_path(self, generation: int | None = None) -> Path:
        g = self._generation if generation is None else generation
        return self._dir / f"{self._path.name}.journal.{g}"

    def _tmp_path(self) -> Path:
        return self._dir / f"{self._path.name}.tmp"

    def _lock(self) -> None:
        lock_path = self._dir / f"{self._path.name}.lock"
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        except OSError as exc:
            raise StoreWriteError(f"cannot create the lock file {lock_path}: {_why(exc)}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            os.close(fd)
            by = f" by process {holder}" if holder.isdigit() else ""
            raise StoreLockedError(
                f"{self._path} is already open ({lock_path} is locked{by}); stop the other "
                "newsdigest first"
            ) from None
        except OSError as exc:
            os.close(fd)
            raise StoreWriteError(f"cannot lock {lock_path}: {_why(exc)}") from exc
        self._lock_fd = fd
        with contextlib.suppress(OSError):  # the pid is only for the message above
            os.fchmod(fd, FILE_MODE)
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)

    def _release(self) -> None:
        for fd in (self._journal_fd, self._lock_fd):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._journal_fd = self._lock_fd = -1

    def _install(self, tables: Tables, indexes: _Indexes) -> None:
        self._tables = tables
        self._indexes = indexes
        storage = _MemoryStorage(tables)
        self._tinydb = {name: _Table(storage, name) for name in TABLES}

    def _open_files(self) -> None:
        """Load the files (creating a new store if there is none), then repair leftovers."""
        if not self._path.exists() and not self._path.is_symlink():
            for stray in self._journals():
                if stray[1].stat().st_size:
                    raise StoreCorruptError(
                        stray[1], f"it has changes but the data file {self._path} is missing"
                    )
            self._remove(path for _, path in self._journals())
            self._remove([self._tmp_path()])
            self._install({name: {} for name in TABLES}, _Indexes())
            self._write_generation(1)
            return
        loaded = self._load()
        self._install(loaded.tables, loaded.indexes)
        self._generation = loaded.generation
        self._snapshot_size = len(loaded.original)
        self._remove(loaded.strays)
        if loaded.schema < SCHEMA:
            self._backup(loaded.original, loaded.schema)
            self._write_generation(loaded.generation + 1)
            log.warning("migrated %s from schema %d to %d", self._path, loaded.schema, SCHEMA)
            return
        journal = self._journal_path()
        try:
            if loaded.journal_size > loaded.journal_good:
                log.warning(
                    "%s: ignoring %d bytes of an unfinished write at the end (a crash)",
                    journal,
                    loaded.journal_size - loaded.journal_good,
                )
                os.truncate(journal, loaded.journal_good)
            self._journal_fd = os.open(journal, os.O_WRONLY | os.O_APPEND)
            os.fsync(self._journal_fd)
        except OSError as exc:
            raise StoreWriteError(f"cannot open {journal} for writing: {_why(exc)}") from exc
        self._journal_size = loaded.journal_good

    def _journals(self) -> list[tuple[int, Path]]:
        """The journal files next to the data file, by generation."""
        prefix = f"{self._path.name}.journal."
        found = []
        for entry in os.scandir(self._dir):
            suffix = entry.name[len(prefix) :]
            if entry.name.startswith(prefix) and suffix.isdigit():
                found.append((int(suffix), Path(entry.path)))
        return sorted(found)

    def _load(self) -> _Loaded:
        """Read and check the snapshot and its journal; modify nothing."""
        path = self._path
        try:
            raw = path.read_bytes()
        except IsADirectoryError:
            raise StoreCorruptError(path, "it is a folder, not a data file") from None
        except OSError as exc:
            raise StoreCorruptError(path, f"it cannot be read ({_why(exc)})") from exc
        if not raw:
            raise StoreCorruptError(
                path,
                "it is empty (0 bytes); newsdigest never writes an empty data file, so it was "
                "cut short (a crash of an older writer?) or created by hand",
            )
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise StoreCorruptError(path, f"it is not valid JSON ({exc})") from None
        if not isinstance(data, dict):
            raise StoreCorruptError(path, "it does not hold a JSON object")
        schema, generation, tables = self._header(data)
        journal = self._dir / f"{path.name}.journal.{generation}"
        strays: list[Path] = []
        for g, other in self._journals():
            if g < generation or (g > generation and other.stat().st_size == 0):
                strays.append(other)
            elif g > generation:
                raise StoreCorruptError(
                    other,
                    f"it is newer than the data file {path} (generation {generation}); was the "
                    "data file replaced by an older copy?",
                )
        if self._tmp_path().exists():
            strays.append(self._tmp_path())

        current = schema == SCHEMA
        if current:
            try:
                _check_tables(tables)
            except _Invalid as exc:
                raise StoreCorruptError(path, str(exc)) from None
        good = size = 0
        if schema >= 2:
            try:
                content = journal.read_bytes()
            except FileNotFoundError:
                raise StoreCorruptError(path, f"its journal {journal.name} is missing") from None
            except OSError as exc:
                raise StoreCorruptError(journal, f"it cannot be read ({_why(exc)})") from exc
            size = len(content)
            good = content.rfind(b"\n") + 1  # after it: a torn write, never acknowledged
            lines = content[:good].split(b"\n")[:-1]
            for number, line in enumerate(lines, start=1):
                try:
                    op = json.loads(line)
                    _check_op(op, docs=current)
                    _apply(tables, op, _ignore_change)
                # An older schema's tables are checked only after migration, so a record
                # that does not fit them can fail inside _apply.
                except (ValueError, RecursionError, _Invalid, KeyError, TypeError) as exc:
                    raise StoreCorruptError(
                        journal, f"line {number} of {len(lines)} is damaged ({exc})"
                    ) from None
        if not current:
            try:
                for version in range(schema, SCHEMA):
                    tables = MIGRATIONS[version - 1](tables)
                _check_tables(tables)
            except _Invalid as exc:
                where = f" (with the changes in {journal.name})" if good else ""
                raise StoreCorruptError(
                    path, f"it cannot be migrated from schema {schema}: {exc}{where}"
                ) from None
        indexes = _build_indexes(tables)
        return _Loaded(tables, indexes, schema, generation, raw, good, size, strays)

    def _header(self, data: dict[str, Any]) -> tuple[int, int, Any]:
        """Schema, generation and tables of a parsed data file."""
        path = self._path
        if "format" not in data:  # schema 1: a plain TinyDB file, tables at the top
            if not all(isinstance(t, dict) for t in data.values()):
                raise StoreCorruptError(path, "it is neither a newsdigest store nor a TinyDB file")
            return 1, 0, data
        if data["format"] != FORMAT:
            raise StoreCorruptError(path, f"it is not a newsdigest store ({data['format']!r})")
        schema, generation = data.get("schema"), data.get("generation")
        if not (_is_int(schema) and _is_int(generation) and schema >= 2 and generation >= 1):
            raise StoreCorruptError(path, "its schema or generation is missing or invalid")
        if schema > SCHEMA:
            raise StoreCorruptError(
                path,
                f"it was written by a newer newsdigest (schema {schema}; this version reads up "
                f"to {SCHEMA}): upgrade newsdigest",
            )
        tables = data.get("tables")
        if not isinstance(tables, dict) or not all(isinstance(t, dict) for t in tables.values()):
            raise StoreCorruptError(path, "its 'tables' are not objects")
        return schema, generation, tables

    def _remove(self, paths: Iterable[Path]) -> None:
        for stray in paths:
            try:
                removed = _unlink_quietly(stray)
            except OSError as exc:
                raise StoreWriteError(f"cannot remove the leftover {stray}: {_why(exc)}") from exc
            if removed:
                log.info("removed %s, a leftover of an interrupted compaction", stray)

    def _backup(self, original: bytes, schema: int) -> None:
        """Keep the bytes of a file about to be migrated, next to it."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        for n in itertools.count(1):
            suffix = "" if n == 1 else f".{n}"
            backup = self._dir / f"{self._path.name}.schema{schema}-{stamp}{suffix}.bak"
            try:
                fd = _create(backup, os.O_EXCL)
            except FileExistsError:
                continue
            except OSError as exc:
                raise StoreWriteError(f"cannot back up {self._path}: {_why(exc)}") from exc
            try:
                _write_all(fd, original)
                os.fsync(fd)
            except OSError as exc:
                _unlink_quietly(backup)
                raise StoreWriteError(f"cannot back up {self._path}: {_why(exc)}") from exc
            finally:
                os.close(fd)
            log.warning("kept the schema %d original of %s as %s", schema, self._path, backup)
            return

    def _write_generation(self, generation: int) -> None:
        """Compaction: snapshot + empty journal of ``generation``, then switch to them."""
        if self._broken:
            raise StoreWriteError(self._broken)
        data = (
            _encode(
                {
                    "format": FORMAT,
                    "schema": SCHEMA,
                    "generation": generation,
                    "tables": self._tables,
                }
            )
            + b"\n"
        )
        journal, tmp = self._journal_path(generation), self._tmp_path()
        new_fd = -1
        try:
            new_fd = _create(journal, os.O_TRUNC | os.O_APPEND)
            os.fsync(new_fd)
            fd = _create(tmp, os.O_TRUNC)
            try:
                _write_all(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            _fsync_dir(self._dir)
            os.replace(tmp, self._path)
        except OSError as exc:
            if new_fd >= 0:
                os.close(new_fd)
            with contextlib.suppress(OSError):
                _unlink_quietly(tmp)
                _unlink_quietly(journal)
            raise StoreWriteError(
                f"could not write a new snapshot of {self._path}: {_why(exc)}; nothing was lost, "
                "the store keeps using its journal"
            ) from exc
        # From here on, a reader of the files sees the new generation: switch to it.
        old_journal, old_fd = self._journal_path(), self._journal_fd
        self._journal_fd, self._generation = new_fd, generation
        self._journal_size, self._snapshot_size = 0, len(data)
        self._compact_retry_at = 0
        self._erasures = 0
        if old_fd >= 0:
            os.close(old_fd)
        try:
            _fsync_dir(self._dir)
        except OSError as exc:
            self._broken = (
                f"could not sync the folder {self._dir} after replacing {self._path} "
                f"({_why(exc)}); restart the bot"
            )
            raise StoreWriteError(self._broken) from exc
        if generation > 1:
            try:
                _unlink_quietly(old_journal)
            except OSError as exc:  # harmless: the next open removes it
                log.warning("cannot remove the old journal %s: %s", old_journal, _why(exc))
