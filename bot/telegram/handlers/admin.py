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
from ...i18n import Html, Text, _
from ...models import ACTIVE, BLOCKED, PAUSED
from ...services import stats
from ..context import NewsContext
from .common import (
    is_bot_admin,
    language_of,
    reply,
)

logger = logging.getLogger(__name__)


async def cmd_stats(update: Update, context: NewsContext) -> None:
    """Subscribers, digests sent today, failures by kind, feed health (admins only)."""
    if not is_bot_admin(update, context):
        await reply(update, context, _("Sorry, /stats is for the bot's administrators."))
        return
    services = context.services
    language = language_of(update, context)
    figures = stats.stats(services.store, services.settings, services.clock().date())
    failures = ", ".join(f"{k} {v}" for k, v in sorted(figures.failures.items()))
    lines: list[Text] = [
        _("<b>Statistics</b>"),
        _(
            "Subscribers: {total} (active {active}, paused {paused}, blocked {blocked})",
            total=figures.total,
            active=figures.count(ACTIVE),
            paused=figures.count(PAUSED),
            blocked=figures.count(BLOCKED),
        ),
        _("Digests sent today: {count}", count=figures.digests_sent),
        _("Failures today: {failures}", failures=failures or _("none")),
        _("Articles stored: {count}", count=figures.articles),
        _(
            "Feeds: {configured} configured, {failing} failing",
            configured=figures.feeds_configured,
            failing=len(figures.failing),
        ),
    ]
    for feed in figures.failing[:10]:
        lines.append(
            _(
                "• {url}: {count} failures ({kind})",
                url=clip(feed.url, 200),
                count=feed.failures,
                kind=feed.last_error_kind or "error",
            )
        )
    await reply(update, context, Html("\n".join(line.render(language) for line in lines)))


def _health_line(health: stats.SourceHealth, now: datetime, language: str) -> str:
    state = health.state
    text: Text
    if state is None:
        text = _("not polled yet")
    elif state.failures:
        problem = clip(state.last_error or state.last_error_kind or "error", 200)
        text = _("failing ×{count}: {problem}", count=state.failures, problem=problem)
    else:
        last = state.last_success
        text = (
            _(
                "ok, {count} articles, last {when} UTC",
                count=state.articles_total,
                when=local_time(last, "UTC", now, language),
            )
            if last
            else _("ok, {count} articles", count=state.articles_total)
        )
    topics = escape(", ".join(health.topics))
    return f"• <b>{escape(health.name)}</b> ({topics}): {text.render(language)}"


async def cmd_sources(update: Update, context: NewsContext) -> None:
    """Each configured source with its health (admins only)."""
    if not is_bot_admin(update, context):
        await reply(update, context, _("Sorry, /sources is for the bot's administrators."))
        return
    services = context.services
    language = language_of(update, context)
    lines = []
    if services.settings.seeds_dir is not None:
        folder = str(services.settings.seeds_dir)
        lines.append(_("• seeds folder: {folder}", folder=folder).render(language))
    now = services.clock()
    lines.extend(
        _health_line(h, now, language) for h in stats.sources(services.store, services.settings)
    )
    header = _("<b>Sources</b>").render(language)
    for part in split_messages(header, lines, separator="\n"):
        await reply(update, context, Html(part))
