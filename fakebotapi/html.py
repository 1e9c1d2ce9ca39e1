"""Telegram's ``parse_mode=HTML``: the text a user sees and its entities, or Telegram's error.

Pure functions, no server: :func:`parse_telegram_html` accepts exactly the tags Telegram
accepts, properly nested and closed, and the entity references it knows; lengths are in
UTF-16 code units, as Telegram counts them (:func:`utf16_len`).

It is *stricter* than Telegram in one place on purpose: a bare ``&`` (or an unknown entity
such as ``&nbsp;``) and a bare ``>`` are rejected, where Telegram would show them
literally; in this project either one means feed text reached a message unescaped.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

__all__ = [
    "MAX_MESSAGE_LENGTH",
    "Entity",
    "EntityParseError",
    "ParsedText",
    "parse_telegram_html",
    "strip",
    "utf16_len",
]

MAX_MESSAGE_LENGTH = 4096

Entity = dict[str, Any]
"""A Telegram ``MessageEntity`` as a JSON object (``type``, ``offset``, ``length``, ...)."""

_TAG_ENTITY: Mapping[str, str] = MappingProxyType(
    {
        "b": "bold",
        "strong": "bold",
        "i": "italic",
        "em": "italic",
        "u": "underline",
        "ins": "underline",
        "s": "strikethrough",
        "strike": "strikethrough",
        "del": "strikethrough",
        "tg-spoiler": "spoiler",
        "span": "spoiler",
        "a": "text_link",
        "code": "code",
        "pre": "pre",
        "blockquote": "blockquote",
    }
)
_NAMED_ENTITIES: Mapping[str, str] = MappingProxyType(
    {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
)

# The next tag, bare ">" or "&" that starts no entity Telegram knows; text between two of
# these is plain text with valid entity references only.
_SPECIAL = re.compile(r"<|>|&(?!(?:lt|gt|amp|quot|#[0-9]{1,8}|#[xX][0-9a-fA-F]{1,8});)")
_ENTITY_REF = re.compile(r"&(?:(lt|gt|amp|quot)|#([0-9]{1,8})|#[xX]([0-9a-fA-F]{1,8}));")
_ENTITY_LIKE = re.compile(r"&#?[a-zA-Z0-9]{1,32};")
_START_TAG = re.compile(r"<([a-zA-Z][a-zA-Z0-9-]*)")
_END_TAG = re.compile(r"</([a-zA-Z][a-zA-Z0-9-]*)\s*>")
_TAG_CLOSE = re.compile(r"\s*>")
_TAG_ATTR = re.compile(
    r"""\s+([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?"""
)


class EntityParseError(ValueError):
    """Text that Telegram would refuse with ``Bad Request: can't parse entities: ...``."""


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True, slots=True)
class ParsedText:
    """Text as a Telegram user sees it, and its entities (offsets in UTF-16 code units)."""

    text: str
    entities: tuple[Entity, ...] = ()


@dataclass(slots=True)
class _OpenTag:
    name: str
    start: int
    attrs: dict[str, str]
    language: str | None = None


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode("utf-8"))


def _unescape(source: str, start: int, end: int) -> str:
    """``source[start:end]``, free of tags and bare ``&``, with its entities decoded."""
    segment = source[start:end]
    if "&" not in segment:
        return segment

    def decode(match: re.Match[str]) -> str:
        name, decimal, hexadecimal = match.groups()
        if name is not None:
            return _NAMED_ENTITIES[name]
        code = int(decimal) if decimal is not None else int(hexadecimal, 16)
        if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            where = _byte_offset(source, start + match.start())
            raise EntityParseError(
                f'Unsupported HTML entity "{match.group()}" at byte offset {where}'
            )
        return chr(code)

    return _ENTITY_REF.sub(decode, segment)


def _read_start_tag(source: str, index: int) -> tuple[_OpenTag, int]:
    """The tag starting at ``source[index] == "<"`` and the index after its ``>``."""
    where = _byte_offset(source, index)
    match = _START_TAG.match(source, index)
    name = match.group(1).lower() if match else ""
    if match is None or name not in _TAG_ENTITY:
        raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {where}')
    attrs: dict[str, str] = {}
    pos = match.end()
    while True:
        closing = _TAG_CLOSE.match(source, pos)
        if closing:
            pos = closing.end()
            break
        attr = _TAG_ATTR.match(source, pos)
        if attr is None:
            if source[pos:].strip() and ">" in source[pos:]:
                raise EntityParseError(f"Invalid attribute in the tag at byte offset {where}")
            raise EntityParseError(f"Unclosed start tag at byte offset {where}")
        value = next((g for g in attr.groups()[1:] if g is not None), "")
        attrs[attr.group(1).lower()] = html.unescape(value)
        pos = attr.end()
    if name == "span" and attrs.get("class") != "tg-spoiler":
        raise EntityParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {where}')
    return _OpenTag(name, 0, attrs), pos


def _read_end_tag(source: str, index: int, stack: list[_OpenTag]) -> tuple[_OpenTag, int]:
    """Pop the tag that the end tag at ``source[index:]`` closes; the index after it."""
    match = _END_TAG.match(source, index)
    where = _byte_offset(source, index)
    if match is None:
        raise EntityParseError(f"Unclosed end tag at byte offset {where}")
    name = match.group(1).lower()
    if not stack:
        raise EntityParseError(f"Unexpected end tag at byte offset {where}")
    if stack[-1].name != name:
        raise EntityParseError(
            f'Unmatched end tag at byte offset {where}, expected "</{stack[-1].name}>", '
            f'found "</{name}>"'
        )
    return stack.pop(), match.end()


def _entity_for(tag: _OpenTag, end: int, stack: Sequence[_OpenTag]) -> Entity | None:
    """The entity a closed tag produces (``None`` for none: empty, or ``<a>`` without href)."""
    if tag.name == "code" and stack and stack[-1].name == "pre":
        language = tag.attrs.get("class", "")
        if language.startswith("language-") and len(language) > len("language-"):
            stack[-1].language = language.removeprefix("language-")
            return None
    length = end - tag.start
    if length <= 0:
        return None
    entity: Entity = {"type": _TAG_ENTITY[tag.name], "offset": tag.start, "length": length}
    if tag.name == "a":
        href = tag.attrs.get("href", "").strip()
        if not href:
            return None
        entity["url"] = href
    elif tag.name == "pre" and tag.language:
        entity["language"] = tag.language
    elif tag.name == "blockquote" and "expandable" in tag.attrs:
        entity["type"] = "expandable_blockquote"
    return entity


def _refuse_bare(source: str, index: int) -> EntityParseError:
    """The error for the bare ``&`` or ``>`` at ``source[index]``."""
    where = _byte_offset(source, index)
    if source[index] == "&":
        like = _ENTITY_LIKE.match(source, index)
        return EntityParseError(
            f'Unsupported HTML entity "{like.group() if like else "&"}" at byte offset '
            f'{where}; escape "&" as "&amp;"'
        )
    return EntityParseError(f'Unescaped ">" at byte offset {where}; use "&gt;"')


def parse_telegram_html(source: str) -> ParsedText:
    """Parse ``parse_mode=HTML`` text as Telegram does, or raise :class:`EntityParseError`.

    Error messages follow Telegram's (``Unsupported start tag "div" at byte offset 0``,
    ``Can't find end tag corresponding to start tag "b"``, ...). Leading and trailing
    whitespace is not stripped here (:func:`strip` does that); see the module docstring
    for where this is stricter than Telegram.
    """
    out: list[str] = []
    pos16 = 0
    stack: list[_OpenTag] = []
    entities: list[Entity] = []
    index, size = 0, len(source)
    while index < size:
        special = _SPECIAL.search(source, index)
        end = special.start() if special else size
        if end > index:
            chunk = _unescape(source, index, end)
            out.append(chunk)
            pos16 += utf16_len(chunk)
        if special is None:
            break
        index = end
        if source[index] in "&>":
            raise _refuse_bare(source, index)
        if source.startswith("</", index):
            tag, index = _read_end_tag(source, index, stack)
            entity = _entity_for(tag, pos16, stack)
            if entity is not None:
                entities.append(entity)
        else:
            tag, index = _read_start_tag(source, index)
            tag.start = pos16
            stack.append(tag)
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return ParsedText("".join(out), tuple(entities))


def strip(parsed: ParsedText) -> ParsedText:
    """Telegram trims leading and trailing whitespace; entities move with the text."""
    text = parsed.text
    left = text.lstrip()
    lead = utf16_len(text[: len(text) - len(left)])
    kept = left.rstrip()
    total = utf16_len(kept)
    entities = []
    for entity in parsed.entities:
        start = max(entity["offset"] - lead, 0)
        end = min(entity["offset"] + entity["length"] - lead, total)
        if end > start:
            entities.append({**entity, "offset": start, "length": end - start})
    return ParsedText(kept, tuple(entities))
