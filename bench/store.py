"""Benchmark: subscriber lookups and updates, our Store against plain TinyDB, same run.

    python bench/store.py                      # 100,000 subscribers, about two minutes
    python bench/store.py --subscribers 10000  # quicker

Two baselines, both plain TinyDB 4 with its default JSONStorage:

- *Query scan*: ``table.search(Query().chat_id == id)``, the way TinyDB's documentation
  finds a record: every query re-reads and re-parses the whole file and tests every
  document. (Keeping the document id, ``table.get(doc_id=...)``, still re-reads the
  whole file: shown as a lookup too.)
- *doc_id, cached*: the subscriber's document id is kept (``table.get(doc_id=...)``,
  ``table.update(..., doc_ids=[...])``) and the storage is wrapped in TinyDB's
  ``CachingMiddleware``, so lookups are served from memory. The lookup is shown turned
  into the typed ``Subscriber`` (the work ours does, and what the bot needs) and as the
  raw dict TinyDB returns. For an update to be on disk
  when it returns (as ours is), ``flush()`` follows each one, and TinyDB writes the whole
  file (with fsync). The same update without the flush is shown too: it is what
  CachingMiddleware does by default, and it is not durable (up to 1,000 updates live only
  in memory until the next flush).

Our Store appends one journal line per update and fsyncs it. Plain TinyDB is measured
with a few operations where each rewrites the file, ours with many; the report gives the
mean per operation and the ratios.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tinydb import Query, TinyDB
from tinydb.middlewares import CachingMiddleware
from tinydb.storages import JSONStorage
from tinydb.table import Document

from bot.models import ACTIVE, PAUSED, Subscriber
from bot.store import EmbeddedStore

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
TOPICS = ("world", "business", "technology", "science", "health", "sport", "culture")
ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Europe/Moscow")


def make_subscribers(count: int, rng: random.Random) -> list[Subscriber]:
    """Plausible subscribers: private chats and groups, a few topics and times each."""
    subscribers = []
    for n in range(count):
        group = rng.random() < 0.2
        subscribers.append(
            Subscriber(
                chat_id=-1001000000000 - n if group else 100000000 + n,
                chat_type="supergroup" if group else "private",
                topics=tuple(rng.sample(TOPICS, rng.randint(1, 4))),
                follow=tuple(rng.sample(("ai", "climate", "elections", "chips"), 1)),
                times=tuple(
                    sorted(
                        f"{rng.randint(5, 22):02d}:{rng.choice((0, 30)):02d}"
                        for _ in range(rng.randint(1, 2))
                    )
                ),
                timezone=rng.choice(ZONES),
                status=ACTIVE if rng.random() < 0.9 else PAUSED,
                created=T0 - timedelta(days=rng.randint(0, 700)),
                last_slot=T0,
                last_digest=T0,
            )
        )
    return subscribers


def mean_seconds(operation: Callable[[int], object], keys: list[int]) -> float:
    """The mean wall time of ``operation(key)`` over ``keys``: the whole loop timed once
    (timing each call would add the clock's own cost, ~0.1 µs, to every lookup)."""
    start = time.perf_counter()
    for key in keys:
        operation(key)
    return (time.perf_counter() - start) / len(keys)


def journal_bytes(path: Path) -> int:
    """The size of a store's journal."""
    return sum(p.stat().st_size for p in path.parent.glob(f"{path.name}.journal.*"))


def filesystem(folder: Path) -> str:
    """The type of the file system holding ``folder`` (fsync cost depends on it)."""
    best, kind = "", "unknown"
    try:
        mounts = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return kind
    target = str(folder.resolve())
    for line in mounts:
        parts = line.split()
        if len(parts) > 2 and target.startswith(parts[1]) and len(parts[1]) > len(best):
            best, kind = parts[1], parts[2]
    return kind


def human(seconds: float) -> str:
    """A duration with a unit that keeps three significant figures readable."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def run(count: int, ops: int, baseline_ops: int, folder: Path) -> None:
    rng = random.Random(20250301)
    subscribers = make_subscribers(count, rng)
    chat_ids = [s.chat_id for s in subscribers]
    print(
        f"{count:,} subscribers; files in {folder} ({filesystem(folder)}); "
        f"Python {sys.version.split()[0]}"
    )

    # -- ours ---------------------------------------------------------------------------
    ours_path = folder / "ours" / "newsdigest.json"
    start = time.perf_counter()
    with EmbeddedStore.open(ours_path) as store, store.batch():
        for subscriber in subscribers:
            store.put_subscriber(subscriber)
    fill = time.perf_counter() - start
    start = time.perf_counter()
    store = EmbeddedStore.open(ours_path)
    reopen = time.perf_counter() - start
    lookup_keys = rng.choices(chat_ids, k=ops * 10)
    ours_lookup = mean_seconds(store.get_subscriber, lookup_keys)
    slots = iter(T0 + timedelta(minutes=n) for n in range(10**9))
    journal_before = journal_bytes(ours_path)
    ours_update = mean_seconds(
        lambda chat_id: store.update_subscriber(chat_id, last_slot=next(slots)),
        rng.choices(chat_ids, k=ops),
    )
    assert store.get_subscriber(chat_ids[0]) is not None
    journal_line = (journal_bytes(ours_path) - journal_before) / ops
    start = time.perf_counter()
    store.compact()
    compaction = time.perf_counter() - start
    snapshot_bytes = ours_path.stat().st_size
    store.close()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    # -- plain TinyDB, Query scan -------------------------------------------------------
    plain_path = folder / "plain" / "db.json"
    plain_path.parent.mkdir()
    db = TinyDB(plain_path)
    table = db.table("subscribers")
    table.insert_multiple(s.to_dict() for s in subscribers)
    subscriber_q = Query()
    # Distinct keys: TinyDB caches the result of a query it has seen before.
    plain_keys = rng.sample(chat_ids, k=2 * baseline_ops)
    plain_lookup = mean_seconds(
        lambda chat_id: table.search(subscriber_q.chat_id == chat_id), plain_keys[:baseline_ops]
    )
    plain_update = mean_seconds(
        lambda chat_id: table.update(
            {"last_slot": next(slots).isoformat()}, subscriber_q.chat_id == chat_id
        ),
        plain_keys[baseline_ops:],
    )
    db.close()

    # -- plain TinyDB by doc_id, CachingMiddleware ----------------------------------------
    cached_path = folder / "cached" / "db.json"
    cached_path.parent.mkdir()
    cached_db = TinyDB(cached_path, storage=CachingMiddleware(JSONStorage))
    cached = cached_db.table("subscribers")
    doc_ids = {chat_id: n + 1 for n, chat_id in enumerate(chat_ids)}
    cached.insert_multiple(Document(s.to_dict(), doc_id=doc_ids[s.chat_id]) for s in subscribers)
    cached_db.storage.flush()
    cached_raw = mean_seconds(lambda chat_id: cached.get(doc_id=doc_ids[chat_id]), lookup_keys)

    def cached_record(chat_id: int) -> Subscriber:
        doc = cached.get(doc_id=doc_ids[chat_id])
        assert isinstance(doc, dict)
        return Subscriber.from_dict(doc)

    # The same work as ours: the bot needs the typed record, not the JSON document.
    cached_lookup = mean_seconds(cached_record, lookup_keys)

    def cached_update(chat_id: int) -> None:
        cached.update({"last_slot": next(slots).isoformat()}, doc_ids=[doc_ids[chat_id]])

    def durable_update(chat_id: int) -> None:
        cached_update(chat_id)
        cached_db.storage.flush()

    durable_keys = rng.sample(chat_ids, k=baseline_ops)
    cached_durable = mean_seconds(durable_update, durable_keys)
    cached_memory = mean_seconds(cached_update, rng.choices(chat_ids, k=min(ops, 999)))
    cached_db.close()
    # Checks that the measured calls did what they claim, not just returned.
    with TinyDB(cached_path) as check:
        doc = check.table("subscribers").get(doc_id=doc_ids[durable_keys[-1]])
        assert isinstance(doc, dict)
        assert doc["last_slot"] != T0.isoformat()
        # Plain TinyDB keyed by its document id, without the cache: each get reads the file.
        uncached = check.table("subscribers")
        plain_doc_lookup = mean_seconds(
            lambda chat_id: Subscriber.from_dict(uncached.get(doc_id=doc_ids[chat_id])),  # type: ignore[arg-type]  # every id was inserted
            rng.sample(chat_ids, k=baseline_ops),
        )

    # -- report -------------------------------------------------------------------------
    print(
        f"timed: ours {ops * 10:,} lookups and {ops:,} updates; plain TinyDB {baseline_ops} "
        "of each that rewrites or re-reads the file, cached lookups as many as ours "
        "(mean per operation)"
    )
    print()
    header = f"{'operation':<34}{'ours (Store)':>14}{'plain TinyDB':>14}{'ours is':>19}"
    print(header)
    rows = (
        ("lookup, Query scan", ours_lookup, plain_lookup),
        ("lookup, doc_id, no cache, record", ours_lookup, plain_doc_lookup),
        ("lookup, doc_id + cache, record", ours_lookup, cached_lookup),
        ("lookup, doc_id + cache, raw dict", ours_lookup, cached_raw),
        ("update, Query scan", ours_update, plain_update),
        ("update, doc_id + cache + flush", ours_update, cached_durable),
        ("update, doc_id + cache, no flush*", ours_update, cached_memory),
    )
    for name, ours, plain in rows:
        ratio = plain / ours
        verdict = f"{ratio:,.0f}x faster" if ratio >= 1 else f"{1 / ratio:,.1f}x slower"
        print(f"{name:<34}{human(ours):>14}{human(plain):>14}{verdict:>19}")
    print("  * not durable: the update is only in memory until a flush rewrites the file")
    print()
    writes_between = snapshot_bytes / journal_line
    print(f"ours, other costs: fill in one batch {human(fill)}, open {human(reopen)},")
    print(
        f"  compaction {human(compaction)} ({snapshot_bytes / 1e6:.1f} MB snapshot; it runs "
        f"when the journal outgrows the snapshot, i.e. every ~{writes_between:,.0f} updates of "
        f"{journal_line:.0f} bytes: ~{human(compaction / writes_between)} per update),"
    )
    print(f"  peak memory of the process after our part {peak_mb:.0f} MB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=100_000, help="default 100000")
    parser.add_argument(
        "--ops", type=int, default=2000, help="our updates (lookups: 10x this); default 2000"
    )
    parser.add_argument(
        "--baseline-ops", type=int, default=8, help="plain TinyDB lookups and updates; default 8"
    )
    parser.add_argument("--dir", type=Path, help="where to put the files (default: a temp dir)")
    args = parser.parse_args()
    if args.dir:
        args.dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="bench-store-") as folder:
        run(args.subscribers, args.ops, args.baseline_ops, Path(folder))
    return 0


if __name__ == "__main__":
    sys.exit(main())
