"""An in-process fake of the Telegram Bot API: try the bot offline, test it end to end.

See :mod:`fakebotapi.api`. Only the terminal chat, the tests and the benchmarks import it.
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
