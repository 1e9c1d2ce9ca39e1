"""``newsdigest worker``: fetch, extract and summarize the feeds into a shared database.

With the store in PostgreSQL, the work that grows with the number of feeds (fetching,
page extraction, summarizing: CPU and network) can run in worker processes on other
machines, while one ``newsdigest run`` serves Telegram and delivers. The bot then
fetches nothing itself (``sources.ingest_in_bot = false``); it sees new articles at its
next digest, because the digest cache is keyed on the articles the store holds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal

from ..config import Settings
from ..ingest.ingester import Ingester
from ..store import Store, open_store
from ..telegram.lifecycle import stopping_from_now
from .errors import UsageError
from .news import settings_of
from .wording import counted

logger = logging.getLogger(__name__)


async def _one_pass(ingester: Ingester, settings: Settings, store: Store) -> None:
    report = await ingester.run(seeds=settings.use_seeds)
    logger.info(
        "ingest: %s (the store holds %s in all), %s",
        counted(report.new, "new article"),
        counted(store.count_articles(), "article"),
        counted(len(report.failed), "failing source"),
    )


async def work(settings: Settings, store: Store, *, once: bool) -> int:
    """Ingest every ``ingest_interval_minutes`` until SIGTERM or SIGINT (or one pass with
    ``once``); return how many passes finished. A pass cut short by a signal loses
    nothing: what was stored stays, and the rest is fetched at the next start."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    ingester = Ingester(settings, store)
    passes = 0
    try:
        while not stop.is_set():
            running = asyncio.ensure_future(_one_pass(ingester, settings, store))
            stopping = asyncio.ensure_future(stop.wait())
            await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if not running.done():
                running.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await running
                logger.info("stopping: the pass in progress was cut short")
                break
            running.result()
            passes += 1
            if once:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), settings.ingest_interval_minutes * 60)
    finally:
        stopping_from_now(loop)
    return passes


def cmd_worker(args: argparse.Namespace) -> int:
    """Ingest into PostgreSQL until stopped, for a bot elsewhere that delivers."""
    settings = settings_of(args)
    if not settings.database_url:
        raise UsageError(
            "newsdigest worker needs the store in PostgreSQL (storage.url or "
            "NEWSDIGEST_DATABASE_URL): the data file belongs to the one bot process"
        )
    if not settings.feeds and not settings.use_seeds:
        raise UsageError("no feeds configured: a worker would have nothing to fetch")
    logging.getLogger().setLevel(logging.DEBUG if args.verbose else logging.INFO)
    with open_store(settings) as store:
        logger.info("worker: %s into %s", counted(len(settings.feeds), "feed"), store.location)
        passes = asyncio.run(work(settings, store, once=args.once))
    logger.info("worker stopped after %s", counted(passes, "pass", "passes"))
    return 0
