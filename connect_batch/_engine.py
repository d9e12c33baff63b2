"""The engine: chunk any iterable, give each call a ClientToken, retry, settle every item.

It is told what the operation is (``BatchOperation``) and knows nothing of its field names.
It yields one outcome per input, whatever happens; when the run must stop it first
settles every input it has consumed, then raises.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import logging
import threading
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from typing import Any, Generic, Protocol, TypeVar

import attrs

from connect_batch import _botocore
from connect_batch._errors import CallFault, ContactValidationError, fault_from
from connect_batch._identity import Identities, RandomIdentities
from connect_batch._operation import Answer, BatchOperation, ItemAnswer
from connect_batch._outcomes import FailureCode
from connect_batch._pacing import NoLimit, RateLimiter
from connect_batch._retry import RetryPolicy

ItemT = TypeVar("ItemT")
OutT = TypeVar("OutT")
OutT_co = TypeVar("OutT_co", covariant=True)
logger = logging.getLogger("connect_batch")


@attrs.define(weakref_slot=False)
class Pending(Generic[ItemT]):
    """An input read and keyed, not yet settled."""

    position: int
    key: str
    item: ItemT


class OutcomeFactory(Protocol[ItemT, OutT_co]):
    """Builds the caller's outcome values, so the engine makes one object per input."""

    def success(self, pending: Pending[ItemT], resource_id: str) -> OutT_co:
        """The input was created as ``resource_id``."""

    def failure(
        self,
        pending: Pending[ItemT],
        code: str,
        message: str,
        *,
        retryable: bool,
        outcome_unknown: bool,
    ) -> OutT_co:
        """The input was not (known to be) created."""


INPUT_FAILED = "INPUT_FAILED"
CANCELLED = "CANCELLED"
_NOT_ANSWERED = ItemAnswer()


class AbortRun(Exception):  # noqa: N818 - a control-flow signal, not an error users see
    """The run must stop: after ``fault``, or ``cause``, or for the reason ``code`` names."""

    def __init__(
        self,
        fault: CallFault | None,
        cause: BaseException | None = None,
        *,
        code: str | None = None,
    ) -> None:
        self.code = code or (fault.code if fault else type(cause).__name__)
        super().__init__(self.code)
        self.fault = fault
        self.cause = cause


class _Retry(Exception):  # noqa: N818 - a control-flow signal for tenacity
    def __init__(self, fault: CallFault, *, counted: bool = True) -> None:
        super().__init__(fault.code)
        self.fault = fault
        self.counted = counted


class _DeadlinePassed(Exception):  # noqa: N818 - a control-flow signal
    pass





@attrs.define
class Engine(Generic[ItemT, OutT]):
    """Runs a batch operation over an iterable with a retry policy."""

    _client: Any
    _operation: BatchOperation[ItemT]
    _policy: RetryPolicy
    _outcomes: OutcomeFactory[ItemT, OutT]
    _identities: Identities = attrs.field(factory=RandomIdentities)
    _check_item: Callable[[object], None] | None = None
    _limiter: RateLimiter = attrs.field(factory=NoLimit)
    _concurrency: int = 1
    # Resuming: a batch for which this returns True is neither sent nor answered.
    _skip: Callable[[list[Pending[ItemT]]], bool] | None = None
    # Told of every failed attempt that will be retried (for progress displays).
    _on_retry: Callable[[str], None] | None = None
    _cancelled: threading.Event = attrs.field(init=False, factory=threading.Event)

    @property
    def operation(self) -> BatchOperation[ItemT]:
        """The operation this engine runs."""
        return self._operation

    def run(self, items: Iterable[ItemT]) -> Iterator[OutT]:
        """Yield one outcome per input, as its batch completes.

        When the run cannot go on, every input consumed so far is settled first, then
        ``AbortRun`` or ``ContactValidationError`` is raised.
        """
        in_memory = isinstance(items, Sequence)
        # A sequence is checked whole first, so that bad input stops the run before anything
        # at all is sent; an iterator is read one batch at a time.
        keyed = iter(list(self._keyed(items))) if in_memory else self._keyed(items)
        deadline_at = self._policy.deadline_at()
        if self._concurrency == 1:
            yield from self._run_serially(keyed, deadline_at, in_memory=in_memory)
        else:
            yield from self._run_concurrently(keyed, deadline_at, in_memory=in_memory)

    def _run_serially(
        self, keyed: Iterator[Pending[ItemT]], deadline_at: float | None, *, in_memory: bool
    ) -> Iterator[OutT]:
        for number in itertools.count(1):
            batch = yield from self._take(keyed, self._operation.max_items)
            if not batch:
                return
            if self._skip is not None and self._skip(batch):
                continue  # settled in an earlier run; its number stays taken
            if deadline_at is not None and self._policy.clock() >= deadline_at:
                yield from self._past_deadline(batch, keyed, in_memory=in_memory)
                return
            try:
                yield from self._settle_batch(batch, number, deadline_at)
            except AbortRun:
                if in_memory:  # already read: answer it too
                    yield from (self._unsent(p) for p in keyed)
                raise

    def _run_concurrently(  # noqa: PLR0912 - read, submit, drain: one loop reads best
        self, keyed: Iterator[Pending[ItemT]], deadline_at: float | None, *, in_memory: bool
    ) -> Iterator[OutT]:
        """Up to ``concurrency`` batches in flight; input is read only when a slot is free."""
        numbers = itertools.count(1)
        stop: BaseException | None = None
        late: list[Pending[ItemT]] = []
        pool = concurrent.futures.ThreadPoolExecutor(
            self._concurrency, thread_name_prefix="connect_batch"
        )
        in_flight: set[concurrent.futures.Future[tuple[list[OutT], AbortRun | None]]] = set()
        try:
            reading = True
            while True:
                while reading and stop is None and len(in_flight) < self._concurrency:
                    try:
                        batch = yield from self._take(keyed, self._operation.max_items)
                    except (ContactValidationError, AbortRun) as error:
                        stop = error  # settle what is in flight before raising it
                        break
                    number = next(numbers)
                    if not batch:
                        reading = False
                    elif self._skip is not None and self._skip(batch):
                        continue  # settled in an earlier run; its number stays taken
                    elif deadline_at is not None and self._policy.clock() >= deadline_at:
                        late, reading = batch, False
                    else:
                        in_flight.add(pool.submit(self.settle, batch, number, deadline_at))
                if not in_flight:
                    break
                done, in_flight = concurrent.futures.wait(
                    in_flight, return_when=concurrent.futures.FIRST_COMPLETED
                )
                for future in done:
                    settled, abort = future.result()
                    yield from settled
                    if abort is not None and stop is None:
                        stop, reading = abort, False
        finally:
            # Closed early (the caller stopped iterating): no attempt starts from now on.
            if in_flight:
                self._cancelled.set()
            pool.shutdown(wait=True, cancel_futures=True)
        if stop is not None:
            # A stop outranks the deadline: what was read late is answered as not sent.
            yield from (self._unsent(p) for p in late)
            if in_memory and isinstance(stop, AbortRun):
                yield from (self._unsent(p) for p in keyed)
            raise stop
        if late:
            yield from self._past_deadline(late, keyed, in_memory=in_memory)

    def _take(
        self, keyed: Iterator[Pending[ItemT]], count: int
    ) -> Generator[OutT, None, list[Pending[ItemT]]]:
        """Read up to ``count`` inputs; if reading fails, settle what was read, then raise."""
        batch: list[Pending[ItemT]] = []
        try:
            batch.extend(itertools.islice(keyed, count))
        except ContactValidationError:
            yield from (self._unsent(p) for p in batch)
            raise
        except Exception as exc:
            # The caller's iterable raised: the run cannot go on, but what it did stands.
            yield from (self._unsent(p) for p in batch)
            raise AbortRun(None, exc, code=INPUT_FAILED) from exc
        return batch

    def _past_deadline(
        self, batch: list[Pending[ItemT]], keyed: Iterator[Pending[ItemT]], *, in_memory: bool
    ) -> Generator[OutT, None, None]:
        """Answer what is left without sending it; stop reading an iterator."""
        rest = list(keyed) if in_memory else (yield from self._take(keyed, 1))
        logger.warning(
            "%s: the run's deadline passed; %d unsent item(s) reported DEADLINE_EXCEEDED%s",
            self._operation.name, len(batch) + len(rest),
            "" if in_memory or not rest else " and the rest of the input left unread",
        )
        for p in (*batch, *rest):
            yield self._failed(
                p, FailureCode.DEADLINE_EXCEEDED, "not sent: the run's deadline passed",
                retryable=True,
            )
        if rest and not in_memory:
            raise AbortRun(None, None, code=FailureCode.DEADLINE_EXCEEDED)

    def _keyed(self, items: Iterable[ItemT]) -> Iterator[Pending[ItemT]]:
        seen: set[str] = set()
        for position, item in enumerate(items):
            yield self.key(item, position, seen)

    def key(self, item: ItemT, position: int, seen: set[str]) -> Pending[ItemT]:
        """Check ``item`` and give it its key; ``seen`` holds the run's keys so far."""
        if self._check_item is not None:
            try:
                self._check_item(item)
            except ContactValidationError as error:
                raise error.at(position) from None
        key = self._operation.item_key(item)
        generated = key is None
        if key is None:
            key = self._identities.request_identifier(position)
        if key in seen:
            raise ContactValidationError(
                "request_identifier repeats an earlier input's in this call",
                field="request_identifier",
                position=position,
            )
        if not generated:
            # Only identifiers given by the caller are remembered: generated ones are unique
            # by construction, and remembering them would make memory grow with the input.
            seen.add(key)
        return Pending(position, key, item)

    def settle(
        self, batch: list[Pending[ItemT]], number: int, deadline_at: float | None
    ) -> tuple[list[OutT], AbortRun | None]:
        """Settle one batch; an abort comes back as a value, after the batch's outcomes."""
        settled: list[OutT] = []
        try:
            settled.extend(self._settle_batch(batch, number, deadline_at))
        except AbortRun as abort:
            return settled, abort
        return settled, None

    def _settle_batch(
        self, batch: list[Pending[ItemT]], number: int, deadline_at: float | None
    ) -> Iterator[OutT]:
        pending = [(p, _NOT_ANSWERED) for p in batch]
        for round_number in range(self._policy.max_item_retries + 1):
            if round_number:
                wait = self._policy.backoff(round_number)
                if deadline_at is not None and self._policy.clock() + wait >= deadline_at:
                    logger.warning(
                        "%s batch=%d: deadline too near to resubmit %d item(s); reported failed"
                        " and retryable", self._operation.name, number, len(pending),
                    )
                    for p, seen in pending:
                        yield self._failed(p, seen.code or "", seen.message, retryable=True)
                    return
                self._policy.sleep(wait)
            items = [p for p, _ in pending]
            # A new body needs a new token: the service refuses a token reused with a
            # different body (409). Retries of this same body, in _send, reuse it.
            token = self._identities.client_token(number, round_number)
            faults: list[CallFault] = []
            try:
                answer = self._send(
                    pending=items, token=token, number=number, round_number=round_number,
                    faults=faults, deadline_at=deadline_at,
                )
            except (_Retry, _DeadlinePassed) as stop:
                yield from self._give_up(items, faults, number, token, stop)
                return
            except AbortRun as abort:
                yield from self._failed_all(items, abort, faults)
                raise
            if answer is None:  # a final whole-call error, such as InvalidRequestException
                last = faults[-1]
                # An earlier attempt of this same call may still have created the contacts.
                unknown = any(f.may_have_acted for f in faults)
                for p in items:
                    yield self._failed(
                        p, last.code, last.message, retryable=False, outcome_unknown=unknown
                    )
                return
            last_round = round_number == self._policy.max_item_retries
            pending = yield from self._read(items, answer, last_round=last_round)
            if not pending:
                return

    def _send(
        self,
        *,
        pending: list[Pending[ItemT]],
        token: str,
        number: int,
        round_number: int,
        faults: list[CallFault],
        deadline_at: float | None,
    ) -> Answer | None:
        operation = self._operation
        keys = [p.key for p in pending]
        counted = [0]  # attempts that count against max_attempts
        forgiven = [0]  # throttles the limiter already knew about

        def attempt() -> Answer | None:
            if self._cancelled.is_set():
                raise AbortRun(None, None, code=CANCELLED)
            if deadline_at is not None and self._policy.clock() >= deadline_at:
                raise _DeadlinePassed
            epoch = self._limiter.acquire(
                None if deadline_at is None else deadline_at - self._policy.clock()
            )
            if epoch is None:
                raise _DeadlinePassed
            try:
                with _botocore.single_attempt():
                    response = operation.call(
                        self._client, [(p.key, p.item) for p in pending], token
                    )
            except Exception as exc:
                fault = fault_from(exc)
                if fault is None:
                    raise AbortRun(None, exc) from exc
                faults.append(fault)
                # Only throttles and successes tell the limiter about the rate.
                known = operation.is_throttle(fault) and self._limiter.feedback(
                    epoch, throttled=True
                )
                # A throttle the limiter had already slowed down for is congestion it knows
                # about, not a failure of this batch: it does not use up an attempt (up to
                # max_attempts such throttles a batch, so that nothing retries forever).
                forgive = known and forgiven[0] < self._policy.max_attempts
                forgiven[0] += forgive
                counted[0] += not forgive
                logger.debug(
                    "%s batch=%d round=%d attempt=%d items=%d token=%s -> %s (HTTP %s)%s",
                    operation.name, number, round_number, len(faults), len(pending), token,
                    fault.code, fault.status, " known to the limiter" if forgive else "",
                )
                if operation.abort_error(fault) is not None:
                    raise AbortRun(fault) from exc
                if operation.is_transient(fault):
                    if self._on_retry is not None:
                        self._on_retry(fault.code)
                    raise _Retry(fault, counted=not forgive) from exc
                return None
            self._limiter.feedback(epoch, throttled=False)
            answer = operation.read(response, keys)
            logger.debug(
                "%s batch=%d round=%d attempt=%d items=%d token=%s -> answered",
                operation.name, number, round_number, len(faults) + 1, len(pending), token,
            )
            return answer

        retrying = self._policy.retrying(
            retry_on=_Retry, deadline_at=deadline_at, counted=lambda: counted[0]
        )
        try:
            result: Answer | None = retrying(attempt)
        except (_Retry, _DeadlinePassed, AbortRun):
            raise
        except Exception as exc:
            # Anything else (a hook, a limiter, a sleep that raised): the run cannot go on,
            # and this call may have reached the service.
            raise AbortRun(None, exc) from exc
        return result

    def _read(
        self, pending: list[Pending[ItemT]], answer: Answer, *, last_round: bool
    ) -> Generator[OutT, None, list[tuple[Pending[ItemT], ItemAnswer]]]:
        """Settle what the answer settles; return the items worth another round."""
        if answer.strangers:
            logger.warning(
                "%s answer named %d request identifier(s) that were not sent; ignored",
                self._operation.name, answer.strangers,
            )
        again: list[tuple[Pending[ItemT], ItemAnswer]] = []
        gave_up = 0
        for p in pending:
            item_answer = answer.items.get(p.key)
            if item_answer is None:
                # Left out of the answer, or contradicted: the contact may exist, so it is
                # never sent again under a new token.
                yield self._failed(
                    p, FailureCode.UNKNOWN_OUTCOME,
                    "the service's answer did not settle this request",
                    retryable=False, outcome_unknown=True,
                )
            elif isinstance(item_answer, str):
                yield self._outcomes.success(p, item_answer)
            else:
                code = item_answer.code or FailureCode.UNKNOWN_OUTCOME
                transient = self._operation.is_transient_item(code)
                if transient and not last_round:
                    again.append((p, item_answer))
                else:
                    gave_up += transient
                    yield self._failed(p, code, item_answer.message, retryable=transient)
        if gave_up:
            logger.warning(
                "%s: %d item(s) still failing with a transient code after %d resubmission(s);"
                " reported failed and retryable",
                self._operation.name, gave_up, self._policy.max_item_retries,
            )
        return again

    def _give_up(
        self,
        pending: list[Pending[ItemT]],
        faults: list[CallFault],
        number: int,
        token: str,
        stop: Exception,
    ) -> Iterator[OutT]:
        # Any attempt of this round may have created the contacts, not just the last.
        unknown = any(f.may_have_acted for f in faults)
        if faults:
            last = faults[-1]
            code, message = last.code, last.message
        else:
            code, message = FailureCode.DEADLINE_EXCEEDED, "the run's deadline passed"
        why = "deadline passed" if isinstance(stop, _DeadlinePassed) else "retries exhausted"
        logger.warning(
            "%s batch=%d token=%s: %s after %d attempt(s), last error %s; "
            "%d item(s) reported failed and retryable%s",
            self._operation.name, number, token, why, len(faults), code, len(pending),
            " (the service may have created them)" if unknown else "",
        )
        for p in pending:
            yield self._failed(p, code, message, retryable=True, outcome_unknown=unknown)

    def _failed_all(
        self, pending: list[Pending[ItemT]], abort: AbortRun, faults: list[CallFault]
    ) -> Iterator[OutT]:
        unknown = any(f.may_have_acted for f in faults) or abort.cause is not None
        code = abort.code
        message = abort.fault.message if abort.fault else "the call raised an unexpected error"
        for p in pending:
            yield self._failed(p, code, message, retryable=False, outcome_unknown=unknown)

    def _unsent(self, p: Pending[ItemT]) -> OutT:
        return self._failed(
            p, FailureCode.NOT_SENT, "not sent: the run stopped first", retryable=True
        )

    def _failed(
        self,
        p: Pending[ItemT],
        code: str,
        message: str,
        *,
        retryable: bool,
        outcome_unknown: bool = False,
    ) -> OutT:
        return self._outcomes.failure(
            p, str(code), message, retryable=retryable, outcome_unknown=outcome_unknown
        )
