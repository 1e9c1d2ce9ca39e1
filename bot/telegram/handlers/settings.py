"""The subscription's settings: time, zone, empty days, language, pause, resume, /stop."""

from __future__ import annotations

import logging

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)

from ...i18n import LANGUAGES, Html, Text, _
from ...models import ACTIVE, PAUSED, Subscriber
from ...services.subscriptions import UserError
from ..context import NewsContext
from .common import (
    LANGUAGE_PREFIX,
    STOP_PREFIX,
    answer,
    args_of,
    chat_id_of,
    edit,
    is_chat_admin,
    language_of,
    next_digest_line,
    reply,
    require_subscriber,
    settings_allowed,
    subscriber_of,
    topics_line,
)

logger = logging.getLogger(__name__)


def _with_next(context: NewsContext, subscriber: Subscriber, language: str, text: Text) -> Html:
    """A confirmation followed by when the next digest comes (if one is scheduled)."""
    parts = [text.render(language)]
    following = next_digest_line(context, subscriber, language)
    if following is not None:
        parts.append(following.render(language))
    return Html(" ".join(parts))


async def cmd_time(update: Update, context: NewsContext) -> None:
    """Set the daily delivery time(s)."""
    if not await settings_allowed(update, context):
        return
    if await require_subscriber(update, context) is None:
        return
    try:
        subscriber = context.services.subscriptions.set_times(chat_id_of(update), args_of(context))
    except UserError as exc:
        await reply(update, context, exc.text)
        return
    language = language_of(update, context)
    text = _(
        "Your digest will arrive daily at {times} ({zone}).",
        times=", ".join(subscriber.times),
        zone=subscriber.timezone,
    )
    await reply(update, context, _with_next(context, subscriber, language, text))


async def cmd_timezone(update: Update, context: NewsContext) -> None:
    """Set the time zone."""
    if not await settings_allowed(update, context):
        return
    args = args_of(context)
    if not args:
        await reply(
            update,
            context,
            _(
                "Usage: /timezone &lt;Area/City&gt;, e.g. /timezone Europe/Berlin "
                "or /timezone America/New_York"
            ),
        )
        return
    if await require_subscriber(update, context) is None:
        return
    try:
        subscriber = context.services.subscriptions.set_timezone(chat_id_of(update), " ".join(args))
    except UserError as exc:
        await reply(update, context, exc.text)
        return
    language = language_of(update, context)
    text = _("Time zone set to {zone}.", zone=subscriber.timezone)
    await reply(update, context, _with_next(context, subscriber, language, text))


def _status(subscriber: Subscriber) -> Text | str:
    if subscriber.status == ACTIVE:
        return _("active")
    if subscriber.status == PAUSED:
        return _("paused (/resume to restart)")
    return subscriber.status


async def cmd_settings(update: Update, context: NewsContext) -> None:
    """Everything about this chat's subscription in one message."""
    subscriber = subscriber_of(update, context)
    if subscriber is None:
        await reply(
            update,
            context,
            _(
                "This chat has no subscription, and nothing about it is stored. "
                "Send /start to begin one."
            ),
        )
        return
    services = context.services
    language = language_of(update, context)
    none = _("none")
    chosen = LANGUAGES.get(subscriber.language or "")
    lines = [
        _("<b>Your settings</b>"),
        _("Topics: {topics}", topics=topics_line(services, subscriber)),
        _("Following: {words}", words=", ".join(subscriber.follow) or none),
        _("Excluding: {words}", words=", ".join(subscriber.exclude) or none),
        _(
            "Daily at: {times} ({zone})",
            times=", ".join(subscriber.times),
            zone=subscriber.timezone,
        ),
        _("Status: {status}", status=_status(subscriber)),
        _("When nothing is new: no message")
        if subscriber.skip_empty
        else _("When nothing is new: a one-line note"),
        _("Language: {language}", language=chosen)
        if chosen
        else _("Language: {language} (your Telegram app's)", language=LANGUAGES[language]),
    ]
    if subscriber.feeds and services.settings.user_feeds:
        lines.append(_("Own feeds: {count} (/feeds)", count=len(subscriber.feeds)))
    following = next_digest_line(context, subscriber, language)
    if following is not None:
        lines.append(following)
    await reply(update, context, Html("\n".join(line.render(language) for line in lines)))


async def cmd_empty(update: Update, context: NewsContext) -> None:
    """Choose what happens when a digest has nothing new."""
    if not await settings_allowed(update, context):
        return
    args = [a.lower() for a in args_of(context)]
    if args not in (["skip"], ["show"]):
        await reply(
            update,
            context,
            _(
                "Usage: /empty skip (send nothing when nothing is new) or "
                "/empty show (send a one-line note)."
            ),
        )
        return
    if await require_subscriber(update, context) is None:
        return
    context.services.subscriptions.set_skip_empty(chat_id_of(update), args[0] == "skip")
    await reply(
        update,
        context,
        _("Days with nothing new will be skipped silently.")
        if args[0] == "skip"
        else _("On days with nothing new you will get a one-line note."),
    )


def language_keyboard(current: str | None) -> InlineKeyboardMarkup:
    """One button per language the bot speaks (the chosen one ticked), and "automatic"."""
    buttons = [
        InlineKeyboardButton(
            f"{'✅ ' if code == current else ''}{name}", callback_data=f"{LANGUAGE_PREFIX}{code}"
        )
        for code, name in LANGUAGES.items()
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    automatic = f"{'✅ ' if current is None else ''}🌐 Telegram"
    rows.append([InlineKeyboardButton(automatic, callback_data=f"{LANGUAGE_PREFIX}auto")])
    return InlineKeyboardMarkup(rows)


def _language_set(subscriber: Subscriber) -> Text:
    if subscriber.language is None:
        return _("I will follow your Telegram app's language.")
    return _("From now on I will write in {language}.", language=LANGUAGES[subscriber.language])


async def cmd_language(update: Update, context: NewsContext) -> None:
    """Choose the bot's language: a keyboard, or /language de."""
    if not await settings_allowed(update, context):
        return
    subscriber = await require_subscriber(update, context)
    if subscriber is None:
        return
    args = args_of(context)
    if not args:
        await reply(
            update,
            context,
            _("Choose my language (🌐 Telegram: the language of your Telegram app):"),
            reply_markup=language_keyboard(subscriber.language),
        )
        return
    try:
        subscriber = context.services.subscriptions.set_language(chat_id_of(update), " ".join(args))
    except UserError as exc:
        await reply(update, context, exc.text)
        return
    await reply(update, context, _language_set(subscriber))


async def on_language_button(update: Update, context: NewsContext) -> None:
    """A language chosen from the /language keyboard."""
    query = update.callback_query
    assert query is not None
    assert query.data is not None
    if not await is_chat_admin(update, context):
        await answer(
            update, context, _("Only this group's administrators can do that."), alert=True
        )
        return
    try:
        subscriber = context.services.subscriptions.set_language(
            chat_id_of(update), query.data.removeprefix(LANGUAGE_PREFIX)
        )
    except UserError as exc:
        await answer(update, context, exc.text, alert=True)
        return
    await answer(update, context)
    await edit(update, context, _language_set(subscriber))


async def cmd_pause(update: Update, context: NewsContext) -> None:
    """Pause scheduled digests."""
    if not await settings_allowed(update, context):
        return
    if await require_subscriber(update, context) is None:
        return
    context.services.subscriptions.set_status(chat_id_of(update), PAUSED)
    await reply(
        update, context, _("Paused: no daily digests until you send /resume. /digest still works.")
    )


async def cmd_resume(update: Update, context: NewsContext) -> None:
    """Resume scheduled digests."""
    if not await settings_allowed(update, context):
        return
    if await require_subscriber(update, context) is None:
        return
    subscriber = context.services.subscriptions.set_status(chat_id_of(update), ACTIVE)
    language = language_of(update, context)
    await reply(update, context, _with_next(context, subscriber, language, _("Resumed.")))


async def cmd_stop(update: Update, context: NewsContext) -> None:
    """Ask to confirm deleting the chat's data."""
    if not await settings_allowed(update, context):
        return
    if subscriber_of(update, context) is None:
        await reply(
            update, context, _("This chat has no subscription: nothing about it is stored.")
        )
        return
    language = language_of(update, context)
    yes = _("Yes, delete everything").render(language, html_mode=False)
    cancel = _("Cancel").render(language, html_mode=False)
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(yes, callback_data=f"{STOP_PREFIX}yes"),
                InlineKeyboardButton(cancel, callback_data=f"{STOP_PREFIX}no"),
            ]
        ]
    )
    await reply(
        update,
        context,
        _("This stops all digests and deletes your topics, words and history. Are you sure?"),
        reply_markup=keyboard,
    )


async def on_stop_button(update: Update, context: NewsContext) -> None:
    """Delete the chat's data when confirmed."""
    query = update.callback_query
    assert query is not None
    assert query.data is not None
    if not await is_chat_admin(update, context):
        await answer(
            update, context, _("Only this group's administrators can do that."), alert=True
        )
        return
    await answer(update, context)
    if query.data != f"{STOP_PREFIX}yes":
        await edit(update, context, _("Cancelled: nothing was deleted."))
        return
    services = context.services
    chat_id = chat_id_of(update)
    # The answer is written before the deletion: afterwards the chat's language is gone.
    language = language_of(update, context)
    existed = services.subscriptions.delete(chat_id)
    services.admin_cache.forget_chat(chat_id)
    done = (
        _(
            "Done: your data is deleted and no more digests will come. "
            "Send /start any time to begin again."
        )
        if existed
        else _("There was nothing to delete: this chat has no subscription.")
    )
    await edit(update, context, Html(done.render(language)))
