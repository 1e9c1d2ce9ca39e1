"""Restarts around a scheduled slot: the real ``newsdigest run`` process, stopped and started.

Each scenario is its own ``python -m bot.cli run`` process with its own data file and its
own :class:`FakeBotAPI` (in this process, on 127.0.0.1), and 60 subscribers due at the
same upcoming minute. The process is stopped with SIGTERM (a service manager's stop) or
SIGKILL (a crash, the OOM killer) just before the slot, while the digests go out, or just
after they went out; then it is started again and left to catch up. Every subscriber must
end up with exactly one digest for the slot.

The one case the bot cannot settle (``bot/delivery/dispatcher.py``) is a message Telegram accepted
whose acceptance the bot had not recorded yet: Telegram has no idempotency key, so the
bot sends it again. The "during" kill is therefore aimed at requests that have *arrived*
and are not yet accepted (the fake holds them); a separate measurement kills the bot
right as Telegram accepts a message and checks that exactly the accepted-but-unrecorded
messages arrive twice.

Two more scenarios, on the same minute: digests of two messages, killed while the second
message is in flight (the first was sent and recorded); and the token, which must stay
out of every run's output, also when Telegram refuses it.

All scenarios run at once, against the same minute, so the file takes about as long as
the wait for that minute (20 to 80 s) plus the restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import re
import shutil
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import load_settings
from bot.ingest.ingester import Ingester
from bot.models import Subscriber
from bot.paths import BUNDLED_SEEDS
from bot.store import EmbeddedStore
from fakebotapi import BotCall, FakeBotAPI, MessageEvent, SentMessage
from tests.crashhelpers import peek_subscribers

# Real processes against the wall clock: each run waits for a real minute boundary.
pytestmark = pytest.mark.slow

TOKEN = "5550001234:RESTART-test-token-that-must-never-reach-a-log"
SUBSCRIBERS = 60
CHATS = tuple(range(7001, 7001 + SUBSCRIBERS))
# Held in flight during the "during" kill: fewer than the dispatcher's 32 concurrent
# deliveries, so that every other digest can go out meanwhile.
HELD = CHATS[4::5]
# The slot is the first minute boundary at least this far ahead, so that every process
# is up (and has run a dispatcher pass) well before it.
LEAD = timedelta(seconds=20)
# The split-digest scenario: 8-story digests (two messages); the second message of the
# first five is held when the process is killed, the last three are complete by then.
SPLIT_CUT = CHATS[:5]
SPLIT_WHOLE = CHATS[5:8]
MOMENTS = ("before", "during", "after")
SIGNALS = ("SIGTERM", "SIGKILL")
DIGEST_HEADER = "Your news digest"
# The dispatcher logs its first pass of each run (APScheduler's per-job lines are muted).
DISPATCHER_PASS = re.compile(r"first dispatcher pass: ")

CONFIG = f"""
# The restart tests' configuration: the bundled seeds, no feeds, one-message digests.
[storage]
data_file = "unused.json"  # NEWSDIGEST_DATA_FILE decides

[sources]
seeds_dir = "{BUNDLED_SEEDS}"
use_seeds = true  # the sample articles are these tests' news, on purpose

[delivery]
time = "08:00"
timezone = "UTC"
grace_hours = 2

[digest]
max_items = 3

[[topics]]
name = "world"
label = "World"
keywords = ["government", "minister", "election", "treaty"]

[[topics]]
name = "science"
label = "Science"
keywords = ["science", "space", "research", "asteroid"]

[[topics]]
name = "culture"
label = "Culture"
keywords = ["novel", "film", "music", "prize"]
"""


# -- one bot process --------------------------------------------------------------------------


def _environment(base_url: str, base_file_url: str, data_file: Path) -> dict[str, str]:
    return {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": base_url,
        "TELEGRAM_API_BASE_FILE_URL": base_file_url,
        "NEWSDIGEST_DATA_FILE": str(data_file),
    }


def _die_with_parent() -> None:
    """In the child: SIGKILL when the test process dies, so no bot outlives a broken run."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class BotProcess:
    """``python -m bot.cli run`` against a fake server; every run's output in its own file."""

    def __init__(self, folder: Path, api: FakeBotAPI) -> None:
        self.folder = folder
        self.api = api
        self.proc: asyncio.subprocess.Process | None = None
        self.logs: list[Path] = []
        self.exits: list[int] = []
        self.starts: list[float] = []  # seconds from launch to the first getUpdates
        self.stops: list[float] = []  # seconds from the signal to the exit
        self._signalled = 0.0

    @property
    def data_file(self) -> Path:
        return self.folder / "newsdigest.json"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def start(self) -> None:
        """Start a run and wait until it polls for updates."""
        log = self.folder / f"run{len(self.logs) + 1}.log"
        self.logs.append(log)
        env = _environment(self.api.base_url, self.api.base_file_url, self.data_file)
        polls = len(self.api.calls_to("getUpdates"))
        began = time.monotonic()
        with log.open("wb") as out:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot.cli",
                "--config",
                str(self.folder / "config.toml"),
                "run",
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                preexec_fn=_die_with_parent,
            )
        await until(
            lambda: len(self.api.calls_to("getUpdates")) > polls or self.ended,
            f"run {len(self.logs)} to start polling",
            timeout=60,
        )
        assert not self.ended, f"the bot exited at start: {self.log_text(-1)[-2000:]}"
        self.starts.append(time.monotonic() - began)

    @property
    def ended(self) -> bool:
        return self.proc is None or self.proc.returncode is not None

    def send(self, sig: signal.Signals) -> None:
        """Send a signal now (the listener of the fake server calls this synchronously)."""
        if not self.ended:
            self._signalled = time.monotonic()
            os.kill(self.pid, sig)

    async def wait(self, timeout: float = 90.0) -> int:  # noqa: ASYNC109 - a deadline, as in FakeBotAPI.wait_for
        """Wait for the run to end; its exit code (negative: the signal that killed it)."""
        assert self.proc is not None
        code = await asyncio.wait_for(self.proc.wait(), timeout)
        self.exits.append(code)
        self.stops.append(time.monotonic() - self._signalled)
        return code

    async def stop(self, sig: signal.Signals) -> int:
        """Send ``sig`` and wait for the run to end."""
        self.send(sig)
        return await self.wait()

    async def kill_if_running(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()

    def log_text(self, run: int) -> str:
        return self.logs[run].read_text(errors="replace")

    def passes(self, run: int) -> int:
        """Dispatcher passes the run has begun (only the first is logged)."""
        return len(DISPATCHER_PASS.findall(self.log_text(run)))


async def until(
    predicate: Callable[[], object],
    what: str,
    *,
    timeout: float,  # noqa: ASYNC109 - a deadline for the caller, as in FakeBotAPI.wait_for
) -> None:
    """Poll ``predicate`` (files and processes change without telling the event loop)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(0.05)


async def sleep_until(moment: datetime) -> None:
    await asyncio.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()))


# -- one scenario --------------------------------------------------------------------------------


@dataclass
class Result:
    """What one scenario saw; the tests assert on it."""

    moment: str
    sig: str
    chats: tuple[int, ...] = CHATS
    first_run: dict[int, int] = field(default_factory=dict)  # digests by chat before restart
    final: dict[int, int] = field(default_factory=dict)  # digests by chat at the end
    exits: list[int] = field(default_factory=list)
    starts: list[float] = field(default_factory=list)
    stops: list[float] = field(default_factory=list)
    held: int = 0  # requests in flight, not accepted, at the kill
    held_answers: list[int | None] = field(default_factory=list)
    unrecorded: set[int] = field(default_factory=set)  # accepted, not recorded at the kill
    pending_unsent: int = 0  # digests begun but none accepted at the kill
    stored: dict[int, Subscriber] = field(default_factory=dict)
    delivered_ids: dict[int, int] = field(default_factory=dict)
    messages: dict[int, int] = field(default_factory=dict)  # all messages by chat at the end
    repeated: dict[int, int] = field(default_factory=dict)  # stories a /digest repeated
    logs: list[str] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    error: BaseException | None = None

    @property
    def duplicates(self) -> list[int]:
        return sorted(c for c, n in self.final.items() if n > 1)

    @property
    def lost(self) -> list[int]:
        return sorted(c for c in self.chats if self.final.get(c, 0) == 0)

    def summary(self) -> str:
        first = sum(self.first_run.values())
        starts = ", ".join(f"{t:.1f}" for t in self.starts)
        stops = ", ".join(f"{t:.1f}" for t in self.stops)
        return (
            f"{self.moment}/{self.sig}: {len(self.chats)} subscribers; at the signal: held in "
            f"flight {self.held}, accepted but unrecorded {len(self.unrecorded)}; first run "
            f"sent {first}; exit codes {self.exits}; restart sent "
            f"{sum(self.final.values()) - first}; duplicates {len(self.duplicates)}, lost "
            f"{len(self.lost)} (runs up in {starts} s, stopped in {stops} s)"
        )


def digests_by_chat(api: FakeBotAPI, chats: tuple[int, ...]) -> dict[int, int]:
    """How many digests each chat received (a digest's first message has the heading)."""
    return {c: sum(DIGEST_HEADER in m.plain_text for m in api.messages(c)) for c in chats}


def stories(text: str) -> set[str]:
    """The story titles of a digest message ("1. Title" lines)."""
    return set(re.findall(r"^\d+\. (.+)$", text, re.MULTILINE))


def recorded(subscriber: Subscriber, slot: datetime) -> bool:
    """The bot has made durable that this subscriber's digest went out."""
    return subscriber.last_slot == slot or (
        subscriber.pending_slot == slot and subscriber.pending_sent > 0
    )


@dataclass
class Scenario:
    """One bot process, its fake server, and how and when it is stopped."""

    moment: str
    sig: signal.Signals
    folder: Path
    slot: datetime
    api: FakeBotAPI
    bot: BotProcess
    result: Result
    chats: tuple[int, ...] = CHATS
    # Cold starts compete for the CPU: the "before" runs, which must be up well before the
    # slot, start first (``up`` is set once this one is); the others wait for ``after``.
    up: asyncio.Event = field(default_factory=asyncio.Event)
    after_these: list[asyncio.Event] = field(default_factory=list)

    async def first_start(self) -> None:
        """The first run's start, in its turn."""
        try:
            for event in self.after_these:
                await asyncio.wait_for(event.wait(), 90)
            await self.bot.start()
        finally:
            self.up.set()

    def settled(self) -> bool:
        stored = peek_subscribers(self.bot.data_file)
        return all(
            stored[c].last_slot == self.slot and stored[c].pending_slot is None for c in self.chats
        )

    async def restart_and_settle(self) -> None:
        """Start again; wait for a dispatcher pass and every slot recorded; stop."""
        self.result.first_run = digests_by_chat(self.api, self.chats)
        await self.bot.start()
        run = len(self.bot.logs) - 1
        await until(
            lambda: self.bot.passes(run) > 0 and self.settled(),
            f"{self.moment}/{self.sig.name}: the restarted bot to catch up",
            timeout=90,
        )
        assert await self.bot.stop(signal.SIGTERM) == 0

    async def before(self) -> None:
        await self.first_start()
        await sleep_until(self.slot - timedelta(seconds=4))
        assert datetime.now(UTC) < self.slot, "the bot took until the slot to start"
        assert not any(self.api.messages(c) for c in CHATS), "digests before their slot"
        await self.bot.stop(self.sig)
        await sleep_until(self.slot + timedelta(seconds=1))  # the restart catches up
        await self.restart_and_settle()

    async def during(self) -> None:
        for chat_id in HELD:
            self.api.inject("timeout", chat_id=chat_id, times=None, delay=600, performed=False)
        others = [c for c in CHATS if c not in HELD]

        def held_calls() -> list[BotCall]:
            return [c for c in self.api.calls_to("sendMessage") if c.chat_id in HELD]

        def mid_sending() -> bool:
            pending = {c.chat_id for c in held_calls() if c.status is None}
            if pending != set(HELD) or not all(self.api.messages(c) for c in others):
                return False
            stored = peek_subscribers(self.bot.data_file)
            return all(stored[c].last_slot == self.slot for c in others)

        await self.first_start()
        await until(
            mid_sending,
            "the digests but the held ones to be sent and recorded",
            timeout=self.seconds_to_slot() + 60,
        )
        self.result.held = len(HELD)
        self.bot.send(self.sig)
        # A graceful stop finishes the run: its retries of the held messages go through.
        self.api.clear_faults()
        await self.bot.wait()
        first_held = held_calls()[: len(HELD)]  # the retries of a graceful stop come later
        await until(
            lambda: all(c.status is not None for c in first_held),
            "the fake server to notice the hung-up requests",
            timeout=10,
        )
        self.result.held_answers = [c.status for c in first_held]
        await self.restart_and_settle()

    async def after(self) -> None:
        await self.first_start()
        await until(
            self.settled,
            "every digest to be sent and recorded",
            timeout=self.seconds_to_slot() + 60,
        )
        await self.bot.stop(self.sig)
        await self.restart_and_settle()

    async def accepted(self) -> None:
        """SIGKILL from inside the fake server, as it accepts the 30th digest."""
        accepted = 0

        def kill_on_acceptance(event: MessageEvent, message: SentMessage) -> None:
            nonlocal accepted
            if event == "sent" and message.chat_id in CHATS:
                accepted += 1
                if accepted == SUBSCRIBERS // 2:
                    self.bot.send(signal.SIGKILL)
                    self.api.remove_listener(kill_on_acceptance)

        self.api.add_listener(kill_on_acceptance)
        await self.first_start()
        await until(
            lambda: self.bot.ended, "the kill at acceptance", timeout=self.seconds_to_slot() + 60
        )
        await self.bot.wait()
        # Requests already on the wire when the process died are still being answered.
        await asyncio.sleep(0.5)
        await until(
            lambda: all(c.status is not None for c in self.api.calls),
            "the fake server to answer what it had received",
            timeout=10,
        )
        stored = peek_subscribers(self.bot.data_file)
        sent = {c for c in CHATS if self.api.messages(c)}
        self.result.unrecorded = {c for c in sent if not recorded(stored[c], self.slot)}
        self.result.pending_unsent = sum(
            1 for c in CHATS if c not in sent and stored[c].pending_slot == self.slot
        )
        await self.restart_and_settle()

    async def split(self) -> None:
        """SIGKILL while the second message of some two-message digests is in flight."""

        def hold_the_rest(event: MessageEvent, message: SentMessage) -> None:
            if (
                event == "sent"
                and message.chat_id in SPLIT_CUT
                and len(self.api.messages(message.chat_id)) == 1
            ):
                self.api.inject("timeout", chat_id=message.chat_id, times=None, delay=600)

        def cut_short() -> bool:
            if not all(len(self.api.messages(c)) == 1 for c in SPLIT_CUT):
                return False
            held = {c.chat_id for c in self.api.calls_to("sendMessage") if c.status is None}
            stored = peek_subscribers(self.bot.data_file)
            return (
                held == set(SPLIT_CUT)
                and all(stored[c].pending_sent == 1 for c in SPLIT_CUT)
                and all(stored[c].last_slot == self.slot for c in SPLIT_WHOLE)
            )

        self.api.add_listener(hold_the_rest)
        await self.first_start()
        await until(
            cut_short,
            "first parts sent and recorded, second parts in flight",
            timeout=self.seconds_to_slot() + 60,
        )
        self.result.held = len(SPLIT_CUT)
        await self.bot.stop(self.sig)
        self.api.remove_listener(hold_the_rest)
        self.api.clear_faults()
        received = {c: [m.plain_text for m in self.api.messages(c)] for c in self.chats}
        await self.restart_and_settle()
        self.result.final = digests_by_chat(self.api, self.chats)
        self.result.messages = {c: len(self.api.messages(c)) for c in self.chats}
        self.look_at_the_store()
        # The user asks for a digest now: it should bring news, not what they already read.
        await self.bot.start()
        for chat_id in self.chats:
            before = len(self.api.messages(chat_id))
            self.api.user_sends(chat_id, chat_id, "/digest")
            replies = await self.api.wait_for_messages(chat_id, before + 1, timeout=30)
            already = set().union(*(stories(text) for text in received[chat_id]))
            self.result.repeated[chat_id] = len(stories(replies[before].plain_text) & already)
        assert await self.bot.stop(signal.SIGTERM) == 0

    def look_at_the_store(self) -> None:
        """Record what the (stopped) bot's store says about each subscriber."""
        with EmbeddedStore.open(self.bot.data_file) as store:
            for chat_id in self.chats:
                subscriber = store.get_subscriber(chat_id)
                assert subscriber is not None, chat_id
                self.result.stored[chat_id] = subscriber
                self.result.delivered_ids[chat_id] = len(store.delivered_ids(chat_id))

    def seconds_to_slot(self) -> float:
        return max(0.0, (self.slot - datetime.now(UTC)).total_seconds())

    async def run(self) -> None:
        try:
            await getattr(self, self.moment)()
            if not self.result.final:
                self.result.final = digests_by_chat(self.api, self.chats)
                self.result.messages = {c: len(self.api.messages(c)) for c in self.chats}
                self.look_at_the_store()
        except Exception as exc:  # reported by the scenario's test
            self.result.error = exc
        finally:
            await self.bot.kill_if_running()
            self.result.exits = list(self.bot.exits)
            self.result.starts = list(self.bot.starts)
            self.result.stops = list(self.bot.stops)
            self.result.logs = [log.read_text(errors="replace") for log in self.bot.logs]
            self.result.tokens = list(self.api.tokens)


# -- preparing and running everything -------------------------------------------------------


def _prepare(root: Path) -> tuple[Path, datetime]:
    """A data file with the seeds and the subscribers, due at the next minute after LEAD."""
    template = root / "template"
    template.mkdir()
    (template / "config.toml").write_text(CONFIG)
    data_file = template / "newsdigest.json"
    settings = load_settings(template / "config.toml", {"NEWSDIGEST_DATA_FILE": str(data_file)})
    with EmbeddedStore.open(data_file) as store:
        asyncio.run(Ingester(settings, store).run(feeds=False))
        now = datetime.now(UTC)
        slot = (now + LEAD + timedelta(minutes=1)).replace(second=0, microsecond=0)
        for chat_id in CHATS:
            store.put_subscriber(
                Subscriber(
                    chat_id=chat_id,
                    times=(slot.strftime("%H:%M"),),
                    timezone="UTC",
                    created=now - timedelta(days=1),
                )
            )
        store.compact()
    return template, slot


async def _run_all(root: Path, template: Path, slot: datetime) -> dict[tuple[str, str], Result]:
    plans = [(m, s) for m in MOMENTS for s in SIGNALS]
    plans += [("accepted", "SIGKILL"), ("split", "SIGKILL")]
    scenarios: list[Scenario] = []
    async with contextlib.AsyncExitStack() as stack:
        for moment, sig in plans:
            folder = root / f"{moment}-{sig}"
            shutil.copytree(template, folder, ignore=shutil.ignore_patterns("*.lock"))
            chats = CHATS
            if moment == "split":
                chats = SPLIT_CUT + SPLIT_WHOLE
                (folder / "config.toml").write_text(
                    CONFIG.replace("max_items = 3", "max_items = 8")
                )
                with EmbeddedStore.open(folder / "newsdigest.json") as store:
                    for chat_id in set(CHATS) - set(chats):
                        store.delete_subscriber(chat_id)
            api = await stack.enter_async_context(FakeBotAPI())
            for chat_id in chats:
                api.add_chat(chat_id, "private")
            scenarios.append(
                Scenario(
                    moment,
                    signal.Signals[sig],
                    folder,
                    slot,
                    api,
                    BotProcess(folder, api),
                    Result(moment, sig, chats),
                    chats,
                )
            )
        early = [s.up for s in scenarios if s.moment == "before"]
        for scenario in scenarios:
            if scenario.moment != "before":
                scenario.after_these = early
        await asyncio.gather(*(s.run() for s in scenarios))
    return {(s.moment, s.sig.name): s.result for s in scenarios}


@pytest.fixture(scope="module")
def restarts(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Result]:
    """Run every scenario once, concurrently (the tests below look at their results)."""
    root = tmp_path_factory.mktemp("restarts")
    template, slot = _prepare(root)
    started = datetime.now(UTC)
    results = asyncio.run(_run_all(root, template, slot))
    print(
        f"\nrestart scenarios: slot {slot:%H:%M:%S} UTC, "
        f"{(datetime.now(UTC) - started).total_seconds():.0f} s for all of them"
    )
    return results


def _check(result: Result) -> None:
    if result.error is not None:
        raise AssertionError(
            f"{result.moment}/{result.sig} failed: {result.error!r}\n"
            f"last log lines: {result.logs[-1][-3000:] if result.logs else ''}"
        ) from result.error


@pytest.mark.parametrize("sig", SIGNALS)
@pytest.mark.parametrize("moment", MOMENTS)
def test_stop_around_a_slot_then_restart_delivers_each_digest_once(
    restarts: dict[tuple[str, str], Result],
    moment: str,
    sig: str,
    record_property: Callable[[str, object], None],
) -> None:
    """Stopped with SIGTERM or SIGKILL just before the slot, while its digests go out
    (some sent and recorded, others arrived at Telegram but not accepted), or just after
    all were sent and recorded, then restarted: each of the 60 subscribers has exactly
    one digest for the slot, and the store says so (last slot set, nothing pending)."""
    result = restarts[(moment, sig)]
    print(f"\n{result.summary()}")
    record_property("figures", result.summary())
    _check(result)
    assert result.lost == []
    assert result.duplicates == []
    assert all(n == 1 for n in result.final.values())
    assert result.messages == result.final  # nothing but the digests, one message each
    for text in result.logs:  # every run, killed or not, was clean while it lasted
        assert "Traceback" not in text
        assert not re.search(r" (ERROR|CRITICAL) ", text)
    for chat_id, subscriber in result.stored.items():
        assert subscriber.last_slot is not None, chat_id
        assert subscriber.pending_slot is None, chat_id
        assert result.delivered_ids[chat_id] > 0, chat_id
    if sig == "SIGTERM":
        assert result.exits[0] == 0  # a graceful stop
    else:
        assert result.exits[0] == -signal.SIGKILL
    if moment == "before":
        assert sum(result.first_run.values()) == 0
    elif moment == "during":
        # The held requests were never accepted: the client hung up on them (killed, or
        # timed out during the graceful stop and retried).
        assert result.held_answers == [499] * len(HELD)
        if sig == "SIGKILL":
            assert sum(result.first_run.values()) == SUBSCRIBERS - len(HELD)
    else:
        assert sum(result.first_run.values()) == SUBSCRIBERS


def test_kill_as_telegram_accepts_repeats_only_the_unrecorded_messages(
    restarts: dict[tuple[str, str], Result], record_property: Callable[[str, object], None]
) -> None:
    """SIGKILL at the instant Telegram accepts the 30th digest: after the restart nobody
    is without a digest, and the only duplicates are the messages Telegram had accepted
    but the bot had not yet recorded (it cannot know; Telegram has no idempotency key)."""
    result = restarts[("accepted", "SIGKILL")]
    figures = (
        f"{result.summary()}; begun but not accepted at the kill (re-sent once): "
        f"{result.pending_unsent}"
    )
    print(f"\n{figures}")
    record_property("figures", figures)
    _check(result)
    assert result.lost == []
    assert max(result.final.values()) <= 2
    assert set(result.duplicates) == result.unrecorded
    assert result.unrecorded  # at least the message whose acceptance triggered the kill


def test_the_token_never_reaches_the_logs(restarts: dict[tuple[str, str], Result]) -> None:
    """Every run of every scenario used the token, and none wrote it (or its secret part)
    to its output."""
    secret = TOKEN.split(":", 1)[1]
    runs = 0
    for result in restarts.values():
        assert result.tokens == [TOKEN]
        for text in result.logs:
            runs += 1
            assert text, "a run logged nothing"
            assert TOKEN not in text
            assert secret not in text
    print(f"\n{runs} runs checked, token absent from all their output")


def test_a_digest_cut_short_by_a_crash_is_not_sent_again(
    restarts: dict[tuple[str, str], Result], record_property: Callable[[str, object], None]
) -> None:
    """Two-message digests: SIGKILL while the second message of five of them is in flight
    (their first message was sent and recorded). After the restart those five keep just
    the first message (the bot does not re-send a digest that began, as documented), the
    three that were complete are not sent again, and a /digest for them brings news."""
    result = restarts[("split", "SIGKILL")]
    figures = (
        f"{result.summary()}; stories a /digest repeated: {result.repeated}; ledger "
        f"entries after the restart: {result.delivered_ids}"
    )
    print(f"\n{figures}")
    record_property("figures", figures)
    _check(result)
    assert result.final == dict.fromkeys(result.chats, 1)
    assert result.messages == {**dict.fromkeys(SPLIT_CUT, 1), **dict.fromkeys(SPLIT_WHOLE, 2)}
    for chat_id in result.chats:
        assert result.stored[chat_id].last_slot is not None
        assert result.stored[chat_id].pending_slot is None
    assert all(result.repeated[c] == 0 for c in SPLIT_WHOLE)


def test_stories_of_a_digest_cut_short_by_a_crash_are_not_repeated(
    restarts: dict[tuple[str, str], Result],
) -> None:
    """After the crash above, the subscribers whose digest was cut short ask for /digest:
    it must not repeat the stories of the message they already received, and the store's
    delivery ledger must list them (it is what prevents repeats)."""
    result = restarts[("split", "SIGKILL")]
    _check(result)
    assert {c: result.repeated[c] for c in SPLIT_CUT} == dict.fromkeys(SPLIT_CUT, 0)
    assert all(result.delivered_ids[c] > 0 for c in SPLIT_CUT)
    assert all(result.stored[c].last_digest is not None for c in SPLIT_CUT)


@pytest.mark.parametrize("refusal", ["token-rejected-401", "wrong-api-url-404"])
async def test_the_token_stays_out_of_the_output_when_telegram_refuses_it(
    tmp_path: Path, refusal: str
) -> None:
    """``newsdigest run`` whose token Telegram rejects (a revoked or mistyped token: 401),
    or whose API URL is wrong (404, which the Telegram library reads as a bad token), stops
    with an error, and its output (what journald or docker keep) does not contain the
    token."""
    (tmp_path / "config.toml").write_text(CONFIG)
    expected = "1:another-token" if refusal == "token-rejected-401" else None
    async with FakeBotAPI(expected_token=expected) as api:
        base_url = api.base_url if expected else api.base_url.replace("/bot", "/v1/bot")
        env = _environment(base_url, api.base_file_url, tmp_path / "newsdigest.json")
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "--config",
            str(tmp_path / "config.toml"),
            "run",
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
        try:
            output, _ = await asyncio.wait_for(proc.communicate(), 60)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        if expected:
            assert api.tokens == [TOKEN]  # the token was tried, and refused
    text = output.decode(errors="replace")
    last = text.strip().splitlines()[-1].replace(TOKEN, "<THE TOKEN>")
    print(f"\n{refusal}: exit code {proc.returncode}; last line: {last}")
    assert proc.returncode != 0
    assert TOKEN.split(":", 1)[1] not in text
