"""The simulator's state: the bot, users and chats, messages, the update queue, the calls.

:class:`State` is the one place the fake's world lives. The server records each call in
it, the Bot API methods read and change it, the simulated users act on it, and whoever
waits for something watches :attr:`State.changed`. Not thread-safe: the loop's thread only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from typing import Any

from .errors import SimulatorError, WaitTimeout
from .records import (
    CHAT_TYPES,
    BotCall,
    CallbackAnswer,
    ChatAction,
    ChatType,
    FakeChat,
    FakeFile,
    FakeUser,
    JSONDict,
    MessageEvent,
    SentMessage,
)

__all__ = ["DEFAULT_ALLOWED", "PendingCallback", "Poller", "Pulse", "State", "scope_key"]

_LOGGER = logging.getLogger(__name__)

# Update kinds a getUpdates call receives when allowed_updates was never set or set to [].
_UPDATE_KINDS = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "message_reaction",
        "message_reaction_count",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)
DEFAULT_ALLOWED = _UPDATE_KINDS - {"chat_member", "message_reaction", "message_reaction_count"}

MessageListener = Callable[[MessageEvent, SentMessage], None]


class Pulse:
    """Wakes every waiter on each ``fire()``; waiters then re-check their condition."""

    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        """Wake everyone waiting now."""
        self._event.set()
        self._event = asyncio.Event()

    def wait(self) -> Coroutine[Any, Any, bool]:
        """An awaitable for the *next* fire, bound now: a fire between this call and the
        first await still wakes it (no lost wake-ups when it is wrapped in a task)."""
        return self._event.wait()


@dataclass(slots=True)
class Poller:
    """A pending getUpdates call; a newer one supersedes it."""

    superseded: bool = False


@dataclass(slots=True)
class PendingCallback:
    """A callback query a user sent, until the bot answers it."""

    chat_id: int
    message_id: int
    answered: bool = False


def scope_key(scope: JSONDict | None) -> str:
    """The key a command list is stored under for a ``BotCommandScope`` (default: default)."""
    return json.dumps(scope or {"type": "default"}, sort_keys=True)


def _supergroup_id(chat_id: int) -> int:
    return -(1_000_000_000_000 + abs(chat_id) % 1_000_000_000_000)


def _group_type(chat_id: int) -> ChatType:
    return "supergroup" if str(chat_id).startswith("-100") else "group"


class State:
    """Everything the fake knows, and the bookkeeping its parts share."""

    def __init__(self, *, bot_id: int, bot_username: str, bot_first_name: str) -> None:
        self.bot_id = bot_id
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.tokens: list[str] = []
        self.changed = Pulse()
        self.updates_pulse = Pulse()

        self.users: dict[int, FakeUser] = {}
        self.chats: dict[int, FakeChat] = {}
        self.calls: list[BotCall] = []
        self.sent: dict[int, list[SentMessage]] = {}
        self.bot_messages: dict[tuple[int, int], SentMessage] = {}
        self.user_messages: dict[tuple[int, int], JSONDict] = {}
        self._next_message_id: dict[int, int] = {}
        self.updates: list[JSONDict] = []
        self._next_update_id = 1
        self.allowed_updates: frozenset[str] = DEFAULT_ALLOWED
        self.poller: Poller | None = None
        self.webhook_url = ""
        self.callbacks: dict[str, PendingCallback] = {}
        self._next_callback = 1
        self.chat_actions: list[ChatAction] = []
        self.callback_answers: list[CallbackAnswer] = []
        self.commands: dict[tuple[str, str], list[JSONDict]] = {}
        self.listeners: list[MessageListener] = []
        self.files: dict[str, FakeFile] = {}

    # ----------------------------------------------------------------- the bot

    def bot_user(self, token: str) -> JSONDict:
        """The bot as a ``User``: its id is the token's number before the colon, if any."""
        prefix = token.partition(":")[0]
        return {
            "id": int(prefix) if prefix.isdigit() else self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    # ----------------------------------------------------------------- users and chats

    def add_user(
        self,
        user_id: int,
        first_name: str,
        username: str | None = None,
        *,
        last_name: str | None = None,
        language_code: str | None = None,
    ) -> FakeUser:
        """Create (or update) a user; a private chat with them follows their new names."""
        if user_id <= 0:
            raise SimulatorError(f"user ids are positive, got {user_id}")
        user = FakeUser(user_id, first_name, username, last_name, language_code)
        self.users[user_id] = user
        chat = self.chats.get(user_id)
        if chat is not None and chat.type == "private":
            chat.first_name, chat.last_name, chat.username = first_name, last_name, username
        return user

    def user(self, user_id: int) -> FakeUser:
        """The user with this id, created as "User <id>" if new."""
        return self.users.get(user_id) or self.add_user(user_id, f"User {user_id}")

    def add_chat(
        self,
        chat_id: int,
        type: ChatType = "private",
        title: str | None = None,
        is_forum: bool = False,
        *,
        username: str | None = None,
    ) -> FakeChat:
        """Make a chat known; a known one of the same type is updated, its state kept."""
        if type not in CHAT_TYPES:
            raise SimulatorError(f"chat type must be one of {sorted(CHAT_TYPES)}, got {type!r}")
        existing = self.chats.get(chat_id)
        if existing is not None and existing.type == type:
            if type != "private":
                existing.title = title or existing.title
                existing.is_forum = is_forum and type == "supergroup"
                existing.username = username or existing.username
            return existing
        if type == "private":
            if chat_id <= 0:
                raise SimulatorError(f"a private chat's id is its user's (positive) id: {chat_id}")
            user = self.user(chat_id)
            chat = FakeChat(
                chat_id,
                "private",
                username=user.username,
                first_name=user.first_name,
                last_name=user.last_name,
            )
        else:
            if chat_id >= 0:
                raise SimulatorError(f"group and channel ids are negative: {chat_id}")
            chat = FakeChat(
                chat_id,
                type,
                title=title or f"Chat {chat_id}",
                username=username,
                is_forum=is_forum and type == "supergroup",
                # A bot is in a channel only once an administrator adds it (as an admin).
                bot_status="left" if type == "channel" else "member",
            )
        self.chats[chat_id] = chat
        return chat

    def chat_or_new(self, chat_id: int) -> FakeChat:
        """The chat with this id, made known if new (a positive id: a private chat)."""
        chat = self.chats.get(chat_id)
        if chat is not None:
            return chat
        return self.add_chat(chat_id, "private" if chat_id > 0 else _group_type(chat_id))

    def known_chat(self, chat_id: int) -> FakeChat:
        """A chat the simulation already knows, or :class:`SimulatorError`."""
        chat = self.chats.get(chat_id)
        if chat is None:
            raise SimulatorError(f"unknown chat {chat_id}; add_chat() or user_sends() first")
        return chat

    def set_admins(self, chat_id: int, user_ids: Iterable[int], *, owner: int | None) -> None:
        """Make these users the chat's administrators (``owner``: its creator)."""
        chat = self.known_chat(chat_id)
        admins = list(user_ids)
        for user_id in [*admins, *([owner] if owner is not None else [])]:
            self.user(user_id)
        chat.admins = [uid for uid in admins if uid != owner]
        chat.owner = owner

    def migrate_chat(self, chat_id: int, new_chat_id: int | None, *, notify: bool) -> FakeChat:
        """Upgrade a group to a supergroup; with ``notify``, enqueue the service messages."""
        old = self.known_chat(chat_id)
        new_id = new_chat_id if new_chat_id is not None else _supergroup_id(chat_id)
        new = self.chats.get(new_id) or FakeChat(
            new_id,
            "supergroup",
            title=old.title,
            owner=old.owner,
            admins=list(old.admins),
            bot_status=old.bot_status,
        )
        self.chats[new_id] = new
        old.migrated_to = new_id
        if notify:
            sender = self.users[old.owner].to_api() if old.owner in self.users else None
            moved = self.new_message(old, sender)
            moved["migrate_to_chat_id"] = new_id
            self.enqueue("message", moved)
            arrived = self.new_message(new, sender)
            arrived["migrate_from_chat_id"] = chat_id
            self.enqueue("message", arrived)
        return new

    def migrated_id(self, chat_id: int | str | None, migrate_to: int | None) -> int:
        """Where a chat the bot names moves in a migrate fault: a known group is migrated
        now (to ``migrate_to`` or a derived id); otherwise the id it would get."""
        if (
            isinstance(chat_id, int)
            and chat_id in self.chats
            and not self.chats[chat_id].migrated_to
        ):
            return self.migrate_chat(chat_id, migrate_to, notify=False).id
        if migrate_to is not None:
            return migrate_to
        return _supergroup_id(chat_id if isinstance(chat_id, int) else -1)

    # ----------------------------------------------------------------- files

    def add_file(self, file_name: str, content: bytes, mime_type: str | None) -> FakeFile:
        """Keep a file (sent by a user or uploaded by the bot) under a new file id."""
        number = len(self.files) + 1
        stored = FakeFile(
            f"BQAC{number:08d}file", f"AgAD{number:08d}", file_name, mime_type, content
        )
        self.files[stored.file_id] = stored
        return stored

    # ----------------------------------------------------------------- messages

    def next_message_id(self, chat_id: int) -> int:
        """A new message id in a chat (ids count up per chat, shared by bot and users)."""
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        return message_id

    def new_message(self, chat: FakeChat, sender: JSONDict | None) -> JSONDict:
        """A new ``Message`` object in a chat, from ``sender`` (none: a service message)."""
        message: JSONDict = {"message_id": self.next_message_id(chat.id)}
        if sender is not None:
            message["from"] = sender
        message["chat"] = chat.to_api()
        message["date"] = int(time.time())
        return message

    def add_sent(self, sent: SentMessage) -> None:
        """Record a message the bot sent and tell the listeners."""
        self.sent.setdefault(sent.chat_id, []).append(sent)
        self.bot_messages[(sent.chat_id, sent.message_id)] = sent
        self.notify("sent", sent)

    def message_for_reply(self, chat_id: int, message_id: int) -> JSONDict:
        """The message a reply quotes (``reply_to_message``), bot's or user's."""
        sent = self.bot_messages.get((chat_id, message_id))
        if sent is not None and not sent.deleted:
            return self.sent_to_api(sent, nested=False)
        original = self.user_messages.get((chat_id, message_id))
        if original is None:
            raise SimulatorError(f"no message {message_id} in chat {chat_id} to reply to")
        return {k: v for k, v in original.items() if k != "reply_to_message"}

    def sent_to_api(self, sent: SentMessage, *, nested: bool = True) -> JSONDict:
        """A bot message as a Telegram ``Message`` (``nested``: with the one it replies to)."""
        chat = self.chats.get(sent.chat_id)
        message: JSONDict = {
            "message_id": sent.message_id,
            "from": sent.sender,
            "chat": chat.to_api() if chat else {"id": sent.chat_id, "type": "private"},
            "date": sent.date,
        }
        if sent.document is not None:
            message["document"] = dict(sent.document)
            if sent.plain_text:
                message["caption"] = sent.plain_text
            if sent.entities:
                message["caption_entities"] = [dict(e) for e in sent.entities]
        else:
            message["text"] = sent.plain_text
            if sent.entities:
                message["entities"] = [dict(e) for e in sent.entities]
        if sent.message_thread_id is not None:
            message["message_thread_id"] = sent.message_thread_id
            if chat is not None and chat.is_forum:
                message["is_topic_message"] = True
        if sent.edit_date is not None:
            message["edit_date"] = sent.edit_date
        if sent.reply_markup and "inline_keyboard" in sent.reply_markup:
            message["reply_markup"] = sent.reply_markup
        if sent.link_preview_options:
            message["link_preview_options"] = sent.link_preview_options
        if nested and sent.reply_to_message_id is not None:
            with contextlib.suppress(SimulatorError):
                message["reply_to_message"] = self.message_for_reply(
                    sent.chat_id, sent.reply_to_message_id
                )
        return message

    def notify(self, event: MessageEvent, sent: SentMessage) -> None:
        """Tell every listener that the bot sent, edited or deleted a message."""
        for listener in list(self.listeners):
            try:
                listener(event, sent)
            except Exception:
                _LOGGER.exception("fake Bot API listener failed on %s", event)
        self.changed.fire()

    # ----------------------------------------------------------------- updates

    def enqueue(self, kind: str, payload: JSONDict) -> JSONDict:
        """Queue an update of ``kind`` for getUpdates; wake the long poll and the waiters."""
        update = {"update_id": self._next_update_id, kind: payload}
        self._next_update_id += 1
        self.updates.append(update)
        self.updates_pulse.fire()
        self.changed.fire()
        return update

    def new_callback(self, chat_id: int, message_id: int) -> str:
        """The id of a new callback query about a bot message."""
        query_id = str(4_000_000_000_000 + self._next_callback)
        self._next_callback += 1
        self.callbacks[query_id] = PendingCallback(chat_id, message_id)
        return query_id

    # ----------------------------------------------------------------- waiting

    async def wait_for(self, predicate: Callable[[], object], within: float, what: str) -> None:
        """Return once ``predicate()`` is true, re-checking on every change; else
        :class:`WaitTimeout` naming ``what`` and the last calls."""
        try:
            async with asyncio.timeout(within):
                while not predicate():
                    await self.changed.wait()
        except TimeoutError:
            recent = (
                ", ".join(f"{c.method}({c.chat_id})->{c.status}" for c in self.calls[-8:]) or "none"
            )
            raise WaitTimeout(f"{what} not met within {within}s; last calls: {recent}") from None
