"""The store's engine: its open files and the tables they hold, in memory.

An :class:`Engine` holds the lock, the journal open for appending and the tables with
their side indexes. It opens a store (creating, repairing leftovers, migrating), commits
changes (journal line and fsync first, then memory), groups them in batches, compacts,
reloads after a failed batch and counts the erasures compaction has to finish. It knows
tables, keys and values, not what subscribers or articles mean: that is
:class:`~bot.store.Store`, the record API over an engine. The package docstring
(``bot.store``) states the durability promise and the files.

Why not plain TinyDB
--------------------
``JSONStorage`` re-reads and re-parses the whole file on every query and overwrites it in
place on every change (seek to 0, write, truncate): 1.5 s per lookup and 2.3 s per update
at 100k subscribers in ``bench/store.py``, and a crash mid-write leaves a torn file. Even
over an in-memory storage, TinyDB's ``Table`` write path copies every document id of the
table twice per call (``Table._update_table``), which is O(table size) per update, and its
``Table.get`` copies the document into a new ``Document`` on every read, which the store
then had to turn into a typed record. So the tables live in memory as dicts keyed by
natural keys (chat id, article id, feed URL, day) whose values are the typed records
themselves (``records.to_value``: slotted, immutable ``bot.models`` records, a ledger as
one flat tuple): a lookup returns the stored record, and every change goes through the
journal and then replaces the value. Side indexes keep the active subscribers, article URL
-> id and article times. The price is memory and an open that reads the whole snapshot:
for 100k subscribers, 10k articles and 24 ledger entries each (a 158 MB file), about 120
MB of records and 15-25 s to open on a busy machine, read a record at a time so the open
never holds more (``bench/memory.py`` measures the whole bot, ``bench/store.py`` the
open).

Threading: an engine is used from one thread only (the asyncio loop thread); it has no
locks of its own. Compaction blocks that thread while it runs.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from .errors import StoreCorruptError, StoreError, StorePathError, StoreWriteError
from .files import (
    Mark,
    create,
    folder_message,
    fsync_dir,
    journal_of,
    journals_of,
    lock_of,
    make_folders,
    mark_bytes,
    take_lock,
    tmp_of,
    unlink_quietly,
    why,
    write_all,
    write_new_files,
)
from .journal import Loaded, has_changes, header_line, load, snapshot_chunks
from .migrations import SCHEMA
from .records import (
    ARTICLES,
    SUBSCRIBERS,
    TABLES,
    Indexes,
    Op,
    Tables,
    apply_op,
    build_indexes,
    encode,
    to_values,
)

log = logging.getLogger(__name__)

DEFAULT_COMPACT_MIN_BYTES = 8 * 1024 * 1024


class Engine:
    """A store's open files and its tables in memory. Opening takes the lock; use from one
    thread only, and :meth:`close` it (or use it as a context manager)."""

    def __init__(self, path: Path, *, compact_min_bytes: int = DEFAULT_COMPACT_MIN_BYTES) -> None:
        """Open (or create) the store at ``path``, with the errors of :meth:`EmbeddedStore.open`."""
        self._path = Path(path).resolve()
        self._dir = self._path.parent
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
        """Group the writes of a block into one journal line and one fsync (the promise is
        :meth:`Store.batch`'s): queued by :meth:`commit`, appended when the outermost block
        exits, and on failure the tables are reloaded from disk."""
        self.check_open()
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
        self.check_open()
        if self._pending is not None:
            raise StoreError("compact() inside batch(): leave the batch first")
        self._write_generation(self._generation + 1)

    # -- reading ------------------------------------------------------------------------------

    def check_open(self) -> None:
        """Raise :class:`StoreError` once the store is closed."""
        if self._closed:
            raise StoreError(f"the store {self._path} is closed")

    @property
    def indexes(self) -> Indexes:
        """The side indexes of the tables (the last ones held, once closed)."""
        return self._indexes

    def table(self, name: str) -> dict[str, Any]:
        """A table as key -> value (see ``records.to_value``): read it, never change it
        (changes go through :meth:`commit`)."""
        self.check_open()
        return self._tables[name]

    def get(self, name: str, key: str) -> Any:
        """The value at ``key`` in a table, or None: the stored value itself, immutable."""
        self.check_open()
        return self._tables[name].get(key)

    def values(self, name: str, keys: Iterable[str]) -> Iterator[Any]:
        """The values at ``keys`` in a table, each read when its turn comes: keys deleted
        meanwhile are skipped, and an iteration begun before :meth:`close` may finish."""
        table = self._tables[name]
        for key in keys:
            value = table.get(key)
            if value is not None:
                yield value

    def count(self, name: str) -> int:
        """How many records a table holds."""
        self.check_open()
        return len(self._tables[name])

    def all(self, name: str) -> list[Any]:
        """Every value of a table."""
        self.check_open()
        return list(self._tables[name].values())

    # -- writing ------------------------------------------------------------------------------

    def commit(self, op: Op, *, erases: bool = False) -> None:
        """Make one change durable (or queue it in a batch), then apply it in memory.

        ``erases``: the change deletes personal data, which the journal keeps until the
        next compaction (see :attr:`erase_pending`).
        """
        self.check_open()
        line = encode(op)
        if self._pending is not None:
            self._pending.append(line)
            self._apply_live(op)
        else:
            self._append(line)
            self._apply_live(op)
            self._maybe_compact()
        if erases:
            self._erasures += 1

    def _apply_live(self, op: Op) -> None:
        apply_op(self._tables, op, self._on_change)

    def _on_change(self, name: str, key: str, old: Any, new: Any) -> None:
        """Keep the side indexes in step with a changed value."""
        self._indexes.change(name, key, old, new)

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
                f"could not write to {self.journal_path()}: {why(exc)}; the change was not stored"
            ) from exc
        self._journal_size = start + len(data)
        self._seq += 1
        self._write_mark()

    def _write_mark(self, *, sync: bool = False) -> None:
        """Record the last change number in the lock file (see ``bot.store``, the lock file).

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
                f"a write to {self.journal_path()} failed and the partial line could not be "
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
                self._generation,
                self._seq,
                SCHEMA,
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

    def journal_path(self, generation: int | None = None) -> Path:
        """The journal of ``generation`` (by default the current one)."""
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
        self._snapshot_size = loaded.snapshot_size
        self._remove(loaded.strays)
        if loaded.schema < SCHEMA:
            self._keep_originals(loaded)
            self._write_generation(loaded.generation + 1)
            log.warning("migrated %s from schema %d to %d", self._path, loaded.schema, SCHEMA)
            return
        journal = self.journal_path()
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

    def replace_tables(self, tables: Tables) -> None:
        """Hold ``tables`` (checked documents, turned into values in place) instead of the
        current ones, written as a new generation."""
        self.check_open()
        if self._pending is not None:
            raise StoreError("replace_tables() inside batch(): leave the batch first")
        to_values(tables)
        self._install(tables, build_indexes(tables))
        self._write_generation(self._generation + 1)

    def adopt(self, loaded: Loaded) -> None:
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

    def _keep_originals(self, loaded: Loaded) -> None:
        """Keep the bytes of a store about to be migrated, next to it: the snapshot, and
        the journal (``<backup>.journal.G``) if the schema had one."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        for n in itertools.count(1):
            suffix = "" if n == 1 else f".{n}"
            backup = self._dir / f"{self._path.name}.schema{loaded.schema}-{stamp}{suffix}.bak"
            assert loaded.original is not None  # an older schema is always read whole
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
                "kept the schema %d original of %s as %s",
                loaded.schema,
                self._path,
                ", ".join(str(p) for p, _ in copies),
            )
            return

    def _write_generation(self, generation: int) -> None:
        """Compaction: snapshot + journal (its header) of ``generation``, then switch to them."""
        if self._broken:
            raise StoreWriteError(self._broken)
        new_fd, journal_size, snapshot_size = self._write_generation_files(generation)
        # From here on, a reader of the files sees the new generation: switch to it.
        self._switch_to(generation, new_fd, journal_size, snapshot_size)

    def _write_generation_files(self, generation: int) -> tuple[int, int, int]:
        """Write journal ``generation`` (its header) and the snapshot, both fsync'ed, and
        rename the snapshot into place. Return the new journal's descriptor and the two
        sizes. On failure remove what was written: the files are as they were."""
        header = header_line(generation, self._seq)
        journal, tmp = self.journal_path(generation), self._tmp_path()
        new_fd = -1
        try:
            new_fd = create(journal, os.O_TRUNC | os.O_APPEND)
            write_all(new_fd, header)
            os.fsync(new_fd)
            fd = create(tmp, os.O_TRUNC)
            try:
                size = self._write_snapshot(fd, generation)
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
        return new_fd, len(header), size

    def _write_snapshot(self, fd: int, generation: int) -> int:
        """Write snapshot ``generation`` to ``fd`` a megabyte at a time; its size."""
        size, pending = 0, bytearray()
        for chunk in snapshot_chunks(generation, self._seq, self._tables):
            pending += chunk
            if len(pending) >= 1 << 20:
                write_all(fd, pending)
                size += len(pending)
                pending.clear()
        write_all(fd, pending)
        return size + len(pending)

    def _switch_to(
        self, generation: int, new_fd: int, journal_size: int, snapshot_size: int
    ) -> None:
        """Use the files of ``generation`` just written: sync the folder, move the mark,
        delete the old journal."""
        old_journal, old_fd = self.journal_path(), self._journal_fd
        self._journal_fd, self._generation = new_fd, generation
        self._journal_size, self._snapshot_size = journal_size, snapshot_size
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
