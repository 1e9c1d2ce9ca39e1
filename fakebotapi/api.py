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
import json
import logging
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from types import TracebackType
from typing import Any, Literal, Self
from urllib.parse import parse_qsl, unquote

from .errors import ApiError, ClientGone, bad_request
from .faults import Fault, FaultKind, Faults, FloodLimit
from .html import (
    MAX_MESSAGE_LENGTH,
    EntityParseError,
    ParsedText,
    parse_telegram_html,
    strip,
    utf16_len,
)
from .records import (
    BotCall,
    CallbackAnswer,
    ChatAction,
    ChatType,
    FakeChat,
    FakeUser,
    JSONDict,
    MessageEvent,
    MessageVersion,
    SentMessage,
    admin_rights,
)
from .state import DEFAULT_ALLOWED, Poller, State, scope_key
from .users import Users

__all__ = ["MAX_CALLBACK_DATA", "FakeBotAPI"]

_LOGGER = logging.getLogger(__name__)

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
MAX_CALLBACK_DATA = 64
MAX_CALLBACK_ANSWER = 200

_CHAT_ACTIONS = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice",
        "upload_voice", "upload_document", "choose_sticker", "find_location",
        "record_video_note", "upload_video_note",
    }
)

# How form-encoded parameters are typed. PTB sends strings as they are and everything else
# JSON-encoded (numbers, booleans, objects), as Telegram expects.
_INT_PARAMS = frozenset(
    {
        "message_id", "message_thread_id", "offset", "limit", "user_id", "reply_to_message_id",
        "cache_time", "from_chat_id", "max_connections", "until_date",
    }
)
_NUMBER_PARAMS = frozenset({"timeout"})
_BOOL_PARAMS = frozenset(
    {
        "disable_notification", "protect_content", "show_alert", "drop_pending_updates",
        "allow_sending_without_reply", "disable_web_page_preview", "allow_paid_broadcast",
        "revoke_messages", "only_if_banned",
    }
)
_JSON_PARAMS = frozenset(
    {
        "reply_markup", "reply_parameters", "link_preview_options", "allowed_updates",
        "commands", "scope", "entities", "caption_entities", "media", "results", "rights",
        "menu_button", "permissions", "reaction",
    }
)

_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
_API_PATH = re.compile(r"/bot([^/]+)/([A-Za-z0-9_]+)")
_INT_TEXT = re.compile(r"-?[0-9]+")

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


@dataclass(slots=True)
class _Request:
    """One Bot API call being served: its record and the connection it came on."""

    call: BotCall
    reader: asyncio.StreamReader
    bot: JSONDict

    @property
    def params(self) -> JSONDict:
        return self.call.params


# --------------------------------------------------------------------------- params


def _typed(name: str, value: object) -> object:
    """A form value (always a string) typed as Telegram reads that parameter."""
    if not isinstance(value, str):
        return value
    if name in _JSON_PARAMS:
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(f"can't parse {name} JSON object") from None
    if name == "chat_id":
        return int(value) if _INT_TEXT.fullmatch(value) else value
    if name in _INT_PARAMS:
        if not _INT_TEXT.fullmatch(value):
            raise bad_request(f"invalid {name} specified")
        return int(value)
    if name in _NUMBER_PARAMS:
        try:
            return float(value) if "." in value else int(value)
        except ValueError:
            raise bad_request(f"invalid {name} specified") from None
    if name in _BOOL_PARAMS:
        return value.lower() in ("true", "1")
    return value


def _parse_multipart(body: bytes, content_type: str) -> JSONDict:
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if match is None:
        raise bad_request("multipart boundary is missing")
    delimiter = b"--" + match.group(1).encode("latin-1")
    fields: JSONDict = {}
    for part in body.split(delimiter)[1:]:
        if part.startswith(b"--"):
            break
        head, sep, content = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not sep:
            raise bad_request("malformed multipart body")
        content = content.removesuffix(b"\r\n")
        disposition = ""
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            if key.strip().lower() == "content-disposition":
                disposition = value
        name = re.search(r'\bname="([^"]*)"', disposition)
        if name is None:
            continue
        filename = re.search(r'\bfilename="([^"]*)"', disposition)
        if filename is not None:
            fields[name.group(1)] = {"filename": filename.group(1), "size": len(content)}
        else:
            fields[name.group(1)] = content.decode("utf-8", "replace")
    return fields


def _decode_params(request: _HttpRequest, query: str) -> JSONDict:
    raw: JSONDict = dict(parse_qsl(query, keep_blank_values=True))
    content_type = request.headers.get("content-type", "")
    kind = content_type.partition(";")[0].strip().lower()
    if request.body:
        if kind == "application/x-www-form-urlencoded":
            raw.update(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
        elif kind == "multipart/form-data":
            raw.update(_parse_multipart(request.body, content_type))
        elif kind == "application/json":
            try:
                loaded = json.loads(request.body)
            except ValueError:
                raise bad_request("can't parse JSON request body") from None
            if not isinstance(loaded, dict):
                raise bad_request("JSON request body must be an object")
            raw.update(loaded)
        else:
            raise bad_request(f"unsupported Content-Type {kind or '(none)'}")
    return {name: _typed(name, value) for name, value in raw.items()}


def _opt_int(params: Mapping[str, Any], name: str) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_request(f"invalid {name} specified")
    return value


def _opt_str(params: Mapping[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def _opt_dict(params: Mapping[str, Any], name: str) -> JSONDict | None:
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise bad_request(f"can't parse {name} JSON object")
    return value


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


_Handler = Callable[[_Request], Awaitable[Any]]


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
        self._methods: dict[str, tuple[str, _Handler]] = {
            name.lower(): (name, handler)
            for name, handler in (
                ("getMe", self._get_me),
                ("getUpdates", self._get_updates),
                ("setWebhook", self._set_webhook),
                ("deleteWebhook", self._delete_webhook),
                ("getWebhookInfo", self._get_webhook_info),
                ("setMyCommands", self._set_my_commands),
                ("getMyCommands", self._get_my_commands),
                ("deleteMyCommands", self._delete_my_commands),
                ("sendMessage", self._send_message),
                ("editMessageText", self._edit_message_text),
                ("editMessageReplyMarkup", self._edit_message_reply_markup),
                ("deleteMessage", self._delete_message),
                ("answerCallbackQuery", self._answer_callback_query),
                ("sendChatAction", self._send_chat_action),
                ("getChat", self._get_chat),
                ("getChatMember", self._get_chat_member),
                ("getChatAdministrators", self._get_chat_administrators),
                ("close", self._true),
                ("logOut", self._true),
            )
        }

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
        path, _, query = request.target.partition("?")
        match = _API_PATH.fullmatch(path)
        if match is None:
            return 404, ApiError(404, "Not Found").payload()
        token, name = unquote(match.group(1)), match.group(2)
        if token not in self._state.tokens:
            self._state.tokens.append(token)
        known = self._methods.get(name.lower())
        call = BotCall(known[0] if known else name, {}, token,
                       asyncio.get_running_loop().time())
        self._state.calls.append(call)
        self._state.changed.fire()
        try:
            if self.expected_token is not None and token != self.expected_token:
                raise ApiError(401, "Unauthorized")
            if request.method not in ("GET", "POST"):
                raise ApiError(405, "Method Not Allowed")
            call.params = _decode_params(request, query)
            if known is None:
                raise ApiError(404, "Not Found")
            rq = _Request(call, reader, self._state.bot_user(token))
            result = await self._run(rq, known[1])
        except ApiError as error:
            return self._answer(call, error.code, error.payload())
        except ClientGone:
            self._answer(call, 499, {"ok": False, "description": "client closed the request"})
            raise
        except Exception:
            _LOGGER.exception("fake Bot API failed on %s", call.method)
            crash = ApiError(500, "Internal Server Error")
            return self._answer(call, 500, crash.payload())
        return self._answer(call, 200, {"ok": True, "result": result})

    def _answer(self, call: BotCall, status: int, payload: JSONDict) -> tuple[int, JSONDict]:
        call.status = status
        if status != 200:
            call.description = payload.get("description")
        self._state.changed.fire()
        return status, payload

    async def _run(self, rq: _Request, handler: _Handler) -> Any:
        fault = self._faults.check(rq.call)
        if fault is None:
            return await handler(rq)
        return await self._hold(rq, handler, fault)

    async def _hold(self, rq: _Request, handler: _Handler, fault: Fault) -> Any:
        if not fault.performed:
            await self._wait_connected(rq.reader, asyncio.sleep(fault.delay), None)
            return await handler(rq)
        try:
            result = await handler(rq)
        except ApiError as error:
            await self._wait_connected(rq.reader, asyncio.sleep(fault.delay), None)
            raise error from None
        await self._wait_connected(rq.reader, asyncio.sleep(fault.delay), None)
        return result

    # ----------------------------------------------------------------- helpers

    def _chat_for(self, rq: _Request, *, sending: bool = True) -> FakeChat:
        """The chat a call names, with Telegram's errors for unknown or unreachable ones."""
        ref = rq.params.get("chat_id")
        if ref is None or ref == "":
            raise bad_request("chat_id is empty")
        chat: FakeChat | None = None
        if isinstance(ref, int) and not isinstance(ref, bool):
            chat = self._state.chats.get(ref)
        elif isinstance(ref, str) and ref.startswith("@"):
            chat = next((c for c in self._state.chats.values()
                         if c.username and c.username.lower() == ref[1:].lower()), None)
        if chat is None:
            if isinstance(ref, int) and ref in self._state.users:
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
            raise bad_request("chat not found")
        if chat.migrated_to is not None:
            raise bad_request("group chat was upgraded to a supergroup chat",
                               {"migrate_to_chat_id": chat.migrated_to})
        if sending and chat.bot_status in ("kicked", "left"):
            raise ApiError(403, _forbidden_text(chat))
        return chat

    def _render(self, rq: _Request, text: str | None) -> tuple[ParsedText, str | None]:
        """Validate text and parse_mode as Telegram does; the text the user will see."""
        parse_mode = _opt_str(rq.params, "parse_mode") or None
        if parse_mode is not None and parse_mode.lower() not in ("html", "markdown",
                                                                  "markdownv2"):
            raise bad_request("unsupported parse_mode")
        if not text:
            raise bad_request("message text is empty")
        if _LONE_SURROGATE.search(text):
            raise bad_request("strings must be encoded in UTF-8")
        if parse_mode is not None and parse_mode.lower() == "html":
            try:
                parsed = parse_telegram_html(text)
            except EntityParseError as exc:
                raise bad_request(f"can't parse entities: {exc}") from None
        else:
            given = rq.params.get("entities")
            entities = tuple(e for e in given if isinstance(e, dict)) if isinstance(
                given, list) else ()
            parsed = ParsedText(text, entities)
        parsed = strip(parsed)
        if not parsed.text:
            raise bad_request("message text is empty")
        if utf16_len(parsed.text) > MAX_MESSAGE_LENGTH:
            raise bad_request("message is too long")
        return parsed, parse_mode

    def _bot_message(self, rq: _Request, chat: FakeChat, message_id: int | None) -> SentMessage:
        if message_id is None:
            raise bad_request("message identifier is not specified")
        sent = self._state.bot_messages.get((chat.id, message_id))
        if sent is None or sent.deleted:
            if (chat.id, message_id) in self._state.user_messages:
                raise bad_request("message can't be edited")
            raise bad_request("message to edit not found")
        return sent

    def _edit(
        self, sent: SentMessage, text: str, parsed: ParsedText, parse_mode: str | None,
        markup: JSONDict | None,
    ) -> JSONDict:
        if parsed.text == sent.plain_text and parsed.entities == sent.entities \
                and markup == sent.reply_markup:
            raise bad_request(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        loop_time = asyncio.get_running_loop().time()
        sent.history.append(MessageVersion(sent.text, sent.plain_text, sent.parse_mode,
                                           sent.entities, sent.reply_markup, loop_time))
        sent.text, sent.plain_text, sent.parse_mode = text, parsed.text, parse_mode
        sent.entities, sent.reply_markup = parsed.entities, markup
        sent.edit_date = int(time.time())
        self._state.notify("edited", sent)
        return self._state.sent_to_api(sent)

    # ----------------------------------------------------------------- methods

    async def _true(self, rq: _Request) -> bool:
        return True

    async def _get_me(self, rq: _Request) -> JSONDict:
        return {
            **rq.bot,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, rq: _Request) -> list[JSONDict]:
        if self._state.webhook_url:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is "
                                 "active; use deleteWebhook to delete the webhook first")
        params = rq.params
        offset = _opt_int(params, "offset")
        limit = min(max(_opt_int(params, "limit") or 100, 1), 100)
        raw_timeout = params.get("timeout") or 0
        if not isinstance(raw_timeout, int | float):
            raise bad_request("invalid timeout specified")
        if "allowed_updates" in params:
            allowed = params["allowed_updates"]
            if not isinstance(allowed, list):
                raise bad_request("can't parse allowed_updates JSON object")
            self._state.allowed_updates = frozenset(map(str, allowed)) or DEFAULT_ALLOWED
        if offset is not None:
            if offset < 0:
                del self._state.updates[: max(len(self._state.updates) + offset, 0)]
            else:
                self._state.updates = [u for u in self._state.updates if u["update_id"] >= offset]
            self._state.changed.fire()
        previous, me = self._state.poller, Poller()
        self._state.poller = me
        if previous is not None:
            previous.superseded = True
            self._state.updates_pulse.fire()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + float(raw_timeout)
        try:
            while True:
                if me.superseded:
                    raise ApiError(409, "Conflict: terminated by other getUpdates request; "
                                         "make sure that only one bot instance is running")
                self._state.updates = [u for u in self._state.updates if _update_kind(u) in
                                 self._state.allowed_updates]
                if self._state.updates:
                    return self._state.updates[:limit]
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return []
                await self._wait_connected(rq.reader, self._state.updates_pulse.wait(), remaining)
        finally:
            if self._state.poller is me:
                self._state.poller = None

    async def _set_webhook(self, rq: _Request) -> bool:
        url = _opt_str(rq.params, "url") or ""
        if url and not url.startswith("https://"):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        self._state.webhook_url = url
        if rq.params.get("drop_pending_updates"):
            self._state.updates.clear()
        return True

    async def _delete_webhook(self, rq: _Request) -> bool:
        self._state.webhook_url = ""
        if rq.params.get("drop_pending_updates"):
            self._state.updates.clear()
            self._state.changed.fire()
        return True

    async def _get_webhook_info(self, rq: _Request) -> JSONDict:
        return {
            "url": self._state.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._state.updates),
        }

    async def _set_my_commands(self, rq: _Request) -> bool:
        commands = rq.params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("can't parse commands JSON object")
        clean: list[JSONDict] = []
        for entry in commands:
            if not isinstance(entry, dict):
                raise bad_request("can't parse BotCommand JSON object")
            name, description = entry.get("command"), entry.get("description")
            if not isinstance(name, str) or not _COMMAND_NAME.fullmatch(name):
                raise bad_request("BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not 1 <= len(description) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            clean.append({"command": name, "description": description})
        key = (scope_key(_opt_dict(rq.params, "scope")),
               _opt_str(rq.params, "language_code") or "")
        self._state.commands[key] = clean
        return True

    async def _get_my_commands(self, rq: _Request) -> list[JSONDict]:
        key = (scope_key(_opt_dict(rq.params, "scope")),
               _opt_str(rq.params, "language_code") or "")
        return list(self._state.commands.get(key, []))

    async def _delete_my_commands(self, rq: _Request) -> bool:
        key = (scope_key(_opt_dict(rq.params, "scope")),
               _opt_str(rq.params, "language_code") or "")
        self._state.commands.pop(key, None)
        return True

    async def _send_message(self, rq: _Request) -> JSONDict:
        params = rq.params
        chat = self._chat_for(rq)
        text = _opt_str(params, "text")
        parsed, parse_mode = self._render(rq, text)
        markup = _check_markup(params.get("reply_markup"))
        reply_to = self._reply_target(rq, chat)
        loop_time = asyncio.get_running_loop().time()
        sent = SentMessage(
            chat_id=chat.id,
            message_id=self._state.next_message_id(chat.id),
            text=text or "",
            plain_text=parsed.text,
            parse_mode=parse_mode,
            entities=parsed.entities,
            reply_markup=markup,
            message_thread_id=_opt_int(params, "message_thread_id"),
            reply_to_message_id=reply_to,
            disable_notification=bool(params.get("disable_notification")),
            link_preview_options=_opt_dict(params, "link_preview_options"),
            date=int(time.time()),
            sent_at=loop_time,
            sender=rq.bot,
        )
        self._state.add_sent(sent)
        return self._state.sent_to_api(sent)

    def _reply_target(self, rq: _Request, chat: FakeChat) -> int | None:
        params = rq.params
        reply = _opt_dict(params, "reply_parameters") or {}
        message_id = reply.get("message_id", _opt_int(params, "reply_to_message_id"))
        if message_id is None:
            return None
        if not isinstance(message_id, int):
            raise bad_request("invalid reply_parameters specified")
        exists = (chat.id, message_id) in self._state.user_messages or (
            (chat.id, message_id) in self._state.bot_messages
            and not self._state.bot_messages[(chat.id, message_id)].deleted
        )
        if exists:
            return message_id
        if reply.get("allow_sending_without_reply") or params.get("allow_sending_without_reply"):
            return None
        raise bad_request("message to be replied not found")

    async def _edit_message_text(self, rq: _Request) -> JSONDict:
        if rq.params.get("inline_message_id"):
            raise bad_request("inline messages are not supported by the fake")
        chat = self._chat_for(rq)
        sent = self._bot_message(rq, chat, _opt_int(rq.params, "message_id"))
        text = _opt_str(rq.params, "text")
        parsed, parse_mode = self._render(rq, text)
        markup = _check_markup(rq.params.get("reply_markup"))
        return self._edit(sent, text or "", parsed, parse_mode, markup)

    async def _edit_message_reply_markup(self, rq: _Request) -> JSONDict:
        if rq.params.get("inline_message_id"):
            raise bad_request("inline messages are not supported by the fake")
        chat = self._chat_for(rq)
        sent = self._bot_message(rq, chat, _opt_int(rq.params, "message_id"))
        markup = _check_markup(rq.params.get("reply_markup"))
        same = ParsedText(sent.plain_text, sent.entities)
        return self._edit(sent, sent.text, same, sent.parse_mode, markup)

    async def _delete_message(self, rq: _Request) -> bool:
        chat = self._chat_for(rq)
        message_id = _opt_int(rq.params, "message_id")
        key = (chat.id, message_id if message_id is not None else -1)
        sent = self._state.bot_messages.get(key)
        if sent is not None and not sent.deleted:
            sent.deleted = True
            self._state.notify("deleted", sent)
            return True
        if key in self._state.user_messages:
            del self._state.user_messages[key]
            return True
        raise bad_request("message to delete not found")

    async def _answer_callback_query(self, rq: _Request) -> bool:
        query_id = _opt_str(rq.params, "callback_query_id") or ""
        pending = self._state.callbacks.get(query_id)
        if pending is None or pending.answered:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        text = _opt_str(rq.params, "text")
        if text is not None and len(text) > MAX_CALLBACK_ANSWER:
            raise bad_request("MESSAGE_TOO_LONG")
        pending.answered = True
        self._state.callback_answers.append(CallbackAnswer(
            query_id, text, bool(rq.params.get("show_alert")), _opt_str(rq.params, "url"),
            _opt_int(rq.params, "cache_time"), asyncio.get_running_loop().time(),
        ))
        return True

    async def _send_chat_action(self, rq: _Request) -> bool:
        chat = self._chat_for(rq)
        action = _opt_str(rq.params, "action")
        if action not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        self._state.chat_actions.append(ChatAction(
            chat.id, action, _opt_int(rq.params, "message_thread_id"),
            asyncio.get_running_loop().time(),
        ))
        return True

    async def _get_chat(self, rq: _Request) -> JSONDict:
        chat = self._chat_for(rq, sending=False)
        return {
            **chat.to_api(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False, "limited_gifts": False, "unique_gifts": False,
                "premium_subscription": False, "gifts_from_channels": False,
            },
        }

    async def _get_chat_member(self, rq: _Request) -> JSONDict:
        chat = self._chat_for(rq, sending=False)
        user_id = _opt_int(rq.params, "user_id")
        if user_id is None:
            raise bad_request("user_id is empty")
        if user_id == rq.bot["id"]:
            member: JSONDict = {"status": chat.bot_status, "user": rq.bot}
            if chat.bot_status == "kicked":
                member["until_date"] = 0
            elif chat.bot_status == "administrator":
                member.update(admin_rights(can_be_edited=False))
            return member
        user = self._state.users.get(user_id)
        if user is None:
            raise bad_request("user not found")
        if chat.type == "private" and user_id != chat.id:
            raise bad_request("user not found")
        return self._member(chat, user)

    async def _get_chat_administrators(self, rq: _Request) -> list[JSONDict]:
        chat = self._chat_for(rq, sending=False)
        if chat.type == "private":
            raise bad_request("there are no administrators in the private chat")
        ids = ([chat.owner] if chat.owner is not None else []) + chat.admins
        return [self._member(chat, self._state.users[uid]) for uid in ids]

    def _member(self, chat: FakeChat, user: FakeUser) -> JSONDict:
        if chat.owner == user.id:
            return {"status": "creator", "user": user.to_api(), "is_anonymous": False}
        if user.id in chat.admins:
            return {"status": "administrator", "user": user.to_api(),
                    **admin_rights(can_be_edited=False)}
        return {"status": "member", "user": user.to_api()}


# --------------------------------------------------------------------------- small helpers


def _update_kind(update: Mapping[str, Any]) -> str:
    return next(key for key in update if key != "update_id")


def _forbidden_text(chat: FakeChat) -> str:
    if chat.type == "private":
        return "Forbidden: bot was blocked by the user"
    if chat.bot_status == "kicked":
        return f"Forbidden: bot was kicked from the {chat.type} chat"
    return f"Forbidden: bot is not a member of the {chat.type} chat"


def _check_markup(markup: object) -> JSONDict | None:
    """Validate reply_markup as Telegram does for the parts the bot uses."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in markup:
        return markup
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request("can't parse inline keyboard button: InlineKeyboardButton must be "
                           "an Object")
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not button.get("text"):
                raise bad_request("can't parse inline keyboard button: Text buttons are "
                                   "unallowed in the inline keyboard")
            actions = set(button) - {"text", "style", "icon_custom_emoji_id"}
            if not actions:
                raise bad_request("can't parse inline keyboard button: Text buttons are "
                                   "unallowed in the inline keyboard")
            data = button.get("callback_data")
            if data is not None and not (
                isinstance(data, str) and 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA
            ):
                raise bad_request("BUTTON_DATA_INVALID")
            url = button.get("url")
            if url is not None and not (
                isinstance(url, str) and url.startswith(("http://", "https://", "tg://"))
            ):
                raise bad_request("BUTTON_URL_INVALID")
    return markup
