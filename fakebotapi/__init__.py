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
    :meth:`FakeBotAPI.bot_removed`, :meth:`FakeBotAPI.bot_promoted`) and channels
    (:meth:`FakeBotAPI.channel_posts`), whose actions become updates for long polling; records
    every bot call and every message the bot sent (with its edits); injects faults
    (:meth:`FakeBotAPI.inject`) and optionally models Telegram's flood limits
    (:meth:`FakeBotAPI.flood_limit`). ``newsdigest chat`` runs the real bot against it.

What it checks, like Telegram
    ``parse_mode=HTML``: only Telegram's tags, properly nested and closed, known entities;
    the message length after entity parsing (4096 UTF-16 code units); empty text; unknown
    chats; inline keyboards (callback_data of 1-64 bytes); editing a message into itself;
    posting in a channel where the bot is not an administrator.
    It is *stricter* than Telegram in one place on purpose: a bare ``&`` (or an unknown
    entity such as ``&nbsp;``) and a bare ``>`` are rejected, where Telegram would show
    them literally; in this project either one means feed text reached a message unescaped.

What it is not
    Not a Telegram implementation. No webhooks are called (setWebhook only stores the URL),
    no media beyond documents (``sendDocument``, ``getFile`` and downloads, files users send
    with :meth:`FakeBotAPI.user_sends_document`), no inline mode, payments or Markdown
    validation (Markdown text is stored as sent); group privacy mode is not modelled (the
    bot sees every group message); forum topics are not checked to exist. HTTP pipelining is
    not supported (httpx does not pipeline): a connection that sends data while its request
    is pending is closed. It serves one bot: all tokens share one update queue. Not thread-
    safe: call it from the thread running its event loop (``loop.call_soon_threadsafe`` from
    elsewhere).

How it is built
    :mod:`~fakebotapi.api` holds the facade, :class:`FakeBotAPI`; behind it,
    :mod:`~fakebotapi.server` (HTTP and the dispatch of each call),
    :mod:`~fakebotapi.methods` (the Bot API methods, a table of handlers),
    :mod:`~fakebotapi.state` (the simulator's world) and :mod:`~fakebotapi.users` (what
    the simulated users do), :mod:`~fakebotapi.faults` (injected faults, the flood model),
    :mod:`~fakebotapi.html` (Telegram-HTML validation), :mod:`~fakebotapi.params`
    (parameters as Telegram reads them) and :mod:`~fakebotapi.records` (the plain records).
    Only the terminal chat, the tests and the benchmarks import this package; it imports
    nothing from ``bot`` or ``summarizer`` (both enforced by import-linter).
"""

from .api import FakeBotAPI
from .errors import FakeAPIError, SimulatorError, WaitTimeout
from .faults import Fault, FaultKind, FloodLimit
from .html import MAX_MESSAGE_LENGTH, EntityParseError, ParsedText, parse_telegram_html, utf16_len
from .methods import MAX_CALLBACK_DATA
from .records import (
    BotCall,
    CallbackAnswer,
    ChatAction,
    ChatType,
    FakeChat,
    FakeFile,
    FakeUser,
    MessageEvent,
    MessageVersion,
    SentMessage,
)

__all__ = [
    "MAX_CALLBACK_DATA",
    "MAX_MESSAGE_LENGTH",
    "BotCall",
    "CallbackAnswer",
    "ChatAction",
    "ChatType",
    "EntityParseError",
    "FakeAPIError",
    "FakeBotAPI",
    "FakeChat",
    "FakeFile",
    "FakeUser",
    "Fault",
    "FaultKind",
    "FloodLimit",
    "MessageEvent",
    "MessageVersion",
    "ParsedText",
    "SentMessage",
    "SimulatorError",
    "WaitTimeout",
    "parse_telegram_html",
    "utf16_len",
]
