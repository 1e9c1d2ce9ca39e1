"""Handing memory the process freed back to the operating system."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable


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
