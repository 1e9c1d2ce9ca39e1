"""Which chat a command acts on: the one place that decides it.

In a group a command acts on the group (its settings only for its administrators). In a
private chat it acts on the chat the user selected with /channel: their own, or a channel
they manage. A channel is acted on only while Telegram says the user is one of its
administrators: the answer of ``getChatMember`` is remembered for a few minutes
(``AdminCache``), and a user who is no longer an administrator stops managing the channel.
When Telegram cannot be asked (a network fault, or the bot was removed from the channel,
whose digests are then paused), the managers recorded at the last check keep managing it:
otherwise nobody could /stop a channel the bot was thrown out of.

Buttons carry the channel they are about (``t:world@-100123``): a button acts on the chat
its message was about, whatever is selected when it is pressed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import TelegramError

from ...i18n import Html, Text, _, render
from ...models import Channel, Subscriber
from ...services.subscriptions import NOT_SUBSCRIBED
from ..context import NewsContext
from .common import (
    answer,
    edit,
    is_chat_admin,
    language_of,
    reply,
    settings_allowed,
    thread_of,
)

logger = logging.getLogger(__name__)

ADMINS = (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)


@dataclass(frozen=True)
class Target:
    """The chat a command or button acts on; ``channel`` when it is a linked channel
    managed from the private chat the command came from."""

    chat_id: int
    chat_type: str
    thread_id: int | None = None
    channel: Channel | None = None

    @property
    def create(self) -> tuple[str, int | None]:
        """What creating this chat's subscription needs: its type and forum thread."""
        return self.chat_type, self.thread_id

    @property
    def suffix(self) -> str:
        """What this chat's buttons add to their data (nothing for the chat itself)."""
        return f"@{self.chat_id}" if self.channel is not None else ""


def here(update: Update) -> Target:
    """The chat the update came from."""
    chat = update.effective_chat
    assert chat is not None
    return Target(chat.id, chat.type, thread_of(update))


async def user_is_admin(context: NewsContext, chat_id: int, user_id: int) -> bool | None:
    """Telegram's answer, remembered for a few minutes; None if Telegram cannot say."""
    services = context.services
    now = services.clock()
    cached = services.admin_cache.get(chat_id, user_id, now)
    if cached is not None:
        return cached
    try:
        member = await context.bot.get_chat_member(chat_id, user_id)
    except TelegramError as exc:
        logger.info("could not check admin rights in %s: %s", chat_id, exc.message)
        return None
    allowed = member.status in ADMINS
    services.admin_cache.put(chat_id, user_id, allowed, now)
    return allowed


async def confirmed(update: Update, context: NewsContext, channel: Channel) -> bool:
    """Whether the user may act on the channel; if not, they stop managing it and are told
    (``answer`` for a button, a reply for a command)."""
    user = update.effective_user
    assert user is not None
    if await user_is_admin(context, channel.chat_id, user.id) is not False:
        return True
    context.services.channels.forget_manager(channel.chat_id, user.id)
    text = _(
        "Telegram says you are no longer an administrator of {channel}, so you can't manage "
        "it here any more. Your commands act on this chat again.",
        channel=channel.title,
    )
    if update.callback_query is not None:
        await answer(update, context, text, alert=True)
    else:
        await reply(update, context, text)
    return False


async def target_of(update: Update, context: NewsContext, *, change: bool) -> Target | None:
    """The chat a command acts on, or None once the user was told why there is none
    (``change``: the command changes settings, which only a group's admins may do)."""
    chat = update.effective_chat
    user = update.effective_user
    if chat is None or chat.type != ChatType.PRIVATE or user is None:
        if change and not await settings_allowed(update, context):
            return None
        return here(update)
    channel = context.services.channels.selected(user.id)
    if channel is None:
        return here(update)
    if not await confirmed(update, context, channel):
        return None
    return Target(channel.chat_id, "channel", None, channel)


# What a group member who is not an admin is told when pressing a settings button.
ADMINS_ONLY = _("Only this group's administrators can do that.")


async def button_target(
    update: Update, context: NewsContext, prefix: str, refusal: Text = ADMINS_ONLY
) -> tuple[Target, str] | None:
    """The chat a pressed button acts on and the button's own data (its callback data
    without ``prefix``); None once the presser was answered why not (``refusal`` in a
    group)."""
    query = update.callback_query
    assert query is not None
    data, _at, ref = (query.data or "").removeprefix(prefix).partition("@")
    user = update.effective_user
    chat = update.effective_chat
    if not ref:
        if not await is_chat_admin(update, context):
            await answer(update, context, refusal, alert=True)
            return None
        return here(update), data
    channel = None
    private = chat is not None and chat.type == ChatType.PRIVATE
    if ref.lstrip("-").isdigit() and user is not None and private:
        channel = context.services.channels.managed(user.id, int(ref))
    if channel is None:
        await answer(
            update, context, _("You don't manage that channel with me any more."), alert=True
        )
        return None
    if not await confirmed(update, context, channel):
        return None
    return Target(channel.chat_id, "channel", None, channel), data


def about(target: Target, text: Text | str, language: str) -> Text | str:
    """The text, headed by the channel's name when the target is a channel."""
    if target.channel is None:
        return text
    head = _("📢 Channel <b>{channel}</b>:", channel=target.channel.title).render(language)
    return Html(f"{head}\n{render(text, language)}")


async def reply_on(
    update: Update, context: NewsContext, target: Target, text: Text | str, **kwargs: object
) -> None:
    """Reply about the target (saying which channel when it is one)."""
    await reply(update, context, about(target, text, language_of(update, context)), **kwargs)


async def edit_on(
    update: Update, context: NewsContext, target: Target, text: Text | str, **kwargs: object
) -> None:
    """Edit a button's message about the target (saying which channel when it is one)."""
    await edit(update, context, about(target, text, language_of(update, context)), **kwargs)


def subscriber_of(context: NewsContext, target: Target) -> Subscriber | None:
    """The target's subscription, if it has one (reading never creates one)."""
    return context.services.subscriptions.get(target.chat_id)


async def require_subscriber(
    update: Update, context: NewsContext, target: Target
) -> Subscriber | None:
    """The target's subscription; without one, the user is told to /start and gets None."""
    subscriber = subscriber_of(context, target)
    if subscriber is None:
        await reply_on(update, context, target, NOT_SUBSCRIBED)
    return subscriber
