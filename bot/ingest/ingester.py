"""Ingest: sources -> articles with topics and a summary -> the store.

Summaries are computed here, once per article, off the event loop (``asyncio.to_thread``),
and stored with the article; digests only read them. The store is written on the loop
thread, in one batch per source (one fsync per source rather than per article).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import httpx

from summarizer import Article, Summarizer, SummarizerError

from ..config import KEEP_ARTICLES, Feed, Settings
from ..models import FeedState, StoredArticle
from ..sources.feeds import SourceError, is_due, poll_feed
from ..sources.fetch import FetchLimits, FetchResult, new_client
from ..sources.seeds import load_seed_folder
from ..sources.urls import article_id, canonical_url
from ..store import Store
from .topics import TopicMatcher, article_words

logger = logging.getLogger(__name__)

SEEDS_SOURCE = "seeds"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_FUTURE = timedelta(days=1)
# Feeds polled at once in an ingest run: chats' own feeds can make them thousands.
FEED_CONCURRENCY = 16
# Shown as the outlet of a sample article whose file names none.
SEEDS_LABEL = "newsdigest sample"


@dataclass
class SourceReport:
    """What one source gave in one ingest run."""

    name: str
    url: str
    known: int = 0
    skipped: int = 0
    too_old: int = 0  # entries published before articles are kept (KEEP_ARTICLES)
    stored_ids: set[str] = field(default_factory=set)  # the articles it stored as new
    error: str | None = None
    problem: str | None = None  # it worked, but not cleanly (a feed's broken XML)
    not_modified: bool = False
    waiting: bool = False

    @property
    def new(self) -> int:
        """How many articles this source stored as new."""
        return len(self.stored_ids)


@dataclass
class IngestReport:
    """What one ingest run did, per source."""

    sources: list[SourceReport] = field(default_factory=list)

    @property
    def new(self) -> int:
        """New articles stored in this run, each once (two feeds may carry the same link:
        one article, new to each of them)."""
        return len(set().union(*(s.stored_ids for s in self.sources)))

    @property
    def failed(self) -> list[SourceReport]:
        """Sources that failed in this run."""
        return [s for s in self.sources if s.error]


def stable_id(article: Article) -> tuple[str, str]:
    """(id, canonical url): from the URL when there is one, else from title and source."""
    if article.url:
        canonical = canonical_url(article.url)
        return article_id(canonical), canonical
    basis = f"{article.source}\n{article.title}\n{article.published}\n{article.text[:500]}"
    return "t" + hashlib.sha256(basis.encode()).hexdigest()[:20], ""


def to_stored(
    article: Article,
    *,
    summarizer: Summarizer,
    matcher: TopicMatcher,
    feed_topics: Sequence[str] = (),
    feed_name: str = "",
    source: str = "",
    now: datetime,
    feed_url: str = "",
    private: bool = False,
) -> StoredArticle:
    """Summarize and classify one article (CPU work: call it off the event loop)."""
    identifier, canonical = stable_id(article)
    summary = summarizer(article)
    published = article.published
    # A date before 1970 or in the future is a feed's mistake: keep the article, undated,
    # rather than let it sit at the top of every digest or break time-zone arithmetic.
    if published is not None and not EPOCH <= published <= now + MAX_FUTURE:
        published = None
    text = article.text
    return StoredArticle(
        id=identifier,
        url=canonical or article.url,
        title=article.title or (summary.sentences[0][:120] if summary.sentences else ""),
        source=article.source or source or feed_name,
        published=published,
        fetched=now,
        language=summary.language,
        topics=matcher.topics_for(article.title, text, feed_topics),
        summary=summary.sentences,
        words=article_words(article.title, text),
        feed=feed_name,
        feed_urls=(feed_url,) if feed_url else (),
        private=private,
    )


def _convert_all(
    articles: Sequence[Article],
    convert: Callable[[Article], StoredArticle],
) -> tuple[list[StoredArticle], int]:
    out: list[StoredArticle] = []
    skipped = 0
    for article in articles:
        try:
            out.append(convert(article))
        except SummarizerError as exc:
            logger.info("skipping %r: %s", article.title[:80], exc)
            skipped += 1
    return out, skipped


class Ingester:
    """Runs sources into the store. One per application; reused across runs."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self.matcher = TopicMatcher(settings.topics)
        self.summarizer = Summarizer(
            sentences=settings.digest.sentences, max_chars=settings.digest.max_chars
        )
        self.limits = FetchLimits.for_feeds(settings.fetch)
        # Chats' own feeds are links from users: the operator's exceptions do not apply.
        self.link_limits = FetchLimits.for_links(settings.fetch)

    def user_feeds(self) -> list[Feed]:
        """The chats' own feeds to poll: each once, however many chats added it, and not
        at all when it is also a configured feed (that one is polled anyway)."""
        if not self.settings.user_feeds:
            return []
        configured = {feed.url for feed in self.settings.feeds}
        return [
            Feed(url=url, name="", topics=(), user_feed=True)
            for url in sorted(self.store.chat_feed_urls())
            if url not in configured
        ]

    def _known(
        self, article: Article, feed_url: str, private: bool, replacing: dict[str, StoredArticle]
    ) -> bool:
        """True when the article is stored already; it then also counts as an entry of
        this feed (a chat's own feed gets it even when another feed brought it first).

        An article only chats' own feeds brought is not known to a configured feed: it
        goes into ``replacing``, and that feed's entry is stored in its place (``_store``),
        so what one chat's feed says of a link (its title, its name, its text) never
        reaches the topics' readers.
        """
        identifier, _ = stable_id(article)
        stored = self.store.get_article(identifier)
        if stored is None:
            return False
        if stored.private and not private:
            replacing[identifier] = stored
            return False
        if feed_url and feed_url not in stored.feed_urls:
            self.store.put_article(replace(stored, feed_urls=(*stored.feed_urls, feed_url)))
        return True

    async def _store(
        self,
        report: SourceReport,
        articles: Sequence[Article],
        *,
        feed_topics: Sequence[str],
        feed_name: str,
        source: str = "",
        feed_url: str = "",
        private: bool = False,
        max_age: timedelta | None = None,
    ) -> None:
        now = self.clock()
        if max_age is not None:
            # A feed's archive is not news: an entry published before articles are kept
            # would be offered as new at its first fetch (a blog's entry of last year).
            recent = [a for a in articles if a.published is None or a.published >= now - max_age]
            report.too_old += len(articles) - len(recent)
            articles = recent
        replacing: dict[str, StoredArticle] = {}
        with self.store.batch():
            fresh = [a for a in articles if not self._known(a, feed_url, private, replacing)]
        report.known += len(articles) - len(fresh)

        def convert(article: Article) -> StoredArticle:
            return to_stored(
                article,
                summarizer=self.summarizer,
                matcher=self.matcher,
                feed_topics=feed_topics,
                feed_name=feed_name,
                source=source or report.name,
                now=now,
                feed_url=feed_url,
                private=private,
            )

        converted, skipped = await asyncio.to_thread(_convert_all, fresh, convert)
        report.skipped += skipped
        unique: dict[str, StoredArticle] = {}
        for item in converted:  # a feed that lists a link twice: stored once, the first
            unique.setdefault(item.id, item)
        stored = list(unique.values())
        report.known += len(converted) - len(stored)
        with self.store.batch():
            for item in stored:
                own = replacing.get(item.id)  # brought by chats' own feeds only: their feeds stay
                if own is not None:
                    urls = tuple(dict.fromkeys((*own.feed_urls, *item.feed_urls)))
                    item = replace(item, feed_urls=urls)
                self.store.put_article(item)
        report.stored_ids.update(item.id for item in stored)

    async def ingest_seeds(self) -> SourceReport | None:
        """Store the articles of the seeds folder (already known ones are skipped)."""
        folder = self.settings.seeds_dir
        if folder is None:
            return None
        report = SourceReport(name=SEEDS_SOURCE, url=str(folder))
        errors: list[str] = []
        try:
            loaded = await asyncio.to_thread(
                load_seed_folder, folder, on_error=lambda p, e: errors.append(f"{p.name}: {e}")
            )
        except SourceError as exc:
            report.error = str(exc)
            return report
        report.skipped += len(errors)
        if errors:
            report.error = "; ".join(errors[:3])
        await self._store(
            report,
            [a for _, a in loaded],
            feed_topics=(),
            feed_name=SEEDS_SOURCE,
            source=SEEDS_LABEL,
        )
        return report

    async def ingest_feed(
        self,
        feed: Feed,
        client: httpx.AsyncClient,
        *,
        force: bool = False,
        fetched: FetchResult | None = None,
    ) -> SourceReport:
        """Poll one feed (unless it is waiting out a backoff) and store what is new;
        ``fetched``: the feed's document, just fetched (see ``poll_feed``)."""
        now = self.clock()
        state = self.store.get_feed_state(feed.url) or FeedState(url=feed.url)
        report = SourceReport(name=feed.name or state.title or feed.url, url=feed.url)
        if not force and not is_due(state, now):
            report.waiting = True
            report.error = state.last_error
            return report
        poll = await poll_feed(
            feed,
            state,
            client,
            self.link_limits if feed.user_feed else self.limits,
            now,
            max_entries=self.settings.max_entries_per_feed,
            fetched=fetched,
        )
        report.error = poll.error
        report.not_modified = poll.not_modified
        report.skipped += poll.unusable
        report.problem = poll.problem
        if poll.entries:
            await self._store(
                report,
                poll.entries,
                feed_topics=feed.topics,
                feed_name=feed.name,
                feed_url=feed.url,
                private=feed.user_feed,
                max_age=KEEP_ARTICLES,
            )
        self.store.put_feed_state(
            replace(poll.state, articles_total=poll.state.articles_total + report.new)
        )
        return report

    async def run(
        self,
        *,
        feeds: bool = True,
        seeds: bool = True,
        force: bool = False,
        on_source: Callable[[SourceReport], None] | None = None,
    ) -> IngestReport:
        """One ingest run over the seeds, every configured feed and the chats' own feeds,
        at most ``FEED_CONCURRENCY`` feeds at a time."""
        report = IngestReport()
        if seeds:
            seed_report = await self.ingest_seeds()
            if seed_report is not None:
                report.sources.append(seed_report)
                if on_source:
                    on_source(seed_report)
        every_feed = [*self.settings.feeds, *self.user_feeds()] if feeds else []
        if every_feed:
            gate = asyncio.Semaphore(FEED_CONCURRENCY)
            async with new_client(self.limits) as client:

                async def one(feed: Feed) -> SourceReport:
                    async with gate:
                        result = await self.ingest_feed(feed, client, force=force)
                    if on_source:
                        on_source(result)
                    return result

                report.sources.extend(await asyncio.gather(*(one(f) for f in every_feed)))
        return report
