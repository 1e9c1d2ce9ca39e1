"""The Bot API methods the fake answers, as a table of handlers over the :class:`State`.

Each handler takes the state and the :class:`Request` being served and returns the
method's ``result`` (shaped like Telegram's) or raises an
:class:`~fakebotapi.errors.ApiError` worded as Telegram words it. :data:`METHODS` maps a
method's lower-cased name to its canonical name and handler.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

from .errors import ApiError, bad_request
from .html import (
    MAX_MESSAGE_LENGTH,
    EntityParseError,
    ParsedText,
    parse_telegram_html,
    strip,
    utf16_len,
)
from .params import opt_dict, opt_int, opt_str
from .records import (
    BotCall,
    CallbackAnswer,
    ChatAction,
    FakeChat,
    FakeUser,
    JSONDict,
    MessageVersion,
    SentMessage,
    admin_rights,
)
from .state import DEFAULT_ALLOWED, Poller, State, scope_key

__all__ = ["MAX_CALLBACK_ANSWER", "MAX_CALLBACK_DATA", "METHODS", "Handler", "Hold", "Request"]

MAX_CALLBACK_DATA = 64
MAX_CALLBACK_ANSWER = 200

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)

Hold = Callable[[Awaitable[object], float | None], Awaitable[Literal["done", "timeout"]]]
"""Wait for an awaitable (at most ``within`` seconds, ``None``: no limit) while the client
stays connected: ``"done"`` or ``"timeout"``; raises
:class:`~fakebotapi.errors.ClientGone` if the client hangs up or the server stops."""


@dataclass(slots=True)
class Request:
    """One Bot API call being served: its record, the bot it is for, how to wait in it."""

    call: BotCall
    bot: JSONDict
    hold: Hold

    @property
    def params(self) -> JSONDict:
        """The call's typed parameters."""
        return self.call.params


Handler = Callable[[State, Request], Awaitable[Any]]


# --------------------------------------------------------------------------- the bot


async def _true(state: State, rq: Request) -> bool:
    return True


async def _get_me(state: State, rq: Request) -> JSONDict:
    return {
        **rq.bot,
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


# --------------------------------------------------------------------------- updates


async def _get_updates(state: State, rq: Request) -> list[JSONDict]:
    """Long polling: confirm updates below ``offset``, then answer as soon as one is queued
    (or ``timeout`` passes); a newer getUpdates call ends this one with 409 Conflict."""
    if state.webhook_url:
        raise ApiError(
            409,
            "Conflict: can't use getUpdates method while webhook is "
            "active; use deleteWebhook to delete the webhook first",
        )
    params = rq.params
    offset = opt_int(params, "offset")
    limit = min(max(opt_int(params, "limit") or 100, 1), 100)
    raw_timeout = params.get("timeout") or 0
    if not isinstance(raw_timeout, int | float):
        raise bad_request("invalid timeout specified")
    if "allowed_updates" in params:
        allowed = params["allowed_updates"]
        if not isinstance(allowed, list):
            raise bad_request("can't parse allowed_updates JSON object")
        state.allowed_updates = frozenset(map(str, allowed)) or DEFAULT_ALLOWED
    if offset is not None:
        if offset < 0:
            del state.updates[: max(len(state.updates) + offset, 0)]
        else:
            state.updates = [u for u in state.updates if u["update_id"] >= offset]
        state.changed.fire()
    previous, me = state.poller, Poller()
    state.poller = me
    if previous is not None:
        previous.superseded = True
        state.updates_pulse.fire()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + float(raw_timeout)
    try:
        while True:
            if me.superseded:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            state.updates = [u for u in state.updates if _update_kind(u) in state.allowed_updates]
            if state.updates:
                return state.updates[:limit]
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            await rq.hold(state.updates_pulse.wait(), remaining)
    finally:
        if state.poller is me:
            state.poller = None


def _update_kind(update: Mapping[str, Any]) -> str:
    return next(key for key in update if key != "update_id")


async def _set_webhook(state: State, rq: Request) -> bool:
    url = opt_str(rq.params, "url") or ""
    if url and not url.startswith("https://"):
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    state.webhook_url = url
    if rq.params.get("drop_pending_updates"):
        state.updates.clear()
    return True


async def _delete_webhook(state: State, rq: Request) -> bool:
    state.webhook_url = ""
    if rq.params.get("drop_pending_updates"):
        state.updates.clear()
        state.changed.fire()
    return True


async def _get_webhook_info(state: State, rq: Request) -> JSONDict:
    return {
        "url": state.webhook_url,
        "has_custom_certificate": False,
        "pending_update_count": len(state.updates),
    }


# --------------------------------------------------------------------------- commands


def _commands_key(rq: Request) -> tuple[str, str]:
    return (scope_key(opt_dict(rq.params, "scope")), opt_str(rq.params, "language_code") or "")


async def _set_my_commands(state: State, rq: Request) -> bool:
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
    state.commands[_commands_key(rq)] = clean
    return True


async def _get_my_commands(state: State, rq: Request) -> list[JSONDict]:
    return list(state.commands.get(_commands_key(rq), []))


async def _delete_my_commands(state: State, rq: Request) -> bool:
    state.commands.pop(_commands_key(rq), None)
    return True


# --------------------------------------------------------------------------- messages


async def _send_message(state: State, rq: Request) -> JSONDict:
    params = rq.params
    chat = _chat_for(state, rq)
    text = opt_str(params, "text")
    parsed, parse_mode = _render(rq, text)
    markup = _check_markup(params.get("reply_markup"))
    reply_to = _reply_target(state, rq, chat)
    loop_time = asyncio.get_running_loop().time()
    sent = SentMessage(
        chat_id=chat.id,
        message_id=state.next_message_id(chat.id),
        text=text or "",
        plain_text=parsed.text,
        parse_mode=parse_mode,
        entities=parsed.entities,
        reply_markup=markup,
        message_thread_id=opt_int(params, "message_thread_id"),
        reply_to_message_id=reply_to,
        disable_notification=bool(params.get("disable_notification")),
        link_preview_options=opt_dict(params, "link_preview_options"),
        date=int(time.time()),
        sent_at=loop_time,
        sender=rq.bot,
    )
    state.add_sent(sent)
    return state.sent_to_api(sent)


async def _send_document(state: State, rq: Request) -> JSONDict:
    """A file upload (multipart) or a file id the fake knows, with an optional caption."""
    params = rq.params
    chat = _chat_for(state, rq)
    document = params.get("document")
    if isinstance(document, dict) and isinstance(document.get("content"), bytes):
        if not document["content"]:
            raise bad_request("file must be non-empty")
        stored = state.add_file(
            str(document.get("filename") or "document"),
            document["content"],
            document.get("mime_type"),
        )
    elif isinstance(document, str) and document in state.files:
        stored = state.files[document]
    else:
        raise bad_request("wrong file identifier/HTTP URL specified")
    caption = opt_str(params, "caption")
    parsed, parse_mode = _render(rq, caption) if caption else (ParsedText("", ()), None)
    sent = SentMessage(
        chat_id=chat.id,
        message_id=state.next_message_id(chat.id),
        text=caption or "",
        plain_text=parsed.text,
        parse_mode=parse_mode,
        entities=parsed.entities,
        reply_markup=_check_markup(params.get("reply_markup")),
        message_thread_id=opt_int(params, "message_thread_id"),
        reply_to_message_id=_reply_target(state, rq, chat),
        disable_notification=bool(params.get("disable_notification")),
        link_preview_options=None,
        date=int(time.time()),
        sent_at=asyncio.get_running_loop().time(),
        sender=rq.bot,
        document=stored.document(),
    )
    state.add_sent(sent)
    return state.sent_to_api(sent)


async def _get_file(state: State, rq: Request) -> JSONDict:
    file_id = opt_str(rq.params, "file_id")
    stored = state.files.get(file_id or "")
    if stored is None:
        raise bad_request("invalid file_id")
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": len(stored.content),
        "file_path": stored.file_path,
    }


def _reply_target(state: State, rq: Request, chat: FakeChat) -> int | None:
    params = rq.params
    reply = opt_dict(params, "reply_parameters") or {}
    message_id = reply.get("message_id", opt_int(params, "reply_to_message_id"))
    if message_id is None:
        return None
    if not isinstance(message_id, int):
        raise bad_request("invalid reply_parameters specified")
    exists = (chat.id, message_id) in state.user_messages or (
        (chat.id, message_id) in state.bot_messages
        and not state.bot_messages[(chat.id, message_id)].deleted
    )
    if exists:
        return message_id
    if reply.get("allow_sending_without_reply") or params.get("allow_sending_without_reply"):
        return None
    raise bad_request("message to be replied not found")


async def _edit_message_text(state: State, rq: Request) -> JSONDict:
    if rq.params.get("inline_message_id"):
        raise bad_request("inline messages are not supported by the fake")
    chat = _chat_for(state, rq)
    sent = _bot_message(state, chat, opt_int(rq.params, "message_id"))
    text = opt_str(rq.params, "text")
    parsed, parse_mode = _render(rq, text)
    markup = _check_markup(rq.params.get("reply_markup"))
    return _edit(state, sent, text or "", parsed, parse_mode, markup)


async def _edit_message_reply_markup(state: State, rq: Request) -> JSONDict:
    if rq.params.get("inline_message_id"):
        raise bad_request("inline messages are not supported by the fake")
    chat = _chat_for(state, rq)
    sent = _bot_message(state, chat, opt_int(rq.params, "message_id"))
    markup = _check_markup(rq.params.get("reply_markup"))
    same = ParsedText(sent.plain_text, sent.entities)
    return _edit(state, sent, sent.text, same, sent.parse_mode, markup)


def _bot_message(state: State, chat: FakeChat, message_id: int | None) -> SentMessage:
    if message_id is None:
        raise bad_request("message identifier is not specified")
    sent = state.bot_messages.get((chat.id, message_id))
    if sent is None or sent.deleted:
        if (chat.id, message_id) in state.user_messages:
            raise bad_request("message can't be edited")
        raise bad_request("message to edit not found")
    return sent


def _edit(
    state: State,
    sent: SentMessage,
    text: str,
    parsed: ParsedText,
    parse_mode: str | None,
    markup: JSONDict | None,
) -> JSONDict:
    if (
        parsed.text == sent.plain_text
        and parsed.entities == sent.entities
        and markup == sent.reply_markup
    ):
        raise bad_request(
            "message is not modified: specified new message content and reply markup are "
            "exactly the same as a current content and reply markup of the message"
        )
    loop_time = asyncio.get_running_loop().time()
    sent.history.append(
        MessageVersion(
            sent.text, sent.plain_text, sent.parse_mode, sent.entities, sent.reply_markup, loop_time
        )
    )
    sent.text, sent.plain_text, sent.parse_mode = text, parsed.text, parse_mode
    sent.entities, sent.reply_markup = parsed.entities, markup
    sent.edit_date = int(time.time())
    state.notify("edited", sent)
    return state.sent_to_api(sent)


async def _delete_message(state: State, rq: Request) -> bool:
    chat = _chat_for(state, rq)
    message_id = opt_int(rq.params, "message_id")
    key = (chat.id, message_id if message_id is not None else -1)
    sent = state.bot_messages.get(key)
    if sent is not None and not sent.deleted:
        sent.deleted = True
        state.notify("deleted", sent)
        return True
    if key in state.user_messages:
        del state.user_messages[key]
        return True
    raise bad_request("message to delete not found")


def _render(rq: Request, text: str | None) -> tuple[ParsedText, str | None]:
    """Validate text and parse_mode as Telegram does; the text the user will see."""
    parse_mode = opt_str(rq.params, "parse_mode") or None
    if parse_mode is not None and parse_mode.lower() not in ("html", "markdown", "markdownv2"):
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
        entities = tuple(e for e in given if isinstance(e, dict)) if isinstance(given, list) else ()
        parsed = ParsedText(text, entities)
    parsed = strip(parsed)
    if not parsed.text:
        raise bad_request("message text is empty")
    if utf16_len(parsed.text) > MAX_MESSAGE_LENGTH:
        raise bad_request("message is too long")
    return parsed, parse_mode


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
        raise bad_request(
            "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
        )
    for row in rows:
        for button in row:
            _check_button(button)
    return markup


def _check_button(button: object) -> None:
    if not isinstance(button, dict) or not button.get("text"):
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    actions = set(button) - {"text", "style", "icon_custom_emoji_id"}
    if not actions:
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
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


async def _answer_callback_query(state: State, rq: Request) -> bool:
    query_id = opt_str(rq.params, "callback_query_id") or ""
    pending = state.callbacks.get(query_id)
    if pending is None or pending.answered:
        raise bad_request("query is too old and response timeout expired or query ID is invalid")
    text = opt_str(rq.params, "text")
    if text is not None and len(text) > MAX_CALLBACK_ANSWER:
        raise bad_request("MESSAGE_TOO_LONG")
    pending.answered = True
    state.callback_answers.append(
        CallbackAnswer(
            query_id,
            text,
            bool(rq.params.get("show_alert")),
            opt_str(rq.params, "url"),
            opt_int(rq.params, "cache_time"),
            asyncio.get_running_loop().time(),
        )
    )
    return True


async def _send_chat_action(state: State, rq: Request) -> bool:
    chat = _chat_for(state, rq)
    action = opt_str(rq.params, "action")
    if action not in _CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    state.chat_actions.append(
        ChatAction(
            chat.id,
            action,
            opt_int(rq.params, "message_thread_id"),
            asyncio.get_running_loop().time(),
        )
    )
    return True


# --------------------------------------------------------------------------- chats


def _chat_for(state: State, rq: Request, *, sending: bool = True) -> FakeChat:
    """The chat a call names, with Telegram's errors for unknown or unreachable ones."""
    ref = rq.params.get("chat_id")
    if ref is None or ref == "":
        raise bad_request("chat_id is empty")
    chat: FakeChat | None = None
    if isinstance(ref, int) and not isinstance(ref, bool):
        chat = state.chats.get(ref)
    elif isinstance(ref, str) and ref.startswith("@"):
        chat = next(
            (
                c
                for c in state.chats.values()
                if c.username and c.username.lower() == ref[1:].lower()
            ),
            None,
        )
    if chat is None:
        if isinstance(ref, int) and ref in state.users:
            raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        raise bad_request("chat not found")
    if chat.migrated_to is not None:
        raise bad_request(
            "group chat was upgraded to a supergroup chat", {"migrate_to_chat_id": chat.migrated_to}
        )
    if sending and chat.bot_status in ("kicked", "left"):
        raise ApiError(403, _forbidden_text(chat))
    if sending and chat.type == "channel" and chat.bot_status != "administrator":
        raise bad_request("need administrator rights in the channel chat")
    return chat


def _forbidden_text(chat: FakeChat) -> str:
    if chat.type == "private":
        return "Forbidden: bot was blocked by the user"
    if chat.bot_status == "kicked":
        return f"Forbidden: bot was kicked from the {chat.type} chat"
    return f"Forbidden: bot is not a member of the {chat.type} chat"


async def _get_chat(state: State, rq: Request) -> JSONDict:
    chat = _chat_for(state, rq, sending=False)
    return {
        **chat.to_api(),
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": {
            "unlimited_gifts": False,
            "limited_gifts": False,
            "unique_gifts": False,
            "premium_subscription": False,
            "gifts_from_channels": False,
        },
    }


async def _get_chat_member(state: State, rq: Request) -> JSONDict:
    chat = _chat_for(state, rq, sending=False)
    user_id = opt_int(rq.params, "user_id")
    if user_id is None:
        raise bad_request("user_id is empty")
    if user_id == rq.bot["id"]:
        member: JSONDict = {"status": chat.bot_status, "user": rq.bot}
        if chat.bot_status == "kicked":
            member["until_date"] = 0
        elif chat.bot_status == "administrator":
            member.update(admin_rights(can_be_edited=False, channel=chat.type == "channel"))
        return member
    user = state.users.get(user_id)
    if user is None:
        raise bad_request("user not found")
    if chat.type == "private" and user_id != chat.id:
        raise bad_request("user not found")
    return _member(chat, user)


async def _get_chat_administrators(state: State, rq: Request) -> list[JSONDict]:
    chat = _chat_for(state, rq, sending=False)
    if chat.type == "private":
        raise bad_request("there are no administrators in the private chat")
    ids = ([chat.owner] if chat.owner is not None else []) + chat.admins
    return [_member(chat, state.users[uid]) for uid in ids]


def _member(chat: FakeChat, user: FakeUser) -> JSONDict:
    if chat.owner == user.id:
        return {"status": "creator", "user": user.to_api(), "is_anonymous": False}
    if user.id in chat.admins:
        return {
            "status": "administrator",
            "user": user.to_api(),
            **admin_rights(can_be_edited=False, channel=chat.type == "channel"),
        }
    return {"status": "member", "user": user.to_api()}


# --------------------------------------------------------------------------- the table


METHODS: Mapping[str, tuple[str, Handler]] = MappingProxyType(
    {
        name.lower(): (name, handler)
        for name, handler in (
            ("getMe", _get_me),
            ("getUpdates", _get_updates),
            ("setWebhook", _set_webhook),
            ("deleteWebhook", _delete_webhook),
            ("getWebhookInfo", _get_webhook_info),
            ("setMyCommands", _set_my_commands),
            ("getMyCommands", _get_my_commands),
            ("deleteMyCommands", _delete_my_commands),
            ("sendMessage", _send_message),
            ("sendDocument", _send_document),
            ("getFile", _get_file),
            ("editMessageText", _edit_message_text),
            ("editMessageReplyMarkup", _edit_message_reply_markup),
            ("deleteMessage", _delete_message),
            ("answerCallbackQuery", _answer_callback_query),
            ("sendChatAction", _send_chat_action),
            ("getChat", _get_chat),
            ("getChatMember", _get_chat_member),
            ("getChatAdministrators", _get_chat_administrators),
            ("close", _true),
            ("logOut", _true),
        )
    }
)
