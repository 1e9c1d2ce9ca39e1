"""The store's errors: what a caller can catch, each named for what went wrong."""

from __future__ import annotations

from pathlib import Path


class StoreError(Exception):
    """Base class of the store's errors."""


FILE_ADVICE = (
    "The file was left unchanged: restore it from a backup, or move it away to start with an "
    "empty store."
)
DATABASE_ADVICE = "The row was left unchanged: correct it, or restore the database from a backup."


class StoreCorruptError(StoreError):
    """A data or journal file, or a database row, cannot be read or understood; it was left
    unchanged. ``path`` is the file (or the database's URL, without its password)."""

    def __init__(self, path: Path | str, problem: str, advice: str = FILE_ADVICE) -> None:
        super().__init__(f"{path}: {problem}. {advice}")
        self.path = path
        self.problem = problem


class StoreLockedError(StoreError):
    """Another process has the store open."""


class StorePathError(StoreError):
    """The data file's path cannot hold a store (it is a folder)."""


class StoreWriteError(StoreError):
    """A change could not be written (disk full, read-only, ...); nothing was stored."""


class NotFoundError(StoreError):
    """The record to change does not exist."""
