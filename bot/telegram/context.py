"""The objects handlers share, reached through a typed context (``context.services``)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from telegram.ext import Application, CallbackContext, ExtBot

from ..config import Settings
from ..delivery.deliverer import Deliverer
from ..delivery.dispatcher import DigestService, Dispatcher
from ..ingest.ingester import Ingester
from ..services.channels import Channels
from ..services.feeds import UserFeeds
from ..services.subscriptions import Subscriptions
from ..services.summaries import SummaryService
from ..store import Store

# action -> (uses, per seconds): what one user may do before being asked to wait.
DEFAULT_RATES: dict[str, tuple[int, float]] = {
    "summarize": (6, 60.0),
    "digest": (5, 60.0),
    "feeds": (10, 60.0),  # /addfeed and OPML files: each fetches feeds for the user
    "channel": (6, 60.0),  # linking a channel: each asks Telegram three questions
}


# Users whose recent uses are remembered before the expired ones are swept out.
MAX_TRACKED = 10_000


class RateLimits:
    """Sliding-window limits per user and action (e.g. 6 /summarize a minute).

    A use is counted at the time its update *arrived* (``at``), not when it was handled:
    updates that waited in a queue still count against the minute they were sent in.
    """

    def __init__(
        self,
        rates: dict[str, tuple[int, float]] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rates = dict(DEFAULT_RATES if rates is None else rates)
        self._monotonic = monotonic
        self._hits: dict[tuple[str, int], deque[float]] = {}

    def now(self) -> float:
        """The limiter's clock (``time.monotonic`` unless a test gives another)."""
        return self._monotonic()

    def hit(self, action: str, key: int, at: float | None = None) -> float | None:
        """Record a use that arrived at ``at`` (default: now); ``None`` if allowed, else
        the seconds to wait."""
        rate = self.rates.get(action)
        if rate is None:
            return None
        uses, window = rate
        now = self._monotonic()
        arrived = now if at is None else min(at, now)
        hits = self._hits.setdefault((action, key), deque())
        while hits and hits[0] <= arrived - window:
            hits.popleft()
        if len(hits) >= uses:
            return max(0.0, hits[0] + window - now)
        hits.append(arrived)
        if len(self._hits) > MAX_TRACKED:
            self._sweep(now)
        return None

    def _sweep(self, now: float) -> None:
        longest = max((window for _, window in self.rates.values()), default=0.0)
        self._hits = {k: v for k, v in self._hits.items() if v and v[-1] > now - longest}


class AdminCache:
    """Who is an administrator of which group, remembered for a few minutes (bounded)."""

    def __init__(self, ttl: timedelta = timedelta(minutes=5), size: int = MAX_TRACKED) -> None:
        self.ttl = ttl
        self.size = size
        self._entries: dict[tuple[int, int], tuple[bool, datetime]] = {}

    def get(self, chat_id: int, user_id: int, now: datetime) -> bool | None:
        """The remembered answer, if still fresh."""
        entry = self._entries.get((chat_id, user_id))
        return entry[0] if entry is not None and entry[1] > now else None

    def put(self, chat_id: int, user_id: int, allowed: bool, now: datetime) -> None:
        """Remember an answer."""
        if len(self._entries) >= self.size:
            self._entries = {k: v for k, v in self._entries.items() if v[1] > now}
            while len(self._entries) >= self.size:  # all fresh: drop the oldest
                del self._entries[next(iter(self._entries))]
        self._entries[(chat_id, user_id)] = (allowed, now + self.ttl)

    def forget_chat(self, chat_id: int) -> None:
        """Drop every answer about a chat (its data is being deleted)."""
        self._entries = {k: v for k, v in self._entries.items() if k[0] != chat_id}


@dataclass
class Services:
    """Everything the handlers and jobs use, built once with the application."""

    settings: Settings
    store: Store
    clock: Callable[[], datetime]
    subscriptions: Subscriptions
    channels: Channels
    digests: DigestService
    dispatcher: Dispatcher
    ingester: Ingester
    summaries: SummaryService
    feeds: UserFeeds
    executor: ThreadPoolExecutor
    rate_limits: RateLimits = field(default_factory=RateLimits)
    admin_cache: AdminCache = field(default_factory=AdminCache)
    _deliverer: Deliverer | None = None
    _http: httpx.AsyncClient | None = None

    @property
    def deliverer(self) -> Deliverer:
        """The deliverer (set once the bot is initialized)."""
        if self._deliverer is None:
            raise RuntimeError("the application is not initialized yet")
        return self._deliverer

    @property
    def http(self) -> httpx.AsyncClient:
        """The HTTP client for /summarize links (open while the application runs)."""
        if self._http is None:
            raise RuntimeError("the application is not initialized yet")
        return self._http


class BotData:
    """``application.bot_data``: holds the services."""

    def __init__(self) -> None:
        self.services: Services | None = None


class NewsContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]):
    """The callback context with typed access to the services."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)

    @property
    def services(self) -> Services:
        """The application's services."""
        services = self.bot_data.services
        if services is None:
            raise RuntimeError("services are not attached to this application")
        return services
