"""What the bot's administrators see: totals the store keeps, and each source's health.

Nothing here walks the subscribers: counts by status are kept by the store as they
change, so /stats costs the same at 100 subscribers and at 100,000.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ..config import Settings
from ..models import FeedState
from ..store import Store


@dataclass(frozen=True)
class Stats:
    """The day's figures."""

    subscribers: dict[str, int]
    digests_sent: int
    failures: dict[str, int]
    articles: int
    feeds_configured: int
    failing: tuple[FeedState, ...]

    @property
    def total(self) -> int:
        """Subscribers in every status."""
        return sum(self.subscribers.values())

    def count(self, status: str) -> int:
        """Subscribers with ``status``."""
        return self.subscribers.get(status, 0)


@dataclass(frozen=True)
class SourceHealth:
    """One configured source and how it is doing."""

    name: str
    topics: tuple[str, ...]
    state: FeedState | None  # None: not polled yet


def stats(store: Store, settings: Settings, today: date) -> Stats:
    """Subscribers by status, today's counters, articles and failing feeds."""
    counters = store.counters(today)
    failures = {k.split(":", 1)[1]: v for k, v in counters.items() if k.startswith("failures:")}
    # The configured feeds only: chats' own feeds are theirs to watch (/feeds).
    configured = {feed.url for feed in settings.feeds}
    failing = tuple(f for f in store.feed_states() if f.failures and f.url in configured)
    return Stats(
        subscribers=store.count_by_status(),
        digests_sent=counters.get("digests_sent", 0),
        failures=failures,
        articles=store.count_articles(),
        feeds_configured=len(settings.feeds),
        failing=failing,
    )


def sources(store: Store, settings: Settings) -> list[SourceHealth]:
    """Every configured feed with its remembered state, in configuration order."""
    return [
        SourceHealth(feed.name, feed.topics, store.get_feed_state(feed.url))
        for feed in settings.feeds
    ]
