"""Shared test settings and the fixtures of the tests that run the real bot.

A test file may define its own fixture of the same name to replace one of these.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.config import Settings
from bot.store import EmbeddedStore, Store
from fakebotapi import FakeBotAPI
from tests.botharness import make_settings
from tests.feedserver import FeedServer
from tests.pgcluster import Cluster, ClusterUnavailable

# PTB 22 warns when RetryAfter.retry_after is read as a number unless this is set (it is
# read when the warning would fire, not at import); the bot's CLI sets it too.
os.environ.setdefault("PTB_TIMEDELTA", "true")


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    """A fake Telegram Bot API server on 127.0.0.1."""
    async with FakeBotAPI() as server:
        yield server


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The shipped configuration with its data in tmp_path, no feeds, one admin."""
    return make_settings(tmp_path)


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[Store]:
    """A real store on the settings' data file."""
    with EmbeddedStore.open(settings.data_file) as opened:
        yield opened


@pytest.fixture
def server() -> Iterator[FeedServer]:
    """A programmable HTTP server on 127.0.0.1 (see tests/feedserver.py)."""
    with FeedServer() as running:
        yield running


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """A throwaway PostgreSQL server for the whole run (see tests/pgcluster.py).

    Skips the tests that need it when no server can be started here, saying why; in CI
    (CI=true) that fails them instead, so a missing server is never a silent green run.
    """
    cluster = Cluster()
    try:
        cluster.start()
    except ClusterUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and no PostgreSQL server could be started: {exc}")
        pytest.skip(f"no PostgreSQL server could be started: {exc}")
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def pg_url(pg_cluster: Cluster) -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped after the test."""
    url = pg_cluster.new_database()
    try:
        yield url
    finally:
        pg_cluster.drop_database(url)
