"""The simulated people: what they do in Telegram becomes updates for the bot.

A user writes a message, presses a button, blocks the bot or adds it back; each is checked
against what a real user could do (:class:`~fakebotapi.errors.SimulatorError` otherwise)
and queued in the :class:`~fakebotapi.state.State` for the bot's long poll.
"""

from __future__ import annotations

import copy
import re
import time

from .errors import SimulatorError
from .html import utf16_len
from .records import FakeChat, JSONDict, admin_rights
from .state import State

__all__ = ["Users"]

_BOT_COMMAND = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_@/])")


class Users:
    """The actions of the simulated users, applied to a :class:`State`."""

    def __init__(self, state: State) -> None:
        self._state = state

    def sends(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        *,
        reply_to: int | None,
        thread_id: int | None,
        forward_from_user: int | None,
        forward_from_chat: int | None,
        forward_origin: JSONDict | None,
    ) -> JSONDict:
        """A user writes ``text`` in a chat: a ``message`` update; returns the Message."""
        state = self._state
        if not text:
            raise SimulatorError("Telegram has no empty text messages")
        user = state.user(user_id)
        if chat_id not in state.chats and chat_id > 0 and chat_id != user_id:
            raise SimulatorError(f"user {user_id} cannot write in private chat {chat_id}")
        chat = state.chat_or_new(chat_id)
        if chat.type == "channel":
            raise SimulatorError(f"users do not write in channel {chat_id}: channel_posts() it")
        _check_reachable(chat, "write in")
        message: JSONDict = state.new_message(chat, user.to_api())
        message["text"] = text
        entities = [
            {
                "type": "bot_command",
                "offset": utf16_len(text[: m.start()]),
                "length": utf16_len(m.group()),
            }
            for m in _BOT_COMMAND.finditer(text)
        ]
        if entities:
            message["entities"] = entities
        if thread_id is not None:
            message["message_thread_id"] = thread_id
            if chat.is_forum:
                message["is_topic_message"] = True
        if reply_to is not None:
            message["reply_to_message"] = state.message_for_reply(chat.id, reply_to)
        origin = forward_origin or self._forward_origin(forward_from_user, forward_from_chat)
        if origin is not None:
            message["forward_origin"] = origin
        state.user_messages[(chat.id, message["message_id"])] = message
        state.enqueue("message", message)
        return copy.deepcopy(message)

    def sends_document(
        self,
        chat_id: int,
        user_id: int,
        file_name: str,
        content: bytes,
        *,
        mime_type: str | None,
        caption: str | None,
    ) -> JSONDict:
        """A user sends a file in a chat: a ``message`` update with a ``document``."""
        state = self._state
        if not content:
            raise SimulatorError("Telegram has no empty files")
        user = state.user(user_id)
        if chat_id not in state.chats and chat_id > 0 and chat_id != user_id:
            raise SimulatorError(f"user {user_id} cannot write in private chat {chat_id}")
        chat = state.chat_or_new(chat_id)
        _check_reachable(chat, "send a file in")
        message: JSONDict = state.new_message(chat, user.to_api())
        message["document"] = state.add_file(file_name, content, mime_type).document()
        if caption:
            message["caption"] = caption
        state.user_messages[(chat.id, message["message_id"])] = message
        state.enqueue("message", message)
        return copy.deepcopy(message)

    def _forward_origin(self, user_id: int | None, chat_id: int | None) -> JSONDict | None:
        state = self._state
        now = int(time.time())
        if user_id is not None:
            user = state.user(user_id)
            return {"type": "user", "date": now, "sender_user": user.to_api()}
        if chat_id is not None:
            chat = state.chats.get(chat_id) or state.add_chat(chat_id, "channel")
            if chat.type == "channel":
                # The channel's latest post (channel_posts), as a forward of it would say.
                posts = [m for (c, m) in state.user_messages if c == chat_id]
                post = max(posts, default=1)
                return {"type": "channel", "date": now, "chat": chat.to_api(), "message_id": post}
            return {"type": "chat", "date": now, "sender_chat": chat.to_api()}
        return None

    def posts(self, chat_id: int, text: str) -> JSONDict:
        """The channel publishes a post: a ``channel_post`` update; returns the Message.

        A post is signed by the channel (``sender_chat``), not by a user; the bot gets it
        only while it is in the channel.
        """
        state = self._state
        chat = state.known_chat(chat_id)
        if chat.type != "channel":
            raise SimulatorError(f"chat {chat_id} is a {chat.type}, not a channel")
        if not text:
            raise SimulatorError("Telegram has no empty text messages")
        message = state.new_message(chat, None)
        message["sender_chat"] = chat.to_api()
        message["text"] = text
        state.user_messages[(chat.id, message["message_id"])] = message
        if chat.bot_status in ("member", "administrator"):
            state.enqueue("channel_post", message)
        return copy.deepcopy(message)

    def presses(
        self, chat_id: int, user_id: int, message_id: int, callback_data: str, *, forged: bool
    ) -> JSONDict:
        """A user presses an inline button: a ``callback_query`` update; returns the query."""
        state = self._state
        sent = state.bot_messages.get((chat_id, message_id))
        if sent is None or sent.deleted:
            raise SimulatorError(f"no bot message {message_id} in chat {chat_id}")
        if callback_data not in sent.callback_data and not forged:
            raise SimulatorError(
                f"message {message_id} in chat {chat_id} has no button with callback_data "
                f"{callback_data!r}; it has {sent.callback_data}"
            )
        user = state.user(user_id)
        query: JSONDict = {
            "id": state.new_callback(chat_id, message_id),
            "from": user.to_api(),
            "chat_instance": f"ci{chat_id}",
            "message": state.sent_to_api(sent),
            "data": callback_data,
        }
        state.enqueue("callback_query", query)
        return copy.deepcopy(query)

    def remove_bot(self, chat_id: int, *, by: int | None) -> JSONDict:
        """The user blocks the bot or someone kicks it: a ``my_chat_member`` update."""
        chat = self._state.known_chat(chat_id)
        old = chat.bot_status
        chat.bot_status = "kicked"
        return self._member_update(chat, by, old, {"status": "kicked", "until_date": 0})

    def add_bot(self, chat_id: int, *, by: int | None) -> JSONDict:
        """The bot is (re)added or unblocked: a ``my_chat_member`` update (member)."""
        known = self._state.chats.get(chat_id)
        old = known.bot_status if known is not None else "left"
        chat = self._state.chat_or_new(chat_id)
        chat.bot_status = "member"
        return self._member_update(chat, by, old, {"status": "member"})

    def promote_bot(self, chat_id: int, *, by: int | None) -> JSONDict:
        """An administrator makes the bot an administrator (adding it first if needed):
        a ``my_chat_member`` update. How a bot joins a channel."""
        known = self._state.chats.get(chat_id)
        old = known.bot_status if known is not None else "left"
        chat = self._state.chat_or_new(chat_id)
        chat.bot_status = "administrator"
        rights = admin_rights(can_be_edited=True, channel=chat.type == "channel")
        return self._member_update(chat, by, old, {"status": "administrator", **rights})

    def demote_bot(self, chat_id: int, *, by: int | None) -> JSONDict:
        """An administrator takes the bot's rights away; it stays a plain member (in a
        channel it can then post nothing): a ``my_chat_member`` update."""
        chat = self._state.known_chat(chat_id)
        old = chat.bot_status
        chat.bot_status = "member"
        return self._member_update(chat, by, old, {"status": "member"})

    def _member_update(
        self, chat: FakeChat, by: int | None, old_status: str, new_member: JSONDict
    ) -> JSONDict:
        state = self._state
        actor_id = by if by is not None else (chat.id if chat.type == "private" else chat.owner)
        if actor_id is None:
            raise SimulatorError(f"say who changed the bot's membership of chat {chat.id} (by=)")
        actor = state.user(actor_id)
        bot = state.bot_user(state.tokens[-1] if state.tokens else "")
        old: JSONDict = {"status": old_status, "user": bot}
        if old_status == "kicked":
            old["until_date"] = 0
        elif old_status == "administrator":
            old.update(admin_rights(can_be_edited=True, channel=chat.type == "channel"))
        payload = {
            "chat": chat.to_api(),
            "from": actor.to_api(),
            "date": int(time.time()),
            "old_chat_member": old,
            "new_chat_member": {**new_member, "user": bot},
        }
        return state.enqueue("my_chat_member", payload)


def _check_reachable(chat: FakeChat, doing: str) -> None:
    if chat.bot_status in ("kicked", "left") or chat.migrated_to is not None:
        raise SimulatorError(
            f"cannot {doing} chat {chat.id}: the bot is {chat.bot_status}"
            + (f", migrated to {chat.migrated_to}" if chat.migrated_to else "")
            + "; call bot_added() first"
        )
