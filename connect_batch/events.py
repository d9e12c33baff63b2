"""Instrumentation events: what a run is doing, for progress displays and metrics.

Give any client ``subscribers=[callable, ...]``; each is called with every event, on the
thread that caused it (a run's call threads), so it must be quick and thread-safe. A
subscriber that raises is logged (WARNING, once per subscriber) and otherwise ignored: it
never changes what is sent or answered. Events are frozen values and carry no personal
data: operation names, batch numbers, counts, codes and seconds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import attrs

logger = logging.getLogger("connect_batch")


@attrs.frozen
class RetryScheduled:
    """A call failed in a way worth retrying; the same call goes again after ``wait`` s.

    ``batch`` is the run's batch number (from 1), ``attempt`` the HTTP attempts made so
    far, ``code`` the error code of the last, ``items`` the inputs the call carries.
    """

    operation: str
    batch: int
    attempt: int
    code: str
    wait: float
    items: int


@attrs.frozen
class ItemsResubmitted:
    """Items a call's answer refused for a transient reason go again in a new call.

    ``round`` counts resubmissions of the batch (from 1); ``capacity`` is True when the
    service was out of capacity (a longer back-off: ``wait`` seconds).
    """

    operation: str
    batch: int
    round: int
    items: int
    wait: float
    capacity: bool


@attrs.frozen
class BatchSettled:
    """Every input of a batch is answered (created, failed, or unknown)."""

    operation: str
    batch: int
    items: int


Event = RetryScheduled | ItemsResubmitted | BatchSettled
Subscriber = Callable[[Event], None]


class Publisher:
    """Hands each event to every subscriber; a subscriber's error is logged, never raised."""

    def __init__(self, subscribers: Sequence[Subscriber]) -> None:
        self.subscribers = tuple(subscribers)
        self._failed: set[int] = set()

    def __bool__(self) -> bool:
        return bool(self.subscribers)

    def __call__(self, event: Event) -> None:
        for subscriber in self.subscribers:
            try:
                subscriber(event)
            except Exception:
                if id(subscriber) not in self._failed:
                    self._failed.add(id(subscriber))
                    logger.warning(
                        "event subscriber %r raised on %s; ignored (logged once)",
                        subscriber, type(event).__name__, exc_info=True,
                    )


__all__ = ["BatchSettled", "Event", "ItemsResubmitted", "RetryScheduled", "Subscriber"]
