"""Everything else: /help, unknown commands and buttons, private mode, unblocking, errors."""

from __future__ import annotations

import contextlib
import logging

from telegram import (
    Update,
)
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop

from ...digest.render import (
    clean_text,
    clip,
)
from ...i18n import _, supported
from ...store import StoreWriteError
from ..context import NewsContext
from .common import (
    MAX_ALERT,
    answer,
    chat_id_of,
    help_text,
    language_of,
    message_of,
    reply,
    text_of,
)

logger = logging.getLogger(__name__)


async def cmd_help(update: Update, context: NewsContext) -> None:
    """List the commands."""
    admin = chat_id_of(update) in context.services.settings.admin_chat_ids
    await reply(update, context, help_text(language_of(update, context), admin=admin))


async def on_unknown_command(update: Update, context: NewsContext) -> None:
    """Answer commands the bot does not know."""
    text = text_of(message_of(update)).split()[0] if text_of(message_of(update)) else "/"
    name, at, addressee = text.partition("@")
    if at and addressee.lower() != (context.bot.username or "").lower():
        return  # a command for another bot of the group: not ours to answer
    command = clip(name, 40)
    await reply(
        update,
        context,
        _("Sorry, I don't know {command}. /help lists what I can do.", command=command),
    )


async def on_other_message(update: Update, context: NewsContext) -> None:
    """A private message the bot cannot use (a photo, a sticker, a voice note, a file
    other than a feed list): one line saying what it reads, instead of silence."""
    await reply(
        update,
        context,
        _(
            "I can't use this kind of message. Send me text or a link to summarize, or a "
            ".opml or .xml file to import feeds. /help lists what I can do."
        ),
    )


async def on_unknown_button(update: Update, context: NewsContext) -> None:
    """A button the bot no longer knows (an old message, forged data): answer it anyway,
    so the user's client stops waiting."""
    await answer(
        update, context, _("This button no longer works. Send /help to see what I can do.")
    )


async def note_contact(update: Update, context: NewsContext) -> None:
    """A chat that writes to the bot has unblocked it: its digests resume if they had
    stopped for that reason (nothing is created here)."""
    chat = update.effective_chat
    if chat is None or chat.type == ChatType.CHANNEL:  # a channel never writes to the bot
        return
    user = update.effective_user
    app_language = (
        user.language_code if user is not None and chat.type == ChatType.PRIVATE else None
    )
    context.services.subscriptions.heard_from(chat.id, supported(app_language))


async def gate_private_mode(update: Update, context: NewsContext) -> None:
    """Private mode: chats not on the allowlist are answered once per update and ignored."""
    services = context.services
    allowed = services.settings.allowed_chat_ids
    chat = update.effective_chat
    if not allowed or chat is None:
        return
    user = update.effective_user
    if (
        chat.id in allowed
        or chat.id in services.settings.admin_chat_ids
        or (
            user is not None and (user.id in allowed or user.id in services.settings.admin_chat_ids)
        )
    ):
        return
    if update.effective_message is not None and chat.type == ChatType.PRIVATE:
        await reply(
            update, context, _("This is a private newsdigest bot. Ask its owner to add you.")
        )
    elif update.callback_query is not None:
        await answer(update, context, _("This is a private bot."))
    raise ApplicationHandlerStop


async def on_error(update: object, context: NewsContext) -> None:
    """Log anything unexpected, and tell the user something went wrong."""
    error = context.error
    logger.error("error while handling an update", exc_info=error)
    if isinstance(error, StoreWriteError):
        text = _(
            "Sorry, I could not save that: the bot's storage cannot be written right now "
            "(its disk may be full or read-only). Nothing was changed; please try again "
            "later."
        )
    else:
        text = _("Sorry, something went wrong on my side. It has been logged; please try again.")
    if not isinstance(update, Update):
        return
    try:
        language = language_of(update, context)
    except Exception:  # the store itself may be what failed
        user = update.effective_user
        language = supported(user.language_code if user else None) or "en"
    shown = text.render(language, html_mode=False)
    with contextlib.suppress(TelegramError):
        if update.callback_query is not None:
            await update.callback_query.answer(shown[:MAX_ALERT], show_alert=True)
        elif update.effective_message is not None:
            await update.effective_message.reply_text(clean_text(shown))
