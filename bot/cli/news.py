"""``newsdigest ingest`` and ``newsdigest digest``: the news pipeline from the terminal."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import datetime, timedelta

from ..config import KEEP_ARTICLES, Settings, load_settings
from ..digest.builder import DigestBuilder
from ..digest.render import render_digest_text
from ..ingest.ingester import Ingester, IngestReport, SourceReport
from ..ingest.topics import KeywordError, normalize_keyword
from ..models import StoredArticle, Subscriber, now_utc
from ..sources.seeds import seeds_problem
from ..store import Store, open_store
from .errors import EXIT_FAILURE, UsageError
from .wording import counted

# The offline demo's own data file, next to the deployment's: sample articles live there.
DEMO_DATA_FILE = "demo.json"


def settings_of(args: argparse.Namespace) -> Settings:
    return load_settings(args.config)


def _print_source(report: SourceReport) -> None:
    if report.waiting:
        status = f"waiting (backing off after: {report.error})"
    elif report.error and not report.new:
        status = f"FAILED: {report.error}"
    elif report.not_modified:
        status = "not modified"
    else:
        status = f"{report.new} new, {report.known} known"
        if report.skipped:
            status += f", {report.skipped} skipped"
        if report.too_old:
            status += f", {report.too_old} older than {KEEP_ARTICLES.days} days left out"
        if report.error or report.problem:
            status += f" (problems: {report.error or report.problem})"
    print(f"  {report.name}: {status}")


async def _ingest(
    settings: Settings, store: Store, *, feeds: bool, seeds: bool, quiet: bool = False
) -> IngestReport:
    from tqdm import tqdm

    total = len(settings.feeds) * feeds + (seeds and settings.seeds_dir is not None)
    with tqdm(total=total, file=sys.stderr, unit="source", disable=quiet, leave=False) as bar:
        return await Ingester(settings, store).run(
            feeds=feeds, seeds=seeds, force=True, on_source=lambda _: bar.update()
        )


def cmd_ingest(args: argparse.Namespace) -> int:
    """Fetch every source once and store what is new."""
    settings = settings_of(args)
    with open_store(settings) as store:
        report = asyncio.run(_ingest(settings, store, feeds=True, seeds=settings.use_seeds))
        print(
            f"Ingested {counted(report.new, 'new article')} (the store holds "
            f"{counted(store.count_articles(), 'article')} in all):"
        )
        for source in report.sources:
            _print_source(source)
        failed = report.failed
        if not report.sources:
            raise UsageError("nothing to ingest: the configuration has no feeds")
        if failed:
            names = ", ".join(s.name for s in failed)
            print(f"{len(failed)} source(s) failed: {names}", file=sys.stderr)
        if len(failed) == len(report.sources):
            return EXIT_FAILURE
    return 0


def _words(values: list[str] | None) -> tuple[str, ...]:
    words: list[str] = []
    for value in values or []:
        for part in value.split(","):
            if part.strip():
                try:
                    words.append(normalize_keyword(part))
                except KeywordError as exc:
                    raise UsageError(str(exc)) from None
    return tuple(words)


def _latest_news(store: Store, hours: int) -> tuple[datetime, list[StoredArticle]]:
    """The stored articles of the ``hours`` before the latest ingest, and where that starts.

    The window is anchored at the latest ingest, so a terminal digest shows the last stored
    news even when nothing was fetched today.
    """
    newest = max(
        (a.fetched for a in store.articles_since(now_utc() - timedelta(days=3650))),
        default=now_utc(),
    )
    since = newest - timedelta(hours=hours)
    return since, store.articles_since(since)


def _demo_news(settings: Settings, hours: int) -> tuple[datetime, list[StoredArticle]]:
    """The bundled sample articles, from a demo data file of their own (filled on first
    use): the deployment's data file never receives them."""
    path = settings.data_file.with_name(DEMO_DATA_FILE)
    with open_store(path) as demo:
        if demo.count_articles() == 0:
            asyncio.run(_ingest(settings, demo, feeds=False, seeds=True, quiet=True))
        return _latest_news(demo, hours)


def cmd_digest(args: argparse.Namespace) -> int:
    """Print a digest of the stored articles (the bundled samples if none are stored)."""
    settings = settings_of(args)
    topics = tuple(t.strip().lower() for t in (args.topics or "").split(",") if t.strip())
    unknown = [t for t in topics if settings.topic(t) is None]
    if unknown:
        known = ", ".join(settings.topic_names)
        raise UsageError(f"unknown topic {', '.join(unknown)}; choose from: {known}")
    follow, exclude = _words(args.follow), _words(args.exclude)
    hours = args.hours or settings.digest.window_hours
    articles: list[StoredArticle] = []
    if settings.database_url or settings.data_file.exists():
        with open_store(settings) as store:
            since, articles = _latest_news(store, hours)
    if not articles:
        problem = seeds_problem(settings.seeds_dir)
        if problem is not None:
            raise UsageError(
                f"no news stored in {settings.data_file} yet, and no sample articles to "
                f"show instead: {problem}"
            )
        print(
            f"No news stored in {settings.data_file} yet: here are the bundled sample "
            "articles (fiction, for trying newsdigest offline).",
            file=sys.stderr,
        )
        since, articles = _demo_news(settings, hours)
    reader = Subscriber(
        chat_id=0,
        topics=topics,
        follow=follow,
        exclude=exclude,
        timezone=args.timezone or settings.default_timezone,
        last_digest=since - timedelta(microseconds=1),
    )
    builder = DigestBuilder(
        articles,
        now=now_utc(),
        max_items=args.items or settings.digest.max_items,
        window=timedelta(hours=hours),
    )
    digest = builder.build(reader)
    if digest.empty:  # a terminal digest has no "last digest" to speak of
        asked = " for these topics and words" if topics or follow or exclude else ""
        print(f"No stories in the {counted(hours, 'hour')} before the latest ingest{asked}.")
        return 0
    print(render_digest_text(digest))
    return 0
