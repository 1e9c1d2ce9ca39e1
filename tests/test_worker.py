"""``newsdigest worker``: ingest in one process, deliver in another, one PostgreSQL database.

The slow test runs both as real processes: a worker that fetches a feed served from
127.0.0.1, and the bot, which fetches nothing itself and delivers a digest of what the
worker stored through the fake Bot API.
"""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import load_settings
from bot.models import Subscriber
from bot.paths import PROJECT_ROOT
from bot.store import open_store
from fakebotapi import FakeBotAPI
from tests.feedserver import FeedServer
from tests.test_restarts import TOKEN, _die_with_parent, until

CHAT = 7001
STORIES = (
    "Ministers sign a treaty on river water",
    "Election commission confirms the minister's victory",
    "Government and unions agree a treaty on pay",
)


def rss(base: str) -> str:
    items = "".join(
        f"<item><title>{title}</title><link>{base}/story-{n}</link>"
        f"<description>{title}. The government said the treaty takes effect in spring. "
        "Ministers will meet again next month.</description></item>"
        for n, title in enumerate(STORIES)
    )
    channel = f"<channel><title>Wire</title>{items}</channel>"
    return f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'


def serve_feed(server: FeedServer) -> str:
    """Serve the feed of STORIES; return its URL."""
    headers = {"Content-Type": "application/rss+xml"}
    return server.serve("/feed.xml", rss(server.base_url), headers=headers)


def config(feed_url: str) -> str:
    return f"""
[sources]
use_seeds = false
ingest_in_bot = false

[delivery]
timezone = "UTC"
grace_hours = 2

[fetch]
allow_private_addresses = true

[[topics]]
name = "world"
label = "World"
keywords = ["government", "minister", "election", "treaty"]

[[feeds]]
url = "{feed_url}"
name = "Loopback Wire"
topics = ["world"]
language = "en"
full_text = false
"""


def test_a_worker_needs_postgresql(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With the embedded store the worker refuses in one line: the data file belongs to
    the bot process."""
    monkeypatch.delenv("NEWSDIGEST_DATABASE_URL", raising=False)
    (tmp_path / "config.toml").write_text(config("http://127.0.0.1:9/feed"))
    assert main(["--config", str(tmp_path / "config.toml"), "worker", "--once"]) == 2
    err = capsys.readouterr().err
    assert "needs the store in PostgreSQL" in err
    assert err.count("\n") == 1


def test_one_worker_pass_stores_the_feeds_articles(
    tmp_path: Path, pg_url: str, server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``worker --once`` fetches the feeds into the database and exits."""
    feed = server.serve(
        "/feed.xml", rss(server.base_url), headers={"Content-Type": "application/rss+xml"}
    )
    (tmp_path / "config.toml").write_text(config(feed))
    monkeypatch.setenv("NEWSDIGEST_DATABASE_URL", pg_url)
    assert main(["--config", str(tmp_path / "config.toml"), "worker", "--once"]) == 0
    with open_store(pg_url) as store:
        assert sorted(a.title for a in store.articles_since(datetime(2000, 1, 1, tzinfo=UTC))) == (
            sorted(STORIES)
        )


async def _start(
    command: str, folder: Path, env: dict[str, str]
) -> tuple[asyncio.subprocess.Process, Path]:
    log = folder / f"{command}.log"
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "--config", str(folder / "config.toml"), command,
            env=env, stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=out,
            cwd=PROJECT_ROOT, preexec_fn=_die_with_parent,
        )  # fmt: skip
    return proc, log


@pytest.mark.slow
async def test_a_worker_ingests_and_the_bot_delivers_from_one_database(
    tmp_path: Path, pg_url: str, server: FeedServer
) -> None:
    """Two processes, one database: the worker stores the feed's stories, the bot (which
    fetches nothing) sends them in the subscriber's digest and records the delivery."""
    feed = server.serve(
        "/feed.xml", rss(server.base_url), headers={"Content-Type": "application/rss+xml"}
    )
    (tmp_path / "config.toml").write_text(config(feed))
    environ = {"NEWSDIGEST_DATABASE_URL": pg_url}
    assert load_settings(tmp_path / "config.toml", environ).ingest_in_bot is False
    now = datetime.now(UTC)
    with open_store(pg_url) as store:
        store.put_subscriber(
            Subscriber(
                chat_id=CHAT,
                topics=("world",),
                times=((now - timedelta(minutes=5)).strftime("%H:%M"),),
                created=now - timedelta(days=1),
            )
        )
    async with FakeBotAPI() as api:
        api.add_chat(CHAT, "private")
        env = {
            **os.environ,
            "NEWSDIGEST_DATABASE_URL": pg_url,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": api.base_url,
            "TELEGRAM_API_BASE_FILE_URL": api.base_url.replace("/bot", "/file/bot"),
        }
        worker, worker_log = await _start("worker", tmp_path, env)
        bot = None
        try:
            with open_store(pg_url) as store:
                await until(
                    lambda: store.count_articles() == 3, "the worker's articles", timeout=60
                )
            bot, bot_log = await _start("run", tmp_path, env)
            await api.wait_for(lambda: api.messages(CHAT), timeout=60)
            digest = api.messages(CHAT)[0].plain_text
            assert all(title in digest for title in STORIES), digest
            with open_store(pg_url) as store:
                await until(lambda: len(store.delivered_ids(CHAT)) == 3, "the ledger", timeout=30)
        finally:
            for proc in (p for p in (bot, worker) if p is not None and p.returncode is None):
                proc.terminate()
            codes = [await asyncio.wait_for(p.wait(), 30) for p in (bot, worker) if p]
    assert codes == [0, 0]
    assert server.hits("/feed.xml") == 1  # the worker's one pass; the bot fetched nothing
    worker_output, bot_output = worker_log.read_text(), bot_log.read_text()
    assert "ingest: 3 new articles" in worker_output
    assert "ingest:" not in bot_output
    for output in (worker_output, bot_output):
        assert "Traceback" not in output, output[-3000:]
