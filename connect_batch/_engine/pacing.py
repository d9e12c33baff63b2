"""Pacing: send calls no faster than the service's quota allows, shared by every thread.

BatchPutContact's quota (10 calls/s, burst 15, per account and Region) is shared by every
caller. A client that sends as fast as it can spends calls on 429s; one that paces itself
near the quota wastes neither calls nor attempts. ``RateLimiter`` is the small protocol the
engine talks to, so that a limiter shared between processes can be plugged in later;
``AdaptiveRateLimiter`` is the in-process one (slow start, then congestion avoidance, and
a pause for capacity answers). ``CapacityPause`` is the pause for a limiter without epochs
of its own; ``tell`` and ``tell_async`` hand a call's result to any limiter, capacity
answers to ``capacity_refused`` where it has one. Must not know an API or how the engine
drives it (threads or a loop): it only waits through the sleep it is given.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Awaitable, Callable, Generator
from typing import Any, Protocol

import attrs

from connect_batch._engine.effects import Feedback
from connect_batch._engine.steps import drive, drive_async
from connect_batch._errors import ConfigurationError

# The default BatchPutContact quota (calls/s): where a limiter with no rate given starts.
DEFAULT_QUOTA = 10.0
# How many intervals a late schedule may catch up (see ``booking``).
CATCH_UP = 2
# A success grows the pace only if the pace held a call back within this long (seconds;
# or two intervals, if longer).
LIMITED_WINDOW = 1.0
# The first pause after a capacity answer, and the longest (seconds): it doubles between.
CAPACITY_PAUSE = 1.0
MAX_CAPACITY_PAUSE = 30.0


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

    With ``max_rate`` given it never exceeds ``headroom`` of it (0.98: a hair under, so
    that the jitter between this pace and the service's bucket never drains the bucket) and
    starts there, slowing down only when throttled (other callers may share the quota) and
    returning to it. With none, it starts at ``initial_rate`` (the operation's default pace)
    and, when ``slow_start`` is on, grows multiplicatively, as TCP's slow start does (each
    success adds ``slow_start_step`` calls/s, so the pace doubles about every
    ``ln 2 / slow_start_step`` seconds), until the first throttle or capacity answer. That
    first throttle halves the pace (``slow_start_decrease``: the service's burst hid the
    ceiling for a while, so the pace had overshot it); from then on the rate found is
    remembered for the rest of the run (``ceiling``), and the pace probes additively: back
    to near it quickly (``probe_step`` per success), slowly beyond (``cruise_step``).

    On a throttle the rate drops by ``decrease``, never below ``min_rate``, once per
    *epoch*: throttles of calls sent before the drop are already accounted for. A capacity
    answer (``capacity_refused``: the campaign's backlog is full) is a different signal: the
    pace is kept, and sending *pauses* for ``capacity_pause`` seconds, a pause that doubles
    (up to ``max_capacity_pause``) while capacity answers persist and resets at the first
    call answered without one. Calls are spaced evenly, so a rate at or below the
    service's never drains its bucket; only when no call was ready for its slot (a busy
    machine, a thread that woke late) do up to ``CATCH_UP`` calls go sooner, to make the
    slots lost up.
    """

    max_rate: float | None = None
    # Where it starts when no max_rate is given: the operation's default pace.
    initial_rate: float = DEFAULT_QUOTA
    # The floor: throttles never slow it below this (calls/s).
    min_rate: float = 0.5
    decrease: float = 0.85
    # Rate added per successful call after slow start: up to near the ceiling found, then
    # beyond it.
    probe_step: float = 0.05
    cruise_step: float = 0.01
    # Slow start (no max_rate): rate added per success until the first throttle or capacity
    # answer. r calls/s answered add r * step a second: the pace doubles every ln2/step s.
    slow_start: bool = True
    slow_start_step: float = 0.7
    slow_start_decrease: float = 0.5
    # The share of max_rate actually paced at (headroom for clock jitter).
    headroom: float = 0.98
    capacity_pause: float = CAPACITY_PAUSE
    max_capacity_pause: float = MAX_CAPACITY_PAUSE
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    # The sleep of ``acquire_async`` (the async clients), a coroutine function.
    async_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    _rate: float = attrs.field(init=False)
    _cap: float | None = attrs.field(init=False)
    _epoch: int = attrs.field(init=False, default=0)
    # The schedule: no slot before this. None until the first call: it goes at once, and
    # the schedule starts there (no catching up on the time before).
    _next_slot: float | None = attrs.field(init=False, default=None)
    # Slow start is over: a throttle or a capacity answer has been met.
    _throttled_once: bool = attrs.field(init=False, default=False)
    _ceiling: float | None = attrs.field(init=False, default=None)
    _pause: float = attrs.field(init=False, default=0.0)
    # Waiting calls queue again when this moves on (a slow-down, or slow start's growth),
    # ``_requeued_at`` the pace then; ``_last_slot`` the slot of the last call let go.
    _queue: int = attrs.field(init=False, default=0)
    _requeued_at: float = attrs.field(init=False, default=0.0)
    _last_slot: float = attrs.field(init=False, default=-math.inf)
    # When the pace last held a call back (its slot was ahead of the clock). A pace that
    # holds nothing back is not what limits the calls (too few in flight, a slow service):
    # growing it then proves nothing, and it would grow without bound (cwnd validation,
    # RFC 7661, for the same reason).
    _held_back_at: float = attrs.field(init=False, default=-math.inf)
    _lock: threading.Lock = attrs.field(init=False, factory=threading.Lock)

    def __attrs_post_init__(self) -> None:
        if self.max_rate is not None and not self.max_rate > 0:
            raise ConfigurationError("max_requests_per_second must be > 0")
        if not self.initial_rate > 0:
            raise ConfigurationError("initial_rate must be > 0")
        if not 0 < self.headroom <= 1:
            raise ConfigurationError("headroom must be in (0, 1]")
        self._cap = None if self.max_rate is None else self.max_rate * self.headroom
        self._rate = self._cap if self._cap is not None else self.initial_rate
        # With a rate given, or slow start off, it starts as if past slow start.
        self._throttled_once = self._cap is not None or not self.slow_start
        self._requeued_at = self._rate

    @property
    def rate(self) -> float:
        """The current pace, in calls per second."""
        return self._rate

    @property
    def epoch(self) -> int:
        """The current epoch: it moves on at each slow-down (a throttle, a capacity pause)."""
        return self._epoch

    @property
    def ceiling(self) -> float | None:
        """The highest pace the service has been found to take (the pace at the last
        throttle), remembered for the run; ``None`` before any throttle."""
        return self._ceiling

    @property
    def slow_starting(self) -> bool:
        """True until the first throttle or capacity answer (with no rate given)."""
        return not self._throttled_once

    @property
    def paused_for(self) -> float:
        """The current capacity pause (seconds); 0 when the backlog is not known full."""
        return self._pause

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

    async def capacity_refused_async(self, epoch: int) -> None:
        """``capacity_refused`` (it never waits)."""
        self.capacity_refused(epoch)

    def booking(self, max_wait: float | None) -> Generator[float, Any, int | None]:
        """``acquire``'s steps: book a slot, yielding each wait to sleep (for a driver
        such as ``RedisRateLimiter``'s); return the epoch, or ``None``."""
        while True:
            with self._lock:
                now = self.clock()
                interval = 1.0 / self._rate
                # The schedule may lag the clock by up to ``CATCH_UP`` intervals: a call
                # that woke late (a busy machine) does not lose its slot for good, as the
                # calls after it go that much sooner. The long-run pace is unchanged, and
                # no more than CATCH_UP + 1 calls ever go within one interval.
                due = now if self._next_slot is None else max(
                    self._next_slot, now - CATCH_UP * interval
                )
                slot = max(now, due)
                if max_wait is not None and slot - now >= max_wait:
                    return None
                self._next_slot = due + interval
                if slot > now:
                    self._held_back_at = now
                epoch, queue = self._epoch, self._queue
            if slot > now:
                yield slot - now
                if max_wait is not None:
                    max_wait -= slot - now
            with self._lock:
                if self._queue == queue:
                    self._last_slot = max(self._last_slot, slot)
                    return epoch

    def feedback(self, epoch: int, *, throttled: bool) -> bool:
        """Speed up after a success; slow down once per epoch after a throttle."""
        with self._lock:
            if not throttled:
                if epoch == self._epoch:
                    self._pause = 0.0  # sent since the last pause, and not refused
                self._rate = self._grown()
                return False
            if epoch < self._epoch:
                return True
            self._ceiling = self._rate
            cut = self.decrease if self._throttled_once else self.slow_start_decrease
            self._throttled_once = True
            floor = self.min_rate if self._cap is None else min(self.min_rate, self._cap)
            self._rate = max(floor, self._rate * cut)
            self._slow_down(1.0 / self._rate)
            return False

    def capacity_refused(self, epoch: int) -> None:
        """A call's answer refused items for capacity: the backlog is full. Keep the pace
        (it is the service's rate, not the backlog's) and pause sending, once per epoch:
        for ``capacity_pause`` seconds, twice as long each time it persists."""
        with self._lock:
            # Slow start ends (its growth met a limit) without a cut.
            self._throttled_once = True
            if epoch < self._epoch:
                return
            self._pause = (
                self.capacity_pause if not self._pause
                else min(self.max_capacity_pause, self._pause * 2)
            )
            self._slow_down(self._pause)

    def _slow_down(self, wait: float) -> None:
        """A new epoch, whose first slot is ``wait`` from now. Calls already waiting for a
        slot see the epoch change when they wake and queue again, so the slots they had
        booked are given up: keeping them would leave the pace idle for as long."""
        self._epoch += 1
        self._queue += 1
        self._requeued_at = self._rate
        self._next_slot = self.clock() + wait

    def _grown(self) -> float:
        """The pace after one more success: the same if the pace held no call back lately
        (it is not the limit, so a success says nothing about a faster one)."""
        rate = self._rate
        if self.clock() - self._held_back_at > max(LIMITED_WINDOW, 2.0 / rate):
            return rate
        if not self._throttled_once:
            rate += self.slow_start_step
            if rate >= self._requeued_at * 1.25:
                # Calls booked at the old pace wait too long: they queue again, from the
                # last call let go, at the new one.
                self._queue += 1
                self._requeued_at = rate
                if self._last_slot > -math.inf:
                    self._next_slot = self._last_slot + 1.0 / rate
            return rate
        # Back quickly to near the ceiling found, then slowly beyond it.
        near = self._ceiling is not None and rate < self._ceiling * self.decrease
        grown = rate + (self.probe_step if near or self._ceiling is None else self.cruise_step)
        return grown if self._cap is None else min(grown, self._cap)


class CapacityPause:
    """One process's pause after capacity answers, for a limiter that has no epochs of its
    own to tell old news by (``RedisRateLimiter``, whose epochs are the fleet's).

    ``refused`` pauses for ``CAPACITY_PAUSE`` seconds, twice as long each time refusals
    persist (up to ``MAX_CAPACITY_PAUSE``); a refusal that comes while a pause is on is of a
    call sent before it, and changes nothing. ``answered`` (a call answered without one,
    once the pause is over) resets it.
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.length = 0.0
        self._until = -math.inf

    def refused(self) -> None:
        """A capacity answer: pause, or pause longer."""
        with self._lock:
            now = self._clock()
            if now < self._until:
                return
            self.length = (
                CAPACITY_PAUSE if not self.length else min(MAX_CAPACITY_PAUSE, self.length * 2)
            )
            self._until = now + self.length

    def answered(self) -> None:
        """A call answered without a capacity refusal: the next pause starts short."""
        with self._lock:  # checked under the lock: a refusal between would be undone
            if self.length and self._clock() >= self._until:
                self.length = 0.0

    def left(self) -> float:
        """Seconds of the pause still to wait (0 or less: none)."""
        return self._until - self._clock()


def tell(limiter: RateLimiter, effect: Feedback) -> bool:
    """Tell ``limiter`` how a call went (``effect``); True if a throttle was known.

    A capacity answer goes to the limiter's ``capacity_refused`` (a pause, the pace kept);
    a limiter without one (a caller's own) is told it as a throttle, as before.
    """
    if effect.capacity:
        refused = getattr(limiter, "capacity_refused", None)
        if callable(refused):
            refused(effect.epoch)
            return False
    return limiter.feedback(effect.epoch, throttled=effect.throttled or effect.capacity)


async def tell_async(limiter: AsyncRateLimiter, effect: Feedback) -> bool:
    """``tell`` for the async clients."""
    if effect.capacity:
        refused = getattr(limiter, "capacity_refused_async", None)
        if callable(refused):
            await refused(effect.epoch)
            return False
    return await limiter.feedback_async(
        effect.epoch, throttled=effect.throttled or effect.capacity
    )
