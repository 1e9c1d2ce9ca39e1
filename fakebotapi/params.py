"""Bot API parameters as Telegram reads them: from the query, a form, multipart or JSON.

PTB sends strings as they are and everything else JSON-encoded (numbers, booleans,
objects), as Telegram expects; :func:`decode_params` types each one by its name, and the
``opt_*`` readers answer Telegram's ``Bad Request`` for a value of the wrong kind.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from .errors import bad_request
from .records import JSONDict

__all__ = ["decode_params", "opt_dict", "opt_int", "opt_str"]

_INT_PARAMS = frozenset(
    {
        "message_id",
        "message_thread_id",
        "offset",
        "limit",
        "user_id",
        "reply_to_message_id",
        "cache_time",
        "from_chat_id",
        "max_connections",
        "until_date",
    }
)
_NUMBER_PARAMS = frozenset({"timeout"})
_BOOL_PARAMS = frozenset(
    {
        "disable_notification",
        "protect_content",
        "show_alert",
        "drop_pending_updates",
        "allow_sending_without_reply",
        "disable_web_page_preview",
        "allow_paid_broadcast",
        "revoke_messages",
        "only_if_banned",
    }
)
_JSON_PARAMS = frozenset(
    {
        "reply_markup",
        "reply_parameters",
        "link_preview_options",
        "allowed_updates",
        "commands",
        "scope",
        "entities",
        "caption_entities",
        "media",
        "results",
        "rights",
        "menu_button",
        "permissions",
        "reaction",
    }
)
_INT_TEXT = re.compile(r"-?[0-9]+")


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
    """The fields of a ``multipart/form-data`` body; a file is its name, type and bytes."""
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
        disposition = part_type = ""
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            if key.strip().lower() == "content-disposition":
                disposition = value
            elif key.strip().lower() == "content-type":
                part_type = value.strip()
        name = re.search(r'\bname="([^"]*)"', disposition)
        if name is None:
            continue
        filename = re.search(r'\bfilename="([^"]*)"', disposition)
        if filename is not None:
            fields[name.group(1)] = {
                "filename": filename.group(1),
                "size": len(content),
                "mime_type": part_type or None,
                "content": content,
            }
        else:
            fields[name.group(1)] = content.decode("utf-8", "replace")
    return fields


def decode_params(query: str, content_type: str, body: bytes) -> JSONDict:
    """A request's parameters (query string, then body), each typed as Telegram reads it."""
    raw: JSONDict = dict(parse_qsl(query, keep_blank_values=True))
    kind = content_type.partition(";")[0].strip().lower()
    if body:
        if kind == "application/x-www-form-urlencoded":
            raw.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        elif kind == "multipart/form-data":
            raw.update(_parse_multipart(body, content_type))
        elif kind == "application/json":
            try:
                loaded = json.loads(body)
            except ValueError:
                raise bad_request("can't parse JSON request body") from None
            if not isinstance(loaded, dict):
                raise bad_request("JSON request body must be an object")
            raw.update(loaded)
        else:
            raise bad_request(f"unsupported Content-Type {kind or '(none)'}")
    return {name: _typed(name, value) for name, value in raw.items()}


def opt_int(params: Mapping[str, Any], name: str) -> int | None:
    """An integer parameter, ``None`` when absent."""
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_request(f"invalid {name} specified")
    return value


def opt_str(params: Mapping[str, Any], name: str) -> str | None:
    """A parameter as text, ``None`` when absent."""
    value = params.get(name)
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def opt_dict(params: Mapping[str, Any], name: str) -> JSONDict | None:
    """A JSON-object parameter, ``None`` when absent."""
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise bad_request(f"can't parse {name} JSON object")
    return value
