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

from summarizer import Article, Summarizer, SummarizerError, parse_plain

from ..sources.fetch import FetchError, FetchLimits
from ..sources.pages import fetch_article

MAX_TEXT_CHARS = 20_000
# Summaries being worked on at once, for all users together; more wait their turn.
MAX_IN_FLIGHT = 8
STILL_WORKING = (
    "I'm still working on your last link; I'll answer it first, then send me the next one."
)
URL = re.compile(r"https?://\S+", re.IGNORECASE)


class SummaryError(Exception):
    """A request that cannot be summarized; the message is meant for the user."""


class StillWorking(SummaryError):
    """The user already has a request in flight."""


@dataclass(frozen=True)
class LinkSummary:
    """An article and the sentences chosen to summarize it."""

    article: Article
    sentences: tuple[str, ...]


def fetch_problem(error: FetchError) -> str:
    """A fetch failure in words a reader understands."""
    reasons = {
        "blocked": "that link points to a private or local network address, which I don't fetch",
        "timeout": "the site took too long to answer",
        "too_large": "the page is too large",
        "network": "I could not reach the site",
        "http_status": f"the site answered with an error ({error.status or 'error'})",
        "redirects": "the page redirects in circles",
        "bad_url": "that is not a web link I can open",
        "decode": "the page could not be read",
    }
    return f"I could not fetch that page: {reasons.get(error.kind, str(error))}."


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
        """A summary of a link (the whole ``source`` is one URL) or of a text."""
        link = URL.fullmatch(source.strip())
        loop = asyncio.get_running_loop()
        async with self._gate:
            try:
                if link:
                    article, _ = await fetch_article(
                        link.group(), self.limits, client, executor=self.executor
                    )
                else:
                    if len(source) > MAX_TEXT_CHARS:
                        raise SummaryError(
                            f"That text is too long: I summarize up to {MAX_TEXT_CHARS:,} "
                            "characters. Send a link instead."
                        )
                    article = await loop.run_in_executor(self.executor, parse_plain, source)
                summary = await loop.run_in_executor(self.executor, self.summarizer, article)
            except FetchError as exc:
                raise SummaryError(fetch_problem(exc)) from exc
            except SummarizerError as exc:
                raise SummaryError(f"I could not summarize that: {exc}") from exc
        return LinkSummary(article, summary.sentences)
