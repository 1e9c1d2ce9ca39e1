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
from telegram.error import TelegramError

from ...delivery.schedule import next_slot
from ...digest.render import (
    clean_text,
    escape,
    local_time,
)
from ...models import Subscriber
from ...services.subscriptions import NOT_SUBSCRIBED
from ..context import NewsContext, Services
from ..updates import ChatOrderedProcessor

logger = logging.getLogger(__name__)


COMMANDS: tuple[tuple[str, str, bool], ...] = (
    ("start", "Start and pick your topics", False),
    ("topics", "Choose topics with buttons", False),
    ("subscribe", "Add topics: /subscribe world science", False),
    ("unsubscribe", "Remove topics: /unsubscribe sport", False),
    ("digest", "Your digest now", False),
    ("summarize", "Summarize a link or text (or reply to a message)", False),
    ("follow", "Always include stories with a word: /follow climate", False),
    ("unfollow", "Stop following a word", False),
    ("exclude", "Leave out stories with a word: /exclude football", False),
    ("unexclude", "Stop excluding a word", False),
    ("keywords", "List followed and excluded words", False),
    ("time", "Daily digest time, 24 h: /time 07:30", False),
    ("timezone", "Your time zone: /timezone Europe/Berlin", False),
    ("empty", "When nothing is new: /empty skip or /empty show", False),
    ("settings", "All your settings", False),
    ("pause", "Pause daily digests", False),
    ("resume", "Resume daily digests", False),
    ("stop", "Stop and delete all your data", False),
    ("help", "What I can do", False),
    ("stats", "Bot statistics (admins)", True),
    ("sources", "Feed health (admins)", True),
)


PUBLIC_COMMANDS = [BotCommand(c, d) for c, d, admin in COMMANDS if not admin]
ALL_COMMANDS = [BotCommand(c, d) for c, d, _ in COMMANDS]

# Pasted text at least this long (or any forwarded text) is summarized without a command.
PASTE_MIN_CHARS = 280
# Telegram shows at most 200 characters in a button's answer.
MAX_ALERT = 200
TOPIC_PREFIX = "t:"
STOP_PREFIX = "stop:"


def help_text(admin: bool = False) -> str:
    """The /help message: every command with its description."""
    lines = [
        "<b>newsdigest</b> sends you a short digest of the day's news, every day at your "
        "time, and summarizes articles on request.",
        "",
    ]
    for command, description, admin_only in COMMANDS:
        if admin_only and not admin:
            continue
        lines.append(f"/{command} · {escape(description)}")
    lines += ["", "You can also send me a link or paste a long text to get a summary."]
    return "\n".join(lines)


def message_of(update: Update) -> Message:
    message = update.effective_message
    assert message is not None  # every handler here is registered for messages
    return message


async def reply(update: Update, text: str, **kwargs: object) -> None:
    await message_of(update).reply_text(
        clean_text(text),
        parse_mode=ParseMode.HTML,
        disable_web_page_preview=True,
        **kwargs,  # type: ignore[arg-type]  # reply_text's keyword arguments, passed through as the caller gave them
    )


def args_of(context: NewsContext) -> list[str]:
    return list(context.args or [])


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


async def settings_allowed(update: Update, context: NewsContext) -> bool:
    if await is_chat_admin(update, context):
        return True
    await reply(update, "Only this group's administrators can change its digest settings.")
    return False


def chat_type_of(update: Update) -> tuple[str, int | None]:
    """What creating this chat's subscription needs: its type and forum thread."""
    chat = update.effective_chat
    assert chat is not None
    return chat.type, thread_of(update)


def subscriber_of(update: Update, context: NewsContext) -> Subscriber | None:
    """The chat's subscription, if it has one (reading never creates one)."""
    return context.services.subscriptions.get(chat_id_of(update))


async def require_subscriber(update: Update, context: NewsContext) -> Subscriber | None:
    """The chat's subscription; without one, the user is told to /start and gets None."""
    subscriber = subscriber_of(update, context)
    if subscriber is None:
        await reply(update, NOT_SUBSCRIBED)
    return subscriber


def topic_keyboard(services: Services, subscriber: Subscriber) -> InlineKeyboardMarkup:
    """One button per topic, ticked when subscribed, two per row, and a Done button."""
    buttons = [
        InlineKeyboardButton(
            f"{'✅' if t.name in subscriber.topics else '▫️'} {t.label}",
            callback_data=f"{TOPIC_PREFIX}{t.name}",
        )
        for t in services.settings.topics
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([InlineKeyboardButton("Done", callback_data=f"{TOPIC_PREFIX}done")])
    return InlineKeyboardMarkup(rows)


def topics_line(services: Services, subscriber: Subscriber) -> str:
    if not subscriber.topics:
        return "all topics (you have not picked any)"
    labels = {t.name: t.label for t in services.settings.topics}
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


def rate_limited(update: Update, context: NewsContext, action: str) -> str | None:
    """The refusal if the user is over the limit; counted at the update's arrival."""
    processor = context.application.update_processor
    arrived = processor.arrived(update) if isinstance(processor, ChatOrderedProcessor) else None
    wait = context.services.rate_limits.hit(action, user_key(update), at=arrived)
    if wait is None:
        return None
    return f"Easy there: you can use /{action} again in {max(1, round(wait))} s."


def text_of(message: Message) -> str:
    # A broken client can send unpaired surrogates, which no encoder downstream accepts.
    return clean_text(message.text or message.caption or "")


def next_digest_line(context: NewsContext, subscriber: Subscriber) -> str:
    if not subscriber.active:
        return "Digests are paused: /resume to restart them."
    slot = next_slot(subscriber, context.services.clock())
    if slot is None:
        return ""
    return f"Next digest: {local_time(slot, subscriber.timezone, context.services.clock())}."


def is_bot_admin(update: Update, context: NewsContext) -> bool:
    user = update.effective_user
    admins = context.services.settings.admin_chat_ids
    return chat_id_of(update) in admins or (user is not None and user.id in admins)
