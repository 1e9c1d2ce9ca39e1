"""News sources: the bundled ``seeds/`` folder and RSS/Atom feeds.

Sources turn the outside world into ``summarizer.Article`` values and nothing more: they
never touch the store. ``poll_feed`` takes a feed's remembered ``FeedState`` and returns
the next one alongside the entries; the ingester persists both. Everything a feed says is
untrusted: titles and bodies are reduced to plain text here, links are canonicalized, and
every page is fetched through the guarded ``fetch``.
"""

from __future__ import annotations

import asyncio
import io
import logging
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser
import httpx

from summarizer import Article, SummarizerError

from ..config import Feed
from ..models import FeedState
from .fetch import FetchError, FetchLimits, FetchResult, fetch
from .markup import PARAGRAPH_BREAK, html_paragraphs, is_teaser, plain_title
from .pages import fetch_article
from .urls import canonical_url

logger = logging.getLogger(__name__)

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1"
)

MAX_ENTRIES = 30
PAGE_CONCURRENCY = 4

_HARMLESS_BOZO = (feedparser.ThingsNobodyCaresAboutButMe, feedparser.UndeclaredNamespace)


class SourceError(Exception):
    """A source cannot be read at all (not one bad entry or file: the whole source)."""


@dataclass(frozen=True)
class Backoff:
    """How long a failing feed is left alone: ``base`` doubling per failure, up to ``cap``."""

    base: timedelta = timedelta(minutes=5)
    cap: timedelta = timedelta(hours=6)

    def delay(self, failures: int) -> timedelta:
        """The wait after the ``failures``-th consecutive failure (the first waits ``base``)."""
        if failures <= 0:
            return timedelta(0)
        # Doubling stops at the cap, so a feed that failed for years cannot overflow.
        wait = self.base
        for _ in range(min(failures - 1, 64)):
            if wait >= self.cap:
                break
            wait *= 2
        return min(wait, self.cap)


DEFAULT_BACKOFF = Backoff()


@dataclass(frozen=True)
class FeedPoll:
    """What one poll of a feed produced.

    ``state`` is the feed's next state, to be stored whatever happened. ``entries`` are
    the feed's newest entries (already-stored ones included: the ingester dedupes by URL
    and keeps ``FeedState.articles_total``). ``error`` is the human-readable failure, or
    ``None``; its kind is ``state.last_error_kind``.
    """

    state: FeedState
    entries: list[Article] = field(default_factory=list)
    error: str | None = None
    not_modified: bool = False
    unusable: int = 0  # entries left out: no http(s) link, or neither title nor text
    problem: str | None = None  # read, but not cleanly (broken XML read up to the fault)


# --- feeds --------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedEntry:
    """One feed entry as an article, with the link exactly as the feed gave it."""

    article: Article
    link: str  # the page to fetch for the full text (``article.url`` is canonical)


def _published(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed"):
        parsed = entry.get(key)
        if not parsed:
            continue
        try:
            year, month, day, hour, minute, second = (int(v) for v in tuple(parsed)[:6])
            # struct_time allows leap seconds (60, 61); datetime does not.
            return datetime(year, month, day, hour, minute, min(second, 59), tzinfo=UTC)
        except (TypeError, ValueError):
            continue
    return None


def _paragraphs(detail: Any) -> list[str]:
    value = str(detail.get("value") or "")
    if detail.get("type") == "text/plain":
        # Plain text marks paragraphs with blank lines, which HTML parsing would erase;
        # each block still goes through the HTML cleaner, since feeds mislabel markup.
        blocks = PARAGRAPH_BREAK.split(value)
        return [p for block in blocks for p in [" ".join(html_paragraphs(block))] if p]
    return html_paragraphs(value)


def _body(entry: Any) -> list[str]:
    candidates = list(entry.get("content") or [])
    if entry.get("summary"):
        candidates.append(entry.get("summary_detail") or {"value": entry.get("summary")})
    best: list[str] = []
    for candidate in candidates:
        paragraphs = _paragraphs(candidate)
        if sum(map(len, paragraphs)) > sum(map(len, best)):
            best = paragraphs
    return best


# Marks an entry whose feed gave no title: the start of its text stands in for one.
TITLE_FROM_TEXT = "title_from_text"


def _link(entry: Any, base_url: str) -> str | None:
    raw = str(entry.get("link") or "").strip()
    if not raw:
        return None
    link = urljoin(base_url, raw)
    parts = urlsplit(link)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return link


def _entry(entry: Any, *, base_url: str, source: str, language: str | None) -> FeedEntry | None:
    link = _link(entry, base_url)
    if link is None:
        return None
    paragraphs = _body(entry)
    title = plain_title(str(entry.get("title") or ""))
    extra = {}
    if not title and paragraphs:  # stands in until the page's own title is read, if it is
        title = plain_title(paragraphs[0], limit=80)
        extra[TITLE_FROM_TEXT] = "yes"
    if not title:
        return None
    article = Article(
        title=title,
        paragraphs=tuple(paragraphs),
        published=_published(entry),
        source=source,
        url=canonical_url(link),
        language=language,
        extra=extra,
    )
    return FeedEntry(article, link)


def _newest(entries: list[FeedEntry], limit: int) -> list[FeedEntry]:
    # Dated entries newest first, then undated ones in the feed's own order.
    dated = [e for e in entries if e.article.published is not None]
    undated = [e for e in entries if e.article.published is None]
    dated.sort(key=lambda e: e.article.published or datetime.min.replace(tzinfo=UTC), reverse=True)
    return (dated + undated)[:limit]


@dataclass(frozen=True)
class ParsedFeed:
    """A feed document read: its own title and its newest entries."""

    title: str
    entries: list[FeedEntry]
    unusable: int = 0
    problem: str | None = None


def parse_feed(
    content: bytes,
    *,
    feed: Feed,
    url: str,
    headers: dict[str, str] | None = None,
    max_entries: int = MAX_ENTRIES,
) -> list[FeedEntry]:
    """Parse an RSS/Atom document into entries (blocking: run it in a thread).

    ``url`` is where the document was fetched from (relative links resolve against it);
    raise ``SourceError`` when the document is not a feed at all.
    """
    return read_feed(content, feed=feed, url=url, headers=headers, max_entries=max_entries).entries


def read_feed(
    content: bytes,
    *,
    feed: Feed,
    url: str,
    headers: dict[str, str] | None = None,
    max_entries: int = MAX_ENTRIES,
) -> ParsedFeed:
    """:func:`parse_feed`, with the feed's own title (its host's name when it has none)."""
    response_headers = {k.lower(): v for k, v in (headers or {}).items()}
    response_headers["content-location"] = url
    # A file-like object, never bytes: feedparser treats a bytes argument as a possible
    # file name and would read a local file whose path a server sent as the body.
    parsed = feedparser.parse(io.BytesIO(content), response_headers=response_headers)
    entries = parsed.get("entries") or []
    problem = parsed.get("bozo_exception") if parsed.get("bozo") else None
    # feedparser also flags harmless things (a missing Content-Type, a charset mismatch);
    # only broken XML, or no feed element at all, makes an empty result a failure.
    broken = problem is not None and not isinstance(problem, _HARMLESS_BOZO)
    if not entries and (broken or not parsed.get("version")):
        content_type = response_headers.get("content-type", "").split(";")[0].strip()
        if content_type and "xml" not in content_type and "rss" not in content_type:
            detail = f"the server sent {content_type}"
        elif broken:
            detail = f"malformed XML: {problem}"
        else:
            detail = "no feed elements found"
        raise SourceError(f"not an RSS/Atom feed ({detail})")
    channel = parsed.get("feed") or {}
    title = plain_title(str(channel.get("title") or "")) or urlsplit(url).hostname or url
    source = feed.name or title
    language = feed.language or (str(channel.get("language") or "").strip() or None)
    converted: list[FeedEntry] = []
    seen: set[str] = set()
    unusable = 0
    for raw in entries:
        entry = _entry(raw, base_url=url, source=source or "", language=language)
        if entry is None:
            unusable += 1
            continue
        if entry.article.url in seen:
            continue
        seen.add(entry.article.url)
        converted.append(entry)
    fault = f"malformed XML, read up to the fault: {problem}" if broken else None
    return ParsedFeed(title, _newest(converted, max_entries), unusable, fault)


def page_limits(feed_url: str, page_url: str, limits: FetchLimits) -> FetchLimits:
    """The limits for an entry's page: the feed's exceptions (``allowed_networks``) hold
    only on the feed's own host. An entry's link is written by whoever writes the feed, and
    must not reach the operator's private hosts just because the feed is configured."""
    same_host = (urlsplit(feed_url).hostname or "") == (urlsplit(page_url).hostname or "-")
    return limits if same_host else replace(limits, allowed_networks=())


async def _with_full_text(
    entry: FeedEntry,
    client: httpx.AsyncClient,
    limits: FetchLimits,
    pages: asyncio.Semaphore,
) -> Article:
    """The entry with its page's text when the feed gave a teaser; the teaser otherwise."""
    article = entry.article
    if not is_teaser(article):
        return article
    try:
        async with pages:
            page, _ = await fetch_article(entry.link, limits, client)
    except (FetchError, SummarizerError) as exc:
        logger.info("keeping the teaser of %s: %s", entry.link, exc)
        return replace(article, extra={**article.extra, "full_text_error": str(exc)})
    except Exception as exc:  # an extractor crash on one page must not lose the entry
        logger.warning("keeping the teaser of %s", entry.link, exc_info=True)
        message = f"the page could not be read: {type(exc).__name__}"
        return replace(article, extra={**article.extra, "full_text_error": message})
    if len(page.text) <= len(article.text):
        return article
    made_up = article.extra.get(TITLE_FROM_TEXT) == "yes"
    return replace(
        article,
        title=page.title if made_up and page.title else article.title or page.title,
        paragraphs=page.paragraphs,
        headings=page.headings,
        published=article.published or page.published,
        language=article.language or page.language,
        extra={**article.extra, "full_text": "page"},
    )


def _succeeded(
    state: FeedState, now: datetime, *, etag: str | None, last_modified: str | None
) -> FeedState:
    return replace(
        state,
        etag=etag,
        last_modified=last_modified,
        failures=0,
        last_error=None,
        last_error_kind=None,
        last_success=now,
        next_attempt=None,
    )


def _failed(
    state: FeedState, now: datetime, *, kind: str, message: str, backoff: Backoff
) -> FeedState:
    failures = state.failures + 1
    return replace(
        state,
        failures=failures,
        last_error=message,
        last_error_kind=kind,
        next_attempt=now + backoff.delay(failures),
    )


def is_due(state: FeedState, now: datetime) -> bool:
    """True when the feed may be polled now (it is not waiting out a backoff)."""
    return state.next_attempt is None or now >= state.next_attempt


class _PollFailed(Exception):
    """One step of a poll failed; ``kind`` names it for the feed's state."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


async def _fetch_feed(
    feed: Feed, state: FeedState, client: httpx.AsyncClient, limits: FetchLimits
) -> FetchResult:
    try:
        return await fetch(
            feed.url,
            limits,
            client,
            etag=state.etag,
            last_modified=state.last_modified,
            accept=FEED_ACCEPT,
        )
    except FetchError as exc:
        raise _PollFailed(exc.kind, str(exc)) from exc
    except Exception as exc:  # a bug must cost this feed one poll, not stop the others
        logger.warning("feed %s could not be fetched", feed.url, exc_info=True)
        raise _PollFailed("internal", f"unexpected error: {type(exc).__name__}") from exc


async def _parse_feed(feed: Feed, result: FetchResult, max_entries: int) -> ParsedFeed:
    try:
        return await asyncio.to_thread(
            read_feed,
            result.content,
            feed=feed,
            url=result.final_url,
            headers=result.headers,
            max_entries=max_entries,
        )
    except SourceError as exc:
        raise _PollFailed("parse", str(exc)) from exc
    except Exception as exc:  # feedparser on hostile input: record it, keep the others going
        logger.warning("feed %s could not be parsed", feed.url, exc_info=True)
        raise _PollFailed("parse", f"the feed could not be parsed: {type(exc).__name__}") from exc


async def _articles(
    feed: Feed,
    entries: list[FeedEntry],
    client: httpx.AsyncClient,
    limits: FetchLimits,
    page_concurrency: int,
) -> list[Article]:
    if not feed.full_text:
        return [e.article for e in entries]
    pages = asyncio.Semaphore(page_concurrency)
    return list(
        await asyncio.gather(
            *(
                _with_full_text(e, client, page_limits(feed.url, e.link, limits), pages)
                for e in entries
            )
        )
    )


async def poll_feed(
    feed: Feed,
    state: FeedState,
    client: httpx.AsyncClient,
    limits: FetchLimits,
    now: datetime,
    *,
    backoff: Backoff = DEFAULT_BACKOFF,
    max_entries: int = MAX_ENTRIES,
    page_concurrency: int = PAGE_CONCURRENCY,
    fetched: FetchResult | None = None,
) -> FeedPoll:
    """Fetch and parse one feed; never raises for anything the feed or network does.

    A conditional GET uses the remembered ETag / Last-Modified; a 304 is a success with
    no entries. A failure increments ``failures`` and schedules ``next_attempt`` by
    ``backoff``; a success resets both. ``fetched``: the feed was just fetched (to see
    whether it is a feed at all), so it is read from that instead of fetched again.
    """
    if now.tzinfo is None:
        raise ValueError("poll_feed needs an aware 'now'")
    try:
        result = fetched or await _fetch_feed(feed, state, client, limits)
        if result.not_modified:
            # A 304 may carry a fresh validator; otherwise the remembered ones still hold.
            next_state = _succeeded(
                state,
                now,
                etag=result.headers.get("etag") or state.etag,
                last_modified=result.headers.get("last-modified") or state.last_modified,
            )
            return FeedPoll(next_state, [], None, not_modified=True)
        parsed = await _parse_feed(feed, result, max_entries)
    except _PollFailed as failure:
        # The operator's feeds are theirs to mend: a warning. A chat's own feed is the
        # chat's (its /feeds shows the trouble), so it does not fill the operator's log.
        level = logging.INFO if feed.user_feed else logging.WARNING
        logger.log(level, "feed %s failed (%s): %s", feed.url, failure.kind, failure)
        failed = _failed(state, now, kind=failure.kind, message=str(failure), backoff=backoff)
        return FeedPoll(failed, [], str(failure))
    articles = await _articles(feed, parsed.entries, client, limits, page_concurrency)
    next_state = _succeeded(
        state,
        now,
        etag=result.headers.get("etag"),
        last_modified=result.headers.get("last-modified"),
    )
    next_state = replace(next_state, title=parsed.title, entries=len(parsed.entries))
    return FeedPoll(next_state, articles, None, unusable=parsed.unusable, problem=parsed.problem)
