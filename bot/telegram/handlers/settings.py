"""The subscription's settings: time, zone, empty days, pause, resume, and /stop."""

from __future__ import annotations

import logging

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)

from ...digest.render import (
    escape,
)
from ...models import ACTIVE, PAUSED
from ...services.subscriptions import UserError
from ..context import NewsContext
from .common import (
    STOP_PREFIX,
    args_of,
    chat_id_of,
    is_chat_admin,
    next_digest_line,
    reply,
    require_subscriber,
    settings_allowed,
    subscriber_of,
    topics_line,
)

logger = logging.getLogger(__name__)


async def cmd_time(update: Update, context: NewsContext) -> None:
    """Set the daily delivery time(s)."""
    if not await settings_allowed(update, context):
        return
    if await require_subscriber(update, context) is None:
        return
    try:
        subscriber = context.services.subscriptions.set_times(chat_id_of(update), args_of(context))
    except UserError as exc:
        await reply(update, escape(str(exc)))
        return
    await reply(
        update,
        escape(
            f"Your digest will arrive daily at {', '.join(subscriber.times)} "
            f"({subscriber.timezone}). {next_digest_line(context, subscriber)}"
        ),
    )


async def cmd_timezone(update: Update, context: NewsContext) -> None:
    """Set the time zone."""
    if not await settings_allowed(update, context):
        return
    args = args_of(context)
    if not args:
        await reply(
            update,
            "Usage: /timezone &lt;Area/City&gt;, e.g. /timezone Europe/Berlin "
            "or /timezone America/New_York",
        )
        return
    if await require_subscriber(update, context) is None:
        return
    try:
        subscriber = context.services.subscriptions.set_timezone(chat_id_of(update), " ".join(args))
    except UserError as exc:
        await reply(update, escape(str(exc)))
        return
    next_line = next_digest_line(context, subscriber)
    await reply(update, escape(f"Time zone set to {subscriber.timezone}. {next_line}"))


async def cmd_settings(update: Update, context: NewsContext) -> None:
    """Everything about this chat's subscription in one message."""
    subscriber = subscriber_of(update, context)
    if subscriber is None:
        await reply(
            update,
            "This chat has no subscription, and nothing about it is stored. "
            "Send /start to begin one.",
        )
        return
    services = context.services
    state = {ACTIVE: "active", PAUSED: "paused (/resume to restart)"}.get(
        subscriber.status, subscriber.status
    )
    lines = [
        "<b>Your settings</b>",
        f"Topics: {escape(topics_line(services, subscriber))}",
        f"Following: {escape(', '.join(subscriber.follow) or 'none')}",
        f"Excluding: {escape(', '.join(subscriber.exclude) or 'none')}",
        f"Daily at: {escape(', '.join(subscriber.times))} ({escape(subscriber.timezone)})",
        f"Status: {state}",
        "When nothing is new: " + ("no message" if subscriber.skip_empty else "a one-line note"),
    ]
    next_line = next_digest_line(context, subscriber)
    if next_line:
        lines.append(escape(next_line))
    await reply(update, "\n".join(lines))


async def cmd_empty(update: Update, context: NewsContext) -> None:
    """Choose what happens when a digest has nothing new."""
    if not await settings_allowed(update, context):
        return
    args = [a.lower() for a in args_of(context)]
    if args not in (["skip"], ["show"]):
        await reply(
            update,
            "Usage: /empty skip (send nothing when nothing is new) or "
            "/empty show (send a one-line note).",
        )
        return
    if await require_subscriber(update, context) is None:
        return
    context.services.subscriptions.set_skip_empty(chat_id_of(update), args[0] == "skip")
    await reply(
        update,
        "Days with nothing new will be skipped silently."
        if args[0] == "skip"
        else "On days with nothing new you will get a one-line note.",
    )


async def cmd_pause(update: Update, context: NewsContext) -> None:
    """Pause scheduled digests."""
    if not await settings_allowed(update, context):
        return
    if await require_subscriber(update, context) is None:
        return
    context.services.subscriptions.set_status(chat_id_of(update), PAUSED)
    await reply(update, "Paused: no daily digests until you send /resume. /digest still works.")


async def cmd_resume(update: Update, context: NewsContext) -> None:
    """Resume scheduled digests."""
    if not await settings_allowed(update, context):
        return
    if await require_subscriber(update, context) is None:
        return
    subscriber = context.services.subscriptions.set_status(chat_id_of(update), ACTIVE)
    await reply(update, escape(f"Resumed. {next_digest_line(context, subscriber)}"))


async def cmd_stop(update: Update, context: NewsContext) -> None:
    """Ask to confirm deleting the chat's data."""
    if not await settings_allowed(update, context):
        return
    if subscriber_of(update, context) is None:
        await reply(update, "This chat has no subscription: nothing about it is stored.")
        return
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Yes, delete everything", callback_data=f"{STOP_PREFIX}yes"),
                InlineKeyboardButton("Cancel", callback_data=f"{STOP_PREFIX}no"),
            ]
        ]
    )
    await reply(
        update,
        "This stops all digests and deletes your topics, words and history. Are you sure?",
        reply_markup=keyboard,
    )


async def on_stop_button(update: Update, context: NewsContext) -> None:
    """Delete the chat's data when confirmed."""
    query = update.callback_query
    assert query is not None
    assert query.data is not None
    if not await is_chat_admin(update, context):
        await query.answer("Only this group's administrators can do that.", show_alert=True)
        return
    await query.answer()
    if query.data != f"{STOP_PREFIX}yes":
        await query.edit_message_text("Cancelled: nothing was deleted.")
        return
    services = context.services
    chat_id = chat_id_of(update)
    existed = services.subscriptions.delete(chat_id)
    services.admin_cache.forget_chat(chat_id)
    await query.edit_message_text(
        "Done: your data is deleted and no more digests will come. "
        "Send /start any time to begin again."
        if existed
        else "There was nothing to delete: this chat has no subscription."
    )
