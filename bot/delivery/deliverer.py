"""Sending messages to Telegram so that nothing is dropped silently.

Per message:
  * 429 Too Many Requests: wait ``retry_after`` and send again (bounded attempts);
  * 5xx and timeouts: retry with exponential backoff (bounded);
  * 403 (blocked, kicked, deactivated), "chat not found" and a channel where the bot
    is no longer an administrator: the chat is marked ``blocked`` in the store and
    nothing more is sent to it; unless ``on_unreachable`` takes the chat over (a linked
    channel: its digests are paused and its managers told, ``bot.services.channels``);
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
import enum
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


class Action(enum.Enum):
    """What the deliverer does about a refused send."""

    WAIT = "wait retry_after, then send again (bounded)"
    MOVE = "the chat migrated: move the subscription, send to the new id"
    STOP = "the chat is unreachable: mark it blocked, send nothing more"
    PLAIN_TEXT = "Telegram refused the HTML: send the same text as plain text"
    MAIN_THREAD = "the forum topic is gone: send to the chat's main thread"
    BACK_OFF = "a temporary fault: wait (doubling), then send again (bounded)"
    GIVE_UP = "give up on this message"


@dataclass(frozen=True)
class Fault:
    """One row of ``FAULTS``: an error type (and a fragment of Telegram's wording, where
    one type covers several faults), the counter it is counted under, the action."""

    error: type[TelegramError]
    says: str | None
    kind: str
    action: Action


BAD_REQUEST = Fault(BadRequest, None, "bad_request", Action.GIVE_UP)
# The one table of Telegram's refusals, most specific first (BadRequest and TimedOut are
# NetworkErrors in PTB; BadRequest's kinds differ only by Telegram's wording).
FAULTS: tuple[Fault, ...] = (
    Fault(RetryAfter, None, "flood", Action.WAIT),
    Fault(ChatMigrated, None, "migrated", Action.MOVE),
    Fault(Forbidden, None, "blocked", Action.STOP),
    Fault(BadRequest, "can't parse entities", "parse_error", Action.PLAIN_TEXT),
    Fault(BadRequest, "thread not found", "thread_not_found", Action.MAIN_THREAD),
    Fault(BadRequest, "chat not found", "chat_not_found", Action.STOP),
    Fault(BadRequest, "deactivated", "chat_not_found", Action.STOP),
    Fault(BadRequest, "need administrator rights", "not_admin", Action.STOP),
    BAD_REQUEST,
    Fault(TimedOut, None, "timeout", Action.BACK_OFF),
    Fault(NetworkError, None, "network", Action.BACK_OFF),
    Fault(TelegramError, None, "other", Action.GIVE_UP),
)


def classify(error: TelegramError) -> Fault:
    """The first row of ``FAULTS`` that matches the error."""
    message = error.message.lower()
    return next(
        fault
        for fault in FAULTS
        if isinstance(error, fault.error) and (fault.says is None or fault.says in message)
    )


@dataclass
class _Attempt:
    """One message on its way: where it goes now, in which form, and the retries so far."""

    chat_id: int
    text: str
    html: bool
    thread_id: int | None
    floods: int = 0
    failures: int = 0


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
        on_unreachable: Callable[[int], Awaitable[bool]] | None = None,
    ) -> None:
        self.bot = bot
        # Told first about a chat that cannot be reached; True: it took care of the chat.
        self.on_unreachable = on_unreachable
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

    async def _unreachable(self, chat_id: int, reason: str) -> None:
        if self.on_unreachable is not None and await self.on_unreachable(chat_id):
            logger.info("chat %s is unreachable (%s): its digests are paused", chat_id, reason)
            return
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
        attempt = _Attempt(chat_id, text, html, thread_id)
        while True:
            try:
                await self.bot.send_message(
                    attempt.chat_id,
                    attempt.text,
                    parse_mode=ParseMode.HTML if attempt.html else None,
                    message_thread_id=attempt.thread_id,
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                )
                return Outcome(SENT, attempt.chat_id, 1)
            except TelegramError as exc:
                outcome = await self._after(exc, attempt)
                if outcome is not None:
                    return outcome

    async def _after(self, exc: TelegramError, attempt: _Attempt) -> Outcome | None:
        """Act on a refused send as ``FAULTS`` says: the outcome, or None to send again."""
        fault = classify(exc)
        action = fault.action
        if action is Action.PLAIN_TEXT and not attempt.html:
            action, fault = Action.GIVE_UP, BAD_REQUEST
        if action is Action.MAIN_THREAD and attempt.thread_id is None:
            action, fault = Action.GIVE_UP, BAD_REQUEST
        self.count(f"failures:{fault.kind}")
        chat_id = attempt.chat_id
        if action is Action.WAIT:
            attempt.floods += 1
            if attempt.floods > self.retries * 3:
                return self._failed(chat_id, fault.kind, exc)
            assert isinstance(exc, RetryAfter)
            delay = exc.retry_after
            seconds = delay if isinstance(delay, int | float) else delay.total_seconds()
            logger.info("flood control for chat %s: waiting %.1f s", chat_id, seconds)
            await self._sleep(seconds)
        elif action is Action.MOVE:
            assert isinstance(exc, ChatMigrated)
            attempt.chat_id = self._move(chat_id, exc.new_chat_id)
        elif action is Action.STOP:
            await self._unreachable(chat_id, exc.message)
            return Outcome(BLOCKED_OUTCOME, chat_id, 0, exc.message)
        elif action is Action.PLAIN_TEXT:
            logger.warning("Telegram refused the HTML for chat %s: %s", chat_id, exc.message)
            attempt.html, attempt.text = False, html_to_plain(attempt.text)
        elif action is Action.MAIN_THREAD:
            attempt.thread_id = None
        elif action is Action.BACK_OFF:
            attempt.failures += 1
            if attempt.failures > self.retries:
                return self._failed(chat_id, fault.kind, exc)
            await self._sleep(min(self.max_backoff, self.backoff * 2 ** (attempt.failures - 1)))
        else:
            return self._failed(chat_id, fault.kind, exc)
        return None

    def _move(self, chat_id: int, new_id: int) -> int:
        logger.info("chat %s migrated to %s", chat_id, new_id)
        try:
            self.store.change_chat_id(chat_id, new_id)
        except (NotFoundError, ValueError):
            logger.warning("could not move chat %s to %s", chat_id, new_id, exc_info=True)
        return new_id

    @staticmethod
    def _failed(chat_id: int, kind: str, exc: TelegramError) -> Outcome:
        logger.warning("giving up on chat %s (%s): %s", chat_id, kind, exc.message)
        return Outcome(FAILED, chat_id, 0, f"{kind}: {exc.message}")
