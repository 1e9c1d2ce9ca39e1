""":class:`FakeBotAPI`: the one object tests, benchmarks and the terminal chat hold.

A facade: the world lives in :class:`~fakebotapi.state.State`, the simulated users act
through :class:`~fakebotapi.users.Users`, faults and the flood model are
:class:`~fakebotapi.faults.Faults`, and :class:`~fakebotapi.server.Server` answers HTTP.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Self

from .faults import Fault, FaultKind, Faults, FloodLimit
from .records import (
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
from .server import Server
from .state import State, scope_key
from .users import Users

__all__ = ["FakeBotAPI"]


class FakeBotAPI:
    """A fake Telegram Bot API server plus the users who talk to the bot through it.

    Usage::

        async with FakeBotAPI() as api:
            bot = telegram.Bot("123:TEST", base_url=api.base_url,
                               base_file_url=api.base_file_url)
            api.user_sends(42, 42, "/start")
            ...  # run the bot
            [reply] = await api.wait_for_messages(42, 1)

    ``expected_token`` makes every other token get ``401 Unauthorized``. The bot's user id is
    the number before the token's colon when there is one, else ``bot_id``.
    """

    def __init__(
        self,
        *,
        expected_token: str | None = None,
        bot_username: str = "newsdigest_bot",
        bot_first_name: str = "News Digest",
        bot_id: int = 100_000_001,
    ) -> None:
        self._state = State(bot_id=bot_id, bot_username=bot_username, bot_first_name=bot_first_name)
        self._users = Users(self._state)
        self._faults = Faults(self._state)
        self._server = Server(self._state, self._faults, expected_token=expected_token)

    # ----------------------------------------------------------------- identity

    @property
    def expected_token(self) -> str | None:
        """The only token accepted (``None``: any)."""
        return self._server.expected_token

    @expected_token.setter
    def expected_token(self, token: str | None) -> None:
        self._server.expected_token = token

    @property
    def bot_username(self) -> str:
        """The bot's username in getMe and in the updates."""
        return self._state.bot_username

    @bot_username.setter
    def bot_username(self, username: str) -> None:
        self._state.bot_username = username

    @property
    def bot_first_name(self) -> str:
        """The bot's first name in getMe and in the updates."""
        return self._state.bot_first_name

    @bot_first_name.setter
    def bot_first_name(self, first_name: str) -> None:
        self._state.bot_first_name = first_name

    @property
    def bot_id(self) -> int:
        """The bot's user id when its token has no number before a colon."""
        return self._state.bot_id

    @bot_id.setter
    def bot_id(self, bot_id: int) -> None:
        self._state.bot_id = bot_id

    @property
    def tokens(self) -> list[str]:
        """Every token a request used, in the order first seen."""
        return self._state.tokens

    @property
    def connections(self) -> int:
        """HTTP connections accepted so far."""
        return self._server.connections

    # ----------------------------------------------------------------- lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> Self:
        """Listen on ``host:port`` (0: any free port) on the running loop."""
        await self._server.start(host, port)
        return self

    async def stop(self) -> None:
        """Stop listening, end pending long polls and held requests, close every connection."""
        await self._server.stop()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """For ``Bot(base_url=...)``: PTB appends the token, then ``/`` and the method."""
        return f"{self._server.origin()}/bot"

    @property
    def base_file_url(self) -> str:
        """For ``Bot(base_file_url=...)``: files users sent and the bot uploaded."""
        return f"{self._server.origin()}/file/bot"

    # ----------------------------------------------------------------- world

    def add_user(
        self,
        user_id: int,
        first_name: str,
        username: str | None = None,
        *,
        last_name: str | None = None,
        language_code: str | None = None,
    ) -> FakeUser:
        """Create (or update) a user. A user who never wrote to the bot has no private chat."""
        return self._state.add_user(
            user_id, first_name, username, last_name=last_name, language_code=language_code
        )

    def add_chat(
        self,
        chat_id: int,
        type: ChatType = "private",
        title: str | None = None,
        is_forum: bool = False,
        *,
        username: str | None = None,
    ) -> FakeChat:
        """Make a chat known (a private chat's id is its user's id).

        Adding a chat that is already known with the same type updates its title, forum
        flag and username and keeps its state (admins, the bot's membership).
        """
        return self._state.add_chat(chat_id, type, title, is_forum, username=username)

    def chat(self, chat_id: int) -> FakeChat:
        """A known chat (``KeyError`` if unknown)."""
        return self._state.chats[chat_id]

    def set_admins(
        self, chat_id: int, user_ids: Iterable[int], *, owner: int | None = None
    ) -> None:
        """Make these users the chat's administrators (``owner``: its creator)."""
        self._state.set_admins(chat_id, user_ids, owner=owner)

    def user_sends(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        *,
        reply_to: int | None = None,
        thread_id: int | None = None,
        forward_from_user: int | None = None,
        forward_from_chat: int | None = None,
        forward_origin: JSONDict | None = None,
    ) -> JSONDict:
        """A user writes ``text`` in a chat: enqueue a ``message`` update and return the Message.

        Unknown users and chats are created (a positive ``chat_id`` is the user's private
        chat). Commands get ``bot_command`` entities (``/digest``, ``/digest@botname``);
        ``reply_to`` is a message id in the same chat; ``thread_id`` a forum topic; the
        forward arguments set ``forward_origin`` (a user, a channel, or a raw object).
        """
        return self._users.sends(
            chat_id,
            user_id,
            text,
            reply_to=reply_to,
            thread_id=thread_id,
            forward_from_user=forward_from_user,
            forward_from_chat=forward_from_chat,
            forward_origin=forward_origin,
        )

    def user_sends_document(
        self,
        chat_id: int,
        user_id: int,
        file_name: str,
        content: bytes,
        *,
        mime_type: str | None = None,
        caption: str | None = None,
    ) -> JSONDict:
        """A user sends a file (``document``) in a chat; the bot can getFile and download it.

        Returns the Message; unknown users and chats are created as by :meth:`user_sends`.
        """
        return self._users.sends_document(
            chat_id, user_id, file_name, content, mime_type=mime_type, caption=caption
        )

    def user_presses(
        self,
        chat_id: int,
        user_id: int,
        message_id: int,
        callback_data: str,
        *,
        forged: bool = False,
    ) -> JSONDict:
        """A user presses an inline button of a bot message: enqueue a ``callback_query``.

        Raises :class:`SimulatorError` when the message has no button with that data (a
        real user cannot press it), unless ``forged``: a modified client can send any data
        for any message. Returns the CallbackQuery; its ``id`` is what the bot answers.
        """
        return self._users.presses(chat_id, user_id, message_id, callback_data, forged=forged)

    def bot_removed(self, chat_id: int, *, by: int | None = None) -> JSONDict:
        """The user blocks the bot (private chat) or someone kicks it: ``my_chat_member``.

        From then on, sending there answers ``403 Forbidden`` until :meth:`bot_added`.
        """
        return self._users.remove_bot(chat_id, by=by)

    def bot_added(self, chat_id: int, *, by: int | None = None) -> JSONDict:
        """The bot is (re)added to a chat or unblocked: ``my_chat_member`` (member)."""
        return self._users.add_bot(chat_id, by=by)

    def bot_promoted(self, chat_id: int, *, by: int | None = None) -> JSONDict:
        """An administrator makes the bot an administrator of a chat (a channel: adds it
        as one, the only way a bot joins a channel): ``my_chat_member`` (administrator)."""
        return self._users.promote_bot(chat_id, by=by)

    def bot_demoted(self, chat_id: int, *, by: int | None = None) -> JSONDict:
        """An administrator takes the bot's admin rights away: ``my_chat_member`` (member).
        In a channel, sending then answers ``400 need administrator rights``."""
        return self._users.demote_bot(chat_id, by=by)

    def channel_posts(self, chat_id: int, text: str) -> JSONDict:
        """A channel publishes a post: enqueue a ``channel_post`` update (if the bot is in
        the channel) and return the Message, which users may then forward."""
        return self._users.posts(chat_id, text)

    def migrate_chat(
        self, chat_id: int, new_chat_id: int | None = None, *, notify: bool = True
    ) -> FakeChat:
        """Upgrade a group to a supergroup; the old id answers ``ChatMigrated`` from now on.

        With ``notify``, the service messages (``migrate_to_chat_id`` /
        ``migrate_from_chat_id``) are enqueued as Telegram does.
        """
        return self._state.migrate_chat(chat_id, new_chat_id, notify=notify)

    # ----------------------------------------------------------------- faults

    def inject(
        self,
        kind: FaultKind,
        *,
        method: str | None = "sendMessage",
        chat_id: int | str | None = None,
        times: int | None = 1,
        retry_after: int = 1,
        status: int | None = None,
        delay: float = 60.0,
        performed: bool = False,
        migrate_to: int | None = None,
        description: str | None = None,
    ) -> Fault:
        """Answer the next ``times`` matching calls (``None``: until cleared) with a fault.

        ``method=None`` matches every method, ``chat_id=None`` every chat. Kinds:

        - ``flood``: 429 ``Too Many Requests: retry after N`` (``parameters.retry_after``).
        - ``server_error``: ``status`` 500 (default) or another 5xx, e.g. 502.
        - ``timeout``: hold the answer ``delay`` seconds, longer than the client waits; the
          server keeps serving others meanwhile. ``performed=True``: the call takes effect
          at once and only its answer is late (a message the user got though the bot saw a
          timeout); ``performed=False``: it takes effect only if the client still waits
          when ``delay`` ends. A client that hangs up gets no answer.
        - ``forbidden``: 403 ``Forbidden: bot was blocked by the user``.
        - ``migrate``: 400 with ``parameters.migrate_to_chat_id``; the new id (``migrate_to``
          or a derived ``-100...`` id) becomes a known supergroup, and the old chat keeps
          answering ``ChatMigrated`` as Telegram does.
        - ``parse``: 400 ``can't parse entities`` whatever the text.

        ``description`` replaces Telegram's wording. Faults match in the order injected.
        """
        return self._faults.add(
            Fault(
                kind,
                method,
                chat_id,
                times,
                retry_after,
                status,
                delay,
                performed,
                migrate_to,
                description,
            )
        )

    def clear_faults(self) -> None:
        """Forget every injected fault (counts in :attr:`faults_served` stay)."""
        self._faults.clear()

    @property
    def faults_served(self) -> Counter[str]:
        """Faults answered so far, by kind; ``"rate_limit"`` counts the flood model's 429s."""
        return Counter(self._faults.served)

    def flood_limit(
        self,
        *,
        per_second: float | None = 30.0,
        per_chat_per_second: float | None = None,
        chat_burst: int = 3,
        per_group_per_minute: float | None = 20.0,
        slack: int = 1,
        methods: Iterable[str] = ("sendMessage",),
    ) -> FloodLimit:
        """Answer 429 (with ``retry_after``) when the bot sends faster than Telegram allows.

        Off until called. Limits are token buckets (see :class:`FloodLimit`): overall
        ``per_second``; per chat ``per_chat_per_second`` with bursts of ``chat_burst``;
        per group or channel ``per_group_per_minute``. Rejected calls use no tokens.
        """
        limit = FloodLimit(
            per_second,
            per_chat_per_second,
            chat_burst,
            per_group_per_minute,
            slack,
            frozenset(m.lower() for m in methods),
        )
        self._faults.set_flood_limit(limit)
        return limit

    def clear_flood_limit(self) -> None:
        """Turn the flood model off."""
        self._faults.set_flood_limit(None)

    # ----------------------------------------------------------------- records

    @property
    def calls(self) -> list[BotCall]:
        """Every Bot API request so far, in arrival order."""
        return list(self._state.calls)

    def calls_to(self, method: str) -> list[BotCall]:
        """The requests for one method (case-insensitive)."""
        wanted = method.lower()
        return [call for call in self._state.calls if call.method.lower() == wanted]

    def messages(self, chat_id: int, *, include_deleted: bool = False) -> list[SentMessage]:
        """The bot's messages in a chat, oldest first, as they are now."""
        sent = self._state.sent.get(chat_id, [])
        return [m for m in sent if include_deleted or not m.deleted]

    def message(self, chat_id: int, message_id: int) -> SentMessage:
        """One bot message (``KeyError`` if the bot sent no such message)."""
        return self._state.bot_messages[(chat_id, message_id)]

    def all_messages(self) -> list[SentMessage]:
        """Every message the bot sent, in sending order."""
        return sorted(self._state.bot_messages.values(), key=lambda m: m.sent_at)

    def file(self, file_id: str) -> FakeFile:
        """A file a user sent or the bot uploaded (``KeyError`` if unknown)."""
        return self._state.files[file_id]

    @property
    def chat_actions(self) -> list[ChatAction]:
        """Every ``sendChatAction`` so far."""
        return list(self._state.chat_actions)

    @property
    def callback_answers(self) -> list[CallbackAnswer]:
        """Every answered callback query so far."""
        return list(self._state.callback_answers)

    def commands(self, scope: JSONDict | None = None, language_code: str = "") -> list[JSONDict]:
        """The command list set for a scope (default scope) and language."""
        return list(self._state.commands.get((scope_key(scope), language_code), []))

    @property
    def pending_updates(self) -> int:
        """Updates not yet confirmed by a getUpdates offset."""
        return len(self._state.updates)

    @property
    def webhook_url(self) -> str:
        """The URL from setWebhook ("" when none)."""
        return self._state.webhook_url

    def add_listener(self, listener: Callable[[MessageEvent, SentMessage], None]) -> None:
        """Call ``listener(event, message)`` when the bot sends, edits or deletes a message."""
        self._state.listeners.append(listener)

    def remove_listener(self, listener: Callable[[MessageEvent, SentMessage], None]) -> None:
        """Stop calling a listener."""
        self._state.listeners.remove(listener)

    # ----------------------------------------------------------------- waiting

    async def wait_for(
        self,
        condition: Callable[[], object] | int,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline for the caller, applied with asyncio.timeout inside
        what: str | None = None,
    ) -> None:
        """Return once ``condition()`` is true (an int: that many calls were answered).

        Re-checks whenever something happens (a call, an update), never on a timer;
        raises :class:`WaitTimeout` naming ``what`` and the last calls.
        """
        predicate: Callable[[], object]
        if isinstance(condition, int):
            count = condition
            what = what or f"{count} answered calls"

            def answered() -> object:
                return sum(1 for call in self._state.calls if call.status is not None) >= count

            predicate = answered
        else:
            predicate = condition
        await self._state.wait_for(predicate, timeout, what or "condition")

    async def wait_for_messages(
        self,
        chat_id: int,
        count: int = 1,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline for the caller, applied with asyncio.timeout inside
    ) -> list[SentMessage]:
        """Wait until the bot has sent ``count`` messages to a chat; return all of them."""
        await self.wait_for(
            lambda: len(self.messages(chat_id)) >= count,
            timeout=timeout,
            what=f"{count} bot message(s) in chat {chat_id} (have {len(self.messages(chat_id))})",
        )
        return self.messages(chat_id)

    async def wait_for_calls(
        self,
        method: str,
        count: int = 1,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline for the caller, applied with asyncio.timeout inside
    ) -> list[BotCall]:
        """Wait until ``count`` calls of ``method`` were answered; return all of them."""

        def answered() -> list[BotCall]:
            return [c for c in self.calls_to(method) if c.status is not None]

        await self.wait_for(
            lambda: len(answered()) >= count,
            timeout=timeout,
            what=f"{count} answered {method} call(s)",
        )
        return answered()

    async def wait_for_updates_consumed(
        self,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline for the caller, applied with asyncio.timeout inside
    ) -> None:
        """Wait until the bot has confirmed every update (a later getUpdates offset)."""
        await self.wait_for(
            lambda: not self._state.updates, timeout=timeout, what="all updates confirmed"
        )
