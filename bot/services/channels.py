"""Channels managed from private chats: linking, the chat a user's commands act on, and
what happens when the bot can no longer post to a channel.

A channel's subscription is an ordinary subscription under the channel's chat id (topics,
words, times, zone, language, feeds); its :class:`~bot.models.Channel` record says who
manages it. Whether someone *is* an administrator is Telegram's to say: the interface asks
(``getChatMember``) and passes the answer in; these methods keep the rules about what an
answer changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from ..i18n import DEFAULT_LANGUAGE, _, supported
from ..models import PAUSED, Channel, Subscriber
from ..store import Store
from .subscriptions import Subscriptions, UserError

CHANNEL = "channel"
NOT_MANAGED = _("You don't manage that channel with me. Send /channel to see your chats.")


@dataclass(frozen=True)
class Linked:
    """The result of linking a channel: its record, its subscription, and whether the
    subscription was created just now."""

    channel: Channel
    subscriber: Subscriber
    created: bool


class Channels:
    """Channel records and users' selected chats on the store."""

    def __init__(
        self, store: Store, subscriptions: Subscriptions, clock: Callable[[], datetime]
    ) -> None:
        self.store = store
        self.subscriptions = subscriptions
        self.clock = clock

    def managed_by(self, user_id: int) -> list[Channel]:
        """The channels a user linked (by title)."""
        return self.store.channels_managed_by(user_id)

    def managed(self, user_id: int, chat_id: int) -> Channel | None:
        """The channel ``chat_id`` if ``user_id`` manages it."""
        channel = self.store.get_channel(chat_id)
        if channel is None or user_id not in channel.managers:
            return None
        return channel

    def selected(self, user_id: int) -> Channel | None:
        """The channel a user's commands act on, or None for their private chat.

        A selection whose channel was deleted (or that no longer counts the user among its
        managers) is forgotten here, so the user's commands act on their own chat again.
        """
        chat_id = self.store.selected_chat(user_id)
        if chat_id is None:
            return None
        channel = self.managed(user_id, chat_id)
        if channel is None:
            self.store.select_chat(user_id, None)
        return channel

    def select(self, user_id: int, chat_id: int) -> Channel | None:
        """Make a user's commands act on ``chat_id``: their own private chat (None is
        returned) or a channel they manage; UserError for any other chat."""
        if chat_id == user_id:
            self.store.select_chat(user_id, None)
            return None
        channel = self.managed(user_id, chat_id)
        if channel is None:
            raise UserError(NOT_MANAGED)
        self.store.select_chat(user_id, chat_id)
        return channel

    def link(
        self,
        user_id: int,
        chat_id: int,
        title: str,
        username: str | None,
        telegram_language: str | None,
    ) -> Linked:
        """A user Telegram confirmed as an administrator of a channel where the bot is an
        administrator too: the channel gets its subscription (created with the defaults,
        its digests in the user's language, unless it has one) and the user becomes one
        of its managers, with the channel selected."""
        current = self.store.get_channel(chat_id)
        managers = current.managers if current is not None else ()
        channel = Channel(
            chat_id=chat_id,
            title=title,
            username=username,
            managers=(*managers, user_id) if user_id not in managers else managers,
            linked=current.linked if current is not None else self.clock(),
        )
        existing = self.subscriptions.get(chat_id)
        # The user's language: the one they chose with /language, else their app's.
        own = self.subscriptions.get(user_id)
        language = own.digest_language if own is not None else supported(telegram_language)
        with self.store.batch():
            self.store.put_channel(channel)
            subscriber = self.subscriptions.start(chat_id, CHANNEL, None, language)
            self.store.select_chat(user_id, chat_id)
        return Linked(channel, subscriber, existing is None)

    def forget_manager(self, chat_id: int, user_id: int) -> None:
        """Telegram says the user is no longer an administrator of the channel: they stop
        managing it, and their commands act on their own chat again."""
        channel = self.store.get_channel(chat_id)
        with self.store.batch():
            if channel is not None and user_id in channel.managers:
                managers = tuple(m for m in channel.managers if m != user_id)
                self.store.put_channel(channel.evolve(managers=managers))
            if self.store.selected_chat(user_id) == chat_id:
                self.store.select_chat(user_id, None)

    def lost(self, chat_id: int) -> Channel | None:
        """The bot was removed from a linked channel or lost its right to post there: the
        channel's digests are paused (nothing is deleted). Returns the channel, whose
        managers are to be told, or None when the chat is no linked channel or its
        subscription was already paused."""
        channel = self.store.get_channel(chat_id)
        subscriber = self.subscriptions.get(chat_id)
        if channel is None or subscriber is None or subscriber.status == PAUSED:
            return None
        self.subscriptions.set_status(chat_id, PAUSED)
        return channel

    def paused(self, chat_id: int) -> Channel | None:
        """The linked channel ``chat_id`` if its digests are paused."""
        channel = self.store.get_channel(chat_id)
        subscriber = self.subscriptions.get(chat_id)
        if channel is None or subscriber is None or subscriber.status != PAUSED:
            return None
        return channel

    def is_channel(self, chat_id: int) -> bool:
        """True for a linked channel."""
        return self.store.get_channel(chat_id) is not None

    def language_for(self, channel: Channel, user_id: int) -> str:
        """The language to write to a channel's manager in: their private chat's, else the
        channel's (the language of whoever linked it)."""
        own = self.subscriptions.get(user_id)
        if own is not None:
            return self.subscriptions.language_of(own, None, private=True)
        subscriber = self.subscriptions.get(channel.chat_id)
        return subscriber.digest_language if subscriber is not None else DEFAULT_LANGUAGE
