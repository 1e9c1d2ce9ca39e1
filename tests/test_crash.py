"""Crash safety: real processes killed mid-write, and a bot whose disk stops taking writes.

``test_store.py`` checks single promises of the store one at a time (a torn line, each
compaction step laid out by hand, one failed write). These tests attack the whole: a
process doing a mixed burst of writes and compactions is SIGKILLed at random and at
aimed moments, 32 times over the same files; and the running bot, not the store alone,
meets a full disk while a user changes a setting.
"""

from __future__ import annotations

import collections
import contextlib
import errno
import logging
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from bot.config import Settings
from bot.models import FeedState, Subscriber
from bot.store import EmbeddedStore, StoreWriteError
from fakebotapi import FakeBotAPI
from tests import crashhelpers
from tests.botharness import T0, USER, Clock, RunningBot, bot_running, ingest_seeds, make_settings
from tests.crashhelpers import Lines, Model, observe, open_store, plan_write
from tests.test_store import file_size_limit

KILLS = 32
# Every other kill is aimed: half of those between two steps of a compaction, half in the
# middle of a file write (see crashhelpers' STRETCH); the rest land at random moments.
AIMED = {1: "compaction", 3: "torn"}
SEED = int(os.environ.get("NEWSDIGEST_CRASH_SEED", random.SystemRandom().randrange(2**31)))


def _journals(path: Path) -> list[Path]:
    return sorted(path.parent.glob(f"{path.name}.journal.*"))


def _leftovers(path: Path) -> list[str]:
    """Files an interrupted compaction leaves: a temp snapshot, a second journal."""
    found = [p.name for p in _journals(path)]
    tmp = path.parent / f"{path.name}.tmp"
    if tmp.exists():
        found.append(tmp.name)
    return found if len(found) > 1 else []


def _torn_tail(path: Path) -> bool:
    """True when a journal ends in the middle of a line (a write cut short by the kill)."""
    for journal in _journals(path):
        content = journal.read_bytes()
        if content and not content.endswith(b"\n"):
            return True
    return False


def _kill_one_writer(path: Path, start: int, *, aim: str, nth: int, delay: float) -> list[int]:
    """Run a writer from write ``start``; SIGKILL it; return the acknowledged indexes.

    ``aim`` "compaction" / "torn": kill in the pause after the ``nth`` compaction step or
    half-done file write; "none": kill ``delay`` seconds after the store was open.
    """
    proc = subprocess.Popen(
        [sys.executable, crashhelpers.__file__, "writer", str(path), str(SEED), str(start), aim],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = Lines(proc.stdout)
        assert lines.wait_for("R"), f"the writer did not open the store: {proc.wait()}"
        if aim == "none":
            time.sleep(delay)
        else:
            marker = "C" if aim == "compaction" else "W"
            before = lines.seen.count(marker)  # creating a new store writes before "R"
            assert lines.wait_for(marker, before + nth), f"no {aim} pause came"
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL, "the writer ended before the kill"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    acked = [int(line.split()[1]) for line in lines.rest() if line.startswith("A ")]
    assert acked == list(range(start, start + len(acked))), "acknowledgements out of order"
    return acked


@pytest.mark.slow
def test_sigkill_during_a_write_burst_loses_no_acknowledged_write(
    tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    """A process writes subscribers, updates, deletes, batches and delivery records, and
    compacts often; it prints each write after the store acknowledged it and is SIGKILLed
    at a random moment, or aimed between two steps of a compaction or into the middle of
    a file write. A new process then opens the file: 32 times over the same files, the
    store always opens, tidies the leftovers, and holds exactly the acknowledged writes
    plus at most the one write that was in flight, whole."""
    path = tmp_path / "data" / "newsdigest.json"
    rng = random.Random(SEED)
    model = Model()
    next_write = 0
    acked_total = in_flight_kept = in_flight_absent = 0
    leftover_kills = torn = 0
    kinds: collections.Counter[str] = collections.Counter()
    aims: collections.Counter[str] = collections.Counter()
    started = time.monotonic()
    print(f"\ncrash test seed {SEED} (rerun with NEWSDIGEST_CRASH_SEED={SEED})")
    for kill in range(1, KILLS + 1):
        aim = AIMED.get(kill % 4, "none")
        acked = _kill_one_writer(
            path, next_write, aim=aim, nth=rng.randint(1, 4), delay=rng.uniform(0.0, 0.25)
        )
        aims[aim] += 1
        # Replay what was acknowledged; the write after it may have reached the disk too.
        for index in acked:
            write = plan_write(SEED, index, model.existing())
            model.apply(write)
            kinds.update(write.kinds())
        acked_total += len(acked)
        in_flight = plan_write(SEED, next_write + len(acked), model.existing())
        with_in_flight = model.copy()
        with_in_flight.apply(in_flight)
        leftovers = _leftovers(path)
        leftover_kills += bool(leftovers)
        torn += _torn_tail(path)
        with open_store(path) as store:  # raises if the kill left anything unloadable
            stored = observe(store)
        if not stored.differences(model):
            in_flight_absent += 1
            next_write += len(acked)
        elif not stored.differences(with_in_flight):
            in_flight_kept += 1
            model = with_in_flight
            next_write += len(acked) + 1
        else:
            pytest.fail(
                f"kill {kill} (seed {SEED}, aimed: {aim}, {len(acked)} writes acknowledged, "
                f"in flight: {in_flight.kind}, leftovers {leftovers}): the store holds "
                f"neither the acknowledged writes ({stored.differences(model)[:3]}) nor "
                f"those plus the whole write in flight ({stored.differences(with_in_flight)[:3]})"
            )
        assert len(_journals(path)) == 1, f"kill {kill}: open left {_journals(path)}"
        assert not (path.parent / f"{path.name}.tmp").exists()
    elapsed = time.monotonic() - started
    figures = (
        f"seed {SEED}; kills survived: {KILLS} (random moment: {aims['none']}, between "
        f"compaction steps: {aims['compaction']}, mid file write: {aims['torn']}); "
        f"compaction leftovers found after {leftover_kills} kills, a torn journal line after "
        f"{torn}; writes acknowledged: {acked_total} {dict(sorted(kinds.items()))}; in-flight "
        f"write found whole: {in_flight_kept}, absent: {in_flight_absent}; lost: 0; "
        f"{len(model.subscribers)} subscribers at the end; {elapsed:.1f} s"
    )
    print(figures)
    record_property("figures", figures)
    # The aimed kills did land where they were aimed.
    assert leftover_kills >= aims["compaction"]
    assert torn > 0


# -- the bot on a disk that stops taking writes ----------------------------------------------

PAGE = 4096


@contextlib.contextmanager
def _small_disk(where: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``where`` (skips when mounting is not allowed)."""
    where.mkdir()
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(where)],
            capture_output=True,
            text=True,
            check=False,
        )
        problem = done.stderr.strip() if done.returncode else ""
    except OSError as exc:  # no mount command
        problem = str(exc)
    if problem:
        pytest.skip(f"cannot mount a small tmpfs here (needs root and CAP_SYS_ADMIN): {problem}")
    try:
        yield where
    finally:
        if subprocess.run(["umount", str(where)], check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(where)], check=False)


def _pad_journal_to_page_end(store: EmbeddedStore, free: int) -> None:
    """Store a padding record so the journal's last page keeps only ``free`` bytes.

    tmpfs hands out whole pages: a line that fits in the journal's last page would be
    written even on a full disk. The padding is an ordinary feed-state record.
    """
    journal = _journals(store.path)[0]
    state = FeedState(url="https://padding.example/feed", last_error="")
    size = journal.stat().st_size
    store.put_feed_state(state)
    line = journal.stat().st_size - size
    size += line
    target = -(-(size + line + free) // PAGE) * PAGE - free
    store.put_feed_state(FeedState(url=state.url, last_error="x" * (target - size - line)))
    assert journal.stat().st_size % PAGE == PAGE - free


def _fill(folder: Path) -> int:
    """Fill the file system of ``folder`` to the last page; return the bytes written."""
    written = 0
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for chunk in (1 << 16, PAGE):
            while True:
                try:
                    written += os.write(fd, b"\0" * chunk)
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    break
    finally:
        os.close(fd)
    return written


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as server:
        yield server


async def _say(bot: RunningBot, text: str) -> str:
    """Send as the user; the plain text of the bot's next reply."""
    before = len(bot.api.messages(USER))
    bot.api.user_sends(USER, USER, text)
    messages = await bot.api.wait_for_messages(USER, before + 1)
    return messages[before].plain_text


@pytest.mark.parametrize("fault", ["full-disk", "file-size-limit"])
async def test_store_write_failure_is_answered_logged_and_loses_nothing(
    api: FakeBotAPI,
    tmp_path: Path,
    fault: str,
    caplog: pytest.LogCaptureFixture,
    record_property: Callable[[str, object], None],
) -> None:
    """The disk stops taking writes while a user sets /time: the user is told it could
    not be saved, the error is logged with its reason, the bot keeps answering, and the
    data file on disk is byte for byte what it was (the half-written line is cut off);
    once there is room again, the same change works and survives a reopen.

    ``full-disk``: the data folder is a small tmpfs filled to its last page (ENOSPC after
    a partial write). ``file-size-limit``: RLIMIT_FSIZE (EFBIG after a partial write),
    which works without privileges.
    """
    disk: contextlib.AbstractContextManager[Path]
    if fault == "full-disk":
        disk = _small_disk(tmp_path / "disk", "2m")
    else:
        disk = contextlib.nullcontext(tmp_path / "disk")
    with disk as folder:
        settings: Settings = make_settings(folder)
        clock = Clock(T0)
        with EmbeddedStore.open(settings.data_file) as store:
            await ingest_seeds(settings, store, clock)
            clock.advance(minutes=5)
            async with bot_running(api, settings, store, clock) as bot:
                await _say(bot, "/start")
                assert "daily at 08:00" in await _say(bot, "/time 08:00")
                before: Subscriber | None = store.get_subscriber(USER)
                assert before is not None
                journal = _journals(store.path)[0]
                if fault == "full-disk":
                    _pad_journal_to_page_end(store, free=8)
                    filler = _fill(folder)
                    limit: contextlib.AbstractContextManager[None] = contextlib.nullcontext()
                else:
                    filler = 0
                    limit = file_size_limit(journal.stat().st_size + 8)
                on_disk = {p.name: p.read_bytes() for p in (store.path, journal)}
                caplog.clear()
                with limit:
                    refused = await _say(bot, "/time 09:00")
                    # Still answering, with the settings that were stored.
                    shown = await _say(bot, "/settings")
                    helped = await _say(bot, "/help")
                assert "could not save that" in refused
                assert "Nothing was changed" in refused
                assert "08:00" in shown
                assert "09:00" not in shown
                assert "/time" in helped
                assert store.get_subscriber(USER) == before
                [logged] = [r for r in caplog.records if r.levelno >= logging.ERROR]
                assert logged.getMessage() == "error while handling an update"
                assert logged.exc_info is not None
                error = logged.exc_info[1]
                assert isinstance(error, StoreWriteError)
                reason = "the disk is full" if fault == "full-disk" else "file is too large"
                assert reason in str(error)
        # Reopened (a full disk is still full): everything stored before is there.
        assert {p.name: p.read_bytes() for p in (settings.data_file, journal)} == on_disk
        with EmbeddedStore.open(settings.data_file) as store:
            assert store.get_subscriber(USER) == before
            assert store.count_articles() > 0
            if fault == "full-disk":
                (folder / "filler").unlink()
            async with bot_running(api, settings, store, clock) as bot:
                assert "daily at 10:00" in await _say(bot, "/time 10:00")
        with EmbeddedStore.open(settings.data_file) as store:
            after = store.get_subscriber(USER)
            assert after is not None
            assert after.times == ("10:00",)
    figures = (
        f"{fault}: 1 fault injected ({error}); filler {filler} bytes; user told "
        f"{refused!r}; /settings and /help answered meanwhile; lost: 0"
    )
    print(f"\n{figures}")
    record_property("figures", figures)
