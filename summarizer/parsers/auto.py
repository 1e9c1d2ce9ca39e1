"""Pick the right parser for a text, a byte string or a file."""

from __future__ import annotations

import re
from pathlib import Path

from ..article import Article
from ..errors import SummarizerError
from .encoding import decode_bytes
from .html import parse_html
from .plain import parse_plain
from .seed import looks_like_seed, parse_seed

_HTML_START = re.compile(r"^\s*(?:<!doctype html|<html|<head|<body|<article|<\?xml)", re.I)
# A page's own frame, wherever it starts: a saved page may open with a long comment,
# a script, a byte-order mark or stray text before its first tag.
_HTML_FRAME = re.compile(r"<(?:!doctype\s+html|html|head|body)\b[^>]*>", re.I)
_HTML_TAG = re.compile(
    r"</?(?:p|div|span|a|br|h[1-6]|article|section|main|meta|title|script|style|li|ul|img)"
    r"\b[^<>]*>",
    re.I,
)
# Markup this dense is a page (or a fragment of one), not prose that mentions a tag.
_MIN_TAGS = 8
_SNIFF_CHARS = 200_000


def looks_like_html(text: str) -> bool:
    """True when the text is a web page, even when its tags start deep inside, or a
    fragment of one: text that opens with a tag ("<p>...</p><p>...</p>", however its
    lines break)."""
    head = text[:1000]
    if _HTML_START.match(head) or _HTML_TAG.match(head.lstrip()):
        return True
    sample = text[:_SNIFF_CHARS]
    return bool(_HTML_FRAME.search(sample)) or len(_HTML_TAG.findall(sample)) >= _MIN_TAGS


def parse_text(text: str, *, source: str = "", url: str = "") -> Article:
    """Parse a text that may be HTML, a seed article or plain text."""
    if looks_like_html(text):
        return parse_html(text, url=url, source=source)
    if looks_like_seed(text):
        return parse_seed(text, source=source, url=url)
    return parse_plain(text, source=source, url=url)


def decode(data: bytes, content_type: str | None = None) -> str:
    """Decode bytes (see ``encoding.decode_bytes``), refusing binary data with a clear error."""
    return decode_bytes(data, content_type)


def parse_bytes(
    data: bytes, *, source: str = "", url: str = "", content_type: str | None = None
) -> Article:
    """Decode and parse raw bytes (``content_type``: the HTTP header, when fetched)."""
    return parse_text(decode(data, content_type), source=source, url=url)


def parse_file(path: str | Path, *, source: str = "") -> Article:
    """Read and parse a file (seed, HTML or plain text)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SummarizerError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return parse_bytes(data, source=source)
