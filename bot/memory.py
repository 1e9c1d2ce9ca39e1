"""Bounding what the process keeps, and handing memory it freed back to the system."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


class BoundedCache(dict[K, V | None]):
    """A memo of at most ``limit`` entries that keeps what is used often, so its memory
    stays bounded however many distinct keys come (the subscribers' combinations of topics
    and words, and so the digest builder's memos, grow with the subscribers).

    Read it as ``cache[key]``: the value, or None when the key is not remembered (a hit
    costs one dict lookup, with no Python call: the builder and the renderer make several
    per digest). Write with :meth:`put`.

    Entries live in two generations of ``limit // 2`` (at least one). New entries go into
    the young one; when it is full, it becomes the old one and the old one is forgotten.
    An entry found in the old generation moves back into the young one. So an entry used
    at least once while ``limit // 2`` others are added stays, and a stream of keys seen
    once cannot push out the ones that recur. (Forgetting everything at once, as this
    cache did before, lost about half the builder's memo hits over 1M subscribers.)
    """

    __slots__ = ("_old", "limit")

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self._old: dict[K, V | None] = {}

    def __missing__(self, key: K) -> V | None:
        found = self._old.pop(key, None)
        if found is not None:
            self.put(key, found)
        return found

    def __len__(self) -> int:
        return super().__len__() + len(self._old)

    def put(self, key: K, value: V) -> V:
        """Remember ``value`` under ``key`` (the old generation is forgotten first if the
        young one is full); return it."""
        if super().__len__() >= max(self.limit // 2, 1):
            self._old = dict(self)
            super().clear()
        self[key] = value
        return value

    def clear(self) -> None:
        """Forget everything."""
        super().clear()
        self._old = {}


@functools.cache
def _trim() -> Callable[[int], int] | None:
    try:
        trim: Callable[[int], int] = ctypes.CDLL(ctypes.util.find_library("c")).malloc_trim
    except (OSError, AttributeError, TypeError):  # not glibc: nothing to do
        return None
    return trim


def release_free_memory() -> None:
    """Ask glibc's allocator to return freed pages to the operating system.

    Opening the data file and rebuilding the digest index create and drop millions of
    small objects (parsed JSON before its strings are shared, per-article word sets).
    glibc keeps the freed pages for reuse, so the process's RSS would stay at the peak of
    that work for good; ``malloc_trim(0)`` gives them back (about 130 MB after a digest
    index of 10k articles, bench/memory.py). A no-op where the C library is not glibc.
    """
    trim = _trim()
    if trim is not None:
        trim(0)
