"""Web pages as articles: fetch a link through the guarded fetcher, decode, extract.

One path for every page the bot reads: a link sent to /summarize, ``newsdigest summarize
URL`` and the full text of a feed entry. Decoding (the charset rules) is the summarizer's
``decode_bytes``; extraction is its HTML parser. The parsing is CPU work and runs in the
executor given (a bounded pool in the bot), never on the event loop.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Executor

import httpx

from summarizer import Article, SummarizerError, decode_bytes, parse_bytes, parse_html, parse_plain

from .fetch import FetchLimits, FetchResult, fetch

PAGE_ACCEPT = "text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.5"


class NotAPage(SummarizerError):
    """The link is a file of another kind (``media_type``: a PDF, an image...)."""

    def __init__(self, media_type: str) -> None:
        super().__init__(f"the link leads to a file of type {media_type}, not to a web page")
        self.media_type = media_type


def media_type(content_type: str | None) -> str:
    """``text/html`` of ``text/html; charset=utf-8`` (lower case, empty if absent)."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def article_from_page(content: bytes, content_type: str | None, url: str) -> Article:
    """The article in a fetched body, read as its ``Content-Type`` says (CPU work).

    HTML is extracted, plain text is taken as it is, a body without a type is sniffed;
    anything else (a PDF, an image) is refused in words.
    """
    kind = media_type(content_type)
    if kind in ("text/html", "application/xhtml+xml"):
        return parse_html(decode_bytes(content, content_type), url=url)
    if kind == "text/plain":
        return parse_plain(decode_bytes(content, content_type), url=url)
    if kind in ("", "application/octet-stream"):
        return parse_bytes(content, url=url, content_type=content_type)
    raise NotAPage(kind)


async def fetch_article(
    url: str,
    limits: FetchLimits,
    client: httpx.AsyncClient,
    *,
    executor: Executor | None = None,
) -> tuple[Article, FetchResult]:
    """Fetch a page within ``limits`` and extract its article off the event loop.

    Raises ``FetchError`` when the page cannot be fetched and ``SummarizerError`` when it
    holds no readable article.
    """
    result = await fetch(url, limits, client, accept=PAGE_ACCEPT)
    loop = asyncio.get_running_loop()
    article = await loop.run_in_executor(
        executor,
        article_from_page,
        result.content,
        result.headers.get("content-type"),
        result.final_url,
    )
    return article, result
