"""Reading: the digest now, and summaries of links and texts (worked on in the background)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from telegram import (
    Update,
)
from telegram.error import TelegramError

from ...delivery.deliverer import SENT
from ...digest.render import (
    render_summary_html,
)
from ...i18n import Html, _
from ...services.summaries import PASTE_MIN_CHARS, STILL_WORKING, Claim, SummaryError, link_of
from ..context import NewsContext
from .chats import reply_on, require_subscriber, target_of
from .common import (
    message_of,
    rate_limited,
    reply,
    text_of,
    typing,
    user_key,
)

logger = logging.getLogger(__name__)


RESTARTING = _("Sorry, I'm restarting and could not finish that. Please send it again in a minute.")
RESTART_NOTE_SECONDS = 2.0


async def cmd_digest(update: Update, context: NewsContext) -> None:
    """Send the chat's digest now (a channel's: posted in the channel)."""
    target = await target_of(update, context, change=False)
    if target is None:
        return
    subscriber = await require_subscriber(update, context, target)
    if subscriber is None:
        return
    limited = rate_limited(update, context, "digest")
    if limited:
        await reply(update, context, limited)
        return
    services = context.services
    async with typing(update, context):
        outcome = await services.digests.deliver(
            subscriber.evolve(skip_empty=False), services.deliverer
        )
    if outcome.status != SENT:
        await reply_on(
            update,
            context,
            target,
            _("Sorry, I could not send your digest just now. Please try again in a minute."),
        )
    elif target.channel is not None:
        await reply_on(update, context, target, _("The digest is posted in the channel."))


async def _summarize_and_reply(update: Update, context: NewsContext, source: str) -> None:
    """Start a summary in the background: the chat's next updates need not wait for it."""
    summaries = context.services.summaries
    user = user_key(update)
    if summaries.busy(user):  # refused before counting: it was never started
        await reply(update, context, STILL_WORKING)
        return
    limited = rate_limited(update, context, "summarize")
    if limited:
        await reply(update, context, limited)
        return
    claim = summaries.claim(user)
    summaries.track(
        context.application.create_task(
            _summarize_in_background(update, context, source, claim), update=update
        )
    )


async def _summarize_in_background(
    update: Update, context: NewsContext, source: str, claim: Claim
) -> None:
    services = context.services
    with claim:
        try:
            async with typing(update, context):
                result = await services.summaries.summarize(source, services.http)
        except SummaryError as exc:
            await reply(update, context, exc.text)
            return
        except asyncio.CancelledError:
            # The bot is stopping: say so rather than leave the request unanswered.
            with contextlib.suppress(TelegramError, TimeoutError):
                async with asyncio.timeout(RESTART_NOTE_SECONDS):
                    await reply(update, context, RESTARTING)
            raise
        await reply(update, context, Html(render_summary_html(result.article, result.sentences)))


async def cmd_summarize(update: Update, context: NewsContext) -> None:
    """Summarize a URL or text given after the command, or the message replied to."""
    message = message_of(update)
    text = text_of(message)
    rest = text.partition(" ")[2]
    rest = rest.strip() if text.startswith("/") else text
    if not rest and message.reply_to_message is not None:
        rest = text_of(message.reply_to_message)
    if not rest:
        await reply(
            update,
            context,
            _(
                "Usage: /summarize &lt;link or text&gt;, or reply /summarize to a "
                "message. You can also just paste a long text or send a link."
            ),
        )
        return
    await _summarize_and_reply(update, context, rest)


async def on_text(update: Update, context: NewsContext) -> None:
    """Plain text in a private chat: a link or a long/forwarded text is summarized."""
    message = message_of(update)
    text = text_of(message).strip()
    if link_of(text) or message.forward_origin is not None or len(text) >= PASTE_MIN_CHARS:
        await _summarize_and_reply(update, context, text)
        return
    await reply(
        update,
        context,
        _(
            "Send me a link or paste a longer text to get a summary. "
            "/help lists everything I can do."
        ),
    )
