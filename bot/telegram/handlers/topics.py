"""Subscribing: /start, topics by button or name, followed and excluded words."""

from __future__ import annotations

import logging

from telegram import (
    Update,
)
from telegram.constants import ParseMode

from ...digest.render import (
    escape,
)
from ...services.subscriptions import NOT_SUBSCRIBED, UserError
from ..context import NewsContext
from .common import (
    TOPIC_PREFIX,
    args_of,
    chat_id_of,
    chat_type_of,
    is_chat_admin,
    reply,
    require_subscriber,
    settings_allowed,
    subscriber_of,
    topic_keyboard,
    topics_line,
)

logger = logging.getLogger(__name__)


async def cmd_start(update: Update, context: NewsContext) -> None:
    """Welcome the chat and show the topic picker."""
    if not await settings_allowed(update, context):
        return
    chat_type, thread_id = chat_type_of(update)
    services = context.services
    subscriber = services.subscriptions.start(chat_id_of(update), chat_type, thread_id)
    text = (
        "👋 <b>Welcome to newsdigest!</b>\n"
        f"Every day at <b>{', '.join(subscriber.times)}</b> ({escape(subscriber.timezone)}) "
        "I will send you a short digest of the news in your topics.\n\n"
        "Pick your topics below (tap again to remove). Change the time with /time and "
        "your time zone with /timezone. /help lists everything."
    )
    await reply(update, text, reply_markup=topic_keyboard(services, subscriber))


async def cmd_topics(update: Update, context: NewsContext) -> None:
    """Show the topic picker."""
    if not await settings_allowed(update, context):
        return
    subscriber = await require_subscriber(update, context)
    if subscriber is None:
        return
    await reply(
        update,
        f"Your topics: {escape(topics_line(context.services, subscriber))}.\nTap to change:",
        reply_markup=topic_keyboard(context.services, subscriber),
    )


async def on_topic_button(update: Update, context: NewsContext) -> None:
    """Toggle a topic from the picker (or close it)."""
    query = update.callback_query
    assert query is not None
    assert query.data is not None
    if not await is_chat_admin(update, context):
        await query.answer(
            "Only this group's administrators can change its topics.", show_alert=True
        )
        return
    name = query.data.removeprefix(TOPIC_PREFIX)
    services = context.services
    if name == "done":
        await query.answer()
        subscriber = subscriber_of(update, context)
        if subscriber is None:
            await query.edit_message_text(NOT_SUBSCRIBED)
            return
        await query.edit_message_text(
            f"Your topics: {escape(topics_line(services, subscriber))}. "
            "Send /digest to read them now.",
            parse_mode=ParseMode.HTML,
        )
        return
    try:
        # Tapping a topic is an explicit subscribing action: it may create the subscription.
        subscriber, added = services.subscriptions.toggle_topic(
            chat_id_of(update), name, create=chat_type_of(update)
        )
    except UserError as exc:
        await query.answer(str(exc), show_alert=True)
        return
    label = services.settings.topic(name)
    await query.answer(f"{'Added' if added else 'Removed'} {label.label if label else name}")
    await query.edit_message_reply_markup(topic_keyboard(services, subscriber))


async def _change_topics(update: Update, context: NewsContext, add: bool) -> None:
    if not await settings_allowed(update, context):
        return
    command = "subscribe" if add else "unsubscribe"
    services = context.services
    args = args_of(context)
    if not args:
        await reply(
            update,
            f"Usage: /{command} &lt;topic&gt; … Topics: "
            f"{', '.join(services.settings.topic_names)}.",
        )
        return
    subscriptions = services.subscriptions
    try:
        names = subscriptions.topic_names(args)
        if add:  # /subscribe is an explicit subscribing action: it may create one
            change = subscriptions.subscribe(chat_id_of(update), names, create=chat_type_of(update))
        else:
            change = subscriptions.unsubscribe(chat_id_of(update), names)
    except UserError as exc:
        await reply(update, escape(str(exc)))
        return
    verb = "Added" if add else "Removed"
    parts = []
    if change.changed:
        parts.append(f"{verb}: {', '.join(change.changed)}.")
    if change.unchanged:
        state = "already subscribed" if add else "not subscribed"
        parts.append(f"{', '.join(change.unchanged)}: {state}.")
    parts.append(f"Your topics: {topics_line(services, change.subscriber)}.")
    await reply(update, escape(" ".join(parts)))


async def cmd_subscribe(update: Update, context: NewsContext) -> None:
    """Add topics by name."""
    await _change_topics(update, context, add=True)


async def cmd_unsubscribe(update: Update, context: NewsContext) -> None:
    """Remove topics by name."""
    await _change_topics(update, context, add=False)


async def _keyword(update: Update, context: NewsContext, kind: str, add: bool) -> None:
    if not await settings_allowed(update, context):
        return
    command = {
        ("follow", True): "follow",
        ("follow", False): "unfollow",
        ("exclude", True): "exclude",
        ("exclude", False): "unexclude",
    }[(kind, add)]
    args = args_of(context)
    if len(args) != 1:
        await reply(
            update, f"Usage: /{command} &lt;word&gt; (one plain word), e.g. /{command} climate"
        )
        return
    subscriptions = context.services.subscriptions
    try:
        if add:
            _, word, changed = subscriptions.add_keyword(chat_id_of(update), kind, args[0])
        else:
            _, word, changed = subscriptions.remove_keyword(chat_id_of(update), kind, args[0])
    except UserError as exc:
        await reply(update, escape(str(exc)))
        return
    if kind == "follow":
        text = (
            f"Following “{word}”: stories mentioning it are always included."
            if add
            else f"No longer following “{word}”."
        )
        if not changed:
            text = f"You already follow “{word}”." if add else f"You were not following “{word}”."
    else:
        text = (
            f"Excluding “{word}”: stories mentioning it are left out."
            if add
            else f"No longer excluding “{word}”."
        )
        if not changed:
            text = f"You already exclude “{word}”." if add else f"You were not excluding “{word}”."
    await reply(update, escape(text))


async def cmd_follow(update: Update, context: NewsContext) -> None:
    """Follow a word."""
    await _keyword(update, context, "follow", add=True)


async def cmd_unfollow(update: Update, context: NewsContext) -> None:
    """Stop following a word."""
    await _keyword(update, context, "follow", add=False)


async def cmd_exclude(update: Update, context: NewsContext) -> None:
    """Exclude a word."""
    await _keyword(update, context, "exclude", add=True)


async def cmd_unexclude(update: Update, context: NewsContext) -> None:
    """Stop excluding a word."""
    await _keyword(update, context, "exclude", add=False)


async def cmd_keywords(update: Update, context: NewsContext) -> None:
    """List followed and excluded words."""
    subscriber = await require_subscriber(update, context)
    if subscriber is None:
        return
    follow = ", ".join(subscriber.follow) or "none (add with /follow word)"
    exclude = ", ".join(subscriber.exclude) or "none (add with /exclude word)"
    await reply(update, escape(f"Following: {follow}\nExcluding: {exclude}"))
