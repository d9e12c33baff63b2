"""A simulated service for the pacer's tests: a fake clock, no wall time, no threads.

``simulate`` drives an ``AdaptiveRateLimiter``'s ``booking`` steps for ``workers`` callers
(the client's concurrency) against a token bucket (the service's rate and burst) that
answers ``latency`` seconds after a call leaves, and optionally refuses every item for
capacity inside given windows. The retries mirror the engine's: a throttle the limiter
already knew goes again at once (the pace is the wait), another after the policy's mean
first back-off; a call refused for capacity goes again after the capacity back-off. It
returns what happened, for tests to assert on. Must not know the engine or any API.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Generator
from typing import Any

import attrs

from connect_batch import AdaptiveRateLimiter


@attrs.define
class Bucket:
    """The service's token bucket: ``rate`` calls/s, ``burst`` at once, full at first."""

    rate: float
    burst: float
    tokens: float = attrs.field(init=False)
    last: float = 0.0

    def __attrs_post_init__(self) -> None:
        self.tokens = self.burst

    def take(self, now: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


@attrs.define
class Run:
    """What a simulated run did: each call's (sent at, outcome), the pace over time."""

    calls: list[tuple[float, str]] = attrs.Factory(list)
    paces: list[tuple[float, float]] = attrs.Factory(list)
    finished_at: float = 0.0

    @property
    def throttled(self) -> float:
        """The share of calls throttled."""
        return sum(o == "throttled" for _, o in self.calls) / len(self.calls)

    def first_pace_at(self, rate: float) -> float | None:
        """When the pace first reached ``rate``."""
        return next((t for t, r in self.paces if r >= rate), None)

    def accepted_between(self, start: float, end: float) -> int:
        """Calls the service accepted that were sent in [start, end)."""
        return sum(o == "ok" and start <= t < end for t, o in self.calls)


class Clock:
    """The simulation's clock: the limiter reads it; nothing ever sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def simulate(
    limiter: AdaptiveRateLimiter,
    clock: Clock,
    *,
    calls: int,
    rate: float,
    burst: float,
    latency: float = 0.03,
    workers: int = 8,
    capacity_windows: tuple[tuple[float, float], ...] = (),
    retry_backoff: float = 0.1,
    capacity_backoff: float = 0.75,
) -> Run:
    """Put ``calls`` calls through ``limiter`` against the simulated service."""
    bucket = Bucket(rate, burst)
    run = Run()
    order = itertools.count()
    events: list[tuple[float, int, Generator[float, Any, None]]] = []
    left = iter(range(calls))

    def at(when: float, steps: Generator[float, Any, None]) -> None:
        heapq.heappush(events, (when, next(order), steps))

    def worker() -> Generator[float, Any, None]:
        for _ in left:
            failures = refusals = 0
            while True:
                steps = limiter.booking(None)
                try:
                    while True:
                        yield next(steps)
                except StopIteration as done:
                    epoch = done.value
                sent = clock.now
                refused = any(a <= sent < b for a, b in capacity_windows)
                throttled = not refused and not bucket.take(sent)
                outcome = "throttled" if throttled else "refused" if refused else "ok"
                run.calls.append((sent, outcome))
                yield latency
                if throttled:
                    failures += 1
                    known = limiter.feedback(epoch, throttled=True)
                    if not known:
                        yield retry_backoff * 2 ** (failures - 1)
                    continue
                if refused:
                    refusals += 1
                    limiter.capacity_refused(epoch)
                    yield capacity_backoff * 2 ** (refusals - 1)
                    continue
                limiter.feedback(epoch, throttled=False)
                break
        run.finished_at = max(run.finished_at, clock.now)

    for _ in range(workers):
        at(0.0, worker())
    while events:
        when, _, steps = heapq.heappop(events)
        clock.now = when
        run.paces.append((when, limiter.rate))
        try:
            wait = next(steps)
        except StopIteration:
            continue
        at(when + wait, steps)
    return run


def limiter_on(clock: Clock, **options: Any) -> AdaptiveRateLimiter:
    """An ``AdaptiveRateLimiter`` reading ``clock``; its ``acquire`` moves the clock on
    (``simulate`` drives ``booking`` itself and never sleeps)."""

    def sleep(seconds: float) -> None:
        clock.now += seconds

    return AdaptiveRateLimiter(clock=clock, sleep=sleep, **options)
