"""Faults and the flood model: the error answers the fake gives instead of the real ones.

Injected :class:`Fault` records answer matching calls (flood, server errors, held answers,
blocked bots, migrations, parse errors), in the order injected; a :class:`FloodLimit`
models Telegram's send limits as token buckets and answers 429 when the bot sends too fast.
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from dataclasses import dataclass
from http import HTTPStatus
from typing import Literal, get_args

from .errors import ApiError
from .records import BotCall
from .state import State

__all__ = ["Fault", "FaultKind", "Faults", "FloodLimit"]

FaultKind = Literal["flood", "server_error", "timeout", "forbidden", "migrate", "parse"]

_FAULT_KINDS: frozenset[str] = frozenset(get_args(FaultKind))


@dataclass(slots=True, eq=False)
class Fault:
    """An injected fault; see :meth:`FakeBotAPI.inject`. ``served`` counts answers given."""

    kind: FaultKind
    method: str | None = "sendMessage"
    chat_id: int | str | None = None
    times: int | None = 1
    retry_after: int = 1
    status: int | None = None
    delay: float = 60.0
    performed: bool = False
    migrate_to: int | None = None
    description: str | None = None
    served: int = 0

    @property
    def exhausted(self) -> bool:
        """True once served ``times`` times."""
        return self.times is not None and self.served >= self.times

    def matches(self, method: str, chat_id: object) -> bool:
        """Whether this fault answers a call of ``method`` for ``chat_id``."""
        if self.exhausted:
            return False
        if self.method is not None and self.method.lower() != method.lower():
            return False
        return self.chat_id is None or self.chat_id == chat_id


@dataclass(frozen=True, slots=True)
class FloodLimit:
    """Telegram's send limits as token buckets (``None`` turns one off).

    Each bucket holds one period's worth of sends and refills continuously, like PTB's
    ``AIORateLimiter`` (aiolimiter) paces them; ``slack`` extra tokens absorb requests a
    correctly paced client sent in order but that arrive bunched over the network.
    """

    per_second: float | None = 30.0
    per_chat_per_second: float | None = None
    chat_burst: int = 3
    per_group_per_minute: float | None = 20.0
    slack: int = 1
    methods: frozenset[str] = frozenset({"sendmessage"})


@dataclass(slots=True)
class _Bucket:
    capacity: float
    rate: float
    tokens: float
    stamp: float

    def wait(self, now: float) -> float:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate


class Faults:
    """The injected faults and the flood model, and how they answer a call."""

    def __init__(self, state: State) -> None:
        self._state = state
        self._faults: list[Fault] = []
        self.served: Counter[str] = Counter()
        self.flood: FloodLimit | None = None
        self._buckets: dict[tuple[str, int], _Bucket] = {}

    def add(self, fault: Fault) -> Fault:
        """Check a fault's settings and queue it after the faults injected before."""
        if fault.kind not in _FAULT_KINDS:
            raise ValueError(
                f"fault kind must be one of {sorted(_FAULT_KINDS)}, got {fault.kind!r}"
            )
        if fault.times is not None and fault.times < 1:
            raise ValueError(f"times must be at least 1 (or None for always), got {fault.times}")
        status = fault.status
        if fault.kind == "server_error" and status is not None and not 500 <= status <= 599:
            raise ValueError(f"a server error has a 5xx status, got {status}")
        if fault.retry_after < 1:
            raise ValueError(f"retry_after is whole seconds, at least 1; got {fault.retry_after}")
        self._faults.append(fault)
        return fault

    def clear(self) -> None:
        """Forget every injected fault (the counts in :attr:`served` stay)."""
        self._faults.clear()

    def set_flood_limit(self, limit: FloodLimit | None) -> None:
        """Turn the flood model on with ``limit``, or off with ``None``; buckets start full."""
        self.flood = limit
        self._buckets.clear()

    def check(self, call: BotCall) -> Fault | None:
        """Apply the first matching fault, else the flood model, to a call.

        Raises the fault's (or the 429's) :class:`ApiError`; returns a ``timeout`` fault,
        whose answer the caller holds; returns ``None`` when the call goes through.
        """
        fault = next((f for f in self._faults if f.matches(call.method, call.chat_id)), None)
        if fault is not None:
            fault.served += 1
            self.served[fault.kind] += 1
            call.fault = fault.kind
            if fault.kind == "timeout":
                return fault
            raise self._error(fault, call)
        self._check_flood(call)
        return None

    def _error(self, fault: Fault, call: BotCall) -> ApiError:
        kind = fault.kind
        if kind == "flood":
            seconds = fault.retry_after
            return ApiError(
                429,
                fault.description or f"Too Many Requests: retry after {seconds}",
                {"retry_after": seconds},
            )
        if kind == "server_error":
            status = fault.status or 500
            return ApiError(status, fault.description or HTTPStatus(status).phrase)
        if kind == "forbidden":
            return ApiError(
                fault.status or 403, fault.description or "Forbidden: bot was blocked by the user"
            )
        if kind == "migrate":
            new_id = self._state.migrated_id(call.chat_id, fault.migrate_to)
            return ApiError(
                400,
                fault.description or "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": new_id},
            )
        return ApiError(
            400,
            fault.description
            or (
                "Bad Request: can't parse entities: Can't find end tag corresponding to start tag "
                '"b"'
            ),
        )

    def _check_flood(self, call: BotCall) -> None:
        limit = self.flood
        if limit is None or call.method.lower() not in limit.methods:
            return
        now = asyncio.get_running_loop().time()
        chat_id = call.chat_id
        buckets: list[_Bucket] = []
        if limit.per_second:
            buckets.append(self._bucket(("all", 0), limit.per_second, limit.per_second, limit, now))
        if isinstance(chat_id, int):
            chat = self._state.chats.get(chat_id)
            is_group = chat.type != "private" if chat else chat_id < 0
            if limit.per_chat_per_second:
                buckets.append(
                    self._bucket(
                        ("chat", chat_id), limit.chat_burst, limit.per_chat_per_second, limit, now
                    )
                )
            if is_group and limit.per_group_per_minute:
                buckets.append(
                    self._bucket(
                        ("group", chat_id),
                        limit.per_group_per_minute,
                        limit.per_group_per_minute / 60,
                        limit,
                        now,
                    )
                )
        wait = max((bucket.wait(now) for bucket in buckets), default=0.0)
        if wait > 0:
            self.served["rate_limit"] += 1
            call.fault = "rate_limit"
            seconds = max(1, math.ceil(wait))
            raise ApiError(
                429, f"Too Many Requests: retry after {seconds}", {"retry_after": seconds}
            )
        for bucket in buckets:
            bucket.tokens -= 1

    def _bucket(
        self, key: tuple[str, int], capacity: float, rate: float, limit: FloodLimit, now: float
    ) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            full = max(1.0, capacity) + limit.slack
            bucket = self._buckets[key] = _Bucket(full, rate, full, now)
        return bucket
