"""Scale benchmark: compose the digests of 100k subscribers over 20 topics and 2,000 articles.

"Compose" is the whole per-subscriber work of a delivery run: choose the items (topics,
followed and excluded words, new-only, one item per story, top N) and render them as
Telegram HTML messages. Summaries are computed once per article at ingest and are not
part of this (they are stored with the article). Targets: at most 10 s on one core and at
most 300 MB peak RSS. The baseline, measured in the same run on a sample of subscribers,
is the straightforward way: filter all articles for each subscriber, no shared rankings,
no caches.

    python bench/digest.py [--subscribers 100000] [--articles 2000] [--topics 20]
    python bench/digest.py --store postgresql --subscribers 1000000 [--ledger 8]

With ``--store postgresql`` the data set is written into PostgreSQL (a throwaway server
of its own, as the tests start; fsync off while filling, which changes no read) and the
digests are composed from bulk reads: the recent articles once, then the active
subscribers in pages of 1,000 (as the bot lists them) with their ledgers in one query per
page. (The bot's dispatcher reads each due chat by its key, one query each, and writes
its bookkeeping after each send: per-digest costs outside composing, paced in any case
by Telegram's 30 messages/s; ``bench/delivery.py`` measures that path, embedded.)
Reported: CPU time of this process (one core), and of it the part spent reading from
the store, the database server's CPU time, the wall clock, and this process's peak RSS.
The baseline, measured in the same run on the first ``--baseline-sample`` subscribers, is
the straightforward way: each subscriber read by its key with its ledger, every article
filtered for it, no caches; the ratio of the two says how the code compares however busy
the shared machine is (its absolute times vary by 3x and more from day to day).
Target: every digest of 1M subscribers in at most 60 s, reading included.
"""

from __future__ import annotations

import argparse
import random
import resource
import string
import sys
import time
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.digest.builder import DigestBuilder
from bot.digest.model import Digest, DigestItem
from bot.digest.render import ItemCache, item_cache, render_digest_messages
from bot.ingest.topics import mentions
from bot.models import StoredArticle, Subscriber

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
ZONES = [
    "UTC",
    "Europe/Berlin",
    "Europe/London",
    "America/New_York",
    "America/Los_Angeles",
    "Asia/Tokyo",
    "Asia/Kolkata",
    "Australia/Sydney",
    "Africa/Nairobi",
    "America/Sao_Paulo",
]


def _word(rng: random.Random) -> str:
    return "".join(rng.choices(string.ascii_lowercase, k=rng.randint(4, 9)))


def make_articles(rng: random.Random, n: int, topics: list[str]) -> list[StoredArticle]:
    vocabulary = [_word(rng) for _ in range(20_000)]
    articles = []
    for i in range(n):
        words = tuple(dict.fromkeys(rng.choices(vocabulary, k=300)))
        summary = tuple(
            " ".join(rng.choices(vocabulary, k=rng.randint(15, 25))).capitalize() + "."
            for _ in range(3)
        )
        articles.append(
            StoredArticle(
                id=f"a{i:05d}",
                url=f"https://news{i % 40}.example/story/{i}",
                title=" ".join(rng.choices(vocabulary, k=rng.randint(6, 12))).title(),
                source=f"Outlet {i % 40}",
                published=NOW - timedelta(minutes=rng.randint(0, 24 * 60)),
                fetched=NOW - timedelta(minutes=rng.randint(0, 24 * 60)),
                language="english",
                topics=tuple(rng.sample(topics, k=rng.choice((1, 1, 2)))),
                summary=summary,
                words=words,
            )
        )
    return articles


def make_subscribers(
    rng: random.Random, n: int, topics: list[str], articles: list[StoredArticle]
) -> list[Subscriber]:
    common = [w for a in articles[:50] for w in a.words[:3]]
    subscribers = []
    for chat_id in range(1, n + 1):
        follow = (rng.choice(common),) if rng.random() < 0.1 else ()
        exclude = (rng.choice(common),) if rng.random() < 0.1 else ()
        subscribers.append(
            Subscriber(
                chat_id=chat_id,
                topics=tuple(sorted(rng.sample(topics, k=rng.randint(1, 4)))),
                follow=follow,
                exclude=exclude,
                timezone=rng.choice(ZONES),
                last_digest=NOW - timedelta(hours=rng.choice((24, 24, 12))),
            )
        )
    return subscribers


def naive_digest(
    sub: Subscriber,
    articles: list[StoredArticle],
    max_items: int,
    delivered: Collection[str] = (),
) -> Digest:
    """The baseline: scan and sort every article for every subscriber."""
    since = sub.last_digest or NOW - timedelta(hours=24)
    chosen = []
    for article in articles:
        if article.fetched <= since or article.id in delivered:
            continue
        words = set(article.words)
        wanted = set(article.topics) & set(sub.topics) or any(
            mentions(words, w) for w in sub.follow
        )
        if wanted and not any(mentions(words, w) for w in sub.exclude):
            chosen.append(article)
    chosen.sort(key=lambda a: a.when, reverse=True)
    items = tuple(
        DigestItem(a.id, a.title, a.url, a.source, a.when, a.summary) for a in chosen[:max_items]
    )
    return Digest(sub.chat_id, items, sub.timezone)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--articles", type=int, default=2_000)
    parser.add_argument("--topics", type=int, default=20)
    parser.add_argument("--items", type=int, default=8)
    parser.add_argument("--baseline-sample", type=int, default=1_000)
    parser.add_argument("--store", choices=("memory", "postgresql"), default="memory")
    parser.add_argument("--ledger", type=int, default=8, help="ledger entries per subscriber")
    args = parser.parse_args()
    if args.store == "postgresql":
        from digest_postgres import run_postgres

        run_postgres(args)
        return

    rng = random.Random(7)
    topics = [f"topic{t:02d}" for t in range(args.topics)]
    articles = make_articles(rng, args.articles, topics)
    subscribers = make_subscribers(rng, args.subscribers, topics, articles)
    setup_rss = peak_rss_mb()

    start = time.process_time()
    builder = DigestBuilder(articles, now=NOW, max_items=args.items)
    built = time.process_time() - start
    cache: ItemCache = item_cache()
    messages = 0
    characters = 0
    for subscriber in subscribers:
        rendered = render_digest_messages(builder.build(subscriber), now=NOW, cache=cache)
        messages += len(rendered)
        characters += sum(len(m.text) for m in rendered)
    ours = time.process_time() - start
    ours_rss = peak_rss_mb()

    sample = subscribers[: args.baseline_sample]
    start = time.process_time()
    for subscriber in sample:
        render_digest_messages(naive_digest(subscriber, articles, args.items), now=NOW)
    naive_per_sub = (time.process_time() - start) / len(sample)
    naive_total = naive_per_sub * len(subscribers)

    print(
        f"{len(subscribers):,} subscribers, {len(articles):,} articles, {len(topics)} topics, "
        f"{args.items} items per digest (CPU time, one core)"
    )
    print(
        f"ours:     {ours:6.2f} s total ({built:.2f} s to index the articles, story groups "
        f"included), {1e6 * ours / len(subscribers):.1f} µs per subscriber"
    )
    print(
        f"          {messages:,} messages, {characters / max(messages, 1):,.0f} characters "
        f"on average"
    )
    print(
        f"baseline: {naive_total:6.2f} s estimated from {len(sample):,} subscribers "
        f"({1e6 * naive_per_sub:.0f} µs per subscriber)"
    )
    print(
        f"ratio:    ours takes {ours / naive_total:.3f}x the baseline's time "
        f"({naive_total / ours:.1f}x faster)"
    )
    print(f"peak RSS: {ours_rss:.0f} MB after composing (data set alone: {setup_rss:.0f} MB)")
    print(
        f"targets:  <= 10 s: {'met' if ours <= 10 else 'NOT met'}; "
        f"<= 300 MB: {'met' if ours_rss <= 300 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
