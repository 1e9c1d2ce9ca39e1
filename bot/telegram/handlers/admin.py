"""For the bot's administrators: /stats and /sources."""

from __future__ import annotations

import logging

from telegram import (
    Update,
)

from ...digest.render import (
    clip,
    escape,
    local_time,
    split_messages,
)
from ...models import ACTIVE, PAUSED
from ..context import NewsContext
from .common import (
    is_bot_admin,
    reply,
)

logger = logging.getLogger(__name__)


async def cmd_stats(update: Update, context: NewsContext) -> None:
    """Subscribers, digests sent today, failures by kind, feed health (admins only)."""
    if not is_bot_admin(update, context):
        await reply(update, "Sorry, /stats is for the bot's administrators.")
        return
    services = context.services
    store = services.store
    today = services.clock().date()
    counters = store.counters(today)
    statuses: dict[str, int] = {}
    for subscriber in store.subscribers():
        statuses[subscriber.status] = statuses.get(subscriber.status, 0) + 1
    failures = {k.split(":", 1)[1]: v for k, v in counters.items() if k.startswith("failures:")}
    feeds = list(store.feed_states())
    failing = [f for f in feeds if f.failures]
    lines = [
        "<b>Statistics</b>",
        f"Subscribers: {sum(statuses.values())} (active {statuses.get(ACTIVE, 0)}, "
        f"paused {statuses.get(PAUSED, 0)}, blocked {statuses.get('blocked', 0)})",
        f"Digests sent today: {counters.get('digests_sent', 0)}",
        "Failures today: " + (", ".join(f"{k} {v}" for k, v in sorted(failures.items())) or "none"),
        f"Articles stored: {store.count_articles()}",
        f"Feeds: {len(services.settings.feeds)} configured, {len(failing)} failing",
    ]
    for feed in failing[:10]:
        lines.append(
            f"• {escape(clip(feed.url, 200))}: {feed.failures} failures "
            f"({escape(feed.last_error_kind or 'error')})"
        )
    await reply(update, "\n".join(lines))


async def cmd_sources(update: Update, context: NewsContext) -> None:
    """Each configured source with its health (admins only)."""
    if not is_bot_admin(update, context):
        await reply(update, "Sorry, /sources is for the bot's administrators.")
        return
    services = context.services
    lines = []
    if services.settings.seeds_dir is not None:
        lines.append(f"• seeds folder: {escape(str(services.settings.seeds_dir))}")
    for feed in services.settings.feeds:
        state = services.store.get_feed_state(feed.url)
        if state is None:
            health = "not polled yet"
        elif state.failures:
            problem = clip(state.last_error or state.last_error_kind or "error", 200)
            health = f"failing ×{state.failures}: {problem}"
        else:
            last = state.last_success
            health = f"ok, {state.articles_total} articles" + (
                f", last {local_time(last, 'UTC', services.clock())} UTC" if last else ""
            )
        lines.append(
            f"• <b>{escape(feed.name)}</b> ({escape(', '.join(feed.topics))}): {escape(health)}"
        )
    for part in split_messages("<b>Sources</b>", lines, separator="\n"):
        await reply(update, part)
