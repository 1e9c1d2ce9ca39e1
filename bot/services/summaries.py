"""Summarize a link or a text on request: the rules in one place, for the bot and the CLI.

Fairness rules live here: one request in flight per user (a second one is refused in
words, not queued behind the first), a bound on requests in flight for everyone, and the
CPU work (page extraction, summarizing) in a bounded pool of threads off the event loop.
Fetching a link is asynchronous I/O through the guarded fetcher, with the *link* limits:
``fetch.allowed_networks`` is an operator's exception for configured feeds and never
applies to links sent by users.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from concurrent.futures import Executor
from dataclasses import dataclass

import httpx

from summarizer import (
    LINK_LIST,
    NO_SENTENCE_BREAKS,
    Article,
    Summarizer,
    SummarizerError,
    parse_plain,
)

from ..i18n import Text, _
from ..sources.fetch import FetchError, FetchLimits
from ..sources.pages import NotAPage, fetch_article

MAX_TEXT_CHARS = 20_000
# Summaries being worked on at once, for all users together; more wait their turn.
MAX_IN_FLIGHT = 8
STILL_WORKING = _(
    "I'm still working on your last link; I'll answer it first, then send me the next one."
)
URL = re.compile(r"https?://\S+", re.IGNORECASE)
# A text at least this long is an article to summarize (pasted in a private chat, it is
# summarized without a command; the links it cites are its sources); a shorter one that
# holds a link asks for the link ("look: https://...").
PASTE_MIN_CHARS = 280
# What ends a sentence or a quotation after a link, not part of it.
_AFTER_LINK = ".,;:!?'\"»”’>"
_OPENING = {")": "(", "]": "[", "}": "{"}
_OTHER_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*:\S+", re.IGNORECASE)


def link_of(text: str) -> str | None:
    """The link a message asks about: the message itself when it is one link, else the
    first http(s) link of a short message, without the punctuation that follows it in a
    sentence ("see https://example.org/a." or "(https://example.org/a)"); None in a long
    text or a text without a link."""
    text = text.strip()
    found = URL.fullmatch(text) or (URL.search(text) if len(text) < PASTE_MIN_CHARS else None)
    if found is None:
        return None
    link = found.group()
    while link:
        last = link[-1]
        opening = _OPENING.get(last)
        # A closing bracket the link opened is its own ("/wiki/Mercury_(planet)").
        if last in _AFTER_LINK or (opening and link.count(last) > link.count(opening)):
            link = link[:-1]
        else:
            break
    return link


class SummaryError(Exception):
    """A request that cannot be summarized; the message is meant for the user."""

    def __init__(self, text: Text) -> None:
        super().__init__(str(text))
        self.text = text


class StillWorking(SummaryError):
    """The user already has a request in flight."""


@dataclass(frozen=True)
class LinkSummary:
    """An article and the sentences chosen to summarize it."""

    article: Article
    sentences: tuple[str, ...]


def fetch_reason(error: FetchError) -> Text | str:
    """Why a fetch failed, in words a reader understands."""
    reasons = {
        "blocked": _("that link points to a private or local network address, which I don't fetch"),
        "timeout": _("the site took too long to answer"),
        "too_large": _("the page is too large"),
        "network": _("I could not reach the site"),
        "http_status": _(
            "the site answered with an error ({status})", status=str(error.status or "error")
        ),
        "redirects": _("the page redirects in circles"),
        "bad_url": _("that is not a web link I can open"),
        "decode": _("the page could not be read"),
    }
    return reasons.get(error.kind) or str(error)


# The summarizer's refusals a reader can meet, in words to translate (it is a library in
# English; anything else it says is shown as the generic reason).
_SUMMARIZER_REASONS = {
    "nothing to summarize: the text is empty": _("the text is empty"),
    "nothing to summarize: the input is empty": _("the text is empty"),
    "nothing to summarize: the page is empty": _("the page is empty"),
    "nothing to summarize: no sentences with words were found": _("I found no sentences in it"),
    NO_SENTENCE_BREAKS: _("it has no full stops to tell its sentences apart"),
    "no article text found on the page": _("no article text found on the page"),
    LINK_LIST: _(
        "the page is a list of links (a site's front page or a folder), not an article. "
        "Send me the link of one story"
    ),
    "this looks like a binary file, not text": _("this looks like a binary file, not text"),
}


def summarizer_reason(error: SummarizerError) -> Text:
    """Why a text or page could not be summarized, in words to translate."""
    if isinstance(error, NotAPage):
        return _(
            "the link leads to a file of type {kind}, not to a web page", kind=error.media_type
        )
    return _SUMMARIZER_REASONS.get(str(error)) or _("the text could not be summarized")


def fetch_problem(error: FetchError) -> Text:
    """A page fetch failure in words a reader understands."""
    return _("I could not fetch that page: {reason}.", reason=fetch_reason(error))


class Claim(contextlib.AbstractContextManager["Claim"]):
    """A user's slot, taken when created and given back on exit."""

    def __init__(self, working: set[int], user_id: int) -> None:
        self._working = working
        self.user_id = user_id

    def __exit__(self, *exc_info: object) -> None:
        self._working.discard(self.user_id)


class SummaryService:
    """Summaries of links and texts, fair between users."""

    def __init__(
        self,
        summarizer: Summarizer,
        limits: FetchLimits,
        executor: Executor,
        *,
        max_in_flight: int = MAX_IN_FLIGHT,
    ) -> None:
        self.summarizer = summarizer
        self.limits = limits
        self.executor = executor
        self._working: set[int] = set()
        self._gate = asyncio.Semaphore(max_in_flight)
        self._tasks: set[asyncio.Task[None]] = set()

    def track(self, task: asyncio.Task[None]) -> None:
        """Remember a request's background task, so that ``cancel_all`` can end it."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def cancel_all(self) -> None:
        """Shutting down: end every request in flight (each tells its user to retry)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)

    def busy(self, user_id: int) -> bool:
        """True while the user has a request in flight."""
        return user_id in self._working

    def claim(self, user_id: int) -> Claim:
        """Take the user's one slot now (``StillWorking`` if it is taken); the returned
        context manager gives it back when the request is done."""
        if user_id in self._working:
            raise StillWorking(STILL_WORKING)
        self._working.add(user_id)
        return Claim(self._working, user_id)

    async def summarize(self, source: str, client: httpx.AsyncClient) -> LinkSummary:
        """A summary of the link a short ``source`` holds (``link_of``), or of the text."""
        link = link_of(source)
        loop = asyncio.get_running_loop()
        async with self._gate:
            try:
                if _OTHER_SCHEME.fullmatch(source.strip()) and not link:  # ftp:, javascript:
                    raise FetchError("bad_url", "only http(s) links can be opened")
                if link:
                    article, _page = await fetch_article(
                        link, self.limits, client, executor=self.executor
                    )
                else:
                    if len(source) > MAX_TEXT_CHARS:
                        raise SummaryError(
                            _(
                                "That text is too long: I summarize up to {count} characters. "
                                "Send a link instead.",
                                count=MAX_TEXT_CHARS,
                            )
                        )
                    article = await loop.run_in_executor(self.executor, parse_plain, source)
                summary = await loop.run_in_executor(self.executor, self.summarizer, article)
                if summary.short_text and not link:  # a page's text is news to the reader
                    raise SummaryError(
                        _(
                            "That text is already short: there is nothing to shorten. Paste a "
                            "whole article, or send a link."
                        )
                    )
            except FetchError as exc:
                raise SummaryError(fetch_problem(exc)) from exc
            except SummarizerError as exc:
                raise SummaryError(
                    _("I could not summarize that: {reason}.", reason=summarizer_reason(exc))
                ) from exc
        return LinkSummary(article, summary.sentences)
