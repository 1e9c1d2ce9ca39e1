"""Bounding what the process keeps, and handing memory it freed back to the system."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class BoundedCache(dict[K, V], Generic[K, V]):
    """A memo that forgets everything once it holds ``limit`` entries, so its memory stays
    bounded however many distinct keys come (the subscribers' combinations of topics and
    words, and so the digest builder's memos, grow with the subscribers)."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def put(self, key: K, value: V) -> V:
        """Remember ``value`` under ``key`` (forgetting the rest first if full); return it."""
        if len(self) >= self.limit:
            self.clear()
        self[key] = value
        return value


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
