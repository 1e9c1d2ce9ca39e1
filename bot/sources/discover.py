"""Finding the feed behind a link a user gives: the feed itself, or a page naming its feed.

A page names its feeds with ``<link rel="alternate" type="application/rss+xml" href=...>``
in its head. Every fetch goes through the guarded fetcher with the limits it is given
(for users' links: private addresses only if the operator allows them).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx
from lxml import etree
from lxml import html as lxml_html

from ..config import Feed
from .feeds import FEED_ACCEPT, MAX_ENTRIES, ParsedFeed, SourceError, read_feed
from .fetch import FetchError, FetchLimits, FetchResult, fetch
from .pages import media_type

FEED_TYPES = frozenset(
    {"application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/xml"}
)
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
# A page may name several feeds (all stories, comments...): the first few are tried.
MAX_CANDIDATES = 3


class NoFeedFound(SourceError):
    """The link is neither a feed nor a page that names one."""


@dataclass(frozen=True)
class FoundFeed:
    """A feed found from a link: its URL, the fetched document and what it holds."""

    url: str
    fetched: FetchResult
    parsed: ParsedFeed


def feed_links(content: bytes, base_url: str) -> list[str]:
    """The feeds a page names in ``<link rel="alternate">`` (absolute http(s) URLs)."""
    if not content.strip():
        return []
    try:
        # Bytes, not text: lxml reads the page's own charset, and an XML declaration in
        # an XHTML page is no obstacle then.
        document = lxml_html.document_fromstring(content)
    except (etree.LxmlError, ValueError):
        return []
    found: list[str] = []
    for link in document.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        kind = media_type(link.get("type"))
        href = (link.get("href") or "").strip()
        if "alternate" not in rel or kind not in FEED_TYPES or not href:
            continue
        url = urljoin(base_url, href)
        if urlsplit(url).scheme in ("http", "https") and url not in found:
            found.append(url)
    return found


async def _read(url: str, fetched: FetchResult, max_entries: int) -> ParsedFeed:
    return await asyncio.to_thread(
        read_feed,
        fetched.content,
        feed=Feed(url=url, name="", topics=(), user_feed=True),
        url=fetched.final_url,
        headers=fetched.headers,
        max_entries=max_entries,
    )


async def find_feed(
    url: str, limits: FetchLimits, client: httpx.AsyncClient, *, max_entries: int = MAX_ENTRIES
) -> FoundFeed:
    """The feed at ``url``, or the first feed the page at ``url`` names.

    Raises ``FetchError`` (the link cannot be fetched), ``NoFeedFound`` (it is a page that
    names no feed, or not a feed at all) or ``SourceError`` (the named feed is broken).
    """
    fetched = await fetch(url, limits, client, accept=FEED_ACCEPT)
    try:
        return FoundFeed(url, fetched, await _read(url, fetched, max_entries))
    except SourceError as not_a_feed:
        if media_type(fetched.headers.get("content-type")) not in HTML_TYPES:
            raise NoFeedFound(str(not_a_feed)) from None
    candidates = await asyncio.to_thread(feed_links, fetched.content, fetched.final_url)
    if not candidates:
        raise NoFeedFound("the page names no feed")
    problem: FetchError | SourceError | None = None
    for candidate in candidates[:MAX_CANDIDATES]:
        try:
            document = await fetch(candidate, limits, client, accept=FEED_ACCEPT)
            return FoundFeed(candidate, document, await _read(candidate, document, max_entries))
        except (FetchError, SourceError) as exc:  # the next may work; the last failure is told
            problem = exc
    assert problem is not None
    raise problem
