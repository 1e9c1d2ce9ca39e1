"""Run the real bot against the fake Bot API server, with a clock the test controls."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.config import Settings, load_settings
from bot.ingest.ingester import Ingester
from bot.paths import BUNDLED_CONFIG
from bot.store import Store
from bot.telegram.app import DISPATCH_JOB, NewsApp, Options, build_application
from bot.telegram.context import Services
from bot.telegram.lifecycle import running
from fakebotapi import FakeBotAPI

TOKEN = "123456:TEST-token-that-must-never-be-logged"
USER = 4242
ADMIN = 777


class Clock:
    """A settable clock: the bot's notion of now."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def make_settings(tmp_path: Path, **changes: object) -> Settings:
    """The shipped configuration, its data file in tmp_path, no feeds, one admin, and the
    sample articles as the news source (``use_seeds``: the tests read them on purpose)."""
    base = load_settings(BUNDLED_CONFIG, {})
    settings = replace(
        base,
        data_file=tmp_path / "newsdigest.json",
        feeds=(),
        admin_chat_ids=frozenset({ADMIN}),
        fetch=replace(base.fetch, allow_private_addresses=True, timeout=5.0),
        use_seeds=True,
    )
    return replace(settings, **changes)  # type: ignore[arg-type]  # the caller's overrides, checked by the dataclass


async def ingest_seeds(settings: Settings, store: Store, clock: Clock) -> int:
    """Store the bundled seeds as fetched at the clock's time."""
    report = await Ingester(settings, store, clock=clock).run(feeds=False)
    return report.new


@dataclass
class RunningBot:
    """A started bot, its fake server, store and clock."""

    api: FakeBotAPI
    app: NewsApp
    store: Store
    clock: Clock

    @property
    def services(self) -> Services:
        services = self.app.bot_data.services
        assert services is not None
        return services

    async def dispatch(self) -> None:
        """Run the scheduler's job now, as the JobQueue would."""
        [job] = self.app.job_queue.get_jobs_by_name(DISPATCH_JOB)  # type: ignore[union-attr]  # the application is built with a job queue
        await job.run(self.app)


@contextlib.asynccontextmanager
async def bot_running(
    api: FakeBotAPI, settings: Settings, store: Store, clock: Clock, **options: object
) -> AsyncIterator[RunningBot]:
    """Start the real Application against ``api``; jobs exist but never fire by themselves."""
    opts = Options(
        dispatch_interval=3600.0,
        ingest_at_start=False,
        clock=clock,
        delivery_backoff=0.05,
        **options,  # type: ignore[arg-type]  # the caller's overrides, checked by the dataclass
    )
    app = build_application(
        settings,
        store,
        token=TOKEN,
        options=opts,
        base_url=api.base_url,
        base_file_url=api.base_file_url,
    )
    async with running(app):
        yield RunningBot(api, app, store, clock)


T0 = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)


async def say(bot: RunningBot, text: str, chat: int = USER, user: int = USER) -> str:
    """Send a message as the user and return the plain text of the bot's next reply."""
    before = len(bot.api.messages(chat))
    bot.api.user_sends(chat, user, text)
    messages = await bot.api.wait_for_messages(chat, before + 1)
    return messages[before].plain_text
