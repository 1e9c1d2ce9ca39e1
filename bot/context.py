"""The objects handlers share, reached through a typed context (``context.services``)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from telegram.ext import Application, CallbackContext, ExtBot

from summarizer import Summarizer

from .config import Settings
from .delivery import Deliverer
from .fetch import FetchLimits
from .ingest import Ingester
from .runtime import DigestService, Dispatcher
from .service import Subscriptions
from .store import Store

# action -> (uses, per seconds): what one user may do before being asked to wait.
DEFAULT_RATES: dict[str, tuple[int, float]] = {"summarize": (6, 60.0), "digest": (5, 60.0)}


class RateLimits:
    """Sliding-window limits per user and action (e.g. 6 /summarize a minute)."""

    def __init__(
        self,
        rates: dict[str, tuple[int, float]] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rates = dict(DEFAULT_RATES if rates is None else rates)
        self._monotonic = monotonic
        self._hits: dict[tuple[str, int], deque[float]] = {}

    def hit(self, action: str, key: int) -> float | None:
        """Record a use; ``None`` if allowed, else the seconds to wait."""
        rate = self.rates.get(action)
        if rate is None:
            return None
        uses, window = rate
        now = self._monotonic()
        hits = self._hits.setdefault((action, key), deque())
        while hits and hits[0] <= now - window:
            hits.popleft()
        if len(hits) >= uses:
            return hits[0] + window - now
        hits.append(now)
        return None


@dataclass
class Services:
    """Everything the handlers and jobs use, built once with the application."""

    settings: Settings
    store: Store
    clock: Callable[[], datetime]
    subscriptions: Subscriptions
    digests: DigestService
    dispatcher: Dispatcher
    ingester: Ingester
    summarizer: Summarizer
    fetch_limits: FetchLimits
    rate_limits: RateLimits = field(default_factory=RateLimits)
    admin_cache: dict[tuple[int, int], tuple[bool, datetime]] = field(default_factory=dict)
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
