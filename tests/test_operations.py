"""``newsdigest run`` as a service manager runs it: started before the network is up,
given a bad token or a missing extra, and stopped in the middle of a morning peak.

Each test starts the real process (``python -m bot.cli run``) against a fake Bot API
server in this process on 127.0.0.1, and reads what it printed, as journald would.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import signal
import socket
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import load_settings
from bot.ingest.ingester import Ingester
from bot.models import Subscriber
from bot.paths import PROJECT_ROOT
from bot.store import EmbeddedStore
from fakebotapi import FakeBotAPI, SentMessage
from tests.test_restarts import CONFIG, TOKEN, _die_with_parent, _environment, until

# Real `newsdigest run` processes, some waiting for retries or delivering 2,000 digests.
pytestmark = pytest.mark.slow

DIGEST_HEADER = "Your news digest"
# A process still running this long after SIGTERM is hung, not slow. The stop time itself
# (issue 9's target: within 10 s) is a timing figure: these tests print it (`-s`) and
# docs/reliability.md records it; asserting it here would fail on a busy machine, not on
# a broken stop (under load from other jobs, one stop here once took 10.1 s).
HUNG = 30.0


@dataclass
class Run:
    """One ``newsdigest run`` process and everything it printed."""

    proc: asyncio.subprocess.Process
    log: Path
    signalled: float = 0.0
    stopped_in: float | None = None

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def lines(self, fragment: str) -> list[str]:
        return [line for line in self.output.splitlines() if fragment in line]

    def signal(self, sig: signal.Signals) -> None:
        if self.proc.returncode is None:
            if not self.signalled:
                self.signalled = time.monotonic()
            os.kill(self.proc.pid, sig)

    async def wait(self, timeout: float = 60.0) -> int:  # noqa: ASYNC109 - a deadline
        code = await asyncio.wait_for(self.proc.wait(), timeout)
        if self.signalled:
            self.stopped_in = time.monotonic() - self.signalled
        return code


@contextlib.asynccontextmanager
async def bot_process(
    folder: Path, base_url: str, *args: str, config: str = CONFIG, name: str = "run"
) -> AsyncIterator[Run]:
    """Start ``newsdigest run`` with its own config and data file in ``folder``."""
    (folder / "config.toml").write_text(config)
    log = folder / f"{name}.log"
    env = _environment(base_url, base_url.replace("/bot", "/file/bot"), folder / "newsdigest.json")
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "--config",
            str(folder / "config.toml"),
            "run",
            *args,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            cwd=PROJECT_ROOT,
            preexec_fn=_die_with_parent,
        )
    run = Run(proc, log)
    try:
        yield run
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.asynccontextmanager
async def silent_server() -> AsyncIterator[int]:
    """A server that accepts connections and never answers (a hung proxy)."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        for writer in held:
            writer.close()
        server.close()


async def test_a_bot_started_before_the_network_comes_up_by_itself(tmp_path: Path) -> None:
    """Regression (issue 9): with the Bot API unreachable (nothing listening yet, a name
    that does not resolve, a server that never answers) ``run`` logs one line per attempt
    and keeps trying, never a traceback; once the API is there it starts by itself with
    one start-up line and no per-job chatter; SIGTERM ends each run cleanly and fast."""
    port = free_port()
    folders = {name: tmp_path / name for name in ("closed", "dns", "silent")}
    for folder in folders.values():
        folder.mkdir()
    waiting = "cannot reach the Telegram Bot API"
    async with (
        silent_server() as silent_port,
        bot_process(folders["closed"], f"http://127.0.0.1:{port}/bot") as closed,
        bot_process(folders["dns"], "http://bot-api.invalid/bot") as dns,
        bot_process(folders["silent"], f"http://127.0.0.1:{silent_port}/bot") as silent,
    ):
        await until(
            lambda: len(closed.lines(waiting)) >= 2 and len(dns.lines(waiting)) >= 2,
            "two attempts each",
            timeout=30,
        )
        await until(lambda: len(silent.lines(waiting)) >= 1, "a timed-out attempt", timeout=40)
        for run in (dns, silent):
            run.signal(signal.SIGTERM)
            assert await run.wait() == 0
            assert run.stopped_in is not None
            assert run.stopped_in < HUNG
            print(f"stopped while waiting for the network in {run.stopped_in:.2f} s")
        api = FakeBotAPI()
        await api.start(port=port)  # the network comes up
        try:
            await until(lambda: closed.lines("is running"), "the start-up line", timeout=90)
            await asyncio.sleep(2.5)  # the dispatcher's job has run (it starts after 1 s)
            closed.signal(signal.SIGTERM)
            assert await closed.wait() == 0
        finally:
            await api.stop()
    [started] = closed.lines("is running")
    assert "@" in started
    assert "(long polling): data file " in started
    assert started.endswith("newsdigest.json, 0 subscribers")
    for run in (closed, dns, silent):
        assert "Traceback" not in run.output, run.output
        assert [line for line in run.lines("WARNING") if waiting not in line] == [], run.output
        assert not run.lines("Running job"), run.output  # APScheduler's per-job lines
        assert not run.lines("executed successfully"), run.output


async def test_a_rejected_token_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    """Regression (issue 9): a token Telegram refuses ends ``run`` at once with one line
    saying so, exit code 2, no traceback (and never the token)."""
    async with (
        FakeBotAPI(expected_token="1:another-token") as api,
        bot_process(tmp_path, api.base_url) as run,
    ):
        code = await run.wait()
    assert code == 2
    assert run.output.strip().splitlines()[-1] == (
        "newsdigest: Telegram rejected the bot token. Check TELEGRAM_BOT_TOKEN (and "
        "TELEGRAM_API_BASE_URL, if you set it)."
    )
    assert "Traceback" not in run.output
    assert TOKEN.split(":", 1)[1] not in run.output


@pytest.mark.skipif(
    importlib.util.find_spec("tornado") is not None,
    reason="python-telegram-bot's webhooks extra is installed here",
)
def test_webhook_mode_without_its_extra_names_the_install_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression (issue 9): ``run --webhook-url`` without PTB's webhooks extra is one line
    naming the install command, exit code 2, before anything is opened."""
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("NEWSDIGEST_DATA_FILE", str(tmp_path / "newsdigest.json"))
    assert main(["run", "--webhook-url", "https://bot.example.org/telegram"]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert "pip install 'python-telegram-bot[webhooks]'" in line
    assert not (tmp_path / "newsdigest.json").exists()


# --- stopping in the middle of a morning peak ----------------------------------------------

PEAK = 2000
FIRST_CHAT = 50_000
# Fast enough for CI (2,000 digests in about 10 s), slow enough to be stopped midway.
PEAK_CONFIG = CONFIG.replace("grace_hours = 2", "grace_hours = 2\nmessages_per_second = 200")


def _peak_data_file(folder: Path) -> tuple[int, ...]:
    """A data file with the seeds and PEAK subscribers whose slot passed 5 minutes ago."""
    folder.mkdir()
    (folder / "config.toml").write_text(PEAK_CONFIG)
    data_file = folder / "newsdigest.json"
    settings = load_settings(folder / "config.toml", {"NEWSDIGEST_DATA_FILE": str(data_file)})
    chats = tuple(range(FIRST_CHAT, FIRST_CHAT + PEAK))
    now = datetime.now(UTC)
    due = (now - timedelta(minutes=5)).strftime("%H:%M")
    with EmbeddedStore.open(data_file) as store:
        asyncio.run(Ingester(settings, store).run(feeds=False))
        with store.batch():
            for chat_id in chats:
                store.put_subscriber(
                    Subscriber(
                        chat_id=chat_id,
                        times=(due,),
                        timezone="UTC",
                        created=now - timedelta(days=1),
                    )
                )
        store.compact()
    return chats


@pytest.mark.slow
@pytest.mark.parametrize("signals", [1, 2], ids=["SIGTERM", "SIGTERM-twice"])
async def test_stopping_in_the_middle_of_a_peak_is_quick_and_loses_nothing(
    tmp_path: Path, signals: int, record_property: object
) -> None:
    """Regression (issue 9: no exit within 20 s; a second signal gave 64 tracebacks): the
    real process, 2,000 digests due, is sent SIGTERM (once, or twice 0.2 s apart) while a
    third of them are out. It exits with no traceback (the time is printed); restarted, it
    sends the rest: every chat gets exactly one digest (a second SIGTERM may cut sends short; only
    those in flight then may arrive twice, the documented window)."""
    folder = tmp_path / "peak"
    chats = await asyncio.to_thread(_peak_data_file, folder)
    sent: Counter[int] = Counter()
    stopped = asyncio.Event()
    async with FakeBotAPI() as api:
        runs: list[Run] = []

        def count(event: str, message: SentMessage) -> None:
            if event == "sent" and DIGEST_HEADER in message.plain_text:
                sent[message.chat_id] += 1
                if sum(sent.values()) == PEAK // 3:
                    runs[0].signal(signal.SIGTERM)
                    stopped.set()

        for chat_id in chats:
            api.add_chat(chat_id, "private")
        api.add_listener(count)
        async with bot_process(folder, api.base_url, config=PEAK_CONFIG, name="first") as first:
            runs.append(first)
            await asyncio.wait_for(stopped.wait(), 120)
            if signals == 2:
                await asyncio.sleep(0.2)
                first.signal(signal.SIGTERM)
            assert await first.wait() == 0
        at_stop = sum(sent.values())
        async with bot_process(folder, api.base_url, config=PEAK_CONFIG, name="second") as second:
            await until(lambda: len(sent) == PEAK, "every chat's digest", timeout=120)
            await asyncio.sleep(1.0)  # anything doubled would arrive now
            second.signal(signal.SIGTERM)
            assert await second.wait() == 0
    duplicates = sorted(c for c in chats if sent[c] > 1)
    print(
        f"\nstop under load ({signals} signal(s)): {at_stop} of {PEAK} digests sent before "
        f"the stop, exit {first.stopped_in:.2f} s after the signal, restart sent "
        f"{sum(sent.values()) - at_stop}, duplicates {len(duplicates)}, "
        f"lost {PEAK - len(sent)}"
    )
    assert first.stopped_in is not None
    assert first.stopped_in < HUNG
    assert PEAK // 3 <= at_stop < PEAK
    assert set(sent) == set(chats)  # nothing lost
    cut_short = sum(
        int(line.rsplit("shutting down: ", 1)[1].split()[0])
        for line in first.lines("deliveries cut short")
    )
    assert len(duplicates) <= (cut_short if signals == 2 else 0)
    for run in (first, second):
        assert "Traceback" not in run.output, run.output[-3000:]
        assert "Event loop is closed" not in run.output
        assert "was destroyed but it is pending" not in run.output
