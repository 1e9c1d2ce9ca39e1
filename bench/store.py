"""Benchmark: subscriber lookups and updates, our Store against plain TinyDB, same run.

    python bench/store.py                      # 100,000 subscribers, about two minutes
    python bench/store.py --subscribers 10000  # quicker

Both sides fsync every update: our Store appends one journal line and fsyncs it; plain
TinyDB (default JSONStorage) re-reads and re-parses the whole file for every query and
rewrites it (with fsync) for every update. Plain TinyDB is measured with a few operations,
ours with many; the report gives the mean per operation and the ratio.
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tinydb import Query, TinyDB

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
    """The mean wall time of ``operation(key)`` over ``keys``."""
    times = []
    for key in keys:
        start = time.perf_counter()
        operation(key)
        times.append(time.perf_counter() - start)
    return statistics.fmean(times)


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

    # -- plain TinyDB -------------------------------------------------------------------
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

    # -- report -------------------------------------------------------------------------
    print(
        f"timed: ours {ops * 10:,} lookups and {ops:,} updates; "
        f"plain TinyDB {baseline_ops} of each (mean per operation)"
    )
    print()
    print(f"{'operation':<20}{'ours (Store)':>14}{'plain TinyDB':>14}{'ours is':>12}")
    for name, ours, plain in (
        ("lookup by chat_id", ours_lookup, plain_lookup),
        ("update one field", ours_update, plain_update),
    ):
        print(f"{name:<20}{human(ours):>14}{human(plain):>14}{plain / ours:>10,.0f}x faster")
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
