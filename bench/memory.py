"""Memory benchmark: the real bot's RSS with 100k subscribers and 10k articles.

Builds the data set (subscribers with topics, zones and followed words; articles with
their summaries and word lists; a delivery ledger of ``--ledger`` entries per subscriber)
into a data file, or into PostgreSQL with ``--store postgresql`` (a throwaway server of
its own, as the tests start). Then starts the real bot (``python -m bot.cli run``)
against the fake Bot API on 127.0.0.1, reads its RSS from /proc after the start, and
again while it delivers the digests of ``--due`` subscribers whose slot has just passed,
and prints them beside the size of the data set itself (the data file, or the
database). Target: at most 300 MB after start and during delivery.

    python bench/memory.py [--subscribers 100000] [--articles 10000] [--ledger 24]
                           [--due 2000] [--store embedded|postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import os
import random
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import psycopg  # noqa: E402
from digest import make_articles, make_subscribers  # noqa: E402

from bot.models import StoredArticle  # noqa: E402
from bot.store import ARTICLES, DELIVERIES, SUBSCRIBERS, DumpRecord, open_store  # noqa: E402
from fakebotapi import FakeBotAPI  # noqa: E402
from tests.pgcluster import Cluster  # noqa: E402

TOKEN = "5550009999:MEMORY-bench-token"
TARGET_MB = 300
CONFIG = """
[sources]
use_seeds = false
ingest_interval_minutes = 1440

[delivery]
timezone = "UTC"
grace_hours = 2
messages_per_second = 1000

[[topics]]
name = "topic00"
label = "Topic 0"
keywords = ["topic00"]
"""


def topic_config(count: int) -> str:
    topics = "".join(
        f'\n[[topics]]\nname = "topic{t:02d}"\nlabel = "Topic {t}"\nkeywords = ["topic{t:02d}"]\n'
        for t in range(1, count)
    )
    return CONFIG + topics


def records(args: argparse.Namespace, now: datetime) -> Iterator[DumpRecord]:
    """The data set as store records (a generator: a million subscribers never sit in a
    list here)."""
    rng = random.Random(11)
    topics = [f"topic{t:02d}" for t in range(args.topics)]
    articles: list[StoredArticle] = [
        replace(a, fetched=now - (NOW_BENCH - a.fetched), published=None)
        for a in make_articles(rng, args.articles, topics)
    ]
    for article in articles:
        yield ARTICLES, article.id, article.to_dict()
    due_clock = (now - timedelta(minutes=3)).strftime("%H:%M")
    later = (now + timedelta(hours=6)).strftime("%H:%M")
    sent = (now - timedelta(days=1)).isoformat(timespec="seconds")
    chunk = 10_000
    for first in range(0, args.subscribers, chunk):
        people = make_subscribers(rng, min(chunk, args.subscribers - first), topics, articles)
        for person in people:
            chat_id = person.chat_id + first
            person = replace(
                person,
                chat_id=chat_id,
                timezone="UTC",
                times=(due_clock if chat_id <= args.due else later,),
                created=now - timedelta(days=30),
                last_digest=now - timedelta(days=1),
            )
            yield SUBSCRIBERS, str(chat_id), person.to_dict()
            if args.ledger:
                ledger = rng.sample(articles, k=min(args.ledger, len(articles)))
                yield DELIVERIES, str(chat_id), {a.id: sent for a in ledger}


NOW_BENCH = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)  # bench/digest.py's clock


def _die_with_parent() -> None:
    """In the bot: SIGKILL when the benchmark dies, so no bot outlives an interrupted run."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def rss_mb(pid: int) -> tuple[float, float]:
    """(current RSS, peak RSS) of a process, in MB, from /proc."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


async def measure_bot(folder: Path, env: dict[str, str], due: int) -> dict[str, float]:
    """Start the bot, wait until it runs, then until ``due`` digests are out; RSS figures."""
    figures: dict[str, float] = {}
    async with FakeBotAPI() as api:
        for chat_id in range(1, due + 1):
            api.add_chat(chat_id, "private")
        env = {
            **env,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": api.base_url,
            "TELEGRAM_API_BASE_FILE_URL": api.base_url.replace("/bot", "/file/bot"),
        }
        log = folder / "bot.log"
        started = time.monotonic()
        with log.open("wb") as out:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot.cli", "--config", str(folder / "config.toml"), "run",
                env=env, stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=out, cwd=ROOT,
                preexec_fn=_die_with_parent,
            )  # fmt: skip
        try:
            while "is running" not in log.read_text():
                if proc.returncode is not None or time.monotonic() - started > 600:
                    raise SystemExit(f"the bot did not start:\n{log.read_text()[-3000:]}")
                await asyncio.sleep(0.2)
            figures["start_s"] = time.monotonic() - started
            figures["after_start"], _ = rss_mb(proc.pid)
            delivering = 0.0
            began = time.monotonic()
            while sum(1 for c in range(1, due + 1) if api.messages(c)) < due:
                delivering = max(delivering, rss_mb(proc.pid)[0])
                if time.monotonic() - began > 1800 or proc.returncode is not None:
                    raise SystemExit(f"delivery did not finish:\n{log.read_text()[-3000:]}")
                await asyncio.sleep(0.5)
            figures["delivery_s"] = time.monotonic() - began
            figures["during_delivery"] = max(delivering, rss_mb(proc.pid)[0])
            figures["peak"] = rss_mb(proc.pid)[1]
        finally:
            if proc.returncode is None:
                proc.terminate()
                await proc.wait()
    return figures


def fill(target: Path | str, args: argparse.Namespace, now: datetime) -> tuple[int, float]:
    started = time.monotonic()
    with open_store(target) as store:
        count = store.restore(records(args, now))
    return count, time.monotonic() - started


def run(args: argparse.Namespace, folder: Path, cluster: Cluster | None) -> None:
    now = datetime.now(UTC)
    (folder / "config.toml").write_text(topic_config(args.topics))
    env = dict(os.environ)
    if cluster is not None:
        target: Path | str = cluster.new_database("memory")
        env["NEWSDIGEST_DATABASE_URL"] = target
    else:
        target = folder / "newsdigest.json"
        env["NEWSDIGEST_DATA_FILE"] = str(target)
        env.pop("NEWSDIGEST_DATABASE_URL", None)
    count, took = fill(target, args, now)
    if cluster is not None:
        with psycopg.connect(str(target)) as conn:
            row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
            size = int(row[0]) if row else 0
        where = "PostgreSQL database"
    else:
        size = sum(p.stat().st_size for p in folder.glob("newsdigest.json*"))
        where = "data file"
    figures = asyncio.run(measure_bot(folder, env, args.due))
    print(
        f"{args.store}: {args.subscribers:,} subscribers, {args.articles:,} articles, "
        f"{args.ledger} ledger entries each ({count:,} records, written in {took:.1f} s)"
    )
    print(f"  data set: {size / 2**20:,.0f} MB ({where})")
    print(
        f"  bot RSS after start:      {figures['after_start']:6.0f} MB "
        f"(started in {figures['start_s']:.1f} s)"
    )
    print(
        f"  bot RSS during delivery:  {figures['during_delivery']:6.0f} MB "
        f"({args.due:,} digests in {figures['delivery_s']:.1f} s)"
    )
    print(f"  bot peak RSS (VmHWM):     {figures['peak']:6.0f} MB")
    worst = max(figures["after_start"], figures["during_delivery"], figures["peak"])
    print(f"  target <= {TARGET_MB} MB: {'met' if worst <= TARGET_MB else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--topics", type=int, default=20)
    parser.add_argument("--ledger", type=int, default=24, help="ledger entries per subscriber")
    parser.add_argument("--due", type=int, default=2_000, help="digests delivered while measured")
    parser.add_argument("--store", choices=("embedded", "postgresql"), default="embedded")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="newsdigest-memory-") as tmp:
        if args.store == "postgresql":
            with Cluster(durable=True) as cluster:
                run(args, Path(tmp), cluster)
        else:
            run(args, Path(tmp), None)


if __name__ == "__main__":
    main()
