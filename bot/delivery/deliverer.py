"""Sending messages to Telegram so that nothing is dropped silently.

Per message:
  * 429 Too Many Requests: wait ``retry_after`` and send again (bounded attempts);
  * 5xx and timeouts: retry with exponential backoff (bounded);
  * 403 (blocked, kicked, deactivated) and "chat not found": the chat is marked
    ``blocked`` in the store and nothing more is sent to it;
  * the chat migrated to a supergroup: the stored chat id is updated and the message
    goes to the new id;
  * 400 "can't parse entities": the same text is sent again as plain text;
  * a forum topic that no longer exists: sent to the chat's main thread.
Every fault is counted in the store (``failures:<kind>`` per day, shown by /stats) and
logged. Pacing (Telegram's global and per-chat limits) is PTB's ``AIORateLimiter``; it is
built with ``max_retries=0`` so that 429s reach this module and are counted.

A timeout may hide a message Telegram did receive; re-sending it can then duplicate it.
Telegram offers no idempotency key, so this is accepted for timeouts only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from telegram import Bot, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from ..digest.render import html_to_plain
from ..models import BLOCKED
from ..store import NotFoundError, Store, StoreError

logger = logging.getLogger(__name__)

SENT = "sent"
BLOCKED_OUTCOME = "blocked"
FAILED = "failed"


@dataclass(frozen=True)
class Outcome:
    """How a delivery ended; ``chat_id`` is the final one (it changes on migration)."""

    status: str
    chat_id: int
    sent: int = 0
    error: str | None = None


class Deliverer:
    """Sends messages with the fault handling above."""

    def __init__(
        self,
        bot: Bot,
        store: Store,
        clock: Callable[[], datetime],
        *,
        retries: int = 4,
        backoff: float = 1.0,
        max_backoff: float = 30.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.bot = bot
        self.store = store
        self.clock = clock
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._sleep = sleep

    def count(self, kind: str, by: int = 1) -> None:
        """Add to today's counter (statistics must never break a delivery)."""
        try:
            self.store.increment(kind, self.clock().date(), by)
        except StoreError:
            logger.warning("could not count %s", kind, exc_info=True)

    def _mark_blocked(self, chat_id: int, reason: str) -> None:
        with contextlib.suppress(NotFoundError):
            self.store.update_subscriber(chat_id, status=BLOCKED)
        logger.info("chat %s is unreachable (%s): no more deliveries", chat_id, reason)

    async def send(
        self,
        chat_id: int,
        messages: Sequence[str],
        *,
        html: bool = True,
        thread_id: int | None = None,
        on_sent: Callable[[int, int], None] | None = None,
    ) -> Outcome:
        """Send messages in order; stop at the first one that cannot be delivered.

        ``on_sent(chat_id, count)`` runs after each message Telegram accepted (the
        dispatcher records progress with it, so a restart does not repeat them).
        """
        sent = 0
        for text in messages:
            outcome = await self._send_one(chat_id, text, html=html, thread_id=thread_id)
            chat_id = outcome.chat_id
            if outcome.status != SENT:
                return Outcome(outcome.status, chat_id, sent, outcome.error)
            sent += 1
            if on_sent is not None:
                on_sent(chat_id, sent)
        return Outcome(SENT, chat_id, sent)

    async def _send_one(
        self, chat_id: int, text: str, *, html: bool, thread_id: int | None
    ) -> Outcome:
        failures = 0
        floods = 0
        while True:
            try:
                await self.bot.send_message(
                    chat_id,
                    text,
                    parse_mode=ParseMode.HTML if html else None,
                    message_thread_id=thread_id,
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                )
                return Outcome(SENT, chat_id, 1)
            except RetryAfter as exc:
                self.count("failures:flood")
                floods += 1
                if floods > self.retries * 3:
                    return self._failed(chat_id, "flood", exc)
                delay = exc.retry_after
                seconds = delay if isinstance(delay, int | float) else delay.total_seconds()
                logger.info("flood control for chat %s: waiting %.1f s", chat_id, seconds)
                await self._sleep(seconds)
            except ChatMigrated as exc:
                self.count("failures:migrated")
                new_id = exc.new_chat_id
                logger.info("chat %s migrated to %s", chat_id, new_id)
                try:
                    self.store.change_chat_id(chat_id, new_id)
                except (NotFoundError, ValueError):
                    logger.warning("could not move chat %s to %s", chat_id, new_id, exc_info=True)
                chat_id = new_id
            except Forbidden as exc:
                self.count("failures:blocked")
                self._mark_blocked(chat_id, exc.message)
                return Outcome(BLOCKED_OUTCOME, chat_id, 0, exc.message)
            except BadRequest as exc:
                message = exc.message.lower()
                if "can't parse entities" in message and html:
                    self.count("failures:parse_error")
                    logger.warning(
                        "Telegram refused the HTML for chat %s: %s", chat_id, exc.message
                    )
                    html, text = False, html_to_plain(text)
                elif "thread not found" in message and thread_id is not None:
                    self.count("failures:thread_not_found")
                    thread_id = None
                elif "chat not found" in message or "deactivated" in message:
                    self.count("failures:chat_not_found")
                    self._mark_blocked(chat_id, exc.message)
                    return Outcome(BLOCKED_OUTCOME, chat_id, 0, exc.message)
                else:
                    self.count("failures:bad_request")
                    return self._failed(chat_id, "bad_request", exc)
            except (TimedOut, NetworkError) as exc:
                kind = "timeout" if isinstance(exc, TimedOut) else "network"
                self.count(f"failures:{kind}")
                failures += 1
                if failures > self.retries:
                    return self._failed(chat_id, kind, exc)
                await self._sleep(min(self.max_backoff, self.backoff * 2 ** (failures - 1)))
            except TelegramError as exc:
                self.count("failures:other")
                return self._failed(chat_id, "other", exc)

    @staticmethod
    def _failed(chat_id: int, kind: str, exc: TelegramError) -> Outcome:
        logger.warning("giving up on chat %s (%s): %s", chat_id, kind, exc.message)
        return Outcome(FAILED, chat_id, 0, f"{kind}: {exc.message}")
