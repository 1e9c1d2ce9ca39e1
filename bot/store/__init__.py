"""The bot's state: subscribers, channels and selected chats, articles, the delivery
ledger, feed state, counters.

This is the only package that touches a database (the data file, or PostgreSQL through
psycopg). Everything else sees typed records (``bot.models``) and the :class:`Store`
methods, opens a store with :func:`open_store`, and imports from ``bot.store`` alone; the
modules inside are the package's own:

``base``
    :class:`Store`, the interface every backend implements, and :class:`DueTimes`.
``opening``
    :func:`open_store`: the embedded store, or PostgreSQL when the settings name a URL.
``postgres``, ``pgschema``
    :class:`~bot.store.postgres.PostgresStore` and its versioned schema (see there).
``api``
    :class:`EmbeddedStore`, the embedded record API: records to documents, keys and
    changes, and back. The rest of this docstring is about the embedded store.
``engine``
    The open store: the lock, the journal, the tables in memory and their indexes;
    commits, batches, compaction, reload after a failed batch (and why not plain TinyDB).
``journal``
    Reading the files: the snapshot and its journal checked, replayed and migrated.
``records``
    Table names, keys, encoding, the checks of every record, what a change does.
``files``
    File names, modes, fsyncs, the lock and the mark.
``migrations``
    One function per schema step.
``backups``
    :func:`backup`: a copy of a store another process may be writing.
``due``
    The embedded store's due times (a heap in memory).
``errors``
    The exceptions.

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
    The snapshot, a TinyDB database: ``{"_store": {"1": {"format": "newsdigest-store",
    "schema": 5, "generation": G, "seq": S}}, "subscribers": {...}, "articles": {...},
    ...}``, every change up to change number S. Laid out with the header on the first
    line and one record per line (``journal.snapshot_chunks``), so an open reads it a
    record at a time; a snapshot laid out otherwise (edited by hand) is read whole. It
    is only ever replaced whole, by rename, never written in place.
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

What TinyDB does here, and what the journal adds
------------------------------------------------
Schema 1 was a plain TinyDB file (``TinyDB(path)``, ``JSONStorage``); the store still
migrates one. Plain TinyDB serializes the whole database and rewrites the whole file, in
place, on every insert, update or delete, and re-reads and re-parses the whole file for
every query. At 100k subscribers (a 40 MB file) that is seconds per update and per lookup
(``bench/store.py``: 2.3 s per update and 1.5 s per lookup by ``Query`` on an idle
machine, 8.1 s and 5.0 s on a busy one), so a morning's deliveries, each writing a few
records, would take days; a crash in the middle of a rewrite leaves a torn file; and the
Query scan tests every document. Keeping the document id and TinyDB's
``CachingMiddleware`` makes a lookup a dict access plus a copy of the document (``Table.get``
returns a new ``Document``), but an update still costs O(table) in
``Table._update_table`` (228 ms at 100k), and is only on disk after ``flush()``, which
again rewrites the whole file (2.6 s). ``bench/store.py`` reports both baselines beside
ours; the README's "Store" section has the figures.

So the store keeps TinyDB's file and does the file work itself. The snapshot is a TinyDB
database: ``TinyDB(path, access_mode="r").table("subscribers").get(doc_id=12345)`` reads a
subscriber (chat ids are TinyDB's integer document ids; articles, feeds and counters are
keyed by text, which ``get(doc_id="...")`` takes too), and the header is document 1 of
the table ``_store``. The bot does not import TinyDB at run time: it writes the file a
record a line and reads it back a record at a time, which TinyDB's ``JSONStorage`` (one
``json.load`` of the whole file) cannot.

The journal is what makes writes cheap and durable: each change is one appended line,
fsync'ed before the call returns (about 0.3 ms), and the whole file is rewritten only by
compaction, when the journal has outgrown the snapshot (about every 90k updates at 100k
subscribers). The records live in memory as typed, immutable values, which is the price:
see the README ("Measured results") for the RSS of a bot with 100k subscribers, and
PostgreSQL (``storage.url``) for installs that outgrow one process's memory.
``bot.store.engine`` explains why TinyDB's own ``Table`` is not used either.

Threading: a Store is used from one thread only (the asyncio loop thread); it has no locks
of its own. Compaction blocks that thread while it runs.
"""

from __future__ import annotations

from .api import EmbeddedStore
from .backups import BackupResult, backup
from .base import DEFAULT_MAX_DELIVERIES_PER_CHAT, DueTimes, DumpRecord, Store
from .due import MemoryDueTimes
from .engine import DEFAULT_COMPACT_MIN_BYTES
from .errors import (
    NotFoundError,
    StoreCorruptError,
    StoreError,
    StoreLockedError,
    StorePathError,
    StoreWriteError,
)
from .files import DIR_MODE, FILE_MODE, MARK_SIZE
from .journal import FORMAT, HEADER
from .migrations import MIGRATIONS, SCHEMA
from .opening import URL_SCHEMES, is_database_url, open_store
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
)

__all__ = [
    "ARTICLES",
    "CHANNELS",
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
    "SELECTIONS",
    "SUBSCRIBERS",
    "TABLES",
    "URL_SCHEMES",
    "BackupResult",
    "DueTimes",
    "DumpRecord",
    "EmbeddedStore",
    "MemoryDueTimes",
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
    "is_database_url",
    "open_store",
]
