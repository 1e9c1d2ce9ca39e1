"""Copies of a store that another process may have open and be writing."""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from .engine import Engine
from .errors import StoreCorruptError, StoreError, StorePathError
from .files import (
    folder_message,
    journal_of,
    journals_of,
    lock_of,
    read_mark,
    tmp_of,
    unlink_quietly,
)
from .journal import Loaded, load
from .records import ARTICLES, SUBSCRIBERS


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
    without the lock, the way ``bot.store`` documents them (a snapshot is only ever replaced
    by rename, a journal only appended to), and read again when a compaction replaced them
    meanwhile. The copy holds every change acknowledged before the call, and the changes
    up to some point after it; it is checked as strictly as an open (damage is refused,
    nothing is repaired) and written as one compacted snapshot and its journal, fsync'ed.
    Restoring is copying those files into place (see the README).

    Raises :class:`StoreError` if there is no store at ``path`` or the folder already holds
    one or anything else (:class:`StorePathError` if it is a file),
    :class:`StoreCorruptError` if the store is damaged and :class:`StoreWriteError` if the
    copy cannot be written (then nothing is left in ``folder``).
    """
    source = Path(path).resolve()
    target = Path(folder).resolve() / source.name
    if source.is_dir():
        raise StorePathError(folder_message(source))
    if not source.exists():
        raise StoreError(f"there is no store at {source}")
    _check_folder(target)
    loaded = _read_consistent(source, attempts)
    try:
        with Engine(target) as copy:
            copy.adopt(loaded)
            files = (copy.path, copy.journal_path())
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


def _check_folder(target: Path) -> None:
    """A backup goes into a new or empty folder (so that restoring is copying all of it),
    never over another store."""
    folder = target.parent
    try:
        if folder.exists() and not folder.is_dir():
            what = "a file" if folder.is_file() else "not a folder"  # /dev/null, a socket
            raise StorePathError(f"{folder} is {what}: back up into a new or empty folder")
        if target.exists() or journals_of(target) or lock_of(target).exists():
            raise StoreError(f"{folder} already holds a store: back up into a new folder")
        if folder.is_dir() and any(folder.iterdir()):
            raise StoreError(f"{folder} is not empty: back up into a new or empty folder")
    except OSError as exc:
        raise StorePathError(f"cannot use {folder}: {exc.strerror or exc}") from None


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
