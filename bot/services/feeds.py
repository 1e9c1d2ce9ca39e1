"""A chat's own feeds: adding, listing, removing, OPML in and out, with the rules in one place.

A feed is added by its URL or by a page that names it (``<link rel="alternate">``); it is
fetched at once through the guarded fetcher with the *link* limits (users' links reach
private addresses only if the operator allows them), and its entries are stored then, so
the answer can say what the feed holds ("Added: Example News, 23 entries"). A feed that
another chat added already, or that the operator configured, is not fetched again: every
feed is polled once per ingest run however many chats read it (``Ingester.user_feeds``).

Every method raises ``UserError`` with a message meant for the user, and stores nothing
when it does.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit
from xml.etree.ElementTree import Element, SubElement, tostring

import defusedxml.ElementTree
import httpx
from defusedxml.ElementTree import ParseError

from ..config import Feed, Settings
from ..digest.render import clip
from ..i18n import Text, _, _n, quoted
from ..ingest.ingester import Ingester
from ..models import FeedState, Subscriber
from ..sources.discover import NoFeedFound, find_feed
from ..sources.feeds import SourceError
from ..sources.fetch import FetchError
from ..store import Store
from ..weburl import web_url_problem
from .subscriptions import NOT_SUBSCRIBED, UserError, forget_unread_feeds
from .summaries import fetch_reason

MAX_URL_CHARS = 2000
MAX_OPML_BYTES = 1_000_000
# Feeds of one OPML file fetched at once.
IMPORT_CONCURRENCY = 4
FEEDS_OFF = _("Adding your own feeds is turned off on this bot.")


class FeedRefused(UserError):
    """A link that could not be added as a feed; ``reason`` says why, without the link."""

    def __init__(self, url: str, reason: Text | str) -> None:
        super().__init__(_("I could not add {link}: {reason}.", link=clip(url, 80), reason=reason))
        self.reason = reason


@dataclass(frozen=True)
class AddedFeed:
    """A feed now in the chat's sources: its URL, title and how many entries it holds."""

    url: str
    title: str
    entries: int


@dataclass(frozen=True)
class FeedHealth:
    """One of the chat's feeds as the ingester last saw it."""

    url: str
    title: str
    entries: int
    last_success: datetime | None
    failures: int
    problem: Text | str | None

    @property
    def key(self) -> str:
        """A short stable name for a button (Telegram's callback data is 64 bytes)."""
        return feed_key(self.url)


@dataclass
class ImportReport:
    """What an OPML file gave: feeds added, feeds already there, failures with reasons."""

    added: list[AddedFeed] = field(default_factory=list)
    present: int = 0
    failed: list[tuple[str, Text | str]] = field(default_factory=list)


def feed_key(url: str) -> str:
    """A short stable name of a feed URL (for buttons)."""
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def feed_url(text: str) -> str:
    """A feed link as the user typed it, checked: one http(s) URL."""
    url = text.strip()
    if not url or len(url) > MAX_URL_CHARS or any(c.isspace() for c in url):
        raise UserError(_("Usage: /addfeed &lt;link to a feed or a site&gt;"))
    if web_url_problem(url) is not None:  # the one rule of what a web link is
        raise UserError(_("{link} is not a web link (http:// or https://).", link=quoted(url, 60)))
    return url


_STATE_PROBLEMS = {
    "parse": _("it is no longer a valid feed"),
    "internal": _("it could not be read"),
}


def state_problem(state: FeedState) -> Text | str | None:
    """Why a feed's last poll failed, in words to translate (None if it did not)."""
    if not state.failures or not state.last_error_kind:
        return None
    kind = state.last_error_kind
    if kind == "http_status":
        return _("the site answered with an error")
    if kind in _STATE_PROBLEMS:
        return _STATE_PROBLEMS[kind]
    return fetch_reason(FetchError(kind, state.last_error or kind))


def find_problem(error: Exception) -> Text | str:
    """Why a link could not be added as a feed, in words to translate."""
    if isinstance(error, FetchError):
        return fetch_reason(error)
    if isinstance(error, NoFeedFound):
        return _("it is neither an RSS or Atom feed nor a page that links to one")
    return _("it is not a valid RSS or Atom feed")


class UserFeeds:
    """The chats' own feeds over the store and the ingester."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        ingester: Ingester,
        clock: Callable[[], datetime],
    ) -> None:
        self.settings = settings
        self.store = store
        self.ingester = ingester
        self.clock = clock

    def _require(self, chat_id: int) -> Subscriber:
        if not self.settings.user_feeds:
            raise UserError(FEEDS_OFF)
        current = self.store.get_subscriber(chat_id)
        if current is None:
            raise UserError(NOT_SUBSCRIBED)
        return current

    def _check_room(self, subscriber: Subscriber, url: str) -> None:
        if url in subscriber.feeds:
            raise UserError(_("That feed is already in this chat's sources."))
        if len(subscriber.feeds) >= self.settings.max_feeds_per_chat:
            raise UserError(
                _n(
                    "This chat has {count} feed, the most it can have; remove it first "
                    "(/removefeed).",
                    "This chat has {count} feeds, the most it can have; remove one first "
                    "(/removefeed).",
                    self.settings.max_feeds_per_chat,
                )
            )

    def _known(self, url: str) -> AddedFeed | None:
        """A feed read already (another chat's, or the operator's): no need to fetch it."""
        configured = next((f for f in self.settings.feeds if f.url == url), None)
        state = self.store.get_feed_state(url)
        read = state is not None and state.last_success is not None and not state.failures
        if configured is None and not (read and url in self.store.chat_feed_urls()):
            return None
        title = (state.title if state else None) or (configured.name if configured else url)
        return AddedFeed(url, title, state.entries if state else 0)

    async def add(self, chat_id: int, text: str, client: httpx.AsyncClient) -> AddedFeed:
        """/addfeed: check the link, find and read its feed, add it to the chat's sources."""
        url = feed_url(text)
        self._check_room(self._require(chat_id), url)
        return self._attach(chat_id, await self._find(url, client))

    async def _find(self, url: str, client: httpx.AsyncClient) -> AddedFeed:
        return self._known(url) or await self._fetch(url, client)

    def _attach(self, chat_id: int, added: AddedFeed) -> AddedFeed:
        current = self._require(chat_id)  # read again: finding the feed took a while
        try:
            self._check_room(current, added.url)
        except UserError:
            forget_unread_feeds(self.settings, self.store, [added.url])  # fetched for nothing
            raise
        self.store.update_subscriber(chat_id, feeds=(*current.feeds, added.url))
        return added

    async def _fetch(self, url: str, client: httpx.AsyncClient) -> AddedFeed:
        try:
            found = await find_feed(
                url,
                self.ingester.link_limits,
                client,
                max_entries=self.settings.max_entries_per_feed,
            )
        except (FetchError, SourceError) as exc:
            raise FeedRefused(url, find_problem(exc)) from exc
        if found.parsed.problem and not found.parsed.entries:  # XML that breaks off early
            raise FeedRefused(url, _("it is not a valid RSS or Atom feed"))
        if found.url != url:
            known = self._known(found.url)
            if known is not None:
                return known
        feed = Feed(url=found.url, name="", topics=(), user_feed=True)
        report = await self.ingester.ingest_feed(feed, client, force=True, fetched=found.fetched)
        if report.error:
            raise FeedRefused(url, _STATE_PROBLEMS["internal"])
        return AddedFeed(found.url, found.parsed.title, len(found.parsed.entries))

    def health(self, chat_id: int) -> list[FeedHealth]:
        """/feeds: the chat's feeds, each with what its last reading gave."""
        found = []
        for url in self._require(chat_id).feeds:
            state = self.store.get_feed_state(url) or FeedState(url=url)
            found.append(
                FeedHealth(
                    url=url,
                    title=state.title or urlsplit(url).hostname or url,
                    entries=state.entries,
                    last_success=state.last_success,
                    failures=state.failures,
                    problem=state_problem(state),
                )
            )
        return found

    def remove(self, chat_id: int, which: str) -> FeedHealth:
        """/removefeed: take a feed (its URL, number in /feeds, or button key) out."""
        current = self._require(chat_id)
        feeds = self.health(chat_id)
        wanted = which.strip()
        chosen = next((f for f in feeds if wanted in (f.url, f.key)), None)
        if chosen is None and wanted.isdigit() and 1 <= int(wanted) <= len(feeds):
            chosen = feeds[int(wanted) - 1]
        if chosen is None:
            raise UserError(_("That feed is not in this chat's sources: see /feeds."))
        self.store.update_subscriber(
            chat_id, feeds=tuple(u for u in current.feeds if u != chosen.url)
        )
        forget_unread_feeds(self.settings, self.store, [chosen.url])
        return chosen

    async def import_opml(
        self, chat_id: int, data: bytes, client: httpx.AsyncClient
    ) -> ImportReport:
        """An OPML file sent to the chat: add every feed it lists (each checked as /addfeed
        checks one), and say what happened to each that failed."""
        current = self._require(chat_id)
        urls = opml_feeds(data)
        report = ImportReport()
        report.present = sum(1 for url in urls if url in current.feeds)
        new = [url for url in urls if url not in current.feeds]
        room = max(0, self.settings.max_feeds_per_chat - len(current.feeds))
        report.failed = [(url, NO_ROOM) for url in new[room:]]
        gate = asyncio.Semaphore(IMPORT_CONCURRENCY)

        async def find(url: str) -> AddedFeed | UserError:
            async with gate:
                try:
                    return await self._find(feed_url(url), client)
                except UserError as exc:
                    return exc

        # Found side by side, added in the file's order.
        found = await asyncio.gather(*(find(url) for url in new[:room]))
        for url, result in zip(new[:room], found, strict=True):
            try:
                if isinstance(result, UserError):
                    raise result
                report.added.append(self._attach(chat_id, result))
            except FeedRefused as exc:
                report.failed.append((url, exc.reason))
            except UserError as exc:
                report.failed.append((url, exc.text))
        return report

    def export_opml(self, chat_id: int) -> bytes:
        """/export: the chat's feeds as an OPML file."""
        feeds = self.health(chat_id)
        if not feeds:
            raise UserError(NO_FEEDS)
        return opml_document(feeds, self.clock())


NO_ROOM = _("this chat has no room for more feeds")
NO_FEEDS = _("This chat has no feeds of its own yet. Add one with /addfeed &lt;link&gt;.")


def opml_feeds(data: bytes) -> list[str]:
    """The feed URLs an OPML file lists (``<outline xmlUrl=...>``), each once, in order."""
    if len(data) > MAX_OPML_BYTES:
        raise UserError(
            _(
                "That file is too large for a list of feeds (at most {count} bytes).",
                count=MAX_OPML_BYTES,
            )
        )
    try:
        root = defusedxml.ElementTree.fromstring(data)
    except (ParseError, ValueError) as exc:  # broken XML, or entities defusedxml refuses
        raise UserError(_("That file is not an OPML list of feeds I can read.")) from exc
    urls: list[str] = []
    for outline in root.iter("outline"):
        url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
        if url and url not in urls:
            urls.append(url)
    if not urls:
        raise UserError(_("That file lists no feeds (no outline with an xmlUrl)."))
    return urls


def opml_document(feeds: list[FeedHealth], now: datetime) -> bytes:
    """An OPML 2.0 document listing ``feeds``."""
    root = Element("opml", version="2.0")
    head = SubElement(root, "head")
    SubElement(head, "title").text = "newsdigest feeds"
    SubElement(head, "dateCreated").text = now.strftime("%a, %d %b %Y %H:%M:%S %z")
    body = SubElement(root, "body")
    for feed in feeds:
        SubElement(body, "outline", type="rss", text=feed.title, title=feed.title, xmlUrl=feed.url)
    document: bytes = tostring(root, encoding="utf-8", xml_declaration=True)
    return document
