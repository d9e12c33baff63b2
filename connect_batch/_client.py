"""The clients' common part (``BatchClient``), and ``ContactBatchClient`` for BatchPutContact.

``BatchClient`` is the public face of the engine for any operation: options, runs, streams
and batchers. A client for one API adds its operation's description, its outcome values and
the names of its methods (``put_contacts``, ``put_requests``); it decides nothing else.
"""

from __future__ import annotations

import contextlib
import datetime
import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, NoReturn, TypeVar

from connect_batch import _botocore
from connect_batch._engine import (
    AbortRun,
    Engine,
    OutcomeFactory,
    Pending,
    Run,
    RunKeys,
    Stop,
    Work,
)
from connect_batch._errors import (
    CampaignStateError,
    ConfigurationError,
    ContactValidationError,
    DeadlineExceededError,
    InputError,
    NotSentError,
    RunAbortedError,
)
from connect_batch._identity import Identities, JobIdentities, RandomIdentities
from connect_batch._models import ContactRequest
from connect_batch._operation import BatchOperation, BatchPutContactOperation, Idempotency
from connect_batch._outcomes import BatchResult, Failure, Outcome, Success, success_of
from connect_batch._pacing import AdaptiveRateLimiter, RateLimiter
from connect_batch._retry import Duration, RetryPolicy
from connect_batch.events import Publisher, Subscriber

if TYPE_CHECKING:
    from mypy_boto3_connect import ConnectClient

MAX_INSTANCE_ID_LENGTH = 100
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
        return "CREATED" if isinstance(outcome, Success) else str(outcome.code)

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
    ) -> Engine[RequestT, Outcome[RequestT]]:
        """A new engine for one run (under ``job_key``, default the client's)."""
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
        )


class BatchClient(ClientCore[RequestT]):
    """What every client does, whichever API it speaks: see ``ContactBatchClient``,
    ``OutboundRequestBatchClient`` and ``DialRequestBatchClient`` for their methods.

    The boto3 client is used as it is, except that the library's own calls of the
    operation make one HTTP attempt each (botocore's retries would multiply
    ``max_attempts``), which a handler scoped to those calls arranges. Its other operations,
    and calls of the same operation you make yourself, keep botocore's retry behaviour.

    One client may be shared by threads: each run keeps its own state. ``on_retry`` is
    called with the error code of every attempt about to be retried (for progress displays;
    it must be quick and thread-safe). ``subscribers`` get the run's instrumentation events
    (``connect_batch.events``); the list is ``client.subscribers``, read when a run starts.
    """

    def open_run(
        self,
        items: Iterable[RequestT],
        *,
        job_key: str | None = None,
        skip: Callable[[list[Pending[RequestT]]], bool] | None = None,
        skip_item: Callable[[Pending[RequestT]], bool] | None = None,
    ) -> Run[Outcome[RequestT]]:
        """The low-level run behind every method: an iterator of outcomes.

        ``skip`` is asked about each batch before it is sent; a batch it returns True for is
        neither sent nor answered (the command line resumes at batch boundaries with it).
        ``skip_item`` is asked about each input once it has its key: one it returns True
        for is neither sent nor answered, but still counted in the run's keys. It needs
        per-item idempotency: under a per-call token a batch must be sent again whole.
        Drive it under ``run.engine.interrupts.guard()`` and finish it with ``close()``;
        prefer ``put_*``, ``iter_put_*`` and ``batcher()``, which do both.
        """
        if skip_item is not None and self._operation.idempotency is not Idempotency.PER_ITEM:
            raise ConfigurationError(
                f"skip_item needs per-item idempotency; {self._operation.name} has a token "
                "per call, so resume it whole batches at a time (skip)"
            )
        return self.engine_for(job_key, skip, skip_item).run(items)

    def _put(self, items: Iterable[RequestT], job_key: str | None) -> BatchResult[RequestT]:
        engine = self.engine_for(job_key)
        run = engine.run(items)
        outcomes: list[Outcome[RequestT]] = []
        result: BatchResult[RequestT] | None = None
        try:
            # Signals wait for safe points until the result is built and attached.
            with engine.interrupts.guard():
                try:
                    for chunk in run.chunks():
                        outcomes.extend(chunk)
                    result = BatchResult.from_outcomes(outcomes)
                except (ContactValidationError, AbortRun) as error:
                    raise_stopped(self._operation, error, outcomes)
                except BaseException:
                    try:
                        run.close_interrupted(outcomes.extend)
                    finally:
                        result = BatchResult.from_outcomes(outcomes)
                    raise
        except BaseException as error:
            # An interrupt (or an application handler's exception) carries the result.
            if result is not None and getattr(error, "result", None) is None:
                attach_result(error, result)
            raise
        return result

    def _iter(self, items: Iterable[RequestT], job_key: str | None) -> OutcomeStream[RequestT]:
        return OutcomeStream(self.engine_for(job_key).run(items), self._operation)

    def batcher(self, *, job_key: str | None = None) -> Batcher[RequestT]:
        """A buffered writer for inputs produced one at a time.

        ``with client.batcher() as b: b.put(item)`` sends every 25 inputs. A clean exit
        sends the rest, and ``b.result`` holds the ``BatchResult``. If the block raises,
        nothing more is sent: ``b.unsent`` keeps what was buffered and never handed to a
        call, ``b.result`` answers everything that was. One batcher may be shared by threads.
        """
        return Batcher(self.engine_for(job_key), self._operation.max_items)


class ContactBatchClient(BatchClient[ContactRequest]):
    """Puts any number of contacts through BatchPutContact, answering every one.

    BatchPutContact accepts calls only from the Amazon Connect outbound campaigns service
    principal: a customer's own role gets AccessDeniedException. Code that runs as a
    customer uses ``OutboundRequestBatchClient`` (or ``DialRequestBatchClient``).

    ``connect_client`` is a boto3 ``connect`` client (see ``BatchClient`` on how it is used).
    Retries of a batch reuse its ClientToken; items resubmitted after a per-item
    ``REQUEST_THROTTLED`` or ``INTERNAL_ERROR`` form a new body and get a new token.

    With ``job_key``, generated RequestIdentifiers and every ClientToken are derived from the
    key and the position of the input or call in the run, so running the same input again
    with the same key (after a crash, say) sends the same calls, and the service replays
    what it created the first time instead of creating it again.
    """

    def __init__(
        self,
        connect_client: ConnectClient | Any,
        *,
        instance_id: str,
        max_attempts: int = 5,
        deadline: Duration | None = None,
        initial_backoff: Duration = 0.2,
        max_backoff: Duration = 20.0,
        max_item_retries: int = 3,
        job_key: str | None = None,
        concurrency: int = 1,
        max_requests_per_second: float | None = None,
        rate_limiter: RateLimiter | None = None,
        on_retry: Callable[[str], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        subscribers: Sequence[Subscriber] = (),
    ) -> None:
        self._contacts = BatchPutContactOperation(instance_id_checked(instance_id))
        super().__init__(
            connect_client,
            self._contacts,
            CHECK_CONTACT,
            max_attempts=max_attempts,
            deadline=deadline,
            initial_backoff=initial_backoff,
            max_backoff=max_backoff,
            max_item_retries=max_item_retries,
            job_key=job_key,
            concurrency=concurrency,
            max_requests_per_second=max_requests_per_second,
            rate_limiter=rate_limiter,
            on_retry=on_retry,
            sleep=sleep,
            subscribers=subscribers,
        )

    @property
    def operation(self) -> BatchPutContactOperation:
        """The description of BatchPutContact this client runs."""
        return self._contacts

    @property
    def instance_id(self) -> str:
        """The Connect instance contacts are put into."""
        return self._contacts.instance_id

    def put_contacts(
        self, contacts: Iterable[ContactRequest], *, job_key: str | None = None
    ) -> BatchResult[ContactRequest]:
        """Put every contact and answer each exactly once, in ``succeeded`` or ``failed``.

        ``contacts`` may be any iterable; it is read lazily, 25 at a time. A list is checked
        whole before anything is sent. Raises ``ContactValidationError`` for bad input and
        ``RunAbortedError`` (``AccessDeniedError``, ``InstanceNotFoundError``, ...) when
        nothing more can succeed; both carry ``result``, answering every input consumed
        until then. An interrupt (``KeyboardInterrupt``, ``SystemExit``) lets the calls in
        flight finish, starts no new attempt, and propagates as it was, with a ``result``
        attribute that answers every input consumed.

        ``job_key`` (default: the client's) names this input: run the same input again under
        the same key and the service replays instead of creating. Two *different* inputs
        under one key share tokens, and the service refuses the second (409).
        """
        return self._put(contacts, job_key)

    def iter_put_contacts(
        self, contacts: Iterable[ContactRequest], *, job_key: str | None = None
    ) -> OutcomeStream[ContactRequest]:
        """Like ``put_contacts``, but yield each ``Success`` or ``Failure`` as its batch ends.

        The input is read lazily with a look-ahead of at most ``concurrency`` batches, and
        nothing is kept once yielded, so memory stays flat however long the input. When the
        run stops, every outcome, those the stop settled included, is yielded before the
        exception is raised; its ``result`` is empty, since everything was yielded already.
        Outcomes come in the order batches complete; ``position`` gives the input order.

        To stop early, leave a ``with`` block or call ``close()``: no new attempt starts,
        calls in flight finish, and the outcomes not yet yielded are returned (and kept in
        ``rest``). See ``OutcomeStream``.
        """
        return self._iter(contacts, job_key)


CHECK_CONTACT = type_check(ContactRequest, "contact")


def instance_id_checked(instance_id: object) -> str:
    """``instance_id``, if it can name a Connect instance."""
    if not isinstance(instance_id, str) or not 1 <= len(instance_id) <= MAX_INSTANCE_ID_LENGTH:
        raise ConfigurationError(
            f"instance_id must be a str of 1-{MAX_INSTANCE_ID_LENGTH} characters"
        )
    return instance_id


def start_at_operation_pace(limiter: object, operation: BatchOperation[Any]) -> None:
    """A limiter given without a rate of its own may start at the operation's pace."""
    set_default_rate = getattr(limiter, "set_default_rate", None)
    if callable(set_default_rate):
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


class OutcomeStream(Iterator[Outcome[RequestT]]):
    """The outcomes of ``iter_put_contacts``, one per input, as their batches complete.

    An iterator that can be stopped without losing an answer. ``close()`` stops the run:
    no new attempt starts, the calls in flight finish, and it returns a ``BatchResult`` of
    every outcome settled but not yielded (the in-flight batches, inputs read but not sent),
    also kept in ``rest``. Use it as a context manager so that a ``break`` or an exception
    in the loop closes it; an exception leaving the block carries ``result`` = ``rest``.
    """

    def __init__(
        self, run: Run[Outcome[RequestT]], operation: BatchOperation[RequestT]
    ) -> None:
        self._run = run
        self._operation = operation
        self._done = False
        self.rest: BatchResult[RequestT] = BatchResult()

    def __del__(self) -> None:
        if not self._done:
            warn_dropped("an OutcomeStream", self._operation.name, "close()", "a with block")

    def __iter__(self) -> OutcomeStream[RequestT]:
        return self

    def __next__(self) -> Outcome[RequestT]:
        try:
            return next(self._run)
        except (ContactValidationError, AbortRun) as error:
            self._done = True
            raise_stopped(self._operation, error, None)
        except StopIteration:
            self._done = True
            raise
        except BaseException as interrupt:
            self._finish(interrupt)
            raise

    def _finish(self, error: BaseException | None) -> None:
        """Close the run and keep what it had not yielded in ``rest``; give ``error`` (and
        any exception closing raised) that ``rest`` as its ``result``."""
        self._done = True
        interrupts = self._run.engine.interrupts
        again: BaseException | None = None
        with interrupts.guard(stopping=error is not None):
            if error is not None:
                interrupts.stop()
            try:
                left = self._run.close(stopping=error is not None)
            except BaseException as raised:  # noqa: BLE001 - raised again, with rest, below
                again, left = raised, self._run.take_leftover()
            if left:
                self.rest = BatchResult.from_outcomes(
                    [*self.rest.succeeded, *self.rest.failed, *left]
                )
            for exc in (error, again):
                if exc is not None and getattr(exc, "result", None) is None:
                    attach_result(exc, self.rest)
        if again is not None:
            raise again

    def close(self) -> BatchResult[RequestT]:
        """Stop the run; return (and keep in ``rest``) the outcomes not yet yielded.

        A Ctrl-C while it waits for calls in flight is raised once they finish, carrying
        ``result`` (= ``rest``); a second one stops the wait.
        """
        try:
            self._finish(None)
        except BaseException as error:
            if getattr(error, "result", None) is None:
                attach_result(error, self.rest)
            raise
        return self.rest

    def __enter__(self) -> OutcomeStream[RequestT]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._finish(exc)


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
    if abort.reason is Stop.DEADLINE:
        return DeadlineExceededError(
            "the run's deadline can no longer be met; the rest of the input was not read",
            code=abort.code,
            result=result,
        )
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


def _stopped_by(error: BaseException | None) -> str | None:
    """Why a batcher's block ended early, for ``RunFinished``."""
    if error is None:
        return None
    if isinstance(error, KeyboardInterrupt | SystemExit):
        return "INTERRUPTED"
    return "ERROR"


class Batcher(Generic[RequestT]):
    """Sends inputs given one at a time, 25 per call; see ``BatchClient.batcher``.

    Unlike boto3's DynamoDB ``batch_writer``, it sends nothing more once the block has
    raised, and a call that fails never loses the buffer: every contact handed to a call is
    answered in ``result``, even when the call is interrupted; ``unsent`` holds only
    contacts never handed to one.

    It may be shared by threads: ``put`` is safe to call from several at once, each full
    batch is sent by the thread whose ``put`` filled it (so up to one call per producer
    thread is in flight), and leaving the block waits for the calls in flight. An
    exception leaving the block (Ctrl-C included) stops new attempts at once; a second
    Ctrl-C while the block waits for calls in flight stops the wait, and those calls'
    contacts are reported unknown.
    """

    def __init__(self, engine: Engine[RequestT, Outcome[RequestT]], size: int) -> None:
        self._engine = engine
        self._size = size
        engine.start_clock()
        self._lock = threading.Lock()
        self._buffer: list[Pending[RequestT]] = []
        self._seen = RunKeys()
        self._works: list[Work[RequestT, Outcome[RequestT]]] = []
        self._positions = itertools.count()
        self._numbers = itertools.count(1)
        self._closed = False
        self._started = time.monotonic()
        self.unsent: list[RequestT] = []
        self.result: BatchResult[RequestT] = BatchResult()

    def __enter__(self) -> Batcher[RequestT]:
        return self

    def put(self, contact: RequestT) -> None:
        """Buffer ``contact`` (any input); send the buffer when it holds 25."""
        with self._lock:
            if self._closed:
                raise ConfigurationError("this batcher is closed; start another")
            pending = self._engine.key(contact, next(self._positions), self._seen)
            if pending.duplicate_of is not None:
                # The same request as an earlier input: answered now, never sent.
                self._works.append(self._engine.answered_now(pending))
                return
            self._buffer.append(pending)
            if len(self._buffer) < self._size:
                return
            work, number = self._hand_over()
        self._send(work, number)

    def _hand_over(self) -> tuple[Work[RequestT, Outcome[RequestT]], int]:
        """The buffer becomes a batch for a call; called with the lock held."""
        work: Work[RequestT, Outcome[RequestT]] = Work(self._buffer)
        self._buffer = []
        self._works.append(work)
        return work, next(self._numbers)

    def _send(self, work: Work[RequestT, Outcome[RequestT]], number: int) -> None:
        engine = self._engine
        try:
            # The call is made on this thread: Ctrl-C lets it finish, then stops the run.
            with engine.interrupts.guard(), engine.interrupts.direct():
                abort = engine.settle(work.batch, number, work)
        except BaseException:
            engine.cancel()
            with self._lock:
                self._closed = True
            raise
        finally:
            work.finished.set()  # also when settle never started (an interrupt before it)
        if abort is not None:
            engine.cancel()
            with self._lock:
                self._closed = True
            # Other threads' calls in flight finish first, and their answers count: the
            # run stops as it does on Ctrl-C (a second one stops the wait).
            with engine.interrupts.guard(stopping=True):
                self._wait_for_calls(stopping=True)
            with self._lock:
                self.result = self._result()
            raise aborted_error(engine.operation, abort, self.result) from (
                abort.cause or abort.__cause__
            )

    def _result(self) -> BatchResult[RequestT]:
        return batcher_result(self._engine, self._works)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        engine = self._engine
        if exc is not None:
            engine.cancel()  # nothing new starts: calls in flight finish
        with self._lock:
            rest = self._hand_over() if exc is None and self._buffer and not self._closed else None
            self._closed = True
            self.unsent = [p.item for p in self._buffer]
        with engine.interrupts.guard(stopping=exc is not None):
            try:
                if rest is not None:
                    self._send(*rest)
                self._wait_for_calls(stopping=exc is not None)
            except BaseException:
                engine.interrupts.stop()
                raise
            finally:
                with self._lock:
                    self.result = self._result()
                outcomes: list[Outcome[RequestT]] = [*self.result.succeeded, *self.result.failed]
                engine.finish_run(outcomes, self._started, _stopped_by(exc))

    def _wait_for_calls(self, *, stopping: bool) -> None:
        """Wait for other threads' calls; a second interrupt stops the wait."""
        engine = self._engine
        try:
            for work in list(self._works):
                if stopping and work.withdraw():
                    # Handed over but never started: nothing of it was sent.
                    work.abandon(engine.interrupted_unsent)
                    continue
                while not work.finished.wait(0.05):
                    engine.interrupts.run_deferred()  # an application handler may raise
                    if engine.interrupts.stop_waiting:
                        raise KeyboardInterrupt  # noqa: TRY301 - the wait ends as Ctrl-C does
        except BaseException:
            engine.cancel()
            for work in self._works:
                work.abandon(engine.interrupted_in_flight)
            raise
