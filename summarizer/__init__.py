"""newsdigest's summarizer: a pure, offline, extractive summarization library.

Pipeline: parse (``parsers``) -> tokenize (``nlp``) -> prepared document (``document``)
-> rank (``methods``, ``rank``) -> select (``summarize``).
"""

from .article import Article
from .document import NO_SENTENCE_BREAKS, PreparedDocument, prepare
from .errors import SummarizerError, UnknownMethodError
from .methods import DEFAULT_METHOD, METHODS, get_method
from .parsers import (
    LINK_LIST,
    decode_bytes,
    parse_bytes,
    parse_file,
    parse_html,
    parse_plain,
    parse_seed,
    parse_text,
)
from .summarize import DEFAULT_MAX_CHARS, DEFAULT_SENTENCES, Summarizer, Summary, summarize

__all__ = [
    "DEFAULT_MAX_CHARS",
    "DEFAULT_METHOD",
    "DEFAULT_SENTENCES",
    "LINK_LIST",
    "METHODS",
    "NO_SENTENCE_BREAKS",
    "Article",
    "PreparedDocument",
    "Summarizer",
    "SummarizerError",
    "Summary",
    "UnknownMethodError",
    "decode_bytes",
    "get_method",
    "parse_bytes",
    "parse_file",
    "parse_html",
    "parse_plain",
    "parse_seed",
    "parse_text",
    "prepare",
    "summarize",
]
