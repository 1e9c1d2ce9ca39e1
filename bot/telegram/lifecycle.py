"""Running the bot: connect, receive updates, stop cleanly. One lifecycle for every caller.

``running`` is the context manager the process (``newsdigest run``), the terminal chat and
the tests all use: initialize, ``post_init``, poll (or listen for a webhook), start; on
the way out, stop receiving, wind the work down (no new deliveries, the ones in flight
get a few seconds, requests in flight are ended with a note to their users), then PTB's
stop and shutdown.

``serve`` is the process around it: it waits for Telegram to answer before starting (a
service started before the network is up comes up by itself, one log line per attempt),
logs one start-up line, and turns SIGTERM/SIGINT into that clean stop; a second signal
cuts the grace period short.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass

from telegram.error import InvalidToken, NetworkError, TelegramError, TimedOut

from ..store import is_database_url
from .app import ALLOWED_UPDATES, NewsApp

logger = logging.getLogger(__name__)

# Seconds the deliveries in flight get to finish when the bot is asked to stop.
STOP_GRACE = 5.0
# Waiting for the Bot API at start: first retry after this, doubling up to the maximum.
CONNECT_FIRST_DELAY = 1.0
CONNECT_MAX_DELAY = 60.0
# Long polling: how long one getUpdates waits for news (Telegram's side of the wait).
POLL_TIMEOUT = 30


@dataclass(frozen=True)
class Webhook:
    """Where Telegram should deliver updates instead of long polling."""

    url: str
    listen: str = "127.0.0.1"
    port: int = 8443
    path: str = "telegram"
    secret: str | None = None


def _polling_error(error: TelegramError) -> None:
    """A failed getUpdates: one line (PTB retries by itself, with a growing pause)."""
    logger.warning("polling for updates failed, retrying: %s", error.message)


async def wind_down(app: NewsApp, *, grace: float, hurry: asyncio.Event | None) -> None:
    """Stop starting work; let deliveries in flight finish within ``grace``; end requests."""
    services = app.bot_data.services
    if services is None:
        return
    await services.summaries.cancel_all()
    await services.dispatcher.stop(grace, hurry)


@contextlib.asynccontextmanager
async def running(
    app: NewsApp,
    *,
    poll_timeout: int = 1,
    webhook: Webhook | None = None,
    grace: float = STOP_GRACE,
    hurry: asyncio.Event | None = None,
) -> AsyncIterator[NewsApp]:
    """The bot receiving updates inside the running event loop, until the block ends."""
    await app.initialize()
    try:
        if app.post_init is not None:
            await app.post_init(app)
        assert app.updater is not None
        if webhook is None:
            await app.updater.start_polling(
                poll_interval=0.0,
                timeout=poll_timeout,
                allowed_updates=ALLOWED_UPDATES,
                bootstrap_retries=-1,
                error_callback=_polling_error,
            )
        else:
            await app.updater.start_webhook(
                listen=webhook.listen,
                port=webhook.port,
                url_path=webhook.path,
                webhook_url=webhook.url,
                secret_token=webhook.secret,
                allowed_updates=ALLOWED_UPDATES,
                bootstrap_retries=-1,
            )
        await app.start()
        try:
            yield app
        finally:
            if app.updater.running:
                await app.updater.stop()
            await wind_down(app, grace=grace, hurry=hurry)
            if app.running:
                await app.stop()
    finally:
        if app.post_shutdown is not None:
            await app.post_shutdown(app)
        await app.shutdown()


def _short(error: BaseException) -> str:
    return getattr(error, "message", None) or str(error) or type(error).__name__


async def connect(app: NewsApp, stop: asyncio.Event) -> bool:
    """Initialize the bot (``getMe``) once Telegram answers; False if ``stop`` came first.

    Network trouble (no route, no DNS, a server that never answers) is retried with a
    doubling pause, one log line per attempt. A rejected token raises ``InvalidToken``.
    """
    delay = CONNECT_FIRST_DELAY
    while not stop.is_set():
        try:
            await app.initialize()
            return True
        except InvalidToken:
            raise
        except (NetworkError, TimedOut) as exc:
            logger.warning(
                "cannot reach the Telegram Bot API (%s); trying again in %.0f s", _short(exc), delay
            )
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay):
                await stop.wait()
        delay = min(CONNECT_MAX_DELAY, delay * 2)
    return False


def stopping_from_now(loop: asyncio.AbstractEventLoop) -> None:
    """The event loop's SIGTERM and SIGINT handlers end with it; from now on, until the
    process exits, those signals are ignored. The stop goes on after the loop (the store
    closes, its last writes land, the interpreter finalizes): a second SIGTERM that came a
    moment too late killed the process halfway through it (exit status -15, on a fast
    machine). Ignored, not handled: Python puts back the default action of the signals it
    handles when it finalizes, not of those it ignores."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.remove_signal_handler(sig)
        signal.signal(sig, signal.SIG_IGN)


async def serve(app: NewsApp, *, webhook: Webhook | None = None) -> None:
    """Run until SIGTERM or SIGINT, then stop cleanly (a second signal hurries the stop)."""
    loop = asyncio.get_running_loop()
    stop, hurry = asyncio.Event(), asyncio.Event()

    def on_signal(sig: signal.Signals) -> None:
        if stop.is_set():
            logger.info("%s again: stopping without waiting for deliveries", sig.name)
            hurry.set()
        else:
            logger.info("%s: stopping (deliveries in flight get %.0f s)", sig.name, STOP_GRACE)
            stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal, sig)
    try:
        if not await connect(app, stop):
            return
        async with running(app, poll_timeout=POLL_TIMEOUT, webhook=webhook, hurry=hurry):
            services = app.bot_data.services
            assert services is not None
            location = services.store.location
            logger.info(
                "@%s is running (%s): %s %s, %s subscribers",
                app.bot.username,
                "webhook " + webhook.url if webhook else "long polling",
                "database" if is_database_url(location) else "data file",
                location,
                services.store.count_subscribers(),
            )
            await stop.wait()
    finally:
        stopping_from_now(loop)
