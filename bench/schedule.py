"""Scheduling at 100k subscribers: one APScheduler job each against one dispatcher + DueIndex.

    python bench/schedule.py                       # 100,000 subscribers: about 2 minutes
    python bench/schedule.py --subscribers 10000   # quicker

The same subscribers (one daily local time each, random minute of the day, random IANA
zone; the latest slot already delivered, as in a running bot) are scheduled both ways:

* **one job per subscriber** (the alternative the product rejected): PTB's ``JobQueue``,
  i.e. APScheduler 3's ``AsyncIOScheduler`` with its in-memory job store, one
  ``run_daily(callback, time=time(hh, mm, tzinfo=ZoneInfo(zone)), name="digest:<chat>")``
  per subscriber, added before ``start()`` as a bot would at start-up;
* **one dispatcher over DueIndex** (the product, ``bot/schedule.py``): ``DueIndex.rebuild``.

Measured for each:

* build: from the subscriber records to a scheduler ready to fire (for APScheduler:
  ``run_daily`` calls, then ``JobQueue.start()``, which files every job in the job store);
* memory: growth of the process's resident set (RSS) across the build, after a
  ``gc.collect()``; the DueIndex is built first and kept alive, so the second build cannot
  reuse memory the first one freed;
* one minute's worth of due subscribers: for DueIndex ``pop_due`` for that minute plus
  rescheduling each popped subscriber's next slot (what the dispatcher does after a
  delivery), averaged over ``--minutes`` consecutive minutes; for APScheduler its real
  wake-up (``_process_jobs``, timed by wrapping it): it finds the due jobs, hands them to
  the executor, computes their next fire times and re-files them in its sorted job list.
  The jobs of ``--wakeups`` consecutive minutes are moved (``modify(next_run_time=...)``)
  to fire a few seconds from now, one wake-up per minute's set, and the callbacks run;
* one subscriber changing their time: DueIndex ``schedule``; APScheduler removing the old
  job and adding a new one, both with ``get_jobs_by_name`` (how PTB code finds a job again)
  and with the job object at hand (a dict of handles the bot would have to keep).

The subscriber records are built once, outside the timings; reading them from the store
is the same for both designs and is not timed. Times are this process's CPU time
(``process_time``): the machine is shared, and wall-clock time would also count whatever
else runs on it. Even so the absolute figures move from run to run; the ratios hold.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

HERE = Path(__file__).resolve().parent
# Run as a script, this file's folder leads sys.path and bench/summarizer.py would shadow
# the summarizer package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

# APScheduler 3 ships no type information.
import apscheduler  # type: ignore[import-untyped]  # noqa: E402  (after the path fix)
import telegram  # noqa: E402
from apscheduler.jobstores.memory import MemoryJobStore  # type: ignore[import-untyped]  # noqa: E402
from telegram.ext import ApplicationBuilder, CallbackContext, Job, JobQueue  # noqa: E402

from bot.delivery.schedule import DueIndex, latest_slot, next_slot  # noqa: E402
from bot.models import Subscriber  # noqa: E402

REGIONS = (
    "Africa",
    "America",
    "Antarctica",
    "Asia",
    "Atlantic",
    "Australia",
    "Europe",
    "Indian",
    "Pacific",
)
GRACE = timedelta(hours=2)
# No slot falls this soon after the start, so APScheduler fires no job on its own while it
# is measured; the measured minutes come right after.
HOLD = timedelta(minutes=25)
FIRST_CHAT = 10_000_000


def iana_zones() -> list[str]:
    """Region/City zone names, sorted so a seeded choice is reproducible."""
    return sorted(z for z in available_timezones() if z.split("/")[0] in REGIONS)


def make_subscribers(count: int, now: datetime, rng: random.Random) -> list[Subscriber]:
    """One daily time each at a random minute, random zone, latest slot already delivered.

    A time whose next slot would fall within ``HOLD`` of ``now`` is drawn again, so the
    other minutes of the day stay evenly filled.
    """
    zones = iana_zones()
    subscribers = []
    for n in range(count):
        while True:
            subscriber = Subscriber(
                chat_id=FIRST_CHAT + n,
                times=(f"{rng.randrange(24):02d}:{rng.randrange(60):02d}",),
                timezone=rng.choice(zones),
                created=now - timedelta(days=30),
            )
            upcoming = next_slot(subscriber, now)
            if upcoming is None or upcoming - now > HOLD:
                break
        subscribers.append(subscriber.evolve(last_slot=latest_slot(subscriber, now)))
    return subscribers


def rss_bytes() -> int | None:
    """The process's resident set size now (Linux), after a full collection."""
    gc.collect()
    try:
        resident = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return resident * os.sysconf("SC_PAGE_SIZE")


def growth(before: int | None, after: int | None) -> int | None:
    return None if before is None or after is None else after - before


def mean_seconds(operation: Callable[[], object], repeat: int) -> float:
    start = time.process_time()
    for _ in range(repeat):
        operation()
    return (time.process_time() - start) / repeat


def new_time(subscriber: Subscriber) -> str:
    """A different delivery time for the 'changes their time' measurement."""
    hour, minute = (int(x) for x in subscriber.times[0].split(":"))
    return f"{(hour + 7) % 24:02d}:{minute:02d}"


@dataclass
class Figures:
    """One design's measurements."""

    build: float
    memory: int | None
    due_per_minute: float
    minute: float
    change: float
    build_detail: str = ""
    change_lookup: float | None = None
    idle: float | None = None


# ----------------------------------------------------------------------------- DueIndex


def measure_index(
    subscribers: Sequence[Subscriber], now: datetime, minutes: int, changes: int
) -> tuple[Figures, DueIndex]:
    """DueIndex: rebuild, a minute's pop_due plus rescheduling, one change, an idle check."""
    by_chat = {s.chat_id: s for s in subscribers}
    before = rss_bytes()
    start = time.process_time()
    index = DueIndex()
    index.rebuild(subscribers, now, GRACE)
    build = time.process_time() - start
    memory = growth(before, rss_bytes())
    if len(index) != len(subscribers) or index.pop_due(now):
        raise SystemExit("DueIndex: every subscriber should wait for a future slot")

    due = 0
    start = time.process_time()
    for minute in range(1, minutes + 1):
        moment = now + HOLD + timedelta(minutes=minute)
        for chat_id, slot in index.pop_due(moment):
            # What the dispatcher does after a delivery: record the slot, schedule the next.
            subscriber = by_chat[chat_id] = by_chat[chat_id].evolve(last_slot=slot)
            index.schedule(subscriber, moment, GRACE)
            due += 1
    per_minute = (time.process_time() - start) / minutes
    later = now + HOLD + timedelta(minutes=minutes)
    idle = mean_seconds(lambda: index.pop_due(later), 10_000)

    changed = [s.evolve(times=(new_time(s),)) for s in subscribers[:changes]]
    start = time.process_time()
    for subscriber in changed:
        index.schedule(subscriber, later, GRACE)
    change = (time.process_time() - start) / len(changed)
    return Figures(build, memory, due / minutes, per_minute, change, idle=idle), index


# ----------------------------------------------------------------------------- APScheduler


@dataclass
class Fired:
    """Counts the job callbacks; ``done`` is set when ``target`` have run."""

    target: int
    count: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)


async def digest_job(context: CallbackContext[Any, Any, Any, Any]) -> None:
    """The job callback: the delivery itself is not part of the measurement."""
    job = context.job
    assert job is not None
    assert isinstance(job.data, Fired)
    job.data.count += 1
    if job.data.count >= job.data.target:
        job.data.done.set()


def due_sets(
    subscribers: Sequence[Subscriber], now: datetime, wakeups: int
) -> list[list[Subscriber]]:
    """The subscribers due in each of the ``wakeups`` minutes after ``now + HOLD``."""
    probe = DueIndex()
    probe.rebuild(subscribers, now, GRACE)
    by_chat = {s.chat_id: s for s in subscribers}
    return [
        [by_chat[chat_id] for chat_id, _ in probe.pop_due(now + HOLD + timedelta(minutes=m))]
        for m in range(1, wakeups + 1)
    ]


class WakeTimer:
    """Times each APScheduler wake-up and how many jobs were due in it."""

    def __init__(self, scheduler: Any, store: MemoryJobStore) -> None:
        self.calls: list[tuple[int, float]] = []
        real: Callable[[], float | None] = scheduler._process_jobs
        timezone = scheduler.timezone

        def timed() -> float | None:
            due = len(store.get_due_jobs(datetime.now(timezone)))
            start = time.process_time()
            try:
                return real()
            finally:
                self.calls.append((due, time.process_time() - start))

        # An instance attribute shadows the method the scheduler's timer calls: this
        # measures the scheduler's own wake-up code without changing it.
        scheduler._process_jobs = timed


async def measure_jobqueue(
    subscribers: Sequence[Subscriber],
    now: datetime,
    wakeups: int,
    changes: int,
    lookups: int,
) -> tuple[Figures, JobQueue[Any]]:
    """PTB JobQueue / APScheduler: run_daily per subscriber, start, wake-ups, changes."""
    app = ApplicationBuilder().token("123456:BENCH").build()
    queue = app.job_queue
    assert queue is not None
    store = MemoryJobStore()
    queue.scheduler.add_jobstore(store, "default")
    zones = {z: ZoneInfo(z) for z in {s.timezone for s in subscribers}}
    sets = due_sets(subscribers, now, wakeups)
    changing = subscribers[-changes:]
    keep = {s.chat_id for batch in sets for s in batch} | {s.chat_id for s in changing}
    handles: dict[int, Job[Any]] = {}
    fired = Fired(target=sum(len(batch) for batch in sets))

    def daily(subscriber: Subscriber, clock: str) -> Job[Any]:
        hour, minute = (int(x) for x in clock.split(":"))
        return queue.run_daily(
            digest_job,
            time=clock_time(hour, minute, tzinfo=zones[subscriber.timezone]),
            name=f"digest:{subscriber.chat_id}",
            chat_id=subscriber.chat_id,
            data=fired,
        )

    before = rss_bytes()
    start = time.process_time()
    for subscriber in subscribers:
        job = daily(subscriber, subscriber.times[0])
        if subscriber.chat_id in keep:
            handles[subscriber.chat_id] = job
    added = time.process_time() - start
    await queue.start()
    await asyncio.sleep(0)  # the wake-up start() queued
    build = time.process_time() - start
    memory = growth(before, rss_bytes())
    if len(store.get_all_jobs()) != len(subscribers):
        raise SystemExit("APScheduler: not every job was scheduled")

    # Move each minute's jobs to fire a few seconds from now, one wake-up per minute's set.
    timer = WakeTimer(queue.scheduler, store)
    first = datetime.now(UTC) + timedelta(seconds=2)
    for k, batch in enumerate(sets):
        fire = first + timedelta(seconds=k)
        for subscriber in batch:
            aps_job = handles[subscriber.chat_id].job
            aps_job.modify(next_run_time=fire)
    await asyncio.sleep(0)
    timer.calls.clear()
    try:
        await asyncio.wait_for(fired.done.wait(), timeout=len(sets) + 30)
    except TimeoutError:
        raise SystemExit(f"APScheduler: {fired.count} of {fired.target} due jobs ran") from None
    busy = [(due, seconds) for due, seconds in timer.calls if due]
    per_minute = sum(seconds for _, seconds in busy) / len(sets)

    async def change(subscriber: Subscriber, lookup: bool) -> None:
        if lookup:
            for job in queue.get_jobs_by_name(f"digest:{subscriber.chat_id}"):
                job.schedule_removal()
        else:
            handles[subscriber.chat_id].schedule_removal()
        handles[subscriber.chat_id] = daily(subscriber, new_time(subscriber))
        await asyncio.sleep(0)  # the wake-ups that removing and adding queued

    start = time.process_time()
    for subscriber in changing:
        await change(subscriber, lookup=False)
    direct = (time.process_time() - start) / len(changing)
    start = time.process_time()
    for subscriber in changing[:lookups]:
        await change(subscriber, lookup=True)
    found = (time.process_time() - start) / min(lookups, len(changing))

    await queue.stop()
    figures = Figures(
        build,
        memory,
        fired.target / len(sets),
        per_minute,
        direct,
        build_detail=f"{added:.2f} s run_daily + {build - added:.2f} s start()",
        change_lookup=found,
    )
    return figures, queue


# ----------------------------------------------------------------------------- report


def human(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def megabytes(size: int | None) -> str:
    return "n/a" if size is None else f"{size / 2**20:.0f} MB"


def ratio(jobs: float | int | None, index: float | int | None) -> str:
    if not jobs or not index:
        return "-"
    return f"{jobs / index:,.0f}x" if jobs / index >= 10 else f"{jobs / index:,.1f}x"


def report(
    count: int,
    zones: int,
    jobs: Figures,
    index: Figures,
    args: argparse.Namespace,
) -> None:
    print(
        f"{count:,} subscribers, one daily time each, {zones} IANA zones; Python "
        f"{sys.version.split()[0]}, APScheduler {apscheduler.__version__} via "
        f"python-telegram-bot {telegram.__version__} JobQueue"
    )
    print()
    jobs_per_due = jobs.minute / max(jobs.due_per_minute, 1)
    index_per_due = index.minute / max(index.due_per_minute, 1)
    print(f"{'':34}{'one job each':>16}{'DueIndex':>14}{'jobs/index':>12}")
    rows: list[tuple[str, str, str, str]] = [
        (
            "build, ready to fire",
            human(jobs.build),
            human(index.build),
            ratio(jobs.build, index.build),
        ),
        (
            "memory (RSS growth)",
            megabytes(jobs.memory),
            megabytes(index.memory),
            ratio(jobs.memory, index.memory),
        ),
        (
            "due in a minute, per subscriber",
            human(jobs_per_due),
            human(index_per_due),
            ratio(jobs_per_due, index_per_due),
        ),
        (
            "one subscriber changes time",
            human(jobs.change),
            human(index.change),
            ratio(jobs.change, index.change),
        ),
        (
            "  ... finding the job by name",
            human(jobs.change_lookup),
            "-",
            ratio(jobs.change_lookup, index.change),
        ),
        ("idle wake-up", "none (timer)", human(index.idle), "-"),
    ]
    for name, a, b, c in rows:
        print(f"{name:<34}{a:>16}{b:>14}{c:>12}")
    print()
    per_sub = "n/a" if jobs.memory is None else f"{jobs.memory / count:,.0f} bytes"
    per_entry = "n/a" if index.memory is None else f"{index.memory / count:,.0f} bytes"
    print(
        f"one job each: build = {jobs.build_detail}; {per_sub} per subscriber; "
        f"{jobs.due_per_minute:.0f} jobs per wake-up over {args.wakeups} wake-ups "
        f"({human(jobs.minute)} per wake-up); changes: "
        f"{args.changes} with the job at hand, {args.lookups} by name"
    )
    print(
        f"DueIndex: {per_entry} per subscriber; one minute = pop_due + reschedule, mean of "
        f"{args.minutes} minutes: {index.due_per_minute:.0f} due, {human(index.minute)} per "
        f"minute; the dispatcher's idle check is one pop_due (it wakes every 10 s)"
    )
    print("times are CPU seconds of this process")


async def bench(args: argparse.Namespace) -> None:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    subscribers = make_subscribers(args.subscribers, now, random.Random(args.seed))
    zones = len({s.timezone for s in subscribers})
    # The index stays alive while the jobs are built: they cannot reuse its memory.
    index_figures, _index = measure_index(
        subscribers, now, args.minutes, min(1000, len(subscribers))
    )
    jobs_figures, _queue = await measure_jobqueue(
        subscribers, now, args.wakeups, args.changes, args.lookups
    )
    report(len(subscribers), zones, jobs_figures, index_figures, args)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=100_000, help="default 100000")
    parser.add_argument(
        "--minutes",
        type=int,
        default=60,
        help="DueIndex: consecutive minutes popped and rescheduled (default 60)",
    )
    parser.add_argument(
        "--wakeups",
        type=int,
        default=5,
        help="APScheduler: wake-ups timed, one minute's jobs each (default 5)",
    )
    parser.add_argument(
        "--changes",
        type=int,
        default=200,
        help="APScheduler: time changes with the job at hand (default 200)",
    )
    parser.add_argument(
        "--lookups",
        type=int,
        default=10,
        help="APScheduler: time changes found by get_jobs_by_name (default 10)",
    )
    parser.add_argument("--seed", type=int, default=20261125, help="random seed")
    args = parser.parse_args(argv)
    if args.subscribers < 10 or min(args.minutes, args.wakeups, args.changes, args.lookups) < 1:
        parser.error("--subscribers must be at least 10 and the counts at least 1")
    asyncio.run(bench(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
