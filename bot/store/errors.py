"""The store's errors: what a caller can catch, each named for what went wrong."""

from __future__ import annotations

from pathlib import Path


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


class StorePathError(StoreError):
    """The data file's path cannot hold a store (it is a folder)."""


class StoreWriteError(StoreError):
    """A change could not be written (disk full, read-only, ...); nothing was stored."""


class NotFoundError(StoreError):
    """The record to change does not exist."""
