"""For the bot's administrators: /stats and /sources."""

from __future__ import annotations

import logging
from datetime import datetime

from telegram import (
    Update,
)

from ...digest.render import (
    clip,
    escape,
    local_time,
    split_messages,
)
from ...models import ACTIVE, BLOCKED, PAUSED
from ...services import stats
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
    figures = stats.stats(services.store, services.settings, services.clock().date())
    failures = ", ".join(f"{k} {v}" for k, v in sorted(figures.failures.items()))
    lines = [
        "<b>Statistics</b>",
        f"Subscribers: {figures.total} (active {figures.count(ACTIVE)}, "
        f"paused {figures.count(PAUSED)}, blocked {figures.count(BLOCKED)})",
        f"Digests sent today: {figures.digests_sent}",
        f"Failures today: {failures or 'none'}",
        f"Articles stored: {figures.articles}",
        f"Feeds: {figures.feeds_configured} configured, {len(figures.failing)} failing",
    ]
    for feed in figures.failing[:10]:
        lines.append(
            f"• {escape(clip(feed.url, 200))}: {feed.failures} failures "
            f"({escape(feed.last_error_kind or 'error')})"
        )
    await reply(update, "\n".join(lines))


def _health_line(health: stats.SourceHealth, now: datetime) -> str:
    state = health.state
    if state is None:
        text = "not polled yet"
    elif state.failures:
        problem = clip(state.last_error or state.last_error_kind or "error", 200)
        text = f"failing ×{state.failures}: {problem}"
    else:
        last = state.last_success
        text = f"ok, {state.articles_total} articles" + (
            f", last {local_time(last, 'UTC', now)} UTC" if last else ""
        )
    return f"• <b>{escape(health.name)}</b> ({escape(', '.join(health.topics))}): {escape(text)}"


async def cmd_sources(update: Update, context: NewsContext) -> None:
    """Each configured source with its health (admins only)."""
    if not is_bot_admin(update, context):
        await reply(update, "Sorry, /sources is for the bot's administrators.")
        return
    services = context.services
    lines = []
    if services.settings.seeds_dir is not None:
        lines.append(f"• seeds folder: {escape(str(services.settings.seeds_dir))}")
    now = services.clock()
    lines.extend(_health_line(h, now) for h in stats.sources(services.store, services.settings))
    for part in split_messages("<b>Sources</b>", lines, separator="\n"):
        await reply(update, part)
