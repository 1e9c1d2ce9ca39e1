"""``bench/digest.py --store postgresql``: compose every digest from a PostgreSQL store.

Kept apart from bench/digest.py so that the in-memory benchmark imports no database
driver. See bench/digest.py for what is measured.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import resource
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import psycopg
from digest import NOW, make_articles, make_subscribers, naive_digest

from bot.digest.builder import DigestBuilder
from bot.digest.render import ItemCache, item_cache, render_digest_messages
from bot.models import Subscriber
from bot.store import ARTICLES, DELIVERIES, SUBSCRIBERS, DumpRecord, Store, open_store
from tests.pgcluster import Cluster

PAGE = 1000
TARGET_S = 60.0


def records(args: argparse.Namespace) -> Iterator[DumpRecord]:
    """Articles, then subscribers (made 10k at a time) and their ledgers."""
    rng = random.Random(7)
    topics = [f"topic{t:02d}" for t in range(args.topics)]
    articles = make_articles(rng, args.articles, topics)
    for article in articles:
        yield ARTICLES, article.id, article.to_dict()
    sent = (NOW - timedelta(days=1)).isoformat(timespec="seconds")
    chunk = 10_000
    for first in range(0, args.subscribers, chunk):
        for person in make_subscribers(rng, min(chunk, args.subscribers - first), topics, articles):
            person = replace(person, chat_id=person.chat_id + first, created=NOW)
            yield SUBSCRIBERS, str(person.chat_id), person.to_dict()
            if args.ledger:
                ledger = rng.sample(articles, k=min(args.ledger, len(articles)))
                yield DELIVERIES, str(person.chat_id), {a.id: sent for a in ledger}


def _server_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a database backend process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pages(store: Store) -> Iterator[list[Subscriber]]:
    page: list[Subscriber] = []
    for subscriber in store.subscribers(active_only=True):
        page.append(subscriber)
        if len(page) == PAGE:
            yield page
            page = []
    if page:
        yield page


def compose_all(store: Store, backend: int, items: int) -> dict[str, float]:
    """Compose and render every active subscriber's digest; the costs, with the CPU time
    spent reading from the store (articles, subscribers, ledgers) apart (the rest is
    indexing the articles, choosing and rendering)."""
    wall, cpu, server = time.perf_counter(), time.process_time(), _server_cpu(backend)
    articles = store.articles_since(NOW - timedelta(hours=48))
    reading = time.process_time() - cpu
    builder = DigestBuilder(articles, now=NOW, max_items=items)
    cache: ItemCache = item_cache()
    digests = messages = 0
    pages = _pages(store)
    while True:
        started = time.process_time()
        page = next(pages, None)
        if page is None:
            reading += time.process_time() - started
            break
        ledgers = store.delivered_ids_many(s.chat_id for s in page)
        reading += time.process_time() - started
        for subscriber in page:
            digest = builder.build(subscriber, ledgers.get(subscriber.chat_id, set()))
            messages += len(render_digest_messages(digest, now=NOW, cache=cache))
            digests += 1
    return {
        "digests": digests,
        "messages": messages,
        "cpu": time.process_time() - cpu,
        "reading": reading,
        "wall": time.perf_counter() - wall,
        "server": _server_cpu(backend) - server,
    }


def baseline(store: Store, count: int, items: int) -> tuple[int, float]:
    """The straightforward way, on the first ``count`` active subscribers: each read by
    its key with its ledger (as the dispatcher reads a due chat), every recent article
    filtered and sorted for it (``naive_digest``), rendered without caches. The articles
    are read once, as ours reads them. Returns how many subscribers and the CPU seconds
    per subscriber."""
    chat_ids = [s.chat_id for s in itertools.islice(store.subscribers(active_only=True), count)]
    start = time.process_time()
    articles = store.articles_since(NOW - timedelta(hours=48))
    for chat_id in chat_ids:
        reader = store.get_subscriber(chat_id)
        assert reader is not None
        digest = naive_digest(reader, articles, items, store.delivered_ids(chat_id))
        render_digest_messages(digest, now=NOW)
    return len(chat_ids), (time.process_time() - start) / max(len(chat_ids), 1)


def run_postgres(args: argparse.Namespace) -> None:
    with Cluster() as cluster:
        url = cluster.new_database("digest")
        started = time.perf_counter()
        with open_store(url) as store:
            count = store.restore(records(args))
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
            row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
        filled = time.perf_counter() - started
        size = int(row[0]) if row else 0
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        with open_store(url) as store:
            # The store's own connection: its server process does the store's queries.
            backend = int(store._value("SELECT pg_backend_pid()"))  # type: ignore[attr-defined]  # a PostgresStore's private helper, read by the benchmark only
            result = compose_all(store, backend, args.items)
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            sampled, naive_per = baseline(store, args.baseline_sample, args.items)
    per = 1e6 * result["cpu"] / max(result["digests"], 1)
    print(
        f"postgresql: {args.subscribers:,} subscribers, {args.articles:,} articles, "
        f"{args.ledger} ledger entries each ({count:,} records, {size / 2**20:,.0f} MB "
        f"database, filled in {filled:.0f} s)"
    )
    print(
        f"composed {result['digests']:,.0f} digests ({result['messages']:,.0f} messages): "
        f"{result['cpu']:.1f} s CPU in this process ({per:.1f} µs per digest), "
        f"{result['server']:.1f} s CPU in the database server, {result['wall']:.1f} s wall"
    )
    composing = result["cpu"] - result["reading"]
    print(
        f"of which reading articles, subscribers and ledgers from the store: "
        f"{result['reading']:.1f} s; choosing and rendering: {composing:.1f} s "
        f"({1e6 * composing / max(result['digests'], 1):.1f} µs per digest)"
    )
    print(f"peak RSS of this process: {peak:.0f} MB (before composing: {before:.0f} MB)")
    naive_total = naive_per * result["digests"]
    print(
        f"baseline: {naive_total:.0f} s estimated from {sampled:,} subscribers "
        f"({1e6 * naive_per:,.0f} µs per subscriber: each read by its key with its ledger, "
        f"every article filtered for it, no caches)"
    )
    print(
        f"ratio:    ours takes {result['cpu'] / naive_total:.4f}x the baseline's time "
        f"({naive_total / result['cpu']:.0f}x faster)"
    )
    million = per  # µs per digest are seconds per million digests
    verdict = "met" if million <= TARGET_S else "NOT met"
    scale = "" if args.subscribers == 1_000_000 else f" (at this run's rate: {million:.0f} s)"
    print(f"target <= {TARGET_S:.0f} s on one core for 1M digests{scale}: {verdict}")
