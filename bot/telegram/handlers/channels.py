"""Channels: /channel (link one, list and switch chats), a forwarded channel post, the
bot's own membership changes, and telling managers when a channel's digests stop.

Linking asks Telegram (``getChatMember``) that the bot is an administrator of the channel
allowed to post, and that the user is an administrator too; later commands re-check the
user (``chats.target_of``).
"""

from __future__ import annotations

import logging
import re

from telegram import (
    Bot,
    ChatFullInfo,
    ChatMember,
    ChatMemberAdministrator,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MessageOriginChannel,
    Update,
)
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import BadRequest, Forbidden, TelegramError

from ...i18n import Html, Text, _, render
from ...models import Channel
from ...services.channels import NOT_MANAGED
from ..context import NewsContext, Services
from . import reading
from .chats import ADMINS, confirmed
from .common import (
    CHANNEL_PREFIX,
    answer,
    args_of,
    edit,
    language_of,
    message_of,
    rate_limited,
    reply,
    topic_keyboard,
)

logger = logging.getLogger(__name__)

# @name, name, t.me/name or a link to it, or the channel's numeric id.
_REFERENCE = re.compile(
    r"^(?:@|(?:https?://)?(?:t|telegram)\.me/)?(?P<name>[A-Za-z][A-Za-z0-9_]{3,31})/?$"
    r"|^(?P<id>-100\d{1,13})$"
)
ASK_AGAIN = _("I could not ask Telegram about that channel just now. Please try again in a minute.")
USAGE = _(
    "Usage: /channel @name links a channel you administer (or forward me one of its "
    "posts); /channel alone lists your chats."
)


def _reference(text: str) -> str | int | None:
    """What ``getChat`` takes for the user's words: ``@name`` or an id; None if neither."""
    match = _REFERENCE.match(text.strip())
    if match is None:
        return None
    return f"@{match['name']}" if match["name"] else int(match["id"])


async def cmd_channel(update: Update, context: NewsContext) -> None:
    """Link a channel (/channel @name), or list the user's chats to switch between."""
    chat = update.effective_chat
    if chat is None or chat.type != ChatType.PRIVATE:
        await reply(update, context, _("Channels are managed in the private chat with me."))
        return
    args = args_of(context)
    if not args:
        await _list_chats(update, context)
        return
    ref = _reference(" ".join(args)) if len(args) == 1 else None
    if ref is None:
        await reply(update, context, USAGE)
        return
    limited = rate_limited(update, context, "channel")
    if limited:
        await reply(update, context, limited)
        return
    await _link(update, context, ref)


def _chats_keyboard(services: Services, user_id: int, language: str) -> InlineKeyboardMarkup:
    selected = services.channels.selected(user_id)
    current = selected.chat_id if selected is not None else user_id
    own = _("This chat (your own digest)").render(language, html_mode=False)
    chats = [(user_id, f"👤 {own}")] + [
        (c.chat_id, f"📢 {c.title}") for c in services.channels.managed_by(user_id)
    ]
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    f"{'✅ ' if chat_id == current else ''}{label}",
                    callback_data=f"{CHANNEL_PREFIX}{chat_id}",
                )
            ]
            for chat_id, label in chats
        ]
    )


def _acting_on(services: Services, user_id: int) -> Text:
    selected = services.channels.selected(user_id)
    if selected is None:
        return _("Your commands act on this chat.")
    return _("Your commands act on the channel {channel}.", channel=selected.title)


async def _list_chats(update: Update, context: NewsContext) -> None:
    user = update.effective_user
    assert user is not None
    services = context.services
    language = language_of(update, context)
    if not services.channels.managed_by(user.id):
        await reply(
            update,
            context,
            _(
                "You manage no channels with me yet. To give a channel its own digest: add me "
                "to the channel as an administrator who may post messages, then send "
                "/channel @name here or forward me a post from the channel."
            ),
        )
        return
    text = Html(
        f"{_acting_on(services, user.id).render(language)}\n"
        + _("Choose the chat to manage:").render(language)
    )
    await reply(update, context, text, reply_markup=_chats_keyboard(services, user.id, language))


async def on_chat_button(update: Update, context: NewsContext) -> None:
    """A chat chosen from the /channel list: the user's commands act on it from now on."""
    query = update.callback_query
    user = update.effective_user
    assert query is not None
    assert query.data is not None
    assert user is not None
    ref = query.data.removeprefix(CHANNEL_PREFIX)
    services = context.services
    chat_id = int(ref) if ref.lstrip("-").isdigit() else None
    channel = services.channels.managed(user.id, chat_id) if chat_id is not None else None
    if chat_id != user.id:
        if channel is None:
            await answer(update, context, NOT_MANAGED, alert=True)
            return
        if not await confirmed(update, context, channel):
            return
    services.channels.select(user.id, user.id if channel is None else channel.chat_id)
    await answer(update, context)
    language = language_of(update, context)
    text = Html(
        f"{_acting_on(services, user.id).render(language)}\n"
        + _("Choose the chat to manage:").render(language)
    )
    await edit(update, context, text, reply_markup=_chats_keyboard(services, user.id, language))


# --- linking ------------------------------------------------------------------------------


async def _bot_may_post(bot: Bot, chat_id: int) -> bool:
    member = await bot.get_chat_member(chat_id, bot.id)
    if isinstance(member, ChatMemberAdministrator):
        return member.can_post_messages is not False
    return member.status == ChatMemberStatus.OWNER


async def _find(update: Update, context: NewsContext, ref: str | int) -> ChatFullInfo | None:
    """The channel ``ref`` names, or None once the user was told why not."""
    shown = ref if isinstance(ref, str) else str(ref)
    try:
        chat = await context.bot.get_chat(ref)
    except (BadRequest, Forbidden):
        await reply(
            update,
            context,
            _(
                "I can't find the channel {channel}. Check the name; a private channel I am "
                "not in yet can only be linked by forwarding me one of its posts after you "
                "add me as an administrator.",
                channel=shown,
            ),
        )
        return None
    if chat.type != ChatType.CHANNEL:
        await reply(
            update,
            context,
            _(
                "{chat} is not a channel. A group gets its digest by adding me to the group "
                "and sending /start there.",
                chat=chat.title or shown,
            ),
        )
        return None
    return chat


async def _link(update: Update, context: NewsContext, ref: str | int) -> None:
    """Link the channel ``ref`` names, after checking both the bot's and the user's rights."""
    try:
        chat = await _find(update, context, ref)
        if chat is None:
            return
        if not await _bot_may_post(context.bot, chat.id):
            await reply(
                update,
                context,
                _(
                    "I am not an administrator of {channel} who may post messages. Add me to "
                    "the channel as an administrator with the right to post, then try again.",
                    channel=chat.title or str(ref),
                ),
            )
            return
        await _link_checked(update, context, chat.id, chat.title or str(ref), chat.username)
    except TelegramError as exc:
        logger.warning("could not check channel %s: %s", ref, exc.message)
        await reply(
            update,
            context,
            ASK_AGAIN,
        )


async def _link_checked(
    update: Update, context: NewsContext, chat_id: int, title: str, username: str | None
) -> None:
    """The bot may post in the channel: link it if Telegram says the user is an admin."""
    user = update.effective_user
    assert user is not None
    member = await context.bot.get_chat_member(chat_id, user.id)
    if member.status not in ADMINS:
        await reply(
            update,
            context,
            _(
                "Only administrators of {channel} can manage its digest, and Telegram says you "
                "are not one.",
                channel=title,
            ),
        )
        return
    services = context.services
    services.admin_cache.put(chat_id, user.id, True, services.clock())
    linked = services.channels.link(user.id, chat_id, title, username, user.language_code)
    language = language_of(update, context)
    subscriber = linked.subscriber
    text = _(
        "Linked {channel}. Its digest will be posted there daily at {times} ({zone}).\n"
        "Your commands here now act on the channel: pick its topics below, or use /time, "
        "/timezone, /language… Send /channel to switch back to this chat.",
        channel=title,
        times=", ".join(subscriber.times),
        zone=subscriber.timezone,
    )
    keyboard = topic_keyboard(services, subscriber, language, f"@{chat_id}")
    await reply(update, context, text, reply_markup=keyboard)


async def on_forward(update: Update, context: NewsContext) -> None:
    """A forwarded message: a post of a channel where the bot is an administrator links
    the channel (once); any other forward is summarized, as before."""
    message = message_of(update)
    origin = message.forward_origin
    user = update.effective_user
    if isinstance(origin, MessageOriginChannel) and user is not None:
        channel = origin.chat
        # Over the limit, a forward is only summarized: Telegram is not asked about it.
        if context.services.channels.managed(user.id, channel.id) is None and not (
            rate_limited(update, context, "channel")
        ):
            try:
                may_post = await _bot_may_post(context.bot, channel.id)
            except TelegramError:  # the bot is not in that channel: an ordinary forward
                may_post = False
            if may_post:
                try:
                    title = channel.title or str(channel.id)
                    await _link_checked(update, context, channel.id, title, channel.username)
                except TelegramError as exc:
                    logger.warning("could not check channel %s: %s", channel.id, exc.message)
                    await reply(
                        update,
                        context,
                        ASK_AGAIN,
                    )
                return
    await reading.on_text(update, context)


# --- the bot's membership -----------------------------------------------------------------


def _may_post(member: ChatMember) -> bool:
    return isinstance(member, ChatMemberAdministrator) and member.can_post_messages is not False


async def on_membership(update: Update, context: NewsContext) -> None:
    """The bot's rights in a chat changed: a linked channel where it can no longer post
    has its digests paused and its managers told; where it may post again, its managers
    are told how to resume."""
    change = update.my_chat_member
    if change is None or change.chat.type != ChatType.CHANNEL:
        return
    services = context.services
    if not _may_post(change.new_chat_member):
        await channel_lost(context.bot, services, change.chat.id)
        return
    channel = services.channels.paused(change.chat.id)
    if channel is not None and not _may_post(change.old_chat_member):
        text = _(
            "I can post in {channel} again. Its digests are still paused: choose the channel "
            "with /channel and send /resume.",
            channel=channel.title,
        )
        for manager in channel.managers:
            await _note(context.bot, services, channel, manager, text)


async def channel_lost(bot: Bot, services: Services, chat_id: int) -> bool:
    """The bot cannot post to ``chat_id`` any more: if it is a linked channel, its digests
    are paused and each manager gets a note. True if it was a linked channel."""
    if not services.channels.is_channel(chat_id):
        return False
    channel = services.channels.lost(chat_id)
    if channel is not None:
        text = _(
            "I can no longer post in {channel}: I was removed or am no longer an "
            "administrator allowed to post. Its digests are paused, and its settings are "
            "kept. To resume them, make me an administrator again, choose the channel with "
            "/channel and send /resume.",
            channel=channel.title,
        )
        for manager in channel.managers:
            await _note(bot, services, channel, manager, text)
    return True


async def _note(bot: Bot, services: Services, channel: Channel, user_id: int, text: Text) -> None:
    """Tell a channel's manager something, in their language, in their private chat."""
    language = services.channels.language_for(channel, user_id)
    try:
        await bot.send_message(user_id, render(text, language), parse_mode="HTML")
    except TelegramError as exc:  # the user blocked the bot, or never wrote to it
        logger.info("could not tell user %s about channel %s: %s", user_id, channel.chat_id, exc)
