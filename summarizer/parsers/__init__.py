"""Parsers: seed text files, plain text and HTML pages, each producing an ``Article``."""

from .auto import parse_bytes, parse_file, parse_text
from .encoding import decode_bytes
from .html import LINK_LIST, parse_html
from .plain import parse_plain
from .seed import looks_like_seed, parse_seed

__all__ = [
    "LINK_LIST",
    "decode_bytes",
    "looks_like_seed",
    "parse_bytes",
    "parse_file",
    "parse_html",
    "parse_plain",
    "parse_seed",
    "parse_text",
]
