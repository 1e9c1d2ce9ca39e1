"""Shared by every handler: replying, reading the update, who may change what, the command list."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.constants import ChatAction, ChatMemberStatus, ChatType, ParseMode
from telegram.error import BadRequest, TelegramError

from ...delivery.schedule import next_slot
from ...digest.render import (
    clean_text,
    local_time,
)
from ...i18n import Text, _, render
from ...models import Subscriber
from ..context import NewsContext, Services
from ..updates import ChatOrderedProcessor

logger = logging.getLogger(__name__)


COMMANDS: tuple[tuple[str, Text, bool], ...] = (
    ("start", _("Start and pick your topics"), False),
    ("topics", _("Choose topics with buttons"), False),
    ("subscribe", _("Add topics: /subscribe world science"), False),
    ("unsubscribe", _("Remove topics: /unsubscribe sport"), False),
    ("digest", _("Your digest now"), False),
    ("summarize", _("Summarize a link or text (or reply to a message)"), False),
    ("follow", _("Always include stories with a word: /follow climate"), False),
    ("unfollow", _("Stop following a word"), False),
    ("exclude", _("Leave out stories with a word: /exclude football"), False),
    ("unexclude", _("Stop excluding a word"), False),
    ("keywords", _("List followed and excluded words"), False),
    ("time", _("Daily digest time, 24 h: /time 07:30"), False),
    ("timezone", _("Your time zone: /timezone Europe/Berlin"), False),
    ("empty", _("When nothing is new: /empty skip or /empty show"), False),
    ("language", _("The bot's language: /language de"), False),
    ("channel", _("Your channels: /channel @name links one, /channel switches"), False),
    ("addfeed", _("Add your own feed: /addfeed https://example.org/feed"), False),
    ("feeds", _("Your own feeds and how they are doing"), False),
    ("removefeed", _("Remove one of your feeds"), False),
    ("export", _("Your feeds as an OPML file"), False),
    ("settings", _("All your settings"), False),
    ("pause", _("Pause daily digests"), False),
    ("resume", _("Resume daily digests"), False),
    ("stop", _("Stop and delete all your data"), False),
    ("help", _("What I can do"), False),
    ("stats", _("Bot statistics (admins)"), True),
    ("sources", _("Feed health (admins)"), True),
)


def command_menu(language: str, *, admin: bool = False) -> list[BotCommand]:
    """The command menu in a language (with the admins' commands if ``admin``)."""
    return [
        BotCommand(name, description.render(language, html_mode=False))
        for name, description, admin_only in COMMANDS
        if admin or not admin_only
    ]


# Telegram shows at most 200 characters in a button's answer.
MAX_ALERT = 200
TOPIC_PREFIX = "t:"
STOP_PREFIX = "stop:"
LANGUAGE_PREFIX = "lang:"
CHANNEL_PREFIX = "ch:"
REMOVE_FEED_PREFIX = "rmfeed:"


def help_text(language: str, admin: bool = False) -> str:
    """The /help message: every command with its description."""
    lines = [
        _(
            "<b>newsdigest</b> sends you a short digest of the day's news, every day at your "
            "time, and summarizes articles on request."
        ).render(language),
        "",
    ]
    for command, description, admin_only in COMMANDS:
        if admin_only and not admin:
            continue
        lines.append(f"/{command} · {description.render(language)}")
    lines += [
        "",
        _("You can also send me a link or paste a long text to get a summary.").render(language),
        _("Send me an OPML file (.opml or .xml) from a feed reader to add all its feeds.").render(
            language
        ),
    ]
    return "\n".join(lines)


def message_of(update: Update) -> Message:
    message = update.effective_message
    assert message is not None  # every handler here is registered for messages
    return message


def language_of(update: Update, context: NewsContext) -> str:
    """The language to answer this update in (see ``Subscriptions.language_of``)."""
    chat = update.effective_chat
    user = update.effective_user
    subscriptions = context.services.subscriptions
    return subscriptions.language_of(
        subscriptions.get(chat.id) if chat is not None else None,
        user.language_code if user is not None else None,
        private=chat is None or chat.type == ChatType.PRIVATE,
    )


async def reply(update: Update, context: NewsContext, text: Text | str, **kwargs: object) -> None:
    """Answer in the chat, in its language (a ``str`` is Telegram HTML already rendered)."""
    await message_of(update).reply_text(
        clean_text(render(text, language_of(update, context))),
        parse_mode=ParseMode.HTML,
        disable_web_page_preview=True,
        **kwargs,  # type: ignore[arg-type]  # reply_text's keyword arguments, passed through as the caller gave them
    )


# Characters a copy from a web page brings along unseen: zero-width space, word joiner,
# byte-order mark, left-to-right and right-to-left marks.
_UNSEEN = dict.fromkeys(map(ord, "\u200b\u2060\ufeff\u200e\u200f"), None)


def args_of(context: NewsContext) -> list[str]:
    """The words of a command, cleaned as its text is (``text_of``), without the
    invisible characters a copied word may carry ("Europe/Berlin" + a zero-width space
    is a zone)."""
    words = (clean_text(arg).translate(_UNSEEN) for arg in context.args or [])
    return [word for word in words if word]


def chat_id_of(update: Update) -> int:
    chat = update.effective_chat
    assert chat is not None
    return chat.id


def thread_of(update: Update) -> int | None:
    message = update.effective_message
    if message is not None and message.is_topic_message:
        return message.message_thread_id
    return None


async def is_chat_admin(update: Update, context: NewsContext) -> bool:
    """True in private chats, and for a group's administrators (anonymous ones included)."""
    chat = update.effective_chat
    if chat is None or chat.type == ChatType.PRIVATE:
        return True
    message = update.effective_message
    if message is not None and message.sender_chat is not None:
        return message.sender_chat.id == chat.id
    user = update.effective_user
    if user is None:
        return False
    services = context.services
    now = services.clock()
    cached = services.admin_cache.get(chat.id, user.id, now)
    if cached is not None:
        return cached
    try:
        member = await context.bot.get_chat_member(chat.id, user.id)
    except TelegramError:
        logger.warning("could not check admin rights in %s", chat.id, exc_info=True)
        return False
    allowed = member.status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)
    services.admin_cache.put(chat.id, user.id, allowed, now)
    return allowed


async def answer(
    update: Update, context: NewsContext, text: Text | None = None, *, alert: bool = False
) -> None:
    """Answer a button press (a short plain text, in the chat's language, or nothing)."""
    query = update.callback_query
    assert query is not None
    shown = None if text is None else render(text, language_of(update, context), html_mode=False)
    await query.answer(shown[:MAX_ALERT] if shown else None, show_alert=alert)


@contextlib.asynccontextmanager
async def _unless_unchanged() -> AsyncIterator[None]:
    """Telegram refuses an edit that changes nothing ("message is not modified"): a
    button pressed on a message that already shows its result (an older keyboard, a
    double tap). The message is as it should be, so that is no error."""
    try:
        yield
    except BadRequest as exc:
        if "not modified" not in exc.message.lower():
            raise


async def edit(update: Update, context: NewsContext, text: Text | str, **kwargs: object) -> None:
    """Replace the text of the message whose button was pressed, in the chat's language."""
    query = update.callback_query
    assert query is not None
    async with _unless_unchanged():
        await query.edit_message_text(
            clean_text(render(text, language_of(update, context))),
            parse_mode=ParseMode.HTML,
            **kwargs,  # type: ignore[arg-type]  # edit_message_text's keyword arguments, passed through
        )


async def edit_buttons(update: Update, markup: InlineKeyboardMarkup) -> None:
    """Replace the buttons of the message whose button was pressed."""
    query = update.callback_query
    assert query is not None
    async with _unless_unchanged():
        await query.edit_message_reply_markup(markup)


async def settings_allowed(update: Update, context: NewsContext) -> bool:
    if await is_chat_admin(update, context):
        return True
    await reply(
        update, context, _("Only this group's administrators can change its digest settings.")
    )
    return False


def topic_keyboard(
    services: Services, subscriber: Subscriber, language: str, suffix: str = ""
) -> InlineKeyboardMarkup:
    """One button per topic, ticked when subscribed, two per row, and a Done button
    (``suffix``: the channel the buttons are about, see ``chats.Target``)."""
    buttons = [
        InlineKeyboardButton(
            f"{'✅' if t.name in subscriber.topics else '▫️'} {t.label_in(language)}",
            callback_data=f"{TOPIC_PREFIX}{t.name}{suffix}",
        )
        for t in services.settings.topics
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    done = _("Done").render(language, html_mode=False)
    rows.append([InlineKeyboardButton(done, callback_data=f"{TOPIC_PREFIX}done{suffix}")])
    return InlineKeyboardMarkup(rows)


def topics_line(services: Services, subscriber: Subscriber, language: str) -> Text | str:
    if not subscriber.topics:
        return _("all topics (you have not picked any)")
    labels = {t.name: t.label_in(language) for t in services.settings.topics}
    return ", ".join(labels.get(t, t) for t in subscriber.topics)


@contextlib.asynccontextmanager
async def typing(update: Update, context: NewsContext) -> AsyncIterator[None]:
    """Show "typing…" in the chat until the block ends (Telegram clears it after 5 s)."""
    chat_id, thread_id = chat_id_of(update), thread_of(update)

    async def keep_typing() -> None:
        while True:
            await asyncio.sleep(4.5)
            with contextlib.suppress(TelegramError):
                await context.bot.send_chat_action(
                    chat_id, ChatAction.TYPING, message_thread_id=thread_id
                )

    # The first action is sent before the work starts, so it never arrives after the reply.
    with contextlib.suppress(TelegramError):
        await context.bot.send_chat_action(chat_id, ChatAction.TYPING, message_thread_id=thread_id)
    task = asyncio.create_task(keep_typing())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def user_key(update: Update) -> int:
    user = update.effective_user
    return user.id if user is not None else chat_id_of(update)


def rate_limited(update: Update, context: NewsContext, action: str) -> Text | None:
    """The refusal if the user is over the limit; counted at the update's arrival."""
    processor = context.application.update_processor
    arrived = processor.arrived(update) if isinstance(processor, ChatOrderedProcessor) else None
    wait = context.services.rate_limits.hit(action, user_key(update), at=arrived)
    if wait is None:
        return None
    seconds = max(1, round(wait))
    if action == "feeds":  # /addfeed and lists of feeds sent as files share the limit
        return _("Easy there: you can add feeds again in {seconds} s.", seconds=seconds)
    return _(
        "Easy there: you can use /{command} again in {seconds} s.", command=action, seconds=seconds
    )


def text_of(message: Message) -> str:
    # A broken client can send unpaired surrogates, which no encoder downstream accepts.
    return clean_text(message.text or message.caption or "")


def next_digest_line(context: NewsContext, subscriber: Subscriber, language: str) -> Text | None:
    if not subscriber.active:
        return _("Digests are paused: /resume to restart them.")
    slot = next_slot(subscriber, context.services.clock())
    if slot is None:
        return None
    when = local_time(slot, subscriber.timezone, context.services.clock(), language)
    return _("Next digest: {when}.", when=when)


def is_bot_admin(update: Update, context: NewsContext) -> bool:
    user = update.effective_user
    admins = context.services.settings.admin_chat_ids
    return chat_id_of(update) in admins or (user is not None and user.id in admins)
