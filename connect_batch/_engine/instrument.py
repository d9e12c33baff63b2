"""Instrumentation: the events a run publishes, and the counts ``RunFinished`` carries.

Everything here costs nothing when no one subscribes (``on`` is False): the engine asks
before it builds an event. The durations of calls and runs are measured on
``time.monotonic`` here, so the batch state machine reads no clock for them. Knows no API
(an operation's name is a label), no thread, no event loop.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from connect_batch._outcomes import CREATED
from connect_batch.events import (
    BatchSettled,
    CallAnswered,
    CallSent,
    PaceChanged,
    Publisher,
    RunFinished,
)


class Instrument:
    """One run's publisher, the operation's name for its events, and its tally by code."""

    def __init__(self, publish: Publisher, name: str, code: Callable[[Any], str]) -> None:
        self.publish = publish
        self._name = name
        self._code = code
        # Outcomes handed over, by code, for RunFinished.
        self._tally: collections.Counter[str] = collections.Counter()
        # Outcomes told by BatchSettled, by code: RunFinished tells the rest (``unbatched``).
        self._settled: collections.Counter[str] = collections.Counter()
        self._over = False  # RunFinished told: a batch settling later is not told again
        self._pace: float | None = None  # the pace last told (PaceChanged)
        self._lock = threading.Lock()

    @property
    def on(self) -> bool:
        """True when someone listens."""
        return bool(self.publish.subscribers)

    # Calls (only called when ``on``).
    def call_sent(
        self, number: int, round_number: int, attempt: int, items: int
    ) -> float:
        """Publish ``CallSent``; the time it left, for ``call_answered``."""
        self.publish(CallSent(self._name, number, round_number, attempt, items))
        return time.monotonic()

    def call_answered(
        self,
        number: int,
        round_number: int,
        attempt: int,
        items: int,
        *,
        status: int | None,
        code: str | None,
        sent_at: float,
        throttled: bool,
    ) -> None:
        """Publish ``CallAnswered`` for the attempt that left at ``sent_at``."""
        self.publish(CallAnswered(
            self._name, number, round_number, attempt, items, status, code,
            time.monotonic() - sent_at, throttled=throttled,
        ))

    def batch_settled(self, number: int, size: int, outcomes: Iterable[Any]) -> None:
        """Publish ``BatchSettled`` (only when someone listens).

        Not after ``RunFinished``: a batch abandoned in flight (a second Ctrl-C) is counted
        there, in ``unbatched``, and a live count must not add it twice."""
        if self.publish.subscribers:
            codes = collections.Counter(self._code(o) for o in outcomes)
            with self._lock:
                if self._over:
                    return
                self._settled.update(codes)
            self.publish(BatchSettled(self._name, number, size, codes))

    def paced(self, limiter: object) -> None:
        """Publish ``PaceChanged`` if ``limiter``'s pace moved since last told (only when
        someone listens, and only for a limiter with a ``rate``)."""
        if not self.publish.subscribers:
            return
        # Read and told under one lock: two threads cannot tell an older pace last.
        with self._lock:
            rate = getattr(limiter, "rate", None)
            if not isinstance(rate, int | float) or rate == self._pace:
                return
            self._pace = rate = float(rate)
            self.publish(PaceChanged(self._name, rate))

    # A run.
    def begin_run(self) -> float:
        """A run starts: its counts start from zero; the start time, for ``finished``."""
        self._tally = collections.Counter()
        with self._lock:
            self._settled = collections.Counter()
            self._over = False
            self._pace = None
        return time.monotonic()

    def count(self, outcomes: Iterable[Any]) -> None:
        """Count outcomes by code for ``RunFinished`` (only when someone listens)."""
        if self.publish.subscribers:
            code = self._code
            self._tally.update(code(o) for o in outcomes)

    def finished(self, started: float, stopped: str | None) -> None:
        """Publish ``RunFinished`` (only when someone listens)."""
        if not self.publish.subscribers:
            return
        duration = time.monotonic() - started
        counts = dict(self._tally)
        created = counts.get(CREATED, 0)
        with self._lock:
            self._over = True
            unbatched = self._tally - self._settled
        self.publish(RunFinished(
            self._name, sum(counts.values()), counts, duration,
            created / duration if duration > 0 else 0.0, stopped, unbatched=unbatched,
        ))
