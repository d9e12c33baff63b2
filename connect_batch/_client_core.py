"""What the sync and async clients share: options, the engine each run gets, outcome values,
and the one mapping from a stopped run to the public exception tree.

Holds ``ClientCore`` (a client's options and ``engine_for``), ``KeyedOutcomes`` (``Success``
and ``Failure`` built from the engine's pending inputs), ``type_check``, and the error mapping
every client and stream uses: ``raise_stopped``, ``aborted_error``, ``result_of``,
``attach_result``, ``batcher_result``. Must not know threads or asyncio (the drivers are
``connect_batch._threads`` and ``connect_batch._asyncio``), nor any one API: an operation is
described by its ``BatchOperation``.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Generic, NoReturn, TypeVar

from connect_batch import _botocore
from connect_batch._engine import AbortRun, Engine, OutcomeFactory, Pending, Stop, Work
from connect_batch._engine.identity import Identities, JobIdentities, RandomIdentities
from connect_batch._engine.pacing import AdaptiveRateLimiter, RateLimiter
from connect_batch._engine.retry import Duration, RetryPolicy, budget_seconds
from connect_batch._errors import (
    CampaignStateError,
    ConfigurationError,
    ContactValidationError,
    InputError,
    NotSentError,
    RunAbortedError,
)
from connect_batch._outcomes import CREATED, BatchResult, Failure, Outcome, Success, success_of
from connect_batch.events import Publisher, Subscriber
from connect_batch.operations.base import BatchOperation, Idempotency

logger = logging.getLogger("connect_batch")
RequestT = TypeVar("RequestT")


def _utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def type_check(expected: type[Any], field: str) -> Callable[[object], None]:
    """A check that an input is an ``expected`` (a request built and validated by its class)."""
    name = expected.__name__

    def check(item: object) -> None:
        if not isinstance(item, expected):
            raise ContactValidationError(
                f"expected a {name}, got {type(item).__name__}", field=field
            )

    check.expected = expected  # type: ignore[attr-defined] # the engine's inlined test
    return check


def _identities_for(job_key: str) -> Identities:
    if not isinstance(job_key, str) or not job_key:
        raise ConfigurationError("job_key must be a non-empty str")
    return JobIdentities(job_key)


class KeyedOutcomes(Generic[RequestT]):
    """Builds ``Success`` and ``Failure`` from the engine's pending inputs, naming each input
    by its key: its RequestIdentifier (``PER_CALL``) or its own client token (``PER_ITEM``)."""

    def __init__(self, idempotency: Idempotency) -> None:
        self._by_token = idempotency is Idempotency.PER_ITEM

    def success(self, pending: Pending[RequestT], resource_id: str) -> Outcome[RequestT]:
        key = pending.key
        if self._by_token:
            return success_of(resource_id, pending.item, pending.position, None, key)
        return success_of(resource_id, pending.item, pending.position, key, None)

    def code(self, outcome: Outcome[RequestT]) -> str:
        """``CREATED`` for a success, else the failure's code (for events)."""
        return CREATED if isinstance(outcome, Success) else str(outcome.code)

    def failure(
        self,
        pending: Pending[RequestT],
        code: str,
        message: str,
        *,
        retryable: bool,
        outcome_unknown: bool,
        duplicate_of: int | None = None,
    ) -> Outcome[RequestT]:
        key = pending.key
        return Failure(
            code=code,
            message=message,
            retryable=retryable,
            request=pending.item,
            position=pending.position,
            outcome_unknown=outcome_unknown,
            request_identifier=None if self._by_token else key,
            client_token=key if self._by_token else None,
            duplicate_of=duplicate_of,
        )


class ClientCore(Generic[RequestT]):
    """What sync and async clients share: options, and the engine each run gets."""

    def __init__(
        self,
        boto_client: Any,
        operation: BatchOperation[RequestT],
        check_item: Callable[[object], None],
        *,
        max_attempts: int,
        deadline: Duration | None,
        initial_backoff: Duration,
        max_backoff: Duration,
        max_item_retries: int,
        job_key: str | None,
        concurrency: int,
        max_requests_per_second: float | None,
        rate_limiter: RateLimiter | None,
        on_retry: Callable[[str], None] | None,
        sleep: Callable[[float], None],
        subscribers: Sequence[Subscriber] = (),
    ) -> None:
        self._client = boto_client
        self._operation = operation
        self._outcomes: OutcomeFactory[RequestT, Outcome[RequestT]] = KeyedOutcomes(
            operation.idempotency
        )
        self._check_item = check_item
        self._identities = RandomIdentities() if job_key is None else _identities_for(job_key)
        self.policy = RetryPolicy(
            max_attempts=max_attempts,
            deadline=deadline,
            initial_backoff=initial_backoff,
            max_backoff=max_backoff,
            max_item_retries=max_item_retries,
            sleep=sleep,
        )
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ConfigurationError("concurrency must be an int >= 1")
        self.concurrency = concurrency
        self.on_retry = on_retry
        # Instrumentation (connect_batch.events): each run publishes to those here when it
        # starts.
        self.subscribers: list[Subscriber] = list(subscribers)
        self._warned_subscribers: set[int] = set()  # a subscriber that raises: logged once
        # The wall clock (aware, UTC) that expirations are counted from when a call is sent.
        self.wall_clock: Callable[[], datetime.datetime] = _utc_now
        start_at_operation_pace(rate_limiter, operation)
        self.rate_limiter: RateLimiter = (
            rate_limiter
            if rate_limiter is not None
            else AdaptiveRateLimiter(
                max_rate=max_requests_per_second,
                initial_rate=operation.default_rate,
                # A documented quota (BatchPutContact's) is where the pace starts, not a
                # guess to grow from fast.
                slow_start=not getattr(operation, "rate_documented", False),
                sleep=sleep,
            )
        )
        _botocore.install(boto_client, operation.name)

    @property
    def operation(self) -> BatchOperation[RequestT]:
        """The description of the operation this client runs."""
        return self._operation

    def engine_for(
        self,
        job_key: str | None,
        skip: Callable[[list[Pending[RequestT]]], bool] | None = None,
        skip_item: Callable[[Pending[RequestT]], bool] | None = None,
        *,
        deadline: Duration | None = None,
    ) -> Engine[RequestT, Outcome[RequestT]]:
        """A new engine for one run (under ``job_key``, default the client's; within
        ``deadline`` seconds from its start, default the client's ``deadline``)."""
        budget = budget_seconds(deadline)
        return Engine(
            self._client,
            self._operation,
            self.policy,
            self._outcomes,
            identities=self._identities if job_key is None else _identities_for(job_key),
            check_item=self._check_item,
            limiter=self.rate_limiter,
            concurrency=self.concurrency,
            skip=skip,
            skip_item=skip_item,
            on_retry=self.on_retry,
            publish=Publisher(self.subscribers, warned=self._warned_subscribers),
            now=self.wall_clock,
            deadline_budget=budget,
        )


def start_at_operation_pace(limiter: object, operation: BatchOperation[Any]) -> None:
    """A limiter given without a rate of its own may start at the operation's pace."""
    set_default_rate = getattr(limiter, "set_default_rate", None)
    if callable(set_default_rate):
        if getattr(operation, "rate_documented", False):
            set_default_rate(operation.default_rate, documented=True)
        else:
            set_default_rate(operation.default_rate)


def warn_dropped(stream: str, operation: str, close: str, block: str) -> None:
    """Log that ``stream`` was dropped unfinished: its outcomes not yielded are lost."""
    with contextlib.suppress(Exception):  # the interpreter may be shutting down
        logger.warning(
            "%s: %s was dropped before it ended, without %s: the outcomes it had not yielded "
            "are lost to the caller. Read it to the end, or leave it through %s or %s.",
            operation, stream, close, block, close,
        )


def result_of(error: BaseException) -> BatchResult[Any] | None:
    """The ``BatchResult`` an exception carries, typed: that of an interrupt
    (``KeyboardInterrupt``, ``SystemExit``, asyncio's ``CancelledError``) or of an error
    raised in your code while a run was open, which the library attaches as ``result``, and
    of a ``RunAbortedError`` or ``ContactValidationError``. ``None`` if it carries none.

    ``except asyncio.CancelledError as cancelled: settled = result_of(cancelled)``
    """
    result = getattr(error, "result", None)
    return result if isinstance(result, BatchResult) else None


def attach_result(error: BaseException, result: BatchResult[Any]) -> None:
    """Give an interrupt the run's result, leaving the exception what it was."""
    with contextlib.suppress(AttributeError):  # an exception type with __slots__
        error.result = result  # type: ignore[attr-defined]


def raise_stopped(
    operation: BatchOperation[Any],
    error: ContactValidationError | AbortRun,
    outcomes: list[Outcome[Any]] | None,
) -> NoReturn:
    """Raise what a run stopped by ``error`` tells its caller: the public exception, with
    ``result`` answering ``outcomes`` (those settled so far; ``None`` for a stream, which
    yielded them already). Bad input before any outcome is raised as it is."""
    if isinstance(error, ContactValidationError):
        if outcomes == []:
            raise error
        done = outcomes or []
        position = error.position if error.position is not None else len(done)
        raise error.at(position, BatchResult.from_outcomes(done)) from None
    result = BatchResult.from_outcomes(outcomes or [])
    raise aborted_error(operation, error, result) from (error.cause or error.__cause__)


def aborted_error(
    operation: BatchOperation[Any], abort: AbortRun, result: BatchResult[Any]
) -> RunAbortedError:
    if abort.fault is not None:
        error = operation.abort_error(abort.fault) or RunAbortedError
        message = operation.abort_message(abort.fault)
        if issubclass(error, CampaignStateError):
            return error(message, code=abort.fault.code, result=result, state=abort.fault.state)
        return error(message, code=abort.fault.code, result=result)
    name = type(abort.cause).__name__
    if abort.reason is Stop.NOT_SENT:
        return NotSentError(
            f"{operation.name}: " + _botocore.unsent_reason(abort.cause or abort),
            code=name,
            result=result,
        )
    if abort.reason is Stop.INPUT_FAILED:
        return InputError(
            f"reading the contacts raised {name}; the run stopped", code=name, result=result
        )
    return RunAbortedError(
        f"{operation.name} raised {name}; the run stopped", code=name, result=result
    )


def batcher_result(
    engine: Engine[RequestT, Outcome[RequestT]], works: Iterable[Work[RequestT, Outcome[RequestT]]]
) -> BatchResult[RequestT]:
    """A batcher's result: every batch handed to a call is answered. ``abandon()`` fills any
    gap (a call still in flight after a second interrupt) and returns the batch's outcomes."""
    abandoned = engine.interrupted_in_flight
    return BatchResult.from_outcomes(o for w in works for o in w.abandon(abandoned))
