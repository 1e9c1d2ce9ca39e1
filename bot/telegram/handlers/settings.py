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
from .chats import (
    Target,
    button_target,
    edit_on,
    reply_on,
    require_subscriber,
    subscriber_of,
    target_of,
)
from .common import (
    LANGUAGE_PREFIX,
    STOP_PREFIX,
    answer,
    args_of,
    language_of,
    next_digest_line,
    reply,
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
    target = await target_of(update, context, change=True)
    if target is None:
        return
    if await require_subscriber(update, context, target) is None:
        return
    try:
        subscriber = context.services.subscriptions.set_times(target.chat_id, args_of(context))
    except UserError as exc:
        await reply_on(update, context, target, exc.text)
        return
    language = language_of(update, context)
    text = _(
        "Your digest will arrive daily at {times} ({zone}).",
        times=", ".join(subscriber.times),
        zone=subscriber.timezone,
    )
    await reply_on(update, context, target, _with_next(context, subscriber, language, text))


async def cmd_timezone(update: Update, context: NewsContext) -> None:
    """Set the time zone."""
    target = await target_of(update, context, change=True)
    if target is None:
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
    if await require_subscriber(update, context, target) is None:
        return
    try:
        subscriber = context.services.subscriptions.set_timezone(target.chat_id, " ".join(args))
    except UserError as exc:
        await reply_on(update, context, target, exc.text)
        return
    language = language_of(update, context)
    text = _("Time zone set to {zone}.", zone=subscriber.timezone)
    await reply_on(update, context, target, _with_next(context, subscriber, language, text))


def _status(subscriber: Subscriber) -> Text | str:
    if subscriber.status == ACTIVE:
        return _("active")
    if subscriber.status == PAUSED:
        return _("paused (/resume to restart)")
    return subscriber.status


async def cmd_settings(update: Update, context: NewsContext) -> None:
    """Everything about this chat's subscription in one message."""
    target = await target_of(update, context, change=False)
    if target is None:
        return
    subscriber = subscriber_of(context, target)
    if subscriber is None:
        await reply_on(
            update,
            context,
            target,
            _(
                "This chat has no subscription, and nothing about it is stored. "
                "Send /start to begin one."
            ),
        )
        return
    services = context.services
    language = language_of(update, context)
    chosen = LANGUAGES.get(subscriber.language or "")
    # A channel has no Telegram app: its digests are in the language of whoever linked it.
    automatic = subscriber.digest_language if target.channel is not None else language
    lines = [
        _("<b>Your settings</b>"),
        _("Topics: {topics}", topics=topics_line(services, subscriber, language)),
        # Whole lines when empty: "none" agrees with "words" in some languages (ninguna).
        _("Following: {words}", words=", ".join(subscriber.follow))
        if subscriber.follow
        else _("Following: none"),
        _("Excluding: {words}", words=", ".join(subscriber.exclude))
        if subscriber.exclude
        else _("Excluding: none"),
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
        else _(
            "Language: {language} (that of whoever linked the channel)",
            language=LANGUAGES[automatic],
        )
        if target.channel is not None
        else _("Language: {language} (your Telegram app's)", language=LANGUAGES[automatic]),
    ]
    if subscriber.feeds and services.settings.user_feeds:
        lines.append(_("Own feeds: {count} (/feeds)", count=len(subscriber.feeds)))
    following = next_digest_line(context, subscriber, language)
    if following is not None:
        lines.append(following)
    text = Html("\n".join(line.render(language) for line in lines))
    await reply_on(update, context, target, text)


async def cmd_empty(update: Update, context: NewsContext) -> None:
    """Choose what happens when a digest has nothing new."""
    target = await target_of(update, context, change=True)
    if target is None:
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
    if await require_subscriber(update, context, target) is None:
        return
    context.services.subscriptions.set_skip_empty(target.chat_id, args[0] == "skip")
    await reply_on(
        update,
        context,
        target,
        _("Days with nothing new will be skipped silently.")
        if args[0] == "skip"
        else _("On days with nothing new you will get a one-line note."),
    )


def language_keyboard(current: str | None, suffix: str = "") -> InlineKeyboardMarkup:
    """One button per language the bot speaks (the chosen one ticked), and "automatic"
    (``suffix``: the channel the buttons are about, see ``chats.Target``)."""
    buttons = [
        InlineKeyboardButton(
            f"{'✅ ' if code == current else ''}{name}",
            callback_data=f"{LANGUAGE_PREFIX}{code}{suffix}",
        )
        for code, name in LANGUAGES.items()
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    automatic = f"{'✅ ' if current is None else ''}🌐 Telegram"
    rows.append([InlineKeyboardButton(automatic, callback_data=f"{LANGUAGE_PREFIX}auto{suffix}")])
    return InlineKeyboardMarkup(rows)


def _language_set(subscriber: Subscriber, channel: bool) -> Text:
    if channel and subscriber.language is None:
        return _(
            "The channel's digests will be in {language}, the language of whoever linked it.",
            language=LANGUAGES[subscriber.digest_language],
        )
    if channel:
        return _(
            "The channel's digests will be in {language}.",
            language=LANGUAGES[subscriber.digest_language],
        )
    if subscriber.language is None:
        return _("I will follow your Telegram app's language.")
    return _("From now on I will write in {language}.", language=LANGUAGES[subscriber.language])


async def cmd_language(update: Update, context: NewsContext) -> None:
    """Choose the bot's language: a keyboard, or /language de."""
    target = await target_of(update, context, change=True)
    if target is None:
        return
    subscriber = await require_subscriber(update, context, target)
    if subscriber is None:
        return
    args = args_of(context)
    if not args:
        await reply_on(
            update,
            context,
            target,
            _("Choose the channel's language (🌐 Telegram: that of whoever linked it):")
            if target.channel is not None
            else _("Choose my language (🌐 Telegram: the language of your Telegram app):"),
            reply_markup=language_keyboard(subscriber.language, target.suffix),
        )
        return
    try:
        subscriber = context.services.subscriptions.set_language(target.chat_id, " ".join(args))
    except UserError as exc:
        await reply_on(update, context, target, exc.text)
        return
    await reply_on(update, context, target, _language_set(subscriber, target.channel is not None))


async def on_language_button(update: Update, context: NewsContext) -> None:
    """A language chosen from the /language keyboard."""
    found = await button_target(update, context, LANGUAGE_PREFIX)
    if found is None:
        return
    target, code = found
    try:
        subscriber = context.services.subscriptions.set_language(target.chat_id, code)
    except UserError as exc:
        await answer(update, context, exc.text, alert=True)
        return
    await answer(update, context)
    await edit_on(update, context, target, _language_set(subscriber, target.channel is not None))


async def cmd_pause(update: Update, context: NewsContext) -> None:
    """Pause scheduled digests."""
    target = await target_of(update, context, change=True)
    if target is None:
        return
    if await require_subscriber(update, context, target) is None:
        return
    context.services.subscriptions.set_status(target.chat_id, PAUSED)
    await reply_on(
        update,
        context,
        target,
        _("Paused: no daily digests until you send /resume. /digest still works."),
    )


async def cmd_resume(update: Update, context: NewsContext) -> None:
    """Resume scheduled digests."""
    target = await target_of(update, context, change=True)
    if target is None:
        return
    if await require_subscriber(update, context, target) is None:
        return
    subscriber = context.services.subscriptions.set_status(target.chat_id, ACTIVE)
    language = language_of(update, context)
    text = _with_next(context, subscriber, language, _("Resumed."))
    await reply_on(update, context, target, text)


async def cmd_stop(update: Update, context: NewsContext) -> None:
    """Ask to confirm deleting the chat's data."""
    target = await target_of(update, context, change=True)
    if target is None:
        return
    if subscriber_of(context, target) is None:
        await reply_on(
            update, context, target, _("This chat has no subscription: nothing about it is stored.")
        )
        return
    language = language_of(update, context)
    yes = _("Yes, delete everything").render(language, html_mode=False)
    cancel = _("Cancel").render(language, html_mode=False)
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(yes, callback_data=f"{STOP_PREFIX}yes{target.suffix}"),
                InlineKeyboardButton(cancel, callback_data=f"{STOP_PREFIX}no{target.suffix}"),
            ]
        ]
    )
    question = (
        _(
            "This stops the channel's digests and deletes its topics, words, feeds and "
            "history. Are you sure?"
        )
        if target.channel is not None
        else _(
            "This stops all digests and deletes your topics, words, feeds and history. "
            "Are you sure?"
        )
    )
    await reply_on(update, context, target, question, reply_markup=keyboard)


def _deleted(target: Target, existed: bool) -> Text:
    if not existed:
        return _("There was nothing to delete: this chat has no subscription.")
    if target.channel is not None:
        return _(
            "Done: the channel's data is deleted and no more digests will be posted there. "
            "Your commands act on this chat again."
        )
    return _(
        "Done: your data is deleted and no more digests will come. "
        "Send /start any time to begin again."
    )


async def on_stop_button(update: Update, context: NewsContext) -> None:
    """Delete the chat's data when confirmed."""
    found = await button_target(update, context, STOP_PREFIX)
    if found is None:
        return
    target, choice = found
    await answer(update, context)
    if choice != "yes":
        await edit_on(update, context, target, _("Cancelled: nothing was deleted."))
        return
    services = context.services
    # The answer is written before the deletion: afterwards the chat's language is gone.
    language = language_of(update, context)
    existed = services.subscriptions.delete(target.chat_id)
    services.admin_cache.forget_chat(target.chat_id)
    await edit_on(update, context, target, Html(_deleted(target, existed).render(language)))
