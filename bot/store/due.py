"""Due times kept in memory: the embedded store's :class:`~bot.store.base.DueTimes`.

A heap of (wake-up time, chat id) beside a dict of each chat's current entry; entries the
dict no longer agrees with are skipped lazily when they reach the top. Nothing is written
to disk: the scheduler computes every time again at start, from the subscribers.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING

from .base import DueTimes

if TYPE_CHECKING:
    from ..models import Subscriber
    from .base import Store


class MemoryDueTimes(DueTimes):
    """Next due times in a heap, for a store whose records are in memory anyway."""

    def __init__(self, store: Store | None) -> None:
        """Due times for ``store``'s subscribers (None: times set by hand, no rebuild)."""
        self._store = store
        self._heap: list[tuple[datetime, int]] = []
        self._next: dict[int, tuple[datetime, datetime]] = {}  # chat -> (wake, slot)

    def __len__(self) -> int:
        return len(self._next)

    def to_reschedule(self, now: datetime) -> Iterator[Subscriber]:
        """Forget every time and yield every active subscriber."""
        self._heap.clear()
        self._next.clear()
        if self._store is None:
            return iter(())
        return self._store.subscribers(active_only=True)

    def set_many(self, entries: Iterable[tuple[int, datetime | None, datetime | None]]) -> None:
        """Set (chat id, wake-up time, slot) for each entry; a None time removes the chat."""
        for chat_id, wake, slot in entries:
            if wake is None or slot is None:
                self._next.pop(chat_id, None)
            else:
                self._next[chat_id] = (wake, slot)
                heapq.heappush(self._heap, (wake, chat_id))

    def _live(self, wake: datetime, chat_id: int) -> bool:
        entry = self._next.get(chat_id)
        return entry is not None and entry[0] == wake

    def next_due(self) -> datetime | None:
        """The earliest wake-up time, or None."""
        while self._heap:
            wake, chat_id = self._heap[0]
            if self._live(wake, chat_id):
                return wake
            heapq.heappop(self._heap)
        return None

    def pop_due(self, now: datetime, limit: int) -> list[tuple[int, datetime]]:
        """Up to ``limit`` (chat id, slot) due at ``now``, earliest first, removed."""
        out: list[tuple[int, datetime]] = []
        while self._heap and self._heap[0][0] <= now and len(out) < limit:
            wake, chat_id = heapq.heappop(self._heap)
            if self._live(wake, chat_id):
                _, slot = self._next.pop(chat_id)
                out.append((chat_id, slot))
        return out
