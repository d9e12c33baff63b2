"""OpenTelemetry for connect_batch: a span per HTTP attempt, and metrics an operator can
chart without writing code. Needs the ``otel`` extra (``opentelemetry-api``).

    from connect_batch.otel import OpenTelemetrySubscriber
    client = OutboundRequestBatchClient(..., subscribers=[OpenTelemetrySubscriber()])

With no providers given it uses the global ones (``opentelemetry.metrics`` and
``opentelemetry.trace``), which the application's SDK setup configures; without an SDK
they record nothing, at almost no cost. Instruments (see docs/observability.md):

============================== ========= ====================================================
name                           unit      attributes
============================== ========= ====================================================
``connect_batch.calls``        {call}    operation, http.status_code, error.code, throttled
``connect_batch.call.duration`` s        operation, throttled
``connect_batch.retries``      {retry}   operation, error.code
``connect_batch.items.resubmitted`` {item} operation, capacity
``connect_batch.items``        {item}    operation, outcome
``connect_batch.pace``         {call}/s  operation
``connect_batch.run.duration`` s         operation, stopped
``connect_batch.run.goodput``  {item}/s  operation
============================== ========= ====================================================

``connect_batch.items`` grows as each batch settles; ``connect_batch.pace`` is a gauge of the
rate limiter's pace as last told.

No attribute holds personal data: they come from events, which carry none.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from connect_batch._errors import MissingExtraError

with MissingExtraError.guard("connect_batch.otel", "otel"):
    from opentelemetry import metrics, trace

from connect_batch.events import (
    BatchSettled,
    CallAnswered,
    CallSent,
    Event,
    ItemsResubmitted,
    PaceChanged,
    RetryScheduled,
    RunFinished,
)

SCOPE = "connect_batch"
OK = "OK"  # the error.code of an attempt answered in full
NONE = "none"  # the http.status_code of an attempt that got no answer


class OpenTelemetrySubscriber:
    """An event subscriber that records spans and metrics through OpenTelemetry.

    ``meter_provider`` and ``tracer_provider`` default to the global ones. One subscriber may
    serve many clients and threads.
    """

    def __init__(
        self, *, meter_provider: Any | None = None, tracer_provider: Any | None = None
    ) -> None:
        meter = (meter_provider or metrics.get_meter_provider()).get_meter(SCOPE)
        self._tracer = (tracer_provider or trace.get_tracer_provider()).get_tracer(SCOPE)
        self._calls = meter.create_counter(
            "connect_batch.calls", unit="{call}",
            description="HTTP attempts of the batch operations, by answer",
        )
        self._call_duration = meter.create_histogram(
            "connect_batch.call.duration", unit="s",
            description="Duration of each HTTP attempt, answered or not",
        )
        self._retries = meter.create_counter(
            "connect_batch.retries", unit="{retry}",
            description="Calls retried under the same token, by the error that caused it",
        )
        self._resubmitted = meter.create_counter(
            "connect_batch.items.resubmitted", unit="{item}",
            description="Items refused for a transient reason and put again in a new call",
        )
        self._items = meter.create_counter(
            "connect_batch.items", unit="{item}",
            description="Inputs answered, by outcome (CREATED or a failure code), as their "
            "batch settles (inputs never sent: when their run ends)",
        )
        # The pace last told, by operation: an observable gauge reads it at each export.
        self._paces: dict[str, float] = {}
        meter.create_observable_gauge(
            "connect_batch.pace", callbacks=[self._observe_pace], unit="{call}/s",
            description="The rate limiter's pace: calls per second it lets through",
        )
        self._run_duration = meter.create_histogram(
            "connect_batch.run.duration", unit="s", description="Duration of each run",
        )
        self._goodput = meter.create_histogram(
            "connect_batch.run.goodput", unit="{item}/s",
            description="Inputs created per second of each run",
        )
        self._spans: dict[tuple[int, int, str, int, int, int], Any] = {}
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        if isinstance(event, CallSent):
            self._start(event)
        elif isinstance(event, CallAnswered):
            self._answered(event)
        elif isinstance(event, RetryScheduled):
            self._retries.add(1, {"operation": event.operation, "error.code": event.code})
        elif isinstance(event, ItemsResubmitted):
            self._resubmitted.add(
                event.items, {"operation": event.operation, "capacity": event.capacity}
            )
        elif isinstance(event, BatchSettled):
            self._add_items(event.operation, event.codes)
        elif isinstance(event, PaceChanged):
            self._paces[event.operation] = event.rate
        elif isinstance(event, RunFinished):
            # The inputs no BatchSettled told (never sent, or abandoned in flight).
            self._add_items(event.operation, event.unbatched)
            self._run_duration.record(
                event.duration, {"operation": event.operation, "stopped": event.stopped or NONE}
            )
            self._goodput.record(event.goodput, {"operation": event.operation})

    def _add_items(self, operation: str, codes: Mapping[str, int]) -> None:
        for outcome, count in codes.items():
            self._items.add(count, {"operation": operation, "outcome": outcome})

    def _observe_pace(self, _options: Any) -> Iterator[Any]:
        for operation, rate in list(self._paces.items()):
            yield metrics.Observation(rate, {"operation": operation})

    @staticmethod
    def _key(event: CallSent | CallAnswered) -> tuple[int, int, str, int, int, int]:
        # Sent and answered on the same call thread, and (async clients) in the same task:
        # runs on other threads, or in other tasks of one event loop, have their own.
        return (
            threading.get_ident(), id(_current_task()), event.operation, event.batch,
            event.round, event.attempt,
        )

    def _start(self, event: CallSent) -> None:
        span = self._tracer.start_span(
            f"connect_batch {event.operation}",
            kind=trace.SpanKind.CLIENT,
            attributes={
                "connect_batch.operation": event.operation,
                "connect_batch.batch": event.batch,
                "connect_batch.round": event.round,
                "connect_batch.attempt": event.attempt,
                "connect_batch.items": event.items,
            },
        )
        with self._lock:
            self._spans[self._key(event)] = span

    def _answered(self, event: CallAnswered) -> None:
        status = NONE if event.status is None else str(event.status)
        code = event.code or OK
        self._calls.add(1, {
            "operation": event.operation, "http.status_code": status, "error.code": code,
            "throttled": event.throttled,
        })
        self._call_duration.record(
            event.duration, {"operation": event.operation, "throttled": event.throttled}
        )
        with self._lock:
            span = self._spans.pop(self._key(event), None)
        if span is None:
            return
        if event.status is not None:
            span.set_attribute("http.response.status_code", event.status)
        span.set_attribute("connect_batch.error_code", code)
        span.set_attribute("connect_batch.throttled", event.throttled)
        if event.code is not None:
            span.set_status(trace.Status(trace.StatusCode.ERROR, code))
        span.end()


def _current_task() -> asyncio.Task[Any] | None:
    """The asyncio task running now, if any (the async clients settle a batch per task)."""
    try:
        return asyncio.current_task()
    except RuntimeError:  # no event loop running in this thread
        return None


__all__ = ["OpenTelemetrySubscriber"]
