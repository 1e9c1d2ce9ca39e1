"""Helpers for the crash and restart tests: a store writer to kill, a model of what it wrote.

The writer runs as its own process (``python tests/crashhelpers.py writer PATH SEED START
STRETCH``) and performs an endless, reproducible burst of store writes: write number ``i``
is :func:`plan_write` of the seed, ``i`` and the chats that exist at that moment, so the
test can replay the same writes on a :class:`Model`. It prints ``R`` once the store is
open and ``A i`` after write ``i`` returned, i.e. after the store acknowledged it.

``STRETCH`` lets the test aim a kill at a moment too short to hit by chance; the files are
the real ones, only the timing is stretched:

- ``compaction``: between the steps of a compaction (after each folder fsync, before the
  rename and before deleting a file) print ``C`` and pause;
- ``torn``: write the first half of every file write (a journal line, a new snapshot),
  print ``W``, pause, then write the rest: a kill in the pause is a write cut short;
- ``none``: no pauses.

:func:`peek_subscribers` reads the subscribers of a store that another process has open,
from its documented files (snapshot + journal), without taking the lock: the restart tests
use it to see what a running bot has made durable.
"""

from __future__ import annotations

import json
import os
import queue
import random
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from bot.models import ACTIVE, PAUSED, Subscriber
from bot.store import EmbeddedStore, Store

T0 = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)
CHATS = tuple(range(1, 41))  # the chats the writer picks from
ARTICLES = tuple(f"art{n:03d}" for n in range(40))
TOPICS = ("world", "business", "technology", "science", "health", "sport", "culture")
ZONES = ("UTC", "Europe/Berlin", "Asia/Tokyo", "America/New_York")
WORDS = (
    "climate",
    "ocean",
    "budget",
    "rover",
    "vaccine",
    "league",
    "museum",
    "orbit",
    "tariff",
    "ledger",
    "harvest",
    "glacier",
    "satellite",
    "festival",
    "election",
)
# Small enough that the journal outgrows the snapshot every few dozen writes.
COMPACT_MIN_BYTES = 2048
LEDGER_CAP = 5
# A writer that is never killed (its test died) stops by itself after this long.
WRITER_LIFETIME = 30.0


# -- the writes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Write:
    """One store call the writer makes and the model replays."""

    kind: str  # put | update | delete | deliver | batch | compact
    chat_id: int = 0
    subscriber: Subscriber | None = None
    changes: dict[str, Any] = field(default_factory=dict)
    articles: tuple[str, ...] = ()
    sent: datetime | None = None
    inner: tuple[Write, ...] = ()

    def kinds(self) -> Iterator[str]:
        """This write's kind, and those of a batch's writes."""
        yield self.kind
        for write in self.inner:
            yield from write.kinds()


def _subscriber(rng: random.Random, chat_id: int, index: int) -> Subscriber:
    # The write's index is in the words, so every write leaves a value of its own.
    follow = (f"w{index}", *rng.sample(WORDS, rng.randint(3, 12)))
    return Subscriber(
        chat_id=chat_id,
        topics=tuple(sorted(rng.sample(TOPICS, rng.randint(0, 4)))),
        follow=follow,
        exclude=tuple(rng.sample(WORDS, rng.randint(0, 3))),
        times=(f"{rng.randrange(24):02d}:{rng.randrange(60):02d}",),
        timezone=rng.choice(ZONES),
        status=rng.choice((ACTIVE, ACTIVE, PAUSED)),
        created=T0 + timedelta(minutes=index),
        skip_empty=rng.random() < 0.5,
    )


def _single(rng: random.Random, index: int, existing: set[int]) -> Write:
    """One write that is valid when ``existing`` chats exist; updates ``existing``."""
    roll = rng.random()
    if not existing or roll < 0.35:
        chat_id = rng.choice(CHATS)
        existing.add(chat_id)
        return Write("put", chat_id, subscriber=_subscriber(rng, chat_id, index))
    chat_id = rng.choice(sorted(existing))
    if roll < 0.65:
        changes: dict[str, Any] = {"times": (f"{rng.randrange(24):02d}:{index % 60:02d}",)}
        if rng.random() < 0.5:
            changes["last_slot"] = T0 + timedelta(minutes=index)
            changes["pending_slot"] = None
        else:
            changes["pending_slot"] = T0 + timedelta(minutes=index)
            changes["pending_sent"] = rng.randint(0, 2)
        if rng.random() < 0.3:
            changes["status"] = rng.choice((ACTIVE, PAUSED))
        return Write("update", chat_id, changes=changes)
    if roll < 0.75:
        existing.discard(chat_id)
        return Write("delete", chat_id)
    articles = tuple(rng.sample(ARTICLES, rng.randint(1, 4)))
    return Write("deliver", chat_id, articles=articles, sent=T0 + timedelta(seconds=index))


def plan_write(seed: int, index: int, existing: frozenset[int]) -> Write:
    """Write number ``index`` of the burst ``seed``, given the chats that exist."""
    rng = random.Random(f"{seed}:{index}")
    roll = rng.random()
    if roll < 0.03:
        return Write("compact")
    chats = set(existing)
    if roll < 0.2:
        inner = tuple(_single(rng, index, chats) for _ in range(rng.randint(2, 6)))
        return Write("batch", inner=inner)
    return _single(rng, index, chats)


def perform(store: Store, write: Write) -> None:
    """Make the store call ``write`` describes."""
    if write.kind == "put":
        assert write.subscriber is not None
        store.put_subscriber(write.subscriber)
    elif write.kind == "update":
        store.update_subscriber(write.chat_id, **write.changes)
    elif write.kind == "delete":
        store.delete_subscriber(write.chat_id)
    elif write.kind == "deliver":
        assert write.sent is not None
        store.record_delivery(write.chat_id, write.articles, write.sent)
    elif write.kind == "batch":
        with store.batch():
            for inner in write.inner:
                perform(store, inner)
    elif write.kind == "compact":
        store.compact()
    else:
        raise ValueError(f"unknown write {write.kind!r}")


# -- the model -------------------------------------------------------------------------------

Ledger = list[tuple[str, datetime]]  # article id, sent; oldest first


@dataclass
class Model:
    """What the store must hold: subscribers by chat, delivery ledgers in order."""

    subscribers: dict[int, Subscriber] = field(default_factory=dict)
    ledgers: dict[int, Ledger] = field(default_factory=dict)

    def copy(self) -> Model:
        """An independent copy (records are immutable)."""
        return Model(dict(self.subscribers), {k: list(v) for k, v in self.ledgers.items()})

    def existing(self) -> frozenset[int]:
        """The chats that have a subscriber."""
        return frozenset(self.subscribers)

    def apply(self, write: Write) -> None:
        """Replay a write as the store documents it."""
        if write.kind == "put":
            assert write.subscriber is not None
            self.subscribers[write.chat_id] = write.subscriber
        elif write.kind == "update":
            self.subscribers[write.chat_id] = self.subscribers[write.chat_id].evolve(
                **write.changes
            )
        elif write.kind == "delete":
            self.subscribers.pop(write.chat_id, None)
            self.ledgers.pop(write.chat_id, None)
        elif write.kind == "deliver":
            assert write.sent is not None
            # The store keeps sent times to the second, and a re-sent article moves to the
            # newest end; the oldest entries beyond the cap go.
            sent = write.sent.replace(microsecond=0)
            ledger = dict(self.ledgers.get(write.chat_id, []))
            for article in dict.fromkeys(write.articles):
                ledger.pop(article, None)
                ledger[article] = sent
            self.ledgers[write.chat_id] = list(ledger.items())[-LEDGER_CAP:]
        elif write.kind == "batch":
            for inner in write.inner:
                self.apply(inner)

    def differences(self, other: Model) -> list[str]:
        """What differs from ``other``, chat by chat (empty when equal)."""
        found = []
        for chat_id in sorted(set(self.subscribers) | set(other.subscribers)):
            mine, theirs = self.subscribers.get(chat_id), other.subscribers.get(chat_id)
            if mine != theirs:
                found.append(f"subscriber {chat_id}: {mine} != {theirs}")
        for chat_id in sorted(set(self.ledgers) | set(other.ledgers)):
            mine_l, theirs_l = self.ledgers.get(chat_id, []), other.ledgers.get(chat_id, [])
            if mine_l != theirs_l:
                found.append(f"ledger {chat_id}: {mine_l} != {theirs_l}")
        return found


def observe(store: Store) -> Model:
    """What an open store holds, as a model."""
    subscribers = {s.chat_id: s for s in store.subscribers()}
    ledgers = {}
    for chat_id in CHATS:
        entries = [(d.article_id, d.sent) for d in store.deliveries(chat_id)]
        if entries:
            ledgers[chat_id] = entries
    return Model(subscribers, ledgers)


def open_store(path: Path) -> Store:
    """The store as the writer opens it (small compaction threshold, small ledgers)."""
    return EmbeddedStore.open(
        path, compact_min_bytes=COMPACT_MIN_BYTES, max_deliveries_per_chat=LEDGER_CAP
    )


# -- the writer process ----------------------------------------------------------------------


STRETCHES = ("none", "compaction", "torn")
PAUSE = 0.2


def _stretch(kind: str) -> None:
    """Pause the store at the moments ``kind`` names (see the module docstring)."""
    import bot.store.engine

    # The store writes and compacts in bot.store.engine: replace what that module calls.
    engine = vars(bot.store.engine)
    if kind == "compaction":
        real_fsync_dir: Callable[[Path], None] = engine["fsync_dir"]
        real_unlink: Callable[[Path], bool] = engine["unlink_quietly"]

        def pause(marker: str) -> None:
            print(marker, flush=True)
            time.sleep(PAUSE)

        def fsync_dir_then_pause(folder: Path) -> None:
            real_fsync_dir(folder)
            pause("C")

        def pause_then_unlink(path: Path) -> bool:
            pause("C")
            return real_unlink(path)

        class PauseBeforeReplace:
            """The os module, with a pause before each rename."""

            def __getattr__(self, name: str) -> Any:
                return getattr(os, name)

            def replace(self, source: Path, target: Path) -> None:
                pause("C")
                os.replace(source, target)

        engine["fsync_dir"] = fsync_dir_then_pause
        engine["unlink_quietly"] = pause_then_unlink
        engine["os"] = PauseBeforeReplace()
    elif kind == "torn":
        real_write_all: Callable[[int, bytes], None] = engine["write_all"]

        def write_half_then_pause(fd: int, data: bytes) -> None:
            half = len(data) // 2
            real_write_all(fd, data[:half])
            print("W", flush=True)
            time.sleep(PAUSE)
            real_write_all(fd, data[half:])

        engine["write_all"] = write_half_then_pause


def writer(path: Path, seed: int, start: int, stretch: str) -> None:
    """Write forever (until killed), printing each acknowledged write's index."""
    _stretch(stretch)
    store = open_store(path)
    print("R", flush=True)
    deadline = time.monotonic() + WRITER_LIFETIME
    index = start
    existing = frozenset(s.chat_id for s in store.subscribers())
    while time.monotonic() < deadline:
        perform(store, plan_write(seed, index, existing))
        print(f"A {index}", flush=True)  # only after the store returned
        existing = frozenset(s.chat_id for s in store.subscribers())
        index += 1
    store.close()


class Lines:
    """The lines of a child's output, read by a thread as they come (the pipe never fills)."""

    def __init__(self, stream: IO[str]) -> None:
        self._queue: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self._queue.put(line.strip())
        self._queue.put(None)

    def wait_for(self, wanted: str, count: int = 1, timeout: float = 20.0) -> bool:
        """Wait until ``wanted`` was seen ``count`` times; False if the output ended first."""
        deadline = time.monotonic() + timeout
        while self.seen.count(wanted) < count:
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return False
            if line is None:
                return False
            self.seen.append(line)
        return True

    def rest(self) -> list[str]:
        """Every line, once the child has ended."""
        self._thread.join(timeout=10)
        while not self._queue.empty():
            line = self._queue.get()
            if line is not None:
                self.seen.append(line)
        return self.seen


# -- peeking at a running bot's store --------------------------------------------------------


def _apply_subscriber_op(subscribers: dict[str, dict[str, Any]], op: list[Any]) -> None:
    kind = op[0]
    if kind == "put" and op[1] == "subscribers":
        subscribers[op[2]] = op[3]
    elif kind == "del" and op[1] == "subscribers":
        for key in op[2]:
            subscribers.pop(key, None)
    elif kind == "batch":
        for inner in op[1]:
            _apply_subscriber_op(subscribers, inner)


def peek_subscribers(data_file: Path) -> dict[int, Subscriber]:
    """The subscribers a store's files hold now (complete journal lines only).

    (``bot.store.backup`` does the same for the whole store, with every check.)

    Reads the snapshot and its journal as ``bot.store`` documents them, without the lock,
    so it works while a bot has the store open: what it sees is what a SIGKILL would leave.
    """
    for _ in range(20):
        try:
            snapshot = json.loads(data_file.read_bytes())
            generation = snapshot["_store"]["1"]["generation"]
            journal = data_file.with_name(f"{data_file.name}.journal.{generation}")
            content = journal.read_bytes()
        except (FileNotFoundError, ValueError):  # a compaction replaced the files meanwhile
            time.sleep(0.01)
            continue
        subscribers: dict[str, dict[str, Any]] = dict(snapshot["subscribers"])
        complete = content[: content.rfind(b"\n") + 1]
        # Line 1 is the journal's header; then each change is [number, record].
        for line in complete.splitlines()[1:]:
            _apply_subscriber_op(subscribers, json.loads(line)[1])
        return {int(key): Subscriber.from_dict(doc) for key, doc in subscribers.items()}
    raise AssertionError(f"{data_file} kept changing under the reader")


if __name__ == "__main__":
    if len(sys.argv) != 6 or sys.argv[1] != "writer" or sys.argv[5] not in STRETCHES:
        raise SystemExit(f"usage: crashhelpers.py writer PATH SEED START {'|'.join(STRETCHES)}")
    writer(Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
