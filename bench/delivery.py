"""Delivery throughput: scheduled digests for 10k subscribers through a loopback Bot API.

    python bench/delivery.py                      # 10,000 subscribers: about 13 minutes
    python bench/delivery.py --subscribers 600 --probe-subscribers 200   # about 1 minute

Everything is the product's own path: a real ``Store`` in a temporary folder (fsync on
every write, as in production), the bundled seeds ingested so digests are non-empty,
the real PTB ``Application`` from ``build_application`` pointed at ``FakeBotAPI`` on
127.0.0.1, and one scheduled pass of ``Dispatcher.run_due`` (the body of the dispatcher
job) with every subscriber due at once, like a morning peak. Subscribers are private
chats with random IANA zones and topics; their local delivery time is set 0-9 minutes
before the start, so the whole population is due at the first pass.

Runs, each in a fresh store and server:

* **unlimited** (the baseline): ``Options(rate_limiter=False)``, the fake enforces nothing.
* **limited**: PTB's ``AIORateLimiter`` as the product configures it (Telegram's default,
  30 messages/s overall); the fake answers 429 like Telegram would above 30/s overall or
  above 1/s per chat (bursts of 3). Target: at least 95% of 30 messages/s, no 429s, and
  every subscriber gets its digest exactly once.
* **unlimited + Telegram's limits** (``--probe-subscribers``, default 1000, 0 skips): what
  the unlimited bot would run into: the 429s it gets (and any digests that fail).

At 30 messages/s, 10k digests of 1-2 messages (16,909 messages) take 9.4 minutes: that
is the limited run; the unlimited run takes about 2 minutes, the probe about 1, setup
(seeds, 10k subscribers, the expected digests) a few seconds per run. The exit status is
1 when the target is not met or a run lost, duplicated or changed a digest.

Each run reports messages/s over the wall-clock time of the pass, and checks every
subscriber against what the bot meant to send (composed beforehand by a separate
``DigestService``): "lost" counts intended messages that never arrived, "duplicated"
extra copies, "differing" digests whose text is not the intended one; the store must
record the slot and the ledger of delivered articles. All of them must be 0.

The bot and the fake server share one process and one event loop, so the unlimited
figure is what one core does for both; it is the ceiling the limiter is compared with.
The Store fsyncs every write on the loop thread; the time spent in ``os.fsync`` during
the pass is measured and printed, because on a shared disk it varies tenfold from run to
run and moves the unlimited figure with it. aiolimiter lets the first 30 messages go as
one burst, so a small run reads slightly above 30 messages/s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, available_timezones

if TYPE_CHECKING:
    from _typeshed import FileDescriptorLike

HERE = Path(__file__).resolve().parent
# Run as a script, this file's folder leads sys.path and bench/summarizer.py would shadow
# the summarizer package that bot.app imports.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

from bot.config import Settings, load_settings  # noqa: E402
from bot.delivery.dispatcher import DigestService, DispatchReport  # noqa: E402
from bot.digest.render import render_digest_html  # noqa: E402
from bot.ingest.ingester import Ingester  # noqa: E402
from bot.models import Subscriber  # noqa: E402
from bot.paths import BUNDLED_CONFIG  # noqa: E402
from bot.store import EmbeddedStore, Store  # noqa: E402
from bot.telegram.app import Options, build_application  # noqa: E402  (after the path fix)
from bot.telegram.lifecycle import running  # noqa: E402
from fakebotapi import FakeBotAPI, MessageEvent, SentMessage  # noqa: E402

TOKEN = "123456:BENCH-token"
T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
FIRST_CHAT = 10_000_000
TELEGRAM_RATE = 30.0  # messages per second overall: PTB's AIORateLimiter default
TARGET = 0.95
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


class MovingClock:
    """The bot's clock: ``T0`` when created, then advancing with real time."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self._origin = time.monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self._origin)


class FsyncMeter:
    """Counts and times ``os.fsync`` (the Store's durability cost, paid on the loop thread)."""

    def __init__(self) -> None:
        self.calls = 0
        self.seconds = 0.0

    @contextlib.contextmanager
    def measuring(self) -> Iterator[None]:
        real = os.fsync

        def timed(fd: FileDescriptorLike) -> None:
            start = time.perf_counter()
            try:
                real(fd)
            finally:
                self.calls += 1
                self.seconds += time.perf_counter() - start

        os.fsync = timed
        try:
            yield
        finally:
            os.fsync = real


def iana_zones() -> list[str]:
    """Region/City zone names, sorted so a seeded choice is reproducible."""
    return sorted(z for z in available_timezones() if z.split("/")[0] in REGIONS)


def make_subscribers(count: int, topics: tuple[str, ...], rng: random.Random) -> list[Subscriber]:
    """Private chats whose local delivery time falls 0-9 minutes before ``T0``."""
    zones = iana_zones()
    subscribers = []
    for n in range(count):
        zone = rng.choice(zones)
        local = (T0 - timedelta(minutes=rng.randint(0, 9))).astimezone(ZoneInfo(zone))
        subscribers.append(
            Subscriber(
                chat_id=FIRST_CHAT + n,
                topics=tuple(sorted(rng.sample(topics, rng.randint(1, 4)))),
                times=(local.strftime("%H:%M"),),
                timezone=zone,
                created=T0 - timedelta(days=rng.randint(1, 300)),
            )
        )
    return subscribers


def bench_settings(folder: Path) -> Settings:
    """The shipped configuration with its data file in ``folder``, no feeds, no admins, and
    the sample articles as the news (``use_seeds``: the bot would otherwise remove them)."""
    base = load_settings(BUNDLED_CONFIG, {})
    return replace(
        base,
        data_file=folder / "newsdigest.json",
        feeds=(),
        admin_chat_ids=frozenset(),
        use_seeds=True,
    )


@dataclass
class Expected:
    """What the bot should send each chat, composed before the run."""

    messages: dict[int, list[str]] = field(default_factory=dict)
    articles: dict[int, set[str]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(len(m) for m in self.messages.values())


@dataclass
class Result:
    """One run's figures and checks."""

    label: str
    subscribers: int
    expected_messages: int
    seconds: float
    span: float
    report: DispatchReport
    messages: int = 0
    requests: int = 0
    floods: int = 0
    lost: int = 0
    duplicated: int = 0
    differing: int = 0
    unrecorded: int = 0
    fsyncs: int = 0
    fsync_seconds: float = 0.0

    @property
    def rate(self) -> float:
        """Messages per second over the wall-clock time of the pass."""
        return self.messages / self.seconds if self.seconds else 0.0


async def expected_digests(
    settings: Settings, store: Store, subscribers: list[Subscriber], clock: Callable[[], datetime]
) -> Expected:
    """Compose every digest with a service of its own (its caches stay out of the run)."""
    service = DigestService(settings, store, clock)
    expected = Expected()
    for subscriber in subscribers:
        digest = await service.compose(subscriber)
        expected.messages[subscriber.chat_id] = render_digest_html(digest, now=clock())
        expected.articles[subscriber.chat_id] = {i.article_id for i in digest.items}
    return expected


def check(result: Result, api: FakeBotAPI, store: Store, expected: Expected) -> None:
    """Compare what arrived (and what the store recorded) with what was meant."""
    for chat_id, meant in expected.messages.items():
        got = [m.text for m in api.messages(chat_id)]
        result.lost += max(0, len(meant) - len(got))
        result.duplicated += max(0, len(got) - len(meant))
        if len(got) == len(meant) and got != meant:
            result.differing += 1
        subscriber = store.get_subscriber(chat_id)
        if (
            subscriber is None
            or subscriber.last_slot is None
            or store.delivered_ids(chat_id) != expected.articles[chat_id]
        ):
            result.unrecorded += 1
    sends = api.calls_to("sendMessage")
    result.requests = len(sends)
    result.messages = sum(1 for c in sends if c.ok)
    result.floods = api.faults_served["rate_limit"]


async def progress(label: str, sent: list[int], total: int, every: float) -> None:
    """A line on stderr every ``every`` seconds, so a long run shows it is alive."""
    start = time.perf_counter()
    while True:
        await asyncio.sleep(every)
        elapsed = time.perf_counter() - start
        print(
            f"  [{label}] {elapsed:5.0f} s: {sent[0]:,}/{total:,} messages "
            f"({sent[0] / elapsed:.1f}/s)",
            file=sys.stderr,
            flush=True,
        )


async def run_once(
    label: str, count: int, *, limiter: bool, telegram_limits: bool, seed: int, every: float
) -> Result:
    """One fresh store and server; all ``count`` subscribers due; one dispatcher pass."""
    with tempfile.TemporaryDirectory(prefix="bench-delivery-") as folder:
        settings = bench_settings(Path(folder))
        with EmbeddedStore.open(settings.data_file) as store:
            ingested = await Ingester(settings, store, clock=lambda: T0 - timedelta(hours=1)).run(
                feeds=False
            )
            if not ingested.new:
                raise SystemExit("no seed articles were ingested; digests would be empty")
            subscribers = make_subscribers(count, settings.topic_names, random.Random(seed))
            with store.batch():
                for subscriber in subscribers:
                    store.put_subscriber(subscriber)
            clock = MovingClock(T0)
            expected = await expected_digests(settings, store, subscribers, clock)
            async with FakeBotAPI() as api:
                for subscriber in subscribers:
                    api.add_chat(subscriber.chat_id)
                if telegram_limits:
                    api.flood_limit(per_second=TELEGRAM_RATE, per_chat_per_second=1.0, chat_burst=3)
                sent = [0]

                def on_message(event: MessageEvent, message: SentMessage) -> None:
                    if event == "sent":
                        sent[0] += 1

                api.add_listener(on_message)
                options = Options(
                    run_jobs=False, ingest_at_start=False, rate_limiter=limiter, clock=clock
                )
                app = build_application(
                    settings,
                    store,
                    token=TOKEN,
                    options=options,
                    base_url=api.base_url,
                    base_file_url=api.base_file_url,
                )
                async with running(app):
                    services = app.bot_data.services
                    assert services is not None
                    scheduled = len(services.dispatcher.index)
                    if scheduled != count:
                        raise SystemExit(f"{label}: {scheduled} of {count} subscribers scheduled")
                    ticker = asyncio.create_task(progress(label, sent, expected.total, every))
                    meter = FsyncMeter()
                    with meter.measuring():
                        start = time.perf_counter()
                        report = await services.dispatcher.run_due(services.deliverer)
                        seconds = time.perf_counter() - start
                    ticker.cancel()
                stamps = [m.sent_at for m in api.all_messages()]
                span = max(stamps) - min(stamps) if stamps else 0.0
                result = Result(
                    label,
                    count,
                    expected.total,
                    seconds,
                    span,
                    report,
                    fsyncs=meter.calls,
                    fsync_seconds=meter.seconds,
                )
                check(result, api, store, expected)
    return result


def describe(result: Result) -> list[str]:
    """The report lines of one run."""
    report = result.report
    return [
        f"{result.label}:",
        f"  subscribers {result.subscribers:,}; digests sent {report.sent:,}, "
        f"failed {report.failed:,}, skipped {report.skipped:,}, blocked {report.blocked:,}",
        f"  messages sent {result.messages:,} of {result.expected_messages:,} intended "
        f"({result.requests:,} sendMessage requests, {result.floods:,} answered 429)",
        f"  wall clock {result.seconds:.1f} s: {result.rate:.1f} messages/s "
        f"(first to last message {result.span:.1f} s)",
        f"  lost: {result.lost}; duplicated: {result.duplicated}; differing: "
        f"{result.differing}; slot or ledger not recorded: {result.unrecorded}",
        f"  store: {result.fsyncs:,} fsyncs during the pass "
        f"({result.fsyncs / max(report.due, 1):.1f} per digest), {result.fsync_seconds:.1f} s "
        f"in fsync on the event loop ({100 * result.fsync_seconds / result.seconds:.0f}% of "
        f"the pass)",
    ]


def exact(result: Result) -> bool:
    """Every subscriber got its digest exactly once, as composed, and the store knows it."""
    return not (
        result.lost
        or result.duplicated
        or result.differing
        or result.unrecorded
        or result.report.failed
    )


async def bench(args: argparse.Namespace) -> int:
    print(
        f"delivery of scheduled digests, {args.subscribers:,} private chats, all due at once; "
        f"Python {sys.version.split()[0]}",
        flush=True,
    )
    unlimited = await run_once(
        "unlimited (baseline: rate limiter off)",
        args.subscribers,
        limiter=False,
        telegram_limits=False,
        seed=args.seed,
        every=args.progress,
    )
    print("\n".join(describe(unlimited)), flush=True)
    limited = await run_once(
        "limited (AIORateLimiter, Telegram's default 30 messages/s)",
        args.subscribers,
        limiter=True,
        telegram_limits=True,
        seed=args.seed,
        every=args.progress,
    )
    print("\n".join(describe(limited)), flush=True)
    ratio = limited.rate / TELEGRAM_RATE
    met = ratio >= TARGET and exact(limited) and limited.floods == 0
    print(
        f"  configured rate {TELEGRAM_RATE:.0f} messages/s; achieved/configured {ratio:.3f} "
        f"(target >= {TARGET}: {'met' if ratio >= TARGET else 'NOT met'}); 429s: "
        f"{limited.floods}; exactly once: {'yes' if exact(limited) else 'NO'}"
    )
    print(
        f"ratio limited/unlimited throughput: {limited.rate / unlimited.rate:.3f} "
        f"(the unlimited bot is {unlimited.rate / TELEGRAM_RATE:.1f}x Telegram's limit)"
    )
    code = 0 if met and exact(unlimited) else 1
    if args.probe_subscribers:
        probe = await run_once(
            "extra: unlimited bot against Telegram's limits",
            args.probe_subscribers,
            limiter=False,
            telegram_limits=True,
            seed=args.seed,
            every=args.progress,
        )
        print("\n".join(describe(probe)))
        print(f"  429s per message sent: {probe.floods / max(probe.messages, 1):.2f}")
    print(f"target: {'met' if met else 'NOT met'}")
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--subscribers",
        type=int,
        default=10_000,
        help="subscribers in each of the two main runs (default 10000)",
    )
    parser.add_argument(
        "--probe-subscribers",
        type=int,
        default=1_000,
        help="subscribers in the unlimited run against Telegram's limits "
        "(default 1000; 0 skips it)",
    )
    parser.add_argument("--seed", type=int, default=20261125, help="random seed")
    parser.add_argument(
        "--progress",
        type=float,
        default=30.0,
        help="seconds between progress lines on stderr (default 30)",
    )
    parser.add_argument("--verbose", action="store_true", help="log INFO (default: errors)")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.ERROR,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return asyncio.run(bench(args))


if __name__ == "__main__":
    sys.exit(main())
