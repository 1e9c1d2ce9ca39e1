"""The fake's records: who is in its world, what the bot called and what it sent.

Plain data, shaped like (and turned into) Telegram's objects; the fake's state
(:mod:`fakebotapi.state`) holds them and its users read them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, get_args

__all__ = [
    "CHAT_TYPES",
    "BotCall",
    "CallbackAnswer",
    "ChatAction",
    "ChatType",
    "FakeChat",
    "FakeFile",
    "FakeUser",
    "JSONDict",
    "MessageEvent",
    "MessageVersion",
    "SentMessage",
    "admin_rights",
]

JSONDict = dict[str, Any]
ChatType = Literal["private", "group", "supergroup", "channel"]
MessageEvent = Literal["sent", "edited", "deleted"]

CHAT_TYPES: frozenset[str] = frozenset(get_args(ChatType))


@dataclass(slots=True)
class FakeUser:
    """A simulated Telegram user."""

    id: int
    first_name: str
    username: str | None = None
    last_name: str | None = None
    language_code: str | None = None

    def to_api(self) -> JSONDict:
        """The user as a Telegram ``User`` object."""
        data: JSONDict = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        return data


@dataclass(slots=True)
class FakeChat:
    """A chat the fake knows; ``bot_status`` is the bot's membership in it."""

    id: int
    type: ChatType
    title: str | None = None
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    is_forum: bool = False
    owner: int | None = None
    admins: list[int] = field(default_factory=list)
    bot_status: Literal["member", "administrator", "kicked", "left"] = "member"
    migrated_to: int | None = None

    def to_api(self) -> JSONDict:
        """The chat as a Telegram ``Chat`` object."""
        data: JSONDict = {"id": self.id, "type": self.type}
        for key in ("title", "username", "first_name", "last_name"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        if self.is_forum:
            data["is_forum"] = True
        return data


@dataclass(slots=True)
class BotCall:
    """One Bot API request: typed parameters, the token used, and how it was answered.

    ``at`` is the event loop's clock (monotonic seconds) when the request arrived;
    ``status`` is ``None`` while the request is pending.
    """

    method: str
    params: JSONDict
    token: str
    at: float
    status: int | None = None
    description: str | None = None
    fault: str | None = None

    @property
    def ok(self) -> bool:
        """True when answered with ``"ok": true``."""
        return self.status == 200

    @property
    def chat_id(self) -> int | str | None:
        """The ``chat_id`` parameter, if any."""
        value = self.params.get("chat_id")
        return value if isinstance(value, int | str) else None


@dataclass(frozen=True, slots=True)
class MessageVersion:
    """An earlier version of a bot message, kept when the bot edits it."""

    text: str
    plain_text: str
    parse_mode: str | None
    entities: tuple[JSONDict, ...]
    reply_markup: JSONDict | None
    at: float


@dataclass(slots=True, eq=False)
class SentMessage:
    """A message the bot sent, as it is now; ``history`` holds the versions before edits.

    ``text`` is what the bot sent (with its HTML tags), ``plain_text`` what the user reads.
    """

    chat_id: int
    message_id: int
    text: str
    plain_text: str
    parse_mode: str | None
    entities: tuple[JSONDict, ...]
    reply_markup: JSONDict | None
    message_thread_id: int | None
    reply_to_message_id: int | None
    disable_notification: bool
    link_preview_options: JSONDict | None
    date: int
    sent_at: float
    sender: JSONDict = field(repr=False)
    history: list[MessageVersion] = field(default_factory=list)
    edit_date: int | None = None
    deleted: bool = False
    # A sendDocument message: its ``Document`` object (``text`` is then the caption).
    document: JSONDict | None = None

    @property
    def edited(self) -> bool:
        """True once the bot edited the message."""
        return bool(self.history)

    @property
    def buttons(self) -> list[list[JSONDict]]:
        """The inline keyboard's rows (empty without one)."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [list(row) for row in rows]

    @property
    def callback_data(self) -> list[str]:
        """Every button's callback_data, row by row."""
        return [b["callback_data"] for row in self.buttons for b in row if "callback_data" in b]


@dataclass(frozen=True, slots=True)
class FakeFile:
    """A file a user sent or the bot uploaded: what getFile and the download serve."""

    file_id: str
    file_unique_id: str
    file_name: str
    mime_type: str | None
    content: bytes = field(repr=False)

    @property
    def file_path(self) -> str:
        """Where the file is downloaded from, below ``/file/bot<token>/``."""
        return f"documents/{self.file_unique_id}"

    def document(self) -> JSONDict:
        """The file as a Telegram ``Document`` object."""
        data: JSONDict = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_name": self.file_name,
            "file_size": len(self.content),
        }
        if self.mime_type:
            data["mime_type"] = self.mime_type
        return data


@dataclass(frozen=True, slots=True)
class ChatAction:
    """A ``sendChatAction`` call ("typing", ...)."""

    chat_id: int
    action: str
    message_thread_id: int | None
    at: float


@dataclass(frozen=True, slots=True)
class CallbackAnswer:
    """An ``answerCallbackQuery`` call."""

    query_id: str
    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int | None
    at: float


def admin_rights(*, can_be_edited: bool, channel: bool = False) -> JSONDict:
    """The rights of an administrator in a ``ChatMemberAdministrator`` object (in a
    channel also the right to post and edit posts)."""
    rights = (
        "is_anonymous",
        "can_manage_chat",
        "can_delete_messages",
        "can_manage_video_chats",
        "can_restrict_members",
        "can_promote_members",
        "can_change_info",
        "can_invite_users",
        "can_post_stories",
        "can_edit_stories",
        "can_delete_stories",
    )
    granted = {"can_manage_chat", "can_delete_messages", "can_invite_users"}
    result: JSONDict = {"can_be_edited": can_be_edited, **{r: r in granted for r in rights}}
    if channel:
        result.update(can_post_messages=True, can_edit_messages=True)
    return result
