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
Missing folders on the way to the data file are created with mode 0700, whatever the umask.

``newsdigest.json``
    The snapshot: ``{"format": "newsdigest-store", "schema": 3, "generation": G,
    "seq": S, "tables": {...}}``: every change up to change number S. It is only ever
    replaced whole, by rename, never written in place.
``newsdigest.json.journal.G``
    The changes since snapshot G, one JSON array per line. The first line is the header
    ``["journal", G, S]``; then each change is ``[n, record]`` with n = S+1, S+2, ... and
    the record ``["put", table, key, doc]``, ``["del", table, [keys]]``, ``["deliver",
    ...]``, ``["forget", ...]`` or ``["batch", [...]]``. A final line without its newline
    is a write that was never acknowledged (a crash mid-append): it is ignored and cut off
    at the next open. A bad line before the end, a missing header or a gap in the numbers
    means the file was damaged: the store refuses to open.
``newsdigest.json.lock``
    ``flock``'ed while a process has the store open; a second opener gets
    :class:`StoreLockedError`. The kernel drops the lock when the holder dies. It also
    holds the *mark* ``{"pid", "generation", "seq", "check"}``: the last change number
    written to journal G, rewritten in place after every write (no fsync of its own: it
    is written after the journal's fsync, so after a crash it is never ahead of the
    journal, at worst behind it; it is fsync'ed at close).
``newsdigest.json.tmp``
    A snapshot being written by compaction; a crash can leave it behind, and the next open
    deletes it.
``newsdigest.json.schema<N>-<time>.bak`` (and ``...bak.journal.G``)
    The original bytes of a store that was migrated from schema N (snapshot and journal).

A journal cut at a line boundary is still valid JSON line by line, so three things catch
it: the header (a journal truncated to 0 bytes has none), the change numbers (a line
missing in the middle leaves a gap) and the mark (a journal that ends before the last
change the mark records was cut short). A torn final line is a crash, not damage: it was
never acknowledged, and the mark never counted it. The mark only vouches for the files it
was written with: with the lock file deleted the header and numbers still apply, and
files restored from a backup on purpose are opened by deleting the old lock file (see
the README, "Backups and restore").

Compaction writes snapshot G+1 and journal G+1 holding only its header (both fsync'ed,
then the folder), renames the snapshot into place, fsyncs the folder, moves the mark to
G+1 and deletes journal G. A crash at any step leaves a loadable pair: before the rename,
snapshot G + journal G; after it, snapshot G+1 + journal G+1. Leftovers (older journals,
newer ones without changes, the temp file) are deleted at open; a journal with changes
newer than the snapshot, or a mark of a newer generation, means the snapshot was replaced
by an older copy, and the store refuses to open. Compaction runs when the journal outgrows
the snapshot (and ``compact_min_bytes``), so its cost (about half a second for the 35 MB
snapshot of 100k subscribers) is amortised over ~90k writes; :meth:`Store.compact` runs it
on demand.

A data file that cannot be read or understood is never modified: the store raises
:class:`StoreCorruptError` naming the file, the record and what is wrong (every record of
the snapshot and the journal is checked at open: times are HH:MM, zones load, dates parse,
statuses are known...). Schema 1 is what a plain TinyDB store of these records looks like
(``TinyDB(path)``: one document per record under TinyDB's integer ids, no header); schema
2 had no journal header, change numbers or mark. ``MIGRATIONS`` holds one function per
schema step, run at open, and the original files are kept as ``.bak`` files before the
new ones replace them.

:func:`backup` copies an open store (another process may be writing it) without its lock.

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
import itertools
import logging
import os
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from tinydb.storages import Storage
from tinydb.table import Table

from ..models import ACTIVE, STATUSES, Delivery, FeedState, StoredArticle, Subscriber
from .errors import (
    NotFoundError,
    StoreCorruptError,
    StoreError,
    StoreLockedError,
    StorePathError,
    StoreWriteError,
)
from .files import (
    DIR_MODE,
    FILE_MODE,
    MARK_SIZE,
    Mark,
    create,
    folder_message,
    fsync_dir,
    journal_of,
    journals_of,
    lock_of,
    make_folders,
    mark_bytes,
    read_mark,
    take_lock,
    tmp_of,
    unlink_quietly,
    why,
    write_all,
    write_new_files,
)
from .journal import FORMAT, HEADER, Loaded, has_changes, header_line, load, snapshot_bytes
from .migrations import MIGRATIONS, SCHEMA
from .records import (
    ARTICLES,
    COUNTERS,
    DELIVERIES,
    FEEDS,
    SUBSCRIBERS,
    TABLES,
    Indexes,
    Op,
    Tables,
    apply_op,
    article_time,
    chat_key,
    encode,
    sent_text,
)

__all__ = [
    "ARTICLES",
    "COUNTERS",
    "DEFAULT_COMPACT_MIN_BYTES",
    "DEFAULT_MAX_DELIVERIES_PER_CHAT",
    "DELIVERIES",
    "DIR_MODE",
    "FEEDS",
    "FILE_MODE",
    "FORMAT",
    "HEADER",
    "MARK_SIZE",
    "MIGRATIONS",
    "SCHEMA",
    "SUBSCRIBERS",
    "TABLES",
    "BackupResult",
    "NotFoundError",
    "Op",
    "Store",
    "StoreCorruptError",
    "StoreError",
    "StoreLockedError",
    "StorePathError",
    "StoreWriteError",
    "Tables",
    "backup",
]

log = logging.getLogger(__name__)

DEFAULT_MAX_DELIVERIES_PER_CHAT = 2000
DEFAULT_COMPACT_MIN_BYTES = 8 * 1024 * 1024


# -- files ------------------------------------------------------------------------------------


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
        self._seq = 0  # the number of the last change written
        self._journal_size = 0
        self._snapshot_size = 0
        self._erasures = 0
        self._tables: Tables = {name: {} for name in TABLES}
        self._indexes = Indexes()
        self._tinydb: dict[str, Table] = {}
        started = time.monotonic()
        if self._path.is_dir():
            raise StorePathError(folder_message(self._path))
        try:
            make_folders(self._dir)
        except OSError as exc:
            raise StoreWriteError(f"cannot create the folder {self._dir}: {why(exc)}") from exc
        self._lock_fd, previous = take_lock(self._path)
        try:
            self._open_files(previous)
        except BaseException:
            self._release()
            raise
        self._write_mark()
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
        return self._path

    def close(self) -> None:
        """Close the files and release the lock (nothing to flush: writes are already on disk)."""
        if self._closed:
            return
        if self._pending is not None:
            raise StoreError("close() inside batch(): leave the batch first")
        self._closed = True
        if not self._broken:
            self._write_mark(sync=True)
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
        doc = self._get(SUBSCRIBERS, chat_key(chat_id))
        return None if doc is None else Subscriber.from_dict(doc)

    def put_subscriber(self, subscriber: Subscriber) -> None:
        """Store a subscriber, replacing the chat's previous one."""
        if subscriber.status not in STATUSES:
            raise ValueError(f"unknown status {subscriber.status!r}; expected one of {STATUSES}")
        key = chat_key(subscriber.chat_id)
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
        key = chat_key(chat_id)
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
        old_key, new_key = chat_key(old), chat_key(new)
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
                ["deliver", chat_key(chat_id), sent_text(sent), ids, self._max_deliveries]
            )

    def delivered_ids(self, chat_id: int) -> set[str]:
        """The ids of the articles a chat has been sent (within the ledger's bounds)."""
        return set(self._read_table(DELIVERIES).get(chat_key(chat_id), ()))

    def deliveries(self, chat_id: int) -> list[Delivery]:
        """A chat's ledger, oldest first."""
        ledger = self._read_table(DELIVERIES).get(chat_key(chat_id), {})
        return [
            Delivery(chat_id=chat_id, article_id=article_id, sent=datetime.fromisoformat(sent))
            for article_id, sent in ledger.items()
        ]

    def count_deliveries(self) -> int:
        """How many ledger entries there are, over all chats."""
        return sum(len(ledger) for ledger in self._read_table(DELIVERIES).values())

    def prune_deliveries(self, older_than: datetime) -> int:
        """Forget deliveries sent before ``older_than``; return how many were removed."""
        cutoff = sent_text(older_than)
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
        line = encode(op)
        if self._pending is not None:
            self._pending.append(line)
            self._apply_live(op)
            return
        self._append(line)
        self._apply_live(op)
        self._maybe_compact()

    def _apply_live(self, op: Op) -> None:
        apply_op(self._tables, op, self._on_change)

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
                indexes.article_time[key] = article_time(new)
        self._tinydb[name].clear_cache()

    def _append(self, record: bytes) -> None:
        """Append a record as the next numbered change and fsync; then move the mark.

        On failure cut the journal back and raise: the change number is not used up.
        """
        if self._broken:
            raise StoreWriteError(self._broken)
        start = self._journal_size
        data = b"[%d,%b]\n" % (self._seq + 1, record)
        try:
            write_all(self._journal_fd, data)
            os.fsync(self._journal_fd)
        except OSError as exc:
            self._cut_journal(start)
            raise StoreWriteError(
                f"could not write to {self._journal_path()}: {why(exc)}; the change was not stored"
            ) from exc
        self._journal_size = start + len(data)
        self._seq += 1
        self._write_mark()

    def _write_mark(self, *, sync: bool = False) -> None:
        """Record the last change number in the lock file (see the module docstring).

        Only after the journal's fsync, so the mark is never ahead of the journal. A mark
        that cannot be written only makes the next open less strict: the write succeeded.
        """
        mark = mark_bytes(os.getpid(), Mark(self._generation, self._seq))
        try:
            os.pwrite(self._lock_fd, mark, 0)
            if sync:
                os.fsync(self._lock_fd)
        except OSError as exc:
            log.warning("cannot update %s: %s", lock_of(self._path), why(exc))

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
                f"removed ({why(exc)}); restart the bot to recover the store"
            )
            log.error("%s", self._broken)

    def _flush_batch(self, lines: list[bytes]) -> None:
        data = lines[0] if len(lines) == 1 else b'["batch",[' + b",".join(lines) + b"]]"
        try:
            self._append(data)
        except StoreWriteError:
            self._reload()
            raise
        self._maybe_compact()

    def _reload(self) -> None:
        """Replace the in-memory state with what is on disk (after a failed batch)."""
        try:
            loaded = load(self._path, Mark(self._generation, self._seq))
            if (loaded.generation, loaded.seq, loaded.schema) != (
                self._generation, self._seq, SCHEMA
            ):
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
        return journal_of(self._path, self._generation if generation is None else generation)

    def _tmp_path(self) -> Path:
        return tmp_of(self._path)

    def _release(self) -> None:
        for fd in (self._journal_fd, self._lock_fd):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._journal_fd = self._lock_fd = -1

    def _install(self, tables: Tables, indexes: Indexes) -> None:
        self._tables = tables
        self._indexes = indexes
        storage = _MemoryStorage(tables)
        self._tinydb = {name: _Table(storage, name) for name in TABLES}

    def _open_files(self, mark: Mark | None) -> None:
        """Load the files (creating a new store if there is none), then repair leftovers."""
        if not self._path.exists() and not self._path.is_symlink():
            for _, stray in journals_of(self._path):
                if has_changes(stray):
                    raise StoreCorruptError(
                        stray, f"it has changes but the data file {self._path} is missing"
                    )
            self._remove(path for _, path in journals_of(self._path))
            self._remove([self._tmp_path()])
            self._install({name: {} for name in TABLES}, Indexes())
            self._write_generation(1)
            return
        loaded = load(self._path, mark)
        self._install(loaded.tables, loaded.indexes)
        self._generation, self._seq = loaded.generation, loaded.seq
        self._snapshot_size = len(loaded.original)
        self._remove(loaded.strays)
        if loaded.schema < SCHEMA:
            self._backup(loaded)
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
            raise StoreWriteError(f"cannot open {journal} for writing: {why(exc)}") from exc
        self._journal_size = loaded.journal_good
        # Changes in the journal may include records deleted since (gone from memory, not
        # yet from the files): an erasure to finish at the next compaction.
        header = loaded.journal_original.find(b"\n") + 1
        self._erasures = int(loaded.journal_good > header)

    def _adopt(self, loaded: Loaded) -> None:
        """Hold what another store's files held (a backup), written as a new generation."""
        self._install(loaded.tables, loaded.indexes)
        self._seq = loaded.seq
        self._write_generation(self._generation + 1)

    def _remove(self, paths: Iterable[Path]) -> None:
        for stray in paths:
            try:
                removed = unlink_quietly(stray)
            except OSError as exc:
                raise StoreWriteError(f"cannot remove the leftover {stray}: {why(exc)}") from exc
            if removed:
                log.info("removed %s, a leftover of an interrupted compaction", stray)

    def _backup(self, loaded: Loaded) -> None:
        """Keep the bytes of a store about to be migrated, next to it: the snapshot, and
        the journal (``<backup>.journal.G``) if the schema had one."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        for n in itertools.count(1):
            suffix = "" if n == 1 else f".{n}"
            backup = self._dir / f"{self._path.name}.schema{loaded.schema}-{stamp}{suffix}.bak"
            copies = [(backup, loaded.original)]
            if loaded.schema >= 2:
                copies.append((journal_of(backup, loaded.generation), loaded.journal_original))
            try:
                write_new_files(self._dir, copies)
            except FileExistsError:
                continue
            except OSError as exc:
                raise StoreWriteError(f"cannot back up {self._path}: {why(exc)}") from exc
            log.warning(
                "kept the schema %d original of %s as %s", loaded.schema, self._path,
                ", ".join(str(p) for p, _ in copies),
            )
            return

    def _write_generation(self, generation: int) -> None:
        """Compaction: snapshot + journal (its header) of ``generation``, then switch to them."""
        if self._broken:
            raise StoreWriteError(self._broken)
        data = snapshot_bytes(generation, self._seq, self._tables)
        header = header_line(generation, self._seq)
        journal, tmp = self._journal_path(generation), self._tmp_path()
        new_fd = -1
        try:
            new_fd = create(journal, os.O_TRUNC | os.O_APPEND)
            write_all(new_fd, header)
            os.fsync(new_fd)
            fd = create(tmp, os.O_TRUNC)
            try:
                write_all(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            fsync_dir(self._dir)
            os.replace(tmp, self._path)
        except OSError as exc:
            if new_fd >= 0:
                os.close(new_fd)
            with contextlib.suppress(OSError):
                unlink_quietly(tmp)
                unlink_quietly(journal)
            raise StoreWriteError(
                f"could not write a new snapshot of {self._path}: {why(exc)}; nothing was lost, "
                "the store keeps using its journal"
            ) from exc
        # From here on, a reader of the files sees the new generation: switch to it.
        old_journal, old_fd = self._journal_path(), self._journal_fd
        self._journal_fd, self._generation = new_fd, generation
        self._journal_size, self._snapshot_size = len(header), len(data)
        self._compact_retry_at = 0
        self._erasures = 0
        if old_fd >= 0:
            os.close(old_fd)
        try:
            fsync_dir(self._dir)
        except OSError as exc:
            self._broken = (
                f"could not sync the folder {self._dir} after replacing {self._path} "
                f"({why(exc)}); restart the bot"
            )
            raise StoreWriteError(self._broken) from exc
        self._write_mark()
        if generation > 1:
            try:
                unlink_quietly(old_journal)
            except OSError as exc:  # harmless: the next open removes it
                log.warning("cannot remove the old journal %s: %s", old_journal, why(exc))


# -- backups --------------------------------------------------------------------------------


@dataclass(frozen=True)
class BackupResult:
    """What :func:`backup` wrote."""

    files: tuple[Path, ...]  # the data file and its journal, in the backup folder
    subscribers: int
    articles: int
    seq: int  # the number of the last change in the copy


def backup(path: Path, folder: Path, *, attempts: int = 50) -> BackupResult:
    """Copy the store at ``path`` into ``folder`` as a store of its own, with the same name.

    Safe while another process has the store open and writes to it: the files are read
    without the lock, the way they are documented above (a snapshot is only ever replaced
    by rename, a journal only appended to), and read again when a compaction replaced them
    meanwhile. The copy holds every change acknowledged before the call, and the changes
    up to some point after it; it is checked as strictly as an open (damage is refused,
    nothing is repaired) and written as one compacted snapshot and its journal, fsync'ed.
    Restoring is copying those files into place (see the README).

    Raises :class:`StoreError` if there is no store at ``path`` or the folder already holds
    one, :class:`StoreCorruptError` if the store is damaged and :class:`StoreWriteError` if
    the copy cannot be written (then nothing is left in ``folder``).
    """
    source = Path(path).resolve()
    target = Path(folder).resolve() / source.name
    if source.is_dir():
        raise StorePathError(folder_message(source))
    if not source.exists():
        raise StoreError(f"there is no store at {source}")
    if target.exists() or journals_of(target) or lock_of(target).exists():
        raise StoreError(f"{target.parent} already holds a store: back up into a new folder")
    loaded = _read_consistent(source, attempts)
    try:
        with Store.open(target) as copy:
            copy._adopt(loaded)
            files = (copy.path, copy._journal_path())
    except BaseException:
        for leftover in (target, tmp_of(target), lock_of(target)):
            with contextlib.suppress(OSError):
                unlink_quietly(leftover)
        for _, journal in journals_of(target):
            with contextlib.suppress(OSError):
                unlink_quietly(journal)
        raise
    return BackupResult(
        files=files,
        subscribers=len(loaded.tables[SUBSCRIBERS]),
        articles=len(loaded.tables[ARTICLES]),
        seq=loaded.seq,
    )


def _read_consistent(path: Path, attempts: int) -> Loaded:
    """Load a store's files that another process may be writing: a snapshot and the
    journal that belongs to it.

    The snapshot is opened, its generation read from its first bytes, and its journal
    opened at once. From then on both are stable for the reader: a snapshot is replaced
    by rename, never rewritten (the open file keeps the old one), and a journal is only
    appended to, then deleted once compacted (the open file still reads it). Only when a
    compaction lands between the two opens is there no journal to open: then again.
    """
    for _ in range(attempts):
        # The mark first: it is written after the journal's fsync, so the journal read
        # next holds at least the changes it counts.
        mark = read_mark(path)
        try:
            snapshot = path.open("rb")
        except IsADirectoryError:
            raise StorePathError(folder_message(path)) from None
        with snapshot:
            found = _GENERATION.search(snapshot.read(256))
            journal = None
            if found:
                name = journal_of(path, int(found[1]))
                try:
                    journal = name.open("rb")
                except FileNotFoundError:
                    if _inode(path) != os.fstat(snapshot.fileno()).st_ino:
                        continue  # compacted between the two opens
                    raise StoreCorruptError(path, f"its journal {name.name} is missing") from None
            with journal or contextlib.nullcontext():
                snapshot.seek(0)
                raw = snapshot.read()
                content = journal.read() if journal else b""
        return load(path, mark, (raw, content))
    raise StoreError(f"{path} was compacted every time it was read ({attempts} times); try again")


# The snapshot's header comes first in the file (see snapshot_bytes).
_GENERATION = re.compile(rb'"generation":(\d+)')


def _inode(path: Path) -> int | None:
    try:
        return os.stat(path).st_ino
    except FileNotFoundError:
        return None
