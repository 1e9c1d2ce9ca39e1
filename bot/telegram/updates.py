"""How updates are scheduled: chats side by side, each chat's updates in arrival order.

PTB's ``concurrent_updates`` runs every update as its own task, in no particular order.
A chat's commands must still apply in the order the user sent them (``/time 07:00`` then
``/time 08:00`` ends at 08:00), so updates of the same chat wait for each other here, in
arrival order, while other chats go ahead. Slow work started by a command (fetching a
link) does not hold its chat's turn: the handler hands it to a background task.

The processor also notes when each update arrived, so per-user limits count uses at
arrival rather than when a queued update finally runs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

# Updates processed at once across all chats; waiting ones hold no thread, only a task.
MAX_CONCURRENT_UPDATES = 512


def chat_key(update: object) -> int | None:
    """The chat an update belongs to (``None`` for updates without one)."""
    if isinstance(update, Update) and update.effective_chat is not None:
        return update.effective_chat.id
    return None


class ChatOrderedProcessor(BaseUpdateProcessor):
    """Concurrent across chats, sequential (first come, first served) within a chat."""

    def __init__(
        self,
        max_concurrent_updates: int = MAX_CONCURRENT_UPDATES,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(max_concurrent_updates)
        self._monotonic = monotonic
        # chat id -> (its lock, how many of its updates hold or wait for the lock)
        self._chats: dict[int, tuple[asyncio.Lock, int]] = {}
        self._arrivals: dict[int, float] = {}

    def arrived(self, update: Update) -> float | None:
        """When ``update`` arrived (``time.monotonic``), while it is being processed."""
        return self._arrivals.get(update.update_id)

    @property
    def busy_chats(self) -> int:
        """Chats with an update running or waiting."""
        return len(self._chats)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Run ``coroutine`` once every earlier update of the same chat has finished."""
        key = chat_key(update)
        if key is None:
            await coroutine
            return
        assert isinstance(update, Update)
        self._arrivals[update.update_id] = self._monotonic()
        lock, users = self._chats.get(key, (None, 0))
        if lock is None:
            lock = asyncio.Lock()  # asyncio.Lock wakes its waiters in the order they came
        self._chats[key] = (lock, users + 1)
        try:
            async with lock:
                await coroutine
        finally:
            self._arrivals.pop(update.update_id, None)
            lock, users = self._chats[key]
            if users <= 1:
                del self._chats[key]  # no lock is kept for a chat that went quiet
            else:
                self._chats[key] = (lock, users - 1)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""
