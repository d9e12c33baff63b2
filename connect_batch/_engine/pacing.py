"""Pacing: send calls no faster than the service's quota allows, shared by every thread.

BatchPutContact's quota (10 calls/s, burst 15, per account and Region) is shared by every
caller. A client that sends as fast as it can spends calls on 429s; one that paces itself
near the quota wastes neither calls nor attempts. ``RateLimiter`` is the small protocol the
engine talks to, so that a limiter shared between processes can be plugged in later;
``AdaptiveRateLimiter`` is the in-process one.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Generator
from typing import Any, Protocol

import attrs

from connect_batch._engine.steps import drive, drive_async
from connect_batch._errors import ConfigurationError

# The default BatchPutContact quota (calls/s): where a limiter with no rate given starts.
DEFAULT_QUOTA = 10.0


class RateLimiter(Protocol):
    """What the engine needs from a limiter.

    ``acquire`` blocks until one call may be sent and returns an opaque *epoch* (or
    ``None`` when the wait would outlast what is left of the run's deadline). After the
    call, ``feedback`` reports whether it was throttled and returns True when the limiter
    already knew: the throttle belongs to congestion it has slowed down for since the call
    left (its epoch has moved on). The engine retries such a throttle without a backoff of
    its own (the limiter's pace is the wait); it still counts against ``max_attempts``.
    """

    def acquire(self, max_wait: float | None = None) -> int | None:
        """Block until a call may be sent and return the current epoch; return ``None`` at
        once, without waiting, if that would take longer than ``max_wait`` seconds."""

    def feedback(self, epoch: int, *, throttled: bool) -> bool:
        """Record a call's result; True if a throttle was already known."""


class AsyncRateLimiter(Protocol):
    """``RateLimiter`` for the async clients: the same contract, awaited.

    ``AdaptiveRateLimiter`` and ``NoLimit`` are both; ``AsyncRedisRateLimiter`` is the one
    shared by a fleet.
    """

    async def acquire_async(self, max_wait: float | None = None) -> int | None:
        """Wait (without blocking the loop) until a call may be sent; see ``acquire``."""

    async def feedback_async(self, epoch: int, *, throttled: bool) -> bool:
        """Record a call's result; see ``feedback``."""


class NoLimit:
    """No pacing: every call is sent at once, and no throttle is known in advance."""

    def acquire(self, max_wait: float | None = None) -> int | None:  # noqa: ARG002
        """Never waits."""
        return 0

    def feedback(self, epoch: int, *, throttled: bool) -> bool:  # noqa: ARG002 - protocol
        """Learns nothing: no throttle is ever known in advance."""
        return False

    async def acquire_async(self, max_wait: float | None = None) -> int | None:  # noqa: ARG002
        """Never waits."""
        return 0

    async def feedback_async(self, epoch: int, *, throttled: bool) -> bool:  # noqa: ARG002
        """Learns nothing."""
        return False


@attrs.define
class AdaptiveRateLimiter:
    """Paces calls evenly at a rate it adjusts from the throttles it meets.

    With ``max_rate`` given it starts there and never exceeds it, slowing down only when
    throttled (other callers may share the quota) and returning to it. With none, it starts
    at ``initial_rate`` (the operation's default pace) and probes upward slowly, so that it
    finds and follows the ceiling as other callers take part of the shared quota. On a
    throttle (or a capacity answer) the rate drops by ``decrease``, never below
    ``min_rate``, once per *epoch*: throttles of calls sent before the drop are already
    accounted for. Calls are spaced evenly (no bursts), so a rate at or below the
    service's never drains its bucket.
    """

    max_rate: float | None = None
    # Where it starts when no max_rate is given: the operation's default pace.
    initial_rate: float = DEFAULT_QUOTA
    # The floor: throttles and capacity answers never slow it below this (calls/s).
    min_rate: float = 0.5
    decrease: float = 0.85
    # Rate added per successful call: faster before the first throttle, slow after.
    probe_step: float = 0.05
    cruise_step: float = 0.01
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    # The sleep of ``acquire_async`` (the async clients), a coroutine function.
    async_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    _rate: float = attrs.field(init=False)
    _epoch: int = attrs.field(init=False, default=0)
    _next_slot: float = attrs.field(init=False, default=0.0)
    _throttled_once: bool = attrs.field(init=False, default=False)
    _lock: threading.Lock = attrs.field(init=False, factory=threading.Lock)

    def __attrs_post_init__(self) -> None:
        if self.max_rate is not None and not self.max_rate > 0:
            raise ConfigurationError("max_requests_per_second must be > 0")
        if not self.initial_rate > 0:
            raise ConfigurationError("initial_rate must be > 0")
        self._rate = self.max_rate if self.max_rate is not None else self.initial_rate

    @property
    def rate(self) -> float:
        """The current pace, in calls per second."""
        return self._rate

    @property
    def epoch(self) -> int:
        """The current epoch: it moves on at each throttle the pace drops for."""
        return self._epoch

    def acquire(self, max_wait: float | None = None) -> int | None:
        """Wait for the next evenly spaced slot (unless it is further than ``max_wait``).

        The epoch returned is the one in force when the call leaves: if the pace dropped
        while this call waited, it queues again at the new pace.
        """
        return drive(self.booking(max_wait), self.sleep)

    async def acquire_async(self, max_wait: float | None = None) -> int | None:
        """``acquire`` for an event loop: the same slots, awaited with ``async_sleep``.

        One limiter may pace sync and async clients together.
        """
        return await drive_async(self.booking(max_wait), self.async_sleep)

    async def feedback_async(self, epoch: int, *, throttled: bool) -> bool:
        """``feedback`` (it never waits)."""
        return self.feedback(epoch, throttled=throttled)

    def booking(self, max_wait: float | None) -> Generator[float, Any, int | None]:
        """``acquire``'s steps: book a slot, yielding each wait to sleep (for a driver
        such as ``RedisRateLimiter``'s); return the epoch, or ``None``."""
        while True:
            with self._lock:
                now = self.clock()
                slot = max(now, self._next_slot)
                if max_wait is not None and slot - now >= max_wait:
                    return None
                self._next_slot = slot + 1.0 / self._rate
                epoch = self._epoch
            if slot > now:
                yield slot - now
                if max_wait is not None:
                    max_wait -= slot - now
            with self._lock:
                if self._epoch == epoch:
                    return epoch

    def feedback(self, epoch: int, *, throttled: bool) -> bool:
        """Speed up a little after a success; slow down once per epoch after a throttle."""
        with self._lock:
            if not throttled:
                step = self.cruise_step if self._throttled_once else self.probe_step
                grown = self._rate + step
                self._rate = grown if self.max_rate is None else min(grown, self.max_rate)
                return False
            if epoch < self._epoch:
                return True
            self._throttled_once = True
            self._epoch += 1
            floor = self.min_rate if self.max_rate is None else min(self.min_rate, self.max_rate)
            self._rate = max(floor, self._rate * self.decrease)
            # The next slot is at the new pace. Calls already waiting for a slot at the old
            # one see the epoch change when they wake and queue again, so the slots they had
            # booked are given up: keeping them would leave the pace idle for as long.
            self._next_slot = self.clock() + 1.0 / self._rate
            return False
