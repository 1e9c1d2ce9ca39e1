"""An in-process fake of the Telegram Bot API: try the bot offline, test it end to end.

What it is
    A small HTTP/1.1 server on the running asyncio loop (``asyncio.start_server``: keep-alive,
    no threads) that answers the Bot API methods newsdigest uses, the way Telegram answers
    them: ``{"ok": true, "result": ...}`` with results shaped like real Telegram objects, or
    ``{"ok": false, "error_code": N, "description": "...", "parameters": {...}}`` with
    Telegram's wording, so python-telegram-bot raises the same exceptions it raises in
    production (``BadRequest``, ``Forbidden``, ``RetryAfter``, ``ChatMigrated``, ...).
    Point a ``telegram.Bot`` or an ``Application`` at :attr:`FakeBotAPI.base_url` and
    :attr:`FakeBotAPI.base_file_url`; any token is accepted (and recorded).

    It also plays the users (:meth:`FakeBotAPI.user_sends`, :meth:`FakeBotAPI.user_presses`,
    :meth:`FakeBotAPI.bot_removed`), whose actions become updates for long polling; records
    every bot call and every message the bot sent (with its edits); injects faults
    (:meth:`FakeBotAPI.inject`) and optionally models Telegram's flood limits
    (:meth:`FakeBotAPI.flood_limit`). ``newsdigest chat`` runs the real bot against it.

What it checks, like Telegram
    ``parse_mode=HTML``: only Telegram's tags, properly nested and closed, known entities;
    the message length after entity parsing (4096 UTF-16 code units); empty text; unknown
    chats; inline keyboards (callback_data of 1-64 bytes); editing a message into itself.
    It is *stricter* than Telegram in one place on purpose: a bare ``&`` (or an unknown
    entity such as ``&nbsp;``) and a bare ``>`` are rejected, where Telegram would show
    them literally; in this project either one means feed text reached a message unescaped.

What it is not
    Not a Telegram implementation. No webhooks are called (setWebhook only stores the URL),
    no files, media, inline mode, payments or Markdown validation (Markdown text is stored
    as sent); group privacy mode is not modelled (the bot sees every group message); forum
    topics are not checked to exist. HTTP pipelining is not supported (httpx does not
    pipeline): a connection that sends data while its request is pending is closed. It
    serves one bot: all tokens share one update queue. Not thread-safe: call it from the
    thread running its event loop (``loop.call_soon_threadsafe`` from elsewhere).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from types import TracebackType
from typing import Any, Literal, Self
from urllib.parse import unquote

from .errors import ApiError, ClientGone
from .faults import Fault, FaultKind, Faults, FloodLimit
from .methods import METHODS, Handler, Request
from .params import decode_params
from .records import (
    BotCall,
    CallbackAnswer,
    ChatAction,
    ChatType,
    FakeChat,
    FakeUser,
    JSONDict,
    MessageEvent,
    SentMessage,
)
from .state import State, scope_key
from .users import Users

__all__ = ["FakeBotAPI"]

_LOGGER = logging.getLogger(__name__)

_API_PATH = re.compile(r"/bot([^/]+)/([A-Za-z0-9_]+)")

_MAX_HEAD = 64 * 1024
_MAX_BODY = 64 * 1024 * 1024


# --------------------------------------------------------------------------- errors


class _HttpError(Exception):
    """A request that is not valid HTTP; answered, then the connection is closed."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


# --------------------------------------------------------------------------- records


@dataclass(slots=True)
class _HttpRequest:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    keep_alive: bool


# --------------------------------------------------------------------------- HTTP


async def _read_request(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> _HttpRequest | None:
    """The next request on the connection, or ``None`` when the client closed it."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial.strip():
            raise _HttpError(400, "incomplete request head") from None
        return None
    except asyncio.LimitOverrunError:
        raise _HttpError(431, "request head too large") from None
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise _HttpError(400, "malformed request line")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise _HttpError(400, "malformed header")
        key = name.strip().lower()
        headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    connection = headers.get("connection", "").lower()
    # HTTP/1.1 connections persist unless closed; HTTP/1.0 ones only when asked.
    keep_alive = (
        "keep-alive" in connection if parts[2] == "HTTP/1.0" else "close" not in connection
    )
    if headers.get("expect", "").lower() == "100-continue":
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = await _read_chunked(reader)
    else:
        length_text = headers.get("content-length", "0")
        if not length_text.isdigit():
            raise _HttpError(400, "bad Content-Length")
        length = int(length_text)
        if length > _MAX_BODY:
            raise _HttpError(413, "request body too large")
        body = await reader.readexactly(length) if length else b""
    return _HttpRequest(parts[0].upper(), parts[1], headers, body, keep_alive)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    while True:
        size_line = await reader.readuntil(b"\r\n")
        try:
            size = int(size_line.split(b";")[0].strip(), 16)
        except ValueError:
            raise _HttpError(400, "bad chunk size") from None
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":
                pass
            return bytes(body)
        if len(body) + size > _MAX_BODY:
            raise _HttpError(413, "request body too large")
        body += (await reader.readexactly(size + 2))[:-2]


def _http_response(status: int, payload: JSONDict, keep_alive: bool) -> bytes:
    # ASCII escapes: an update may carry an unpaired surrogate (from a broken client), which
    # JSON can express ("\ud83d") but UTF-8 cannot.
    body = json.dumps(payload, ensure_ascii=True, separators=(",", ":")).encode("ascii")
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        "Server: newsdigest-fakeapi\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
    )
    return head.encode("latin-1") + body


# --------------------------------------------------------------------------- the fake


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
        self.expected_token = expected_token
        self.connections = 0
        self._state = State(bot_id=bot_id, bot_username=bot_username,
                            bot_first_name=bot_first_name)
        self._users = Users(self._state)
        self._server: asyncio.Server | None = None
        self._host = ""
        self._port = 0
        self._stopping = False
        self._stopped = asyncio.Event()
        self._conn_tasks: set[asyncio.Task[Any]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._faults = Faults(self._state)

    # ----------------------------------------------------------------- identity

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


    # ----------------------------------------------------------------- lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> Self:
        """Listen on ``host:port`` (0: any free port) on the running loop."""
        if self._server is not None:
            raise RuntimeError("FakeBotAPI is already running")
        self._stopping = False
        self._stopped = asyncio.Event()
        self._server = await asyncio.start_server(self._on_connection, host, port, limit=_MAX_HEAD)
        address = self._server.sockets[0].getsockname()
        self._host, self._port = str(address[0]), int(address[1])
        return self

    async def stop(self) -> None:
        """Stop listening, end pending long polls and held requests, close every connection."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping = True
        self._stopped.set()
        self._state.updates_pulse.fire()
        server.close()
        for writer in list(self._writers):
            writer.close()
        if self._conn_tasks:
            _, pending = await asyncio.wait(set(self._conn_tasks), timeout=2.0)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await server.wait_closed()

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
        return f"{self._origin()}/bot"

    @property
    def base_file_url(self) -> str:
        """For ``Bot(base_file_url=...)`` (file downloads answer 404: no files here)."""
        return f"{self._origin()}/file/bot"

    def _origin(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeBotAPI is not running; call start() first")
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self._port}"

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
        return self._state.add_user(user_id, first_name, username, last_name=last_name,
                                    language_code=language_code)

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
            chat_id, user_id, text, reply_to=reply_to, thread_id=thread_id,
            forward_from_user=forward_from_user, forward_from_chat=forward_from_chat,
            forward_origin=forward_origin,
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
        return self._faults.add(Fault(kind, method, chat_id, times, retry_after, status, delay,
                                      performed, migrate_to, description))

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
        limit = FloodLimit(per_second, per_chat_per_second, chat_burst, per_group_per_minute,
                           slack, frozenset(m.lower() for m in methods))
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

    @property
    def chat_actions(self) -> list[ChatAction]:
        """Every ``sendChatAction`` so far."""
        return list(self._state.chat_actions)

    @property
    def callback_answers(self) -> list[CallbackAnswer]:
        """Every answered callback query so far."""
        return list(self._state.callback_answers)

    def commands(
        self, scope: JSONDict | None = None, language_code: str = ""
    ) -> list[JSONDict]:
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

        await self.wait_for(lambda: len(answered()) >= count, timeout=timeout,
                            what=f"{count} answered {method} call(s)")
        return answered()

    async def wait_for_updates_consumed(
        self,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline for the caller, applied with asyncio.timeout inside
    ) -> None:
        """Wait until the bot has confirmed every update (a later getUpdates offset)."""
        await self.wait_for(lambda: not self._state.updates, timeout=timeout,
                            what="all updates confirmed")

    # ----------------------------------------------------------------- connections

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._conn_tasks.add(task)
        self._writers.add(writer)
        self.connections += 1
        try:
            await self._serve_connection(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()
            if task is not None:
                self._conn_tasks.discard(task)

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while not self._stopping:
            try:
                request = await _read_request(reader, writer)
            except _HttpError as exc:
                error = ApiError(exc.status, str(exc))
                writer.write(_http_response(exc.status, error.payload(), False))
                await writer.drain()
                return
            if request is None:
                return
            try:
                status, payload = await self._handle(request, reader)
            except ClientGone:
                return
            keep_alive = request.keep_alive and not self._stopping
            writer.write(_http_response(status, payload, keep_alive))
            await writer.drain()
            if not keep_alive:
                return

    async def _wait_connected(
        self, reader: asyncio.StreamReader, waiter: Awaitable[object], within: float | None
    ) -> Literal["done", "timeout"]:
        """Wait for ``waiter`` while watching the client; raise :class:`ClientGone` if it
        hangs up (or sends anything: no pipelining) or the server stops."""
        main = asyncio.ensure_future(waiter)
        watch = asyncio.ensure_future(reader.read(1))
        stop = asyncio.ensure_future(self._stopped.wait())
        try:
            done, _ = await asyncio.wait(
                (main, watch, stop), timeout=within, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for task in (main, watch, stop):
                task.cancel()
            # The reader must be free of the watcher before the next request is read.
            await asyncio.gather(main, watch, stop, return_exceptions=True)
        if watch in done or stop in done:
            raise ClientGone
        return "done" if main in done else "timeout"

    # ----------------------------------------------------------------- dispatch

    async def _handle(
        self, request: _HttpRequest, reader: asyncio.StreamReader
    ) -> tuple[int, JSONDict]:
        """Record the call, then answer it: its result, or its error as Telegram words it."""
        path, _, query = request.target.partition("?")
        match = _API_PATH.fullmatch(path)
        if match is None:
            return 404, ApiError(404, "Not Found").payload()
        token, name = unquote(match.group(1)), match.group(2)
        state = self._state
        if token not in state.tokens:
            state.tokens.append(token)
        known = METHODS.get(name.lower())
        call = BotCall(known[0] if known else name, {}, token,
                       asyncio.get_running_loop().time())
        state.calls.append(call)
        state.changed.fire()
        try:
            if self.expected_token is not None and token != self.expected_token:
                raise ApiError(401, "Unauthorized")
            if request.method not in ("GET", "POST"):
                raise ApiError(405, "Method Not Allowed")
            content_type = request.headers.get("content-type", "")
            call.params = decode_params(query, content_type, request.body)
            if known is None:
                raise ApiError(404, "Not Found")
            hold = functools.partial(self._wait_connected, reader)
            result = await self._run(Request(call, state.bot_user(token), hold), known[1])
        except ApiError as error:
            return self._answer(call, error.code, error.payload())
        except ClientGone:
            self._answer(call, 499, {"ok": False, "description": "client closed the request"})
            raise
        except Exception:
            _LOGGER.exception("fake Bot API failed on %s", call.method)
            return self._answer(call, 500, ApiError(500, "Internal Server Error").payload())
        return self._answer(call, 200, {"ok": True, "result": result})

    def _answer(self, call: BotCall, status: int, payload: JSONDict) -> tuple[int, JSONDict]:
        call.status = status
        if status != 200:
            call.description = payload.get("description")
        self._state.changed.fire()
        return status, payload

    async def _run(self, rq: Request, handler: Handler) -> Any:
        fault = self._faults.check(rq.call)
        if fault is None:
            return await handler(self._state, rq)
        return await self._hold(rq, handler, fault)

    async def _hold(self, rq: Request, handler: Handler, fault: Fault) -> Any:
        """A ``timeout`` fault: the answer comes ``fault.delay`` seconds late (the call
        takes effect first if ``performed``, else only if the client still waits)."""
        if not fault.performed:
            await rq.hold(asyncio.sleep(fault.delay), None)
            return await handler(self._state, rq)
        try:
            result = await handler(self._state, rq)
        except ApiError as error:
            await rq.hold(asyncio.sleep(fault.delay), None)
            raise error from None
        await rq.hold(asyncio.sleep(fault.delay), None)
        return result
