"""Instrumentation events: what a run is doing, for progress displays and metrics.

Give any client ``subscribers=[callable, ...]``; each is called with every event, on the
thread that caused it (a run's call threads; ``RunFinished`` on the thread that drove the
run), so it must be quick and thread-safe. A
subscriber that raises is logged (WARNING, once per subscriber) and otherwise ignored: it
never changes what is sent or answered. Events are frozen values and carry no personal
data: operation names, batch numbers, counts, codes and seconds.
"""

from __future__ import annotations

import logging
import types
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

logger = logging.getLogger("connect_batch")


def _frozen_counts(counts: Mapping[str, int]) -> Mapping[str, int]:
    return types.MappingProxyType(dict(counts))


@attrs.frozen
class CallSent:
    """One HTTP attempt leaves: batch ``batch`` (from 1), ``round`` (0, then each
    resubmission), ``attempt`` (from 1, per round), carrying ``items`` inputs."""

    operation: str
    batch: int
    round: int
    attempt: int
    items: int


@attrs.frozen
class CallAnswered:
    """One HTTP attempt ended, answered or not, after ``duration`` seconds.

    ``status`` is the HTTP status (``None`` when no answer came: a connection cut or a
    timeout); ``code`` the error code (``None`` for an answer read in full); ``throttled``
    is True for a throttle (429 or the operation's throttling code) and for an answer that
    refused items for capacity.
    """

    operation: str
    batch: int
    round: int
    attempt: int
    items: int
    status: int | None
    code: str | None
    duration: float
    throttled: bool = attrs.field(kw_only=True)


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
class CapacityBackoff:
    """The service refused ``items`` for capacity (no agents or lines, too many requests
    pending); they wait ``wait`` seconds, longer than a throttle's back-off, and go again."""

    operation: str
    batch: int
    round: int
    items: int
    wait: float


@attrs.frozen
class BatchSettled:
    """Every input of a batch is answered; ``codes`` counts them by outcome (``CREATED``,
    or a failure's code)."""

    operation: str
    batch: int
    items: int
    codes: Mapping[str, int] = attrs.field(factory=dict, converter=_frozen_counts)


@attrs.frozen
class RunFinished:
    """A run that started (``put_*``, ``iter_put_*``, ``open_run``, or a batcher's block)
    is over.

    ``items`` inputs were answered, ``counts`` by outcome; ``goodput`` is inputs created per
    second of ``duration``; ``stopped`` says why it ended early (``INTERRUPTED``,
    ``CLOSED``, ``INVALID_INPUT``, ``DEADLINE``, ``REFUSED``, ``NOT_SENT``, ``UNEXPECTED``,
    ``INPUT_FAILED``, ``ERROR``), or is ``None``.

    ``unbatched`` counts, by outcome, the inputs of ``counts`` that no ``BatchSettled`` of
    the run told: never sent (a refused, interrupted or timed-out run, a duplicate), or
    abandoned in flight by a second Ctrl-C. The run's ``BatchSettled`` codes plus
    ``unbatched`` add up to ``counts``, so a live count adds each once.
    """

    operation: str
    items: int
    counts: Mapping[str, int] = attrs.field(converter=_frozen_counts)
    duration: float
    goodput: float
    stopped: str | None = None
    unbatched: Mapping[str, int] = attrs.field(
        factory=dict, converter=_frozen_counts, kw_only=True
    )


@attrs.frozen
class PaceChanged:
    """The run's rate limiter paces calls at ``rate`` calls per second from now on.

    Told when a run starts and after each answer that moved the pace (a throttle slows it,
    calls answered in full let it grow), for limiters that have a pace (``rate``): the
    in-process one and the Redis one, whose ``rate`` is the fleet's shared pace as last read.
    """

    operation: str
    rate: float


Event = (
    CallSent | CallAnswered | RetryScheduled | ItemsResubmitted | CapacityBackoff
    | BatchSettled | RunFinished | PaceChanged
)
Subscriber = Callable[[Event], None]


class Publisher:
    """Hands each event to every subscriber; a subscriber's error is logged, never raised."""

    def __init__(
        self, subscribers: Sequence[Subscriber], *, warned: set[int] | None = None
    ) -> None:
        self.subscribers = tuple(subscribers)
        # Shared by every run of a client, so that a broken subscriber is logged once.
        self._failed: set[int] = set() if warned is None else warned

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


def fields_of(event: Event) -> dict[str, Any]:
    """An event's fields as a flat dict of plain values (what the adapters record)."""
    fields = attrs.asdict(event, recurse=False)
    for name, value in list(fields.items()):
        if isinstance(value, Mapping):
            fields[name] = dict(value)
    return fields


class LoggingSubscriber:
    """Logs each event as one line on ``logger`` (default ``connect_batch.events``), with
    its fields in ``extra`` (``record.event`` is the event's name, ``record.fields`` its
    fields), for structured log handlers. ``levels`` maps event classes to levels: by
    default calls, settled batches and changes of pace log at DEBUG, retries, back-offs
    and runs at INFO.
    """

    DEFAULT_LEVELS: Mapping[type, int] = {
        CallSent: logging.DEBUG, CallAnswered: logging.DEBUG,
        RetryScheduled: logging.INFO, ItemsResubmitted: logging.INFO,
        CapacityBackoff: logging.INFO, BatchSettled: logging.DEBUG, RunFinished: logging.INFO,
        PaceChanged: logging.DEBUG,
    }

    def __init__(
        self,
        logger: logging.Logger | None = None,
        levels: Mapping[type, int] | None = None,
    ) -> None:
        self.logger = logger or logging.getLogger("connect_batch.events")
        self.levels = {**self.DEFAULT_LEVELS, **(levels or {})}

    def __call__(self, event: Event) -> None:
        level = self.levels.get(type(event), logging.INFO)
        if not self.logger.isEnabledFor(level):
            return
        fields = fields_of(event)
        shown = " ".join(f"{k}={v}" for k, v in fields.items())
        self.logger.log(
            level, "%s %s", type(event).__name__, shown,
            extra={"event": type(event).__name__, "fields": fields},
        )


__all__ = [
    "BatchSettled",
    "CallAnswered",
    "CallSent",
    "CapacityBackoff",
    "Event",
    "ItemsResubmitted",
    "LoggingSubscriber",
    "PaceChanged",
    "RetryScheduled",
    "RunFinished",
    "Subscriber",
    "fields_of",
]
