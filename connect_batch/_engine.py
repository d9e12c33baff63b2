"""The engine: chunk any iterable, give each call a ClientToken, retry, settle every input.

It is told what the operation is (``BatchOperation``) and knows nothing of its field names.
It answers every input it consumes exactly once, whatever happens: when the run must stop,
is interrupted (``KeyboardInterrupt``, ``SystemExit``) or is closed early, it first settles
what it consumed, then raises.

**Known not created.** A ``Failure`` says ``outcome_unknown=False`` only when (a) the service
answered for the input, under the last token that carried it, that it failed; or (b) no token
that could carry it can have left this run or any earlier one: not a call token under a job
key (``Identities.durable``), not a caller's own per-item token, not a job-derived per-item
token (``Pending.exposed`` marks those two). Everything else that is not a success is
``outcome_unknown=True``; ``Engine.may_exist`` is that rule, and every path that answers an
input without the service's word goes through it. One exception: an input that is the same
request as an earlier input of the job (``Pending.duplicate_of``) is answered
``DUPLICATE_IN_JOB`` and never sent: its outcome is the earlier input's.

Layout: ``Engine.run`` is one scheduling loop (serial is ``concurrency=1``) that reads the
input lazily and keeps up to ``concurrency`` batches in flight on a thread pool;
``Engine.settle_steps`` settles one batch, round by round, as a generator of effects
(acquire a slot, make a call, sleep, tell the limiter) that ``Engine.settle`` carries out
on a thread and ``connect_batch._aio`` on an event loop, so that every decision is made in
one place; ``_Round`` is one round's bookkeeping: its token, its attempts and what they
met. The asyncio scheduling loop (``_aio.AsyncRun``) reads and answers through the same
methods (``take``, ``reading``, ``past_deadline_answers``, ``unsent``, ...).
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import contextvars
import datetime
import enum
import functools
import hashlib
import itertools
import logging
import queue
import sys
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from typing import Any, Generic, NoReturn, Protocol, TypeVar

import attrs
import tenacity

from connect_batch import _botocore
from connect_batch._errors import CallFault, ContactValidationError
from connect_batch._identity import Identities, RandomIdentities
from connect_batch._interrupts import Interrupts
from connect_batch._operation import Answer, BatchOperation, Idempotency, ItemAnswer, ItemKind
from connect_batch._outcomes import FailureCode
from connect_batch._pacing import NoLimit, RateLimiter
from connect_batch._retry import RetryPolicy
from connect_batch._steps import drive
from connect_batch.events import (
    BatchSettled,
    CallAnswered,
    CallSent,
    CapacityBackoff,
    ItemsResubmitted,
    Publisher,
    RetryScheduled,
    RunFinished,
)

CREATED = "CREATED"  # the code events give a success
ItemT = TypeVar("ItemT")
OutT = TypeVar("OutT")
OutT_co = TypeVar("OutT_co", covariant=True)
logger = logging.getLogger("connect_batch")


@attrs.define(weakref_slot=False)
class Pending(Generic[ItemT]):
    """An input read and keyed, not yet settled.

    ``exposed``: this input's own token (``PER_ITEM``) may have created it, in this run or
    an earlier one (a caller's token, a job-derived one, or an attempt of this run that may
    have acted), and no answer for it under that token has come since.
    ``duplicate_of``: the position of an earlier input of the job that is the same request
    (the same job-derived token); this one is answered ``DUPLICATE_IN_JOB``, never sent.
    """

    position: int
    key: str
    item: ItemT
    exposed: bool = False
    duplicate_of: int | None = None


class RunKeys:
    """What a run remembers to key its inputs: the keys callers gave, and where each
    job-derived per-item token first appeared (so that a request repeated in the input is
    sent once).

    Tokens are kept as 16-byte digests, not their text.
    """

    def __init__(self) -> None:
        self.given: set[str] = set()
        self._first: dict[bytes, int] = {}

    def first_of(self, token: str, position: int) -> int | None:
        """Where ``token`` first appeared in the run, or ``None`` (and remember ``position``)."""
        digest = hashlib.blake2b(token.encode(), digest_size=16).digest()
        first = self._first.setdefault(digest, position)
        return None if first == position else first


class OutcomeFactory(Protocol[ItemT, OutT_co]):
    """Builds the caller's outcome values, so the engine makes one object per input."""

    def success(self, pending: Pending[ItemT], resource_id: str) -> OutT_co:
        """The input was created as ``resource_id``."""

    def code(self, outcome: Any) -> str:
        """``CREATED``, or a failure's code (for events)."""

    def failure(
        self,
        pending: Pending[ItemT],
        code: str,
        message: str,
        *,
        retryable: bool,
        outcome_unknown: bool,
        duplicate_of: int | None = None,
    ) -> OutT_co:
        """The input was not (known to be) created; ``duplicate_of``: it is the same
        request as that earlier input of the job, whose outcome answers for it."""


class Stop(str, enum.Enum):
    """Why a run stopped before its input ran out."""

    REFUSED = "REFUSED"  # the service refused in a way no other batch can get past
    NOT_SENT = "NOT_SENT"  # botocore raised before sending (credentials, parameters)
    UNEXPECTED = "UNEXPECTED"  # the client raised something the library does not know
    INPUT_FAILED = "INPUT_FAILED"  # the caller's iterable raised
    DEADLINE = "DEADLINE"  # the deadline passed with an iterator left unread


def stopped_by(error: BaseException) -> str:
    """Why a run ended early, for ``RunFinished.stopped``."""
    if isinstance(error, AbortRun):
        return error.reason.value
    if isinstance(error, GeneratorExit):
        return "CLOSED"
    if isinstance(error, KeyboardInterrupt | SystemExit):
        return "INTERRUPTED"
    if isinstance(error, ContactValidationError):
        return "INVALID_INPUT"
    return "ERROR"


class AbortRun(Exception):  # noqa: N818 - a control-flow signal, not an error users see
    """The run must stop, for ``reason``; ``fault`` or ``cause`` says what happened."""

    def __init__(
        self,
        reason: Stop,
        *,
        fault: CallFault | None = None,
        cause: BaseException | None = None,
    ) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.fault = fault
        self.cause = cause

    @property
    def code(self) -> str:
        """The code the run's failures carry."""
        if self.fault is not None:
            return self.fault.code
        if self.reason is Stop.DEADLINE:
            return FailureCode.DEADLINE_EXCEEDED.value
        return type(self.cause).__name__


class _Retry(Exception):  # noqa: N818 - a control-flow signal for tenacity
    def __init__(self, fault: CallFault, *, known_throttle: bool = False) -> None:
        super().__init__(fault.code)
        self.fault = fault
        # A throttle the limiter had already slowed down for: its pace is the wait.
        self.known_throttle = known_throttle


class _Final(Exception):  # noqa: N818 - a control-flow signal
    """A whole-call error no retry of this call can fix (400, 409, ...)."""

    def __init__(self, fault: CallFault) -> None:
        super().__init__(fault.code)
        self.fault = fault


class _DeadlinePassed(Exception):  # noqa: N818 - a control-flow signal
    pass


class Cancelled(Exception):  # noqa: N818 - a control-flow signal
    """Raised into a batch's steps when the run was told to start nothing new."""


# Effects: what one batch's steps (``Engine.settle_steps``) ask their driver to do. The
# threaded driver (``Engine.settle``) carries them out blocking; the asyncio driver
# (``connect_batch._aio``) awaits them. Either sends back the result, or throws in the
# exception it raised.
@attrs.frozen
class Acquire:
    """Wait for the rate limiter; the result is its epoch, or ``None`` past ``max_wait``."""

    max_wait: float | None


@attrs.frozen
class Feedback:
    """Tell the rate limiter how a call went; the result says if a throttle was known."""

    epoch: int
    throttled: bool


@attrs.frozen
class Sleep:
    """Back off for ``seconds``; raise ``Cancelled`` if the run is told to stop meanwhile."""

    seconds: float


@attrs.frozen
class Call:
    """Make one HTTP attempt: the boto3 client's ``method`` with ``params``; the result is
    its response."""

    method: str
    params: dict[str, Any]


Effect = Acquire | Feedback | Sleep | Call


@attrs.define(weakref_slot=False)
class _Round:
    """One round of one batch: the items it carries, their attempts and what they met.

    ``token`` is the round's ClientToken for a ``PER_CALL`` operation (empty for
    ``PER_ITEM``, whose items carry their own).
    """

    items: list[Pending[Any]]
    token: str
    faults: list[CallFault] = attrs.field(factory=list)
    attempts: int = 0  # HTTP attempts handed to botocore, each counted against max_attempts
    call: _botocore.CallMark | None = None  # the attempt in progress, if any
    answered: bool = False  # a 200 came back: the service acted on this round
    feedback: tuple[int, bool] | None = None  # (epoch, throttled): for the limiter, once read
    # An interrupt a subscriber raised while told of the answer: raised once it is read.
    deferred: BaseException | None = None

    def may_have_acted(self) -> bool:
        """True when any attempt of this round may have reached the service and acted."""
        in_progress = self.call is not None and self.call.sent
        return self.answered or in_progress or any(f.may_have_acted for f in self.faults)


class Work(Generic[ItemT, OutT]):
    """One batch handed to a call: its outcomes so far, safe to share between threads.

    A batch is *started* once the thread that settles it takes it up; ``finished`` is set
    when that thread is done with it. ``abandon`` answers what is still open and ignores
    whatever the settling thread finds out afterwards, so that no input is answered twice.
    Outcomes are stored by position in one dict, so that "settled" and "answered" are one
    step that an exception cannot split.
    """

    def __init__(self, batch: list[Pending[ItemT]]) -> None:
        self.batch = batch
        self.finished = threading.Event()
        self._by_position: dict[int, OutT] = {}
        self._started = False
        self._abandoned = False
        self._lock = threading.Lock()

    @property
    def outcomes(self) -> list[OutT]:
        """The batch's outcomes so far."""
        with self._lock:
            return list(self._by_position.values())

    def start(self) -> bool:
        """Take the batch up; False if it was abandoned before it started."""
        with self._lock:
            self._started = not self._abandoned
            return self._started

    def withdraw(self) -> bool:
        """Abandon the batch if it has not started (nothing of it was sent); True if so."""
        with self._lock:
            if self._started:
                return False
            self._abandoned = True
            return True

    def add(self, pending: Pending[ItemT], outcome: OutT) -> None:
        with self._lock:
            if not self._abandoned:
                self._by_position.setdefault(pending.position, outcome)

    def add_all(self, settled: list[tuple[Pending[ItemT], OutT]]) -> None:
        """``add`` for many inputs at once (one lock for a whole answer)."""
        with self._lock:
            if self._abandoned:
                return
            for pending, outcome in settled:
                self._by_position.setdefault(pending.position, outcome)

    def abandon(self, answer: Callable[[Pending[ItemT]], OutT]) -> list[OutT]:
        """Answer every open input with ``answer``; return all the batch's outcomes."""
        with self._lock:
            for p in self.batch:
                if p.position not in self._by_position:
                    self._by_position[p.position] = answer(p)
            self._abandoned = True
            return list(self._by_position.values())


class _Workers:
    """Daemon threads that settle a run's batches.

    ``concurrent.futures.ThreadPoolExecutor`` joins its threads when the interpreter exits,
    so a process interrupted twice would still wait for calls the run stopped waiting for
    (up to botocore's read timeout). These threads are daemons; a run's own bookkeeping
    (``Work``) decides what their results mean.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._started = 0
        self._queue: queue.SimpleQueue[
            tuple[concurrent.futures.Future[Any], Callable[[], Any]] | None
        ] = queue.SimpleQueue()

    def submit(self, call: Callable[[], AbortRun | None]) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._queue.put((future, call))
        if self._started < self._size:
            self._started += 1
            threading.Thread(
                target=self._work, name=f"connect_batch_{self._started}", daemon=True
            ).start()
        return future

    def _work(self) -> None:
        while (job := self._queue.get()) is not None:
            future, call = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(call())
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
                future.set_exception(exc)

    def shutdown(self) -> None:
        for _ in range(self._started):
            self._queue.put(None)


class Run(Generic[OutT]):
    """The outcomes of one run, as an iterator.

    ``close()`` stops the run: no new attempt starts, calls in flight finish, and it
    returns the outcomes not yet yielded. When the run is interrupted while it is being
    read, those outcomes are in ``leftover``; ``close()`` returns them too.

    The engine hands outcomes over a batch at a time, under one interrupt guard; they wait
    in ``_pending`` until returned, so that a signal landing between two ``next()`` calls
    costs nothing and ``close()`` finds them.
    """

    def __init__(self, engine: Engine[Any, OutT], items: Iterable[Any]) -> None:
        self.leftover: list[OutT] = []
        self._pending: collections.deque[OutT] = collections.deque()
        self.engine = engine
        self._chunks = engine.schedule(items, self.leftover)

    def __iter__(self) -> Run[OutT]:
        return self

    def chunks(self) -> Iterator[list[OutT]]:
        """The outcomes a batch at a time, for a caller that holds ``interrupts.guard()``."""
        return self._chunks

    def __next__(self) -> OutT:
        pending = self._pending
        if not pending:
            # Asked to stop while the engine ran: what it handed over waits in _pending.
            with self.engine.interrupts.guard():
                pending.extend(next(self._chunks))
        # No call between reading the outcome and returning it: no signal can land there.
        outcome = pending[0]
        del pending[0]
        return outcome

    def close(self, *, stopping: bool = False) -> list[OutT]:
        """Stop the run; return every outcome it settled that was not yielded.

        ``stopping``: an exception is already on its way (a signal now means "stop
        waiting"). If closing raises (a signal's handler of the application's own), the
        outcomes stay in ``leftover``: read them with ``take_leftover()``.
        """
        try:
            with self.engine.interrupts.guard(stopping=stopping):
                self._chunks.close()
        finally:
            self.leftover[:0] = self._pending
            self._pending.clear()
        return self.take_leftover()

    def close_interrupted(self, keep: Callable[[list[OutT]], object]) -> None:
        """Close the run for an exception already on its way: a signal now means "stop
        waiting", and every outcome not yielded goes to ``keep``, even if closing raises."""
        self.engine.interrupts.stop()
        left: list[OutT] = []
        try:
            left = self.close(stopping=True)
        finally:
            keep(left or self.take_leftover())

    def take_leftover(self) -> list[OutT]:
        """The outcomes settled and not yielded, once."""
        left = list(self.leftover)
        self.leftover.clear()
        return left


_NOT_ANSWERED = ItemAnswer()
_OMITTED = ItemAnswer(
    FailureCode.UNKNOWN_OUTCOME.value, "the service's answer did not settle this request"
)


def _utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)
# How often a waiting run looks for a signal asking it to stop (seconds).
_POLL = 0.05


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
    # Resuming per item (per-item idempotency only): an input for which this returns True
    # is neither sent nor answered, but still counted in the run's keys.
    _skip_item: Callable[[Pending[ItemT]], bool] | None = None
    # Told of every failed attempt that will be retried (for progress displays).
    _on_retry: Callable[[str], None] | None = None
    # Instrumentation events (connect_batch.events), for subscribers.
    _publish: Publisher = attrs.field(factory=lambda: Publisher(()))
    # Wall-clock time (UTC), for items that expire.
    _now: Callable[[], datetime.datetime] = _utc_now
    _cancelled: threading.Event = attrs.field(init=False, factory=threading.Event)
    _deadline_missed: threading.Event = attrs.field(init=False, factory=threading.Event)
    _deadline_at: float | None = attrs.field(init=False, default=None)
    interrupts: Interrupts = attrs.field(init=False)
    # Outcomes handed over, by code, for RunFinished.
    _tally: collections.Counter[str] = attrs.field(init=False, factory=collections.Counter)

    @interrupts.default
    def _new_interrupts(self) -> Interrupts:
        return Interrupts(self.cancel)

    @property
    def operation(self) -> BatchOperation[ItemT]:
        """The operation this engine runs."""
        return self._operation

    @property
    def durable(self) -> bool:
        """True when the run's tokens outlive it (a job key): an earlier run may have sent them."""
        return self._identities.durable

    @property
    def _may_repeat(self) -> bool:
        """True when two inputs may be one request (job-derived per-item tokens)."""
        return self.durable and self._operation.idempotency is Idempotency.PER_ITEM

    def may_exist(self, p: Pending[ItemT], current: _Round | None = None) -> bool:
        """The one rule for ``outcome_unknown`` when the service did not answer for ``p``
        under the last token that carried it: may ``p`` have been created anyway?

        Yes if a call token of this job may have left any run (``PER_CALL`` under a job
        key), if ``p``'s own token may have (``exposed``: a caller's token, a job-derived
        one, an attempt of this run that may have acted), or if ``current``, the round
        that carried it, may have acted.
        """
        if p.exposed or (current is not None and current.may_have_acted()):
            return True
        return self.durable and self._operation.idempotency is Idempotency.PER_CALL

    def start_clock(self) -> None:
        """Start the deadline now (``run`` does this itself)."""
        self._deadline_at = self._policy.deadline_at()

    def run(self, items: Iterable[ItemT]) -> Run[OutT]:
        """The outcomes of putting ``items``, one per input, as batches complete.

        When the run cannot go on, every input consumed so far is answered first, then
        ``AbortRun`` or ``ContactValidationError`` is raised.
        """
        return Run(self, items)

    def cancel(self) -> None:
        """No new attempt starts from now on; calls in flight finish."""
        self._cancelled.set()

    # The scheduling loop.
    def schedule(  # noqa: PLR0912, PLR0915 - read, submit, settle, stop: one loop reads best
        self, items: Iterable[ItemT], leftover: list[OutT]
    ) -> Generator[list[OutT], None, None]:
        """Yield one outcome per input, in chunks; on an interrupt, put the unyielded ones in
        ``leftover``.

        Safe points, where an interrupt a signal asked for is raised: before each read of
        the input, while waiting for a batch to finish, before each yield.
        """
        in_memory = isinstance(items, Sequence)
        ready: collections.deque[OutT] = collections.deque()
        works: dict[concurrent.futures.Future[AbortRun | None], Work[ItemT, OutT]] = {}
        late: list[Pending[ItemT]] = []
        keyed: Iterator[Pending[ItemT]] = iter(())
        numbers = itertools.count(1)
        stop: BaseException | None = None
        deadline_stop = False
        pool = _Workers(self._concurrency)
        started = self.begin_run()
        stopped: str | None = None
        try:
            # A sequence is checked whole first, so that bad input stops the run before
            # anything at all is sent; an iterator is read one batch at a time.
            if in_memory:
                with self.interrupts.direct():
                    keyed = iter(list(self.keyed(items)))
            else:
                keyed = self.keyed(items)
            if self._skip_item is not None:
                skip_item = self._skip_item
                keyed = (p for p in keyed if not skip_item(p))
            self.start_clock()
            reading = True
            while True:
                if ready:  # what finished goes out before more input is read
                    yield self.hand_over(ready)
                while reading and stop is None and len(works) < self._concurrency:
                    self.interrupts.check()
                    if self.past_deadline():
                        reading, deadline_stop = False, True
                        break
                    try:
                        batch = self.take(keyed, self._operation.max_items, ready)
                    except (ContactValidationError, AbortRun) as error:
                        stop = error  # settle what is in flight before raising it
                        break
                    number = next(numbers)
                    if not batch:
                        reading = False
                    elif self._skip is not None and self._skip(batch):
                        continue  # settled in an earlier run; its number stays taken
                    elif self.past_deadline():
                        late, reading, deadline_stop = batch, False, True
                    else:
                        work: Work[ItemT, OutT] = Work(batch)
                        context = contextvars.copy_context()
                        call = functools.partial(context.run, self.settle, batch, number, work)
                        works[pool.submit(call)] = work
                if ready:
                    yield self.hand_over(ready)
                if not works:
                    break
                done, _ = concurrent.futures.wait(
                    works, timeout=_POLL, return_when=concurrent.futures.FIRST_COMPLETED
                )
                self.interrupts.check()
                for future in done:
                    abort = future.result()
                    ready.extend(works.pop(future).outcomes)
                    if abort is not None and stop is None:
                        stop, reading = abort, False
            # Every batch sent is settled; answer what was read but not sent.
            if stop is not None:
                self.answer_unsent(late, ready)
                late = []
                if in_memory and isinstance(stop, AbortRun):
                    self.answer_unsent(keyed, ready)
            elif deadline_stop:
                answered_late, late = late, []
                more: list[Pending[ItemT]] = list(keyed) if in_memory else []
                read_error: BaseException | None = None
                if not in_memory:
                    # One more input tells whether any was left unread.
                    try:
                        more = self.take(keyed, 1, ready)
                    except (ContactValidationError, AbortRun) as error:
                        read_error = error
                stop = self.past_deadline_answers(
                    answered_late, more, ready, read_error=read_error, in_memory=in_memory
                )
            if ready:
                yield self.hand_over(ready)
        except BaseException as error:
            # Interrupted (KeyboardInterrupt, SystemExit) or closed early (GeneratorExit):
            # no attempt starts from now on; calls in flight finish and are answered.
            stopped = stopped_by(error)
            self.cancel()
            leftover.extend(ready)
            ready.clear()
            try:
                self._drain(list(works.values()), leftover)
            finally:
                leftover.extend(self.unsent(p) for p in late)
                if in_memory:
                    leftover.extend(self.unsent(p) for p in keyed)
                self.count(leftover)
            raise
        finally:
            pool.shutdown()
            self.finished(started, self.stop_reason(stopped, stop, deadline_stop=deadline_stop))
        if stop is not None:
            raise stop

    @property
    def concurrency(self) -> int:
        """How many batches may be in flight at once."""
        return self._concurrency

    def begin_run(self) -> float:
        """A run starts: its counts start from zero; the start time, for ``finished``."""
        self._tally = collections.Counter()
        return time.monotonic()

    @staticmethod
    def stop_reason(
        stopped: str | None, stop: BaseException | None, *, deadline_stop: bool
    ) -> str | None:
        """Why a run ended early (``RunFinished.stopped``), ``None`` if it did not."""
        if stopped is None and stop is not None:
            stopped = stopped_by(stop)
        if stopped is None and deadline_stop:
            stopped = Stop.DEADLINE.value
        return stopped

    def answer_unsent(
        self, pending: Iterable[Pending[ItemT]], ready: collections.deque[OutT]
    ) -> None:
        """Answer inputs read but never sent (the run stopped first)."""
        ready.extend(self.unsent(p) for p in pending)

    def count(self, outcomes: Iterable[OutT]) -> None:
        """Count outcomes by code for ``RunFinished`` (only when someone listens)."""
        if self._publish.subscribers:
            code = self._outcomes.code
            self._tally.update(code(o) for o in outcomes)

    def finish_run(self, outcomes: Iterable[OutT], started: float, stopped: str | None) -> None:
        """Publish ``RunFinished`` for a run driven outside ``schedule`` (a batcher)."""
        self.count(outcomes)
        self.finished(started, stopped)

    def finished(self, started: float, stopped: str | None) -> None:
        """Publish ``RunFinished`` (only when someone listens)."""
        if not self._publish.subscribers:
            return
        duration = time.monotonic() - started
        counts = dict(self._tally)
        created = counts.get(CREATED, 0)
        self._publish(RunFinished(
            self._operation.name, sum(counts.values()), counts, duration,
            created / duration if duration > 0 else 0.0, stopped,
        ))

    def hand_over(self, ready: collections.deque[OutT]) -> list[OutT]:
        """What is ready, as one chunk; a safe point first."""
        self.interrupts.check()
        chunk = list(ready)
        ready.clear()
        self.count(chunk)
        return chunk

    def past_deadline(self) -> bool:
        """True once the run's deadline passed (or a batch found it could not be met)."""
        if self._deadline_missed.is_set():
            return True
        return self._deadline_at is not None and self._policy.clock() >= self._deadline_at

    def _drain(self, works: list[Work[ItemT, OutT]], leftover: list[OutT]) -> None:
        """Answer every batch in ``works`` into ``leftover``, waiting for calls in flight.

        A batch not yet started is withdrawn (nothing of it was sent). A second interrupt
        stops the wait: what is still in flight is answered as interrupted, unknown.
        """
        open_works = list(works)
        try:
            while open_works:
                work = open_works[0]
                if work.withdraw():
                    leftover.extend(work.abandon(self.interrupted_unsent))
                elif work.finished.wait(_POLL):
                    leftover.extend(work.abandon(self.interrupted_in_flight))
                else:
                    self.interrupts.run_deferred()  # an application handler may raise
                    if self.interrupts.stop_waiting:
                        break
                    continue
                open_works.pop(0)
        finally:
            if open_works:
                logger.warning(
                    "%s: stopped waiting for %d call(s) in flight; their items are reported "
                    "with outcome_unknown=True", self._operation.name, len(open_works),
                )
            for work in open_works:
                leftover.extend(work.abandon(self.interrupted_in_flight))

    def past_deadline_answers(
        self,
        late: list[Pending[ItemT]],
        more: list[Pending[ItemT]],
        ready: collections.deque[OutT],
        *,
        read_error: BaseException | None,
        in_memory: bool,
    ) -> BaseException | None:
        """Answer what was read late: ``late`` (a batch), ``more`` (the rest of a sequence,
        or the one more input read from an iterator to tell whether any was left unread).
        Return why the run stops: ``read_error`` if reading that one more input failed (what
        was read before is answered already), ``AbortRun(DEADLINE)`` if input was left
        unread, else ``None``."""
        ready.extend(self._deadline_exceeded(p) for p in late)
        if read_error is not None:
            self._log_deadline(len(late), unread=True)
            return read_error
        ready.extend(self._deadline_exceeded(p) for p in more)
        if late or more:
            self._log_deadline(len(late) + len(more), unread=bool(more) and not in_memory)
        if more and not in_memory:
            return AbortRun(Stop.DEADLINE)
        return None

    def _log_deadline(self, count: int, *, unread: bool) -> None:
        logger.warning(
            "%s: the run's deadline can no longer be met; %d unsent item(s) reported "
            "DEADLINE_EXCEEDED%s", self._operation.name, count,
            " and the rest of the input left unread" if unread else "",
        )

    def take(
        self, keyed: Iterator[Pending[ItemT]], count: int, ready: collections.deque[OutT]
    ) -> list[Pending[ItemT]]:
        """Read up to ``count`` inputs; if reading fails, answer what was read, then raise.

        Reading stops early once the deadline can no longer be met.
        """
        batch: list[Pending[ItemT]] = []
        with self.reading(batch, ready), self.interrupts.direct():
            if self._deadline_at is None and not self._may_repeat:
                batch.extend(itertools.islice(keyed, count))
            else:
                deadline = self._deadline_at is not None
                for pending in keyed:
                    if pending.duplicate_of is not None:
                        ready.append(self.duplicate(pending))  # answered now, never sent
                        continue
                    batch.append(pending)
                    if len(batch) >= count or (deadline and self.past_deadline()):
                        break
        return batch

    @contextlib.contextmanager
    def reading(
        self, batch: list[Pending[ItemT]], ready: collections.deque[OutT]
    ) -> Iterator[None]:
        """A block that reads the caller's input into ``batch``. If reading raises, what was
        read is answered (not sent) first; an ordinary exception from the caller's iterable
        becomes ``AbortRun(INPUT_FAILED)``: the run cannot go on, but what it did stands."""
        try:
            yield
        except ContactValidationError:
            self.answer_unsent(batch, ready)
            raise
        except Exception as exc:
            self.answer_unsent(batch, ready)
            raise AbortRun(Stop.INPUT_FAILED, cause=exc) from exc
        except BaseException:
            self.answer_unsent(batch, ready)  # interrupted while reading
            raise

    def keyed(self, items: Iterable[ItemT]) -> Iterator[Pending[ItemT]]:
        """Check and key each input of ``items``, lazily."""
        seen = RunKeys()
        check, item_key, key = self._check_item, self._operation.item_key, self.key
        if self.durable or check is None:
            for position, item in enumerate(items):
                yield key(item, position, seen)
            return
        # The common case, inlined (it runs once per input): checked, no key given, and
        # a random one generated.
        generate = self._identities.request_identifier
        expected = getattr(check, "expected", None) or object
        for position, item in enumerate(items):
            if item.__class__ is not expected:
                try:
                    check(item)
                except ContactValidationError as error:
                    raise error.at(position) from None
            if item_key(item) is None:
                yield Pending(position, generate(position, ""), item)
            else:
                yield key(item, position, seen)

    def key(self, item: ItemT, position: int, seen: RunKeys) -> Pending[ItemT]:
        """Check ``item`` and give it its key; ``seen`` is what the run keyed so far."""
        if self._check_item is not None:
            try:
                self._check_item(item)
            except ContactValidationError as error:
                raise error.at(position) from None
        operation = self._operation
        key = operation.item_key(item)
        per_item = operation.idempotency is Idempotency.PER_ITEM
        if key is None:
            if not self.durable:
                return Pending(position, self._identities.request_identifier(position, ""), item)
            content = operation.fingerprint(item)
            if per_item:
                # Any earlier run of the job may have sent this token: exposed until the
                # service answers for it. The same request twice in the job is sent once.
                token = self._identities.item_token(content)
                first = seen.first_of(token, position)
                return Pending(position, token, item, exposed=True, duplicate_of=first)
            # Under a job key, the identifier depends on the item's content too: a service
            # that replayed an old answer by token alone would name identifiers not sent.
            return Pending(position, self._identities.request_identifier(position, content), item)
        if key in seen.given:
            name = self._operation.key_name
            raise ContactValidationError(
                f"{name} repeats an earlier input's in this run; give each input its own",
                field=name,
                position=position,
            )
        # Only identifiers given by the caller are remembered: generated ones are unique
        # by construction.
        seen.given.add(key)
        # A caller's own per-item token may have been sent by any earlier run: until the
        # service answers for it, nothing is known about it.
        return Pending(position, key, item, exposed=per_item)

    # One batch.
    def settle(
        self, batch: list[Pending[ItemT]], number: int, work: Work[ItemT, OutT]
    ) -> AbortRun | None:
        """Settle one batch into ``work`` on this thread; a run-stopping error comes back
        as a value. The steps are ``settle_steps``; this drives them, blocking."""
        return drive(self.settle_steps(batch, number, work), self._do)

    def _do(self, effect: Effect) -> Any:
        """Carry out one effect, blocking (the threaded driver)."""
        if isinstance(effect, Call):
            return getattr(self._client, effect.method)(**effect.params)
        if isinstance(effect, Acquire):
            booking = getattr(self._limiter, "booking", None)
            if callable(booking) and getattr(self._limiter, "sleep", None) is time.sleep:
                # The in-process limiter's own steps, with a wait the run's stop cuts short:
                # a slot no call will use is not waited for.
                return drive(booking(effect.max_wait), self._wait_for_slot)
            return self._limiter.acquire(effect.max_wait)
        if isinstance(effect, Feedback):
            return self._limiter.feedback(effect.epoch, throttled=effect.throttled)
        self._sleep(effect.seconds)
        return None

    def settle_steps(
        self, batch: list[Pending[ItemT]], number: int, work: Work[ItemT, OutT]
    ) -> Generator[Effect, Any, AbortRun | None]:
        """The steps that settle one batch into ``work``, as a generator of effects (acquire
        a slot, make a call, sleep, tell the limiter) that a driver carries out and answers:
        ``settle`` on a thread, ``connect_batch._aio`` on an event loop. Every decision
        (which token, which round, what is retried, what outcome) is made here, once.

        A run-stopping error comes back as the generator's value. If an exception is thrown
        in (an interrupt, a task's cancellation), the inputs still open are answered first
        (their outcome unknown if a call may have reached the service), then it goes on.
        """
        if not work.start():
            return None  # withdrawn before it started: answered by whoever withdrew it
        current: _Round | None = None
        per_call = self._operation.idempotency is Idempotency.PER_CALL
        try:
            pending = [(p, _NOT_ANSWERED) for p in batch]
            for round_number in range(self._policy.max_item_retries + 1):
                if round_number:
                    resume = yield from self._wait_to_resubmit(round_number, number, pending, work)
                    if not resume:
                        return None
                items = [p for p, _ in pending]
                token = self._identities.client_token(number, round_number) if per_call else ""
                current = _Round(items, token)
                answer, abort = yield from self._call(current, number, round_number, work)
                if answer is None:
                    return abort
                last_round = round_number == self._policy.max_item_retries
                pending = self._read(current, answer, work, last_round=last_round)
                # The round is settled: what is still open was refused by the service, and
                # each input's own exposure says whether it may exist.
                done, current = current, None
                if done.deferred is not None:
                    raise done.deferred  # noqa: TRY301 - the subscriber's interrupt, deferred
                if done.feedback is not None:
                    try:
                        yield Feedback(*done.feedback)
                    except Exception as exc:  # noqa: BLE001 - a limiter that raised: the run stops
                        abort = AbortRun(Stop.UNEXPECTED, cause=exc)
                        self._aborted(_Round([p for p, _ in pending], ""), abort, work)
                        return abort
                if not pending:
                    return None
        except BaseException:
            round_ = current
            work.abandon(lambda p: self._interrupted(p, round_))
            raise
        finally:
            # Told before the batch counts as finished, so that it comes before RunFinished.
            if self._publish.subscribers:
                codes = collections.Counter(self._outcomes.code(o) for o in work.outcomes)
                self._publish(BatchSettled(self._operation.name, number, len(batch), codes))
            work.finished.set()
        return None

    def _wait_to_resubmit(
        self,
        round_number: int,
        number: int,
        pending: list[tuple[Pending[ItemT], ItemAnswer]],
        work: Work[ItemT, OutT],
    ) -> Generator[Effect, Any, bool]:
        """Back off before a resubmission round; False (and answered) if the deadline is near.

        After a capacity answer the wait is the policy's longer capacity back-off.
        """
        capacity = any(
            seen.code is not None and self._operation.item_kind(seen.code) is ItemKind.CAPACITY
            for _, seen in pending
        )
        wait = (
            self._policy.capacity_backoff(round_number)
            if capacity
            else self._policy.backoff(round_number)
        )
        if self._deadline_at is not None and self._policy.clock() + wait >= self._deadline_at:
            self._deadline_missed.set()
            self._resubmission_cut_short(number, pending, work)
            return False
        if self._publish.subscribers:
            if capacity:
                self._publish(CapacityBackoff(
                    self._operation.name, number, round_number, len(pending), wait
                ))
            self._publish(ItemsResubmitted(
                self._operation.name, number, round_number, len(pending), wait, capacity
            ))
        try:
            yield Sleep(wait)
        except Cancelled:
            for p, _ in pending:
                work.add(p, self._interrupted(p, None))
            return False
        return True

    def _drop_unsendable(
        self, current: _Round, now: datetime.datetime, work: Work[ItemT, OutT]
    ) -> None:
        """Answer (and take out of the round) the items that may not be sent at ``now``."""
        refused = self._operation.unsendable([p.item for p in current.items], now)
        if not refused:
            return
        kept: list[Pending[Any]] = []
        for index, p in enumerate(current.items):
            why = refused.get(index)
            if why is None:
                kept.append(p)
            elif current.may_have_acted():
                work.add(p, self._failed(
                    p, why.code or FailureCode.EXPIRED,
                    "expired before it could be sent again; an earlier attempt may have "
                    "created it", retryable=False, outcome_unknown=True,
                ))
            else:
                work.add(p, self._failed(
                    p, why.code or FailureCode.EXPIRED, why.message, retryable=False,
                    outcome_unknown=self.may_exist(p),
                ))
        if len(kept) < len(current.items):
            logger.warning(
                "%s: %d item(s) expired before they could be sent; reported EXPIRED",
                self._operation.name, len(current.items) - len(kept),
            )
            current.items = kept

    def _call(
        self, current: _Round, number: int, round_number: int, work: Work[ItemT, OutT]
    ) -> Generator[Effect, Any, tuple[Answer | None, AbortRun | None]]:
        """The round's answer; or ``None`` once its items are answered (and why the run stops)."""
        try:
            return (yield from self._send(current, number, round_number, work)), None
        except (_Retry, _DeadlinePassed) as stop:
            self._give_up(current, number, stop, work)
        except _Final as final:
            self._final(current, final.fault, work)
        except Cancelled:
            for p in current.items:
                work.add(p, self._interrupted(p, current))
        except AbortRun as abort:
            self._aborted(current, abort, work)
            return None, abort
        return None, None

    def _sleep(self, seconds: float) -> None:
        """The policy's sleep; the real one is cut short when the run is interrupted."""
        if self._policy.sleep is time.sleep:
            self._cancelled.wait(seconds)
        else:
            self._policy.sleep(seconds)
        if self._cancelled.is_set():
            raise Cancelled

    def _wait_for_slot(self, seconds: float) -> None:
        if self._cancelled.wait(seconds):
            raise Cancelled

    @property
    def cancelled(self) -> bool:
        """True once the run was told to start no new attempt."""
        return self._cancelled.is_set()

    def _send(
        self, current: _Round, number: int, round_number: int, work: Work[ItemT, OutT]
    ) -> Generator[Effect, Any, Answer]:
        """Make the round's call, retrying it under the same token up to ``max_attempts``."""
        try:
            try:
                # Most calls succeed at once: tenacity is set up only for a retry.
                result: Answer = yield from self._attempt(current, number, round_number, work)
            except _Retry as first:
                result = yield from self._retry_after(first, current, number, round_number, work)
        except _Retry:
            if current.attempts < self._policy.max_attempts:
                self._deadline_missed.set()  # tenacity stopped for the deadline
            raise
        except _DeadlinePassed:
            self._deadline_missed.set()
            raise
        except (_Final, Cancelled, AbortRun):
            raise
        except Exception as exc:
            # Anything else (a hook, a limiter, a sleep that raised): the run cannot go on,
            # and this call may have reached the service.
            raise AbortRun(Stop.UNEXPECTED, cause=exc) from exc
        return result

    def _attempt(  # noqa: PLR0912, PLR0915 - one attempt's steps, in the order they happen
        self, current: _Round, number: int, round_number: int, work: Work[ItemT, OutT]
    ) -> Generator[Effect, Any, Answer]:
        """One HTTP attempt of the round's call, under its token."""
        operation = self._operation
        if self._cancelled.is_set():
            raise Cancelled
        deadline_at = self._deadline_at
        if deadline_at is not None and self._policy.clock() >= deadline_at:
            raise _DeadlinePassed
        epoch: int | None = yield Acquire(
            None if deadline_at is None else deadline_at - self._policy.clock()
        )
        if epoch is None:
            raise _DeadlinePassed
        if self._cancelled.is_set():
            raise Cancelled
        now = self._now()
        if operation.idempotency is Idempotency.PER_ITEM:
            # Each item carries its own token: the body may shrink between attempts.
            self._drop_unsendable(current, now, work)
            if not current.items:
                return Answer({})
        items = [(p.key, p.item) for p in current.items]
        method, params = operation.request(items, current.token, now)
        current.attempts += 1
        publish = self._publish if self._publish.subscribers else None
        if publish is not None:
            publish(CallSent(operation.name, number, round_number, current.attempts, len(items)))
            sent_at = time.monotonic()
        try:
            with _botocore.single_attempt() as current.call:
                response = yield Call(method, params)
        except Exception as exc:
            mark, current.call = current.call, None
            fault = _botocore.fault_from(exc)
            if publish is not None:
                unsent = fault is None and mark is not None and not mark.sent
                code = fault.code if fault else "NOT_SENT" if unsent else "UNEXPECTED"
                publish(CallAnswered(
                    operation.name, number, round_number, current.attempts, len(items),
                    fault.status if fault else None, code, time.monotonic() - sent_at,
                    throttled=fault is not None and operation.is_throttle(fault),
                ))
            if fault is None:
                if mark is not None and not mark.sent:
                    current.attempts -= 1  # nothing left this process
                    raise AbortRun(Stop.NOT_SENT, cause=exc) from exc
                raise AbortRun(Stop.UNEXPECTED, cause=exc) from exc
            # Recorded before the limiter is told: an interrupt there must find it.
            current.faults.append(fault)
            known = (
                operation.is_throttle(fault) and (yield Feedback(epoch, throttled=True))
            )
            return self._failed_attempt(
                current, fault, known=known, number=number, round_number=round_number, exc=exc
            )
        except BaseException:
            # Interrupted inside the call (a second Ctrl-C on the calling thread, a task's
            # cancellation): the attempt still ends, for subscribers (an open span, say).
            if publish is not None:
                publish(CallAnswered(
                    operation.name, number, round_number, current.attempts, len(items),
                    None, FailureCode.INTERRUPTED.value, time.monotonic() - sent_at,
                    throttled=False,
                ))
            raise
        current.answered = True
        current.call = None
        answer = operation.read(response, [key for key, _ in items])
        # A capacity answer (no agents, no telecom capacity, too many pending requests)
        # slows the run down as a throttle does.
        capacity_short = self._capacity_short(answer)
        if publish is not None:
            try:
                publish(CallAnswered(
                    operation.name, number, round_number, current.attempts, len(items), 200,
                    None if answer.readable else FailureCode.UNREADABLE_ANSWER.value,
                    time.monotonic() - sent_at, throttled=capacity_short,
                ))
            except BaseException as exc:  # noqa: BLE001 - raised once the answer counts
                # A subscriber's KeyboardInterrupt (or SystemExit): the answer in hand is
                # read and settled first, so that what the service created is not reported
                # unknown; the interrupt goes on right after.
                current.deferred = exc
        if not answer.readable:
            yield Feedback(epoch, throttled=capacity_short)
            # A 200 whose body is cut off or is not JSON: the same token replays the
            # real answer, so it is retried like a lost one.
            fault = CallFault(
                code=FailureCode.UNREADABLE_ANSWER.value,
                message="the service answered 200 with a body that could not be read",
                status=None,
                may_have_acted=True,
            )
            current.faults.append(fault)
            return self._failed_attempt(
                current, fault, known=False, number=number, round_number=round_number,
                exc=None,
            )
        # The limiter is told once the answer is read (``settle_steps``): an interrupt while
        # it is told (a round trip, for a shared limiter) then loses no answer.
        current.feedback = (epoch, capacity_short)
        logger.debug(
            "%s batch=%d round=%d attempt=%d items=%d token=%s -> answered",
            operation.name, number, round_number, current.attempts, len(items),
            current.token or "per-item",
        )
        return answer

    def _retry_after(
        self,
        first: _Retry,
        current: _Round,
        number: int,
        round_number: int,
        work: Work[ItemT, OutT],
    ) -> Generator[Effect, Any, Answer]:
        """Retry, by tenacity's rules, a call whose first attempt failed with ``first``.

        tenacity is shown that failed attempt (no second HTTP attempt is made for it), so
        its stop and wait rules apply from the first retry on, as if it had made it.
        tenacity decides (``Retrying.iter``); its sleeps are yielded to the driver, so that
        the same loop serves a thread and an event loop.
        """
        before_sleep = None
        if self._publish.subscribers:
            publish, name = self._publish, self._operation.name

            def before_sleep(state: tenacity.RetryCallState) -> None:
                error = state.outcome.exception() if state.outcome is not None else None
                code = error.fault.code if isinstance(error, _Retry) else "unknown"
                publish(RetryScheduled(
                    name, number, current.attempts, code, state.upcoming_sleep,
                    len(current.items),
                ))

        retrying = self._policy.retrying(
            retry_on=_Retry,
            deadline_at=self._deadline_at,
            attempts=lambda: current.attempts,
            before_sleep=before_sleep,
        )
        retrying.begin()
        state = tenacity.RetryCallState(retrying, fn=None, args=(), kwargs={})
        replay: _Retry | None = first
        while True:
            do = retrying.iter(retry_state=state)
            if isinstance(do, tenacity.DoAttempt):
                if replay is not None:
                    state.set_exception((type(replay), replay, replay.__traceback__))
                    replay = None
                    continue
                try:
                    result = yield from self._attempt(current, number, round_number, work)
                except Exception:  # noqa: BLE001 - handed to tenacity: retried or raised
                    state.set_exception(sys.exc_info())  # type: ignore[arg-type]
                else:
                    state.set_result(result)
            elif isinstance(do, tenacity.DoSleep):
                state.prepare_for_next_attempt()
                yield Sleep(float(do))
            else:
                return do  # type: ignore[no-any-return]

    def _capacity_short(self, answer: Answer) -> bool:
        if not answer.failures:
            return False
        kind = self._operation.item_kind
        return any(
            not isinstance(a, str) and a.code is not None and kind(a.code) is ItemKind.CAPACITY
            for a in answer.items.values()
        )

    def _failed_attempt(
        self,
        current: _Round,
        fault: CallFault,
        *,
        known: bool,
        number: int,
        round_number: int,
        exc: BaseException | None,
    ) -> NoReturn:
        """Classify one failed attempt (already in ``current.faults``): raise what the
        retry loop and ``settle`` act on. ``known``: a throttle the limiter had already
        slowed down for."""
        operation = self._operation
        logger.debug(
            "%s batch=%d round=%d attempt=%d items=%d token=%s -> %s (HTTP %s)",
            operation.name, number, round_number, current.attempts, len(current.items),
            current.token or "per-item", fault.code, fault.status,
        )
        if operation.abort_error(fault) is not None:
            raise AbortRun(Stop.REFUSED, fault=fault) from exc
        if fault.code == FailureCode.UNREADABLE_ANSWER or operation.is_transient(fault):
            if self._on_retry is not None:
                self._on_retry(fault.code)
            raise _Retry(fault, known_throttle=known) from exc
        raise _Final(fault) from exc

    def _read(
        self, current: _Round, answer: Answer, work: Work[ItemT, OutT], *, last_round: bool
    ) -> list[tuple[Pending[ItemT], ItemAnswer]]:
        """Settle what the answer settles; return the items worth another round."""
        if answer.strangers:
            logger.warning(
                "%s answer named %d request identifier(s) that were not sent; ignored",
                self._operation.name, answer.strangers,
            )
        again: list[tuple[Pending[ItemT], ItemAnswer]] = []
        settled: list[tuple[Pending[ItemT], OutT]] = []
        # Under its own token an unanswered item is sent again; under a call's token it
        # may never be (a new body needs a new token).
        resend_unanswered = (
            self._operation.idempotency is Idempotency.PER_ITEM and not last_round
        )
        gave_up = 0
        found, success = answer.items.get, self._outcomes.success
        for p in current.items:
            item_answer = found(p.key)
            if item_answer is None:
                if resend_unanswered:
                    p.exposed = True
                    again.append((p, _OMITTED))
                    continue
                # Left out of the answer, or contradicted: the item may have been created.
                settled.append((p, self._failed(
                    p, FailureCode.UNKNOWN_OUTCOME, _OMITTED.message,
                    retryable=False, outcome_unknown=True,
                )))
            elif isinstance(item_answer, str):
                settled.append((p, success(p, item_answer)))
            else:
                code = item_answer.code or FailureCode.UNKNOWN_OUTCOME
                kind = self._operation.item_kind(code)
                # An answer under the item's token settles what earlier attempts left open,
                # unless the answer itself says it does not know.
                p.exposed = kind is ItemKind.UNCERTAIN
                if kind is ItemKind.FINAL:
                    settled.append(
                        (p, self._failed(p, code, item_answer.message, retryable=False))
                    )
                elif not last_round:
                    again.append((p, item_answer))
                else:
                    # The service answered for it under the last token that carried it.
                    gave_up += 1
                    settled.append((p, self._failed(
                        p, code, item_answer.message, retryable=True, outcome_unknown=p.exposed
                    )))
        work.add_all(settled)
        if gave_up:
            logger.warning(
                "%s: %d item(s) still failing with a transient code after %d resubmission(s);"
                " reported failed and retryable",
                self._operation.name, gave_up, self._policy.max_item_retries,
            )
        return again

    def _resubmission_cut_short(
        self,
        number: int,
        pending: list[tuple[Pending[ItemT], ItemAnswer]],
        work: Work[ItemT, OutT],
    ) -> None:
        logger.warning(
            "%s batch=%d: deadline too near to resubmit %d item(s); reported failed and "
            "retryable", self._operation.name, number, len(pending),
        )
        for p, seen in pending:
            # Answered under its token this round (or the next round's call token never left
            # this run); under a job key, an earlier run may have sent that call token.
            work.add(p, self._failed(
                p, seen.code or "", seen.message, retryable=True,
                outcome_unknown=self.may_exist(p),
            ))

    def _give_up(
        self, current: _Round, number: int, stop: Exception, work: Work[ItemT, OutT]
    ) -> None:
        unknown = any(self.may_exist(p, current) for p in current.items)
        if current.faults:
            last = current.faults[-1]
            code, message = last.code, last.message
        else:
            code, message = FailureCode.DEADLINE_EXCEEDED, "not sent: the run's deadline passed"
        why = "deadline passed" if isinstance(stop, _DeadlinePassed) else "retries exhausted"
        logger.warning(
            "%s batch=%d token=%s: %s after %d attempt(s), last error %s; %d item(s) reported "
            "failed and retryable%s", self._operation.name, number, current.token, why,
            current.attempts, code, len(current.items),
            ", outcome unknown" if unknown else "",
        )
        for p in current.items:
            work.add(p, self._failed(
                p, code, message, retryable=True,
                outcome_unknown=self.may_exist(p, current),
            ))

    def _final(self, current: _Round, fault: CallFault, work: Work[ItemT, OutT]) -> None:
        if self._operation.is_token_conflict(fault):
            # The token was used before with another body: whatever that call created exists.
            message = (
                f"{fault.code}: the service says this call conflicts with an earlier one under "
                "the same token (a ClientToken used before with a different body). Under a "
                "job_key this means the job's input changed since an earlier run (an item "
                "edited, added, removed or moved), and what that run created exists. Run the "
                "original input again under the same job_key to settle it; send changed items "
                "only under a new job_key."
            )
            conflict = True
        else:
            message = fault.message
            conflict = False
        for p in current.items:
            work.add(p, self._failed(
                p, fault.code, message, retryable=False,
                outcome_unknown=conflict or self.may_exist(p, current),
            ))

    def _aborted(self, current: _Round, abort: AbortRun, work: Work[ItemT, OutT]) -> None:
        certain = False
        if abort.reason is Stop.NOT_SENT:
            code, retryable = FailureCode.NOT_SENT.value, True
            message = "not sent: " + _botocore.unsent_reason(abort.cause or abort)
        elif abort.fault is not None:
            code, message = abort.fault.code, abort.fault.message
            retryable = self._operation.retryable_after(abort.fault)
        else:
            code, retryable = abort.code, False
            message = "the call raised an unexpected error"
            certain = True  # certainly unknown: the call may have done anything
        for p in current.items:
            work.add(p, self._failed(
                p, code, message, retryable=retryable,
                outcome_unknown=certain or self.may_exist(p, current),
            ))

    # Outcomes.
    def _interrupted(self, p: Pending[ItemT], current: _Round | None) -> OutT:
        return self._failed(
            p, FailureCode.INTERRUPTED, "the run was interrupted before this was settled",
            retryable=True, outcome_unknown=self.may_exist(p, current),
        )

    def interrupted_unsent(self, p: Pending[ItemT]) -> OutT:
        """The outcome of an input handed over for a call that never started."""
        return self._not_sent(p, FailureCode.INTERRUPTED, "not sent: the run was interrupted first")

    def interrupted_in_flight(self, p: Pending[ItemT]) -> OutT:
        """The outcome of an input whose call the run stopped waiting for."""
        return self._failed(
            p, FailureCode.INTERRUPTED,
            "the run stopped waiting for this call; the service may have acted on it",
            retryable=True, outcome_unknown=True,
        )

    def _deadline_exceeded(self, p: Pending[ItemT]) -> OutT:
        return self._not_sent(
            p, FailureCode.DEADLINE_EXCEEDED, "not sent: the run's deadline passed"
        )

    def unsent(self, p: Pending[ItemT]) -> OutT:
        """The outcome of an input read but never sent: the run stopped first."""
        return self._not_sent(p, FailureCode.NOT_SENT, "not sent: the run stopped first")

    def _not_sent(self, p: Pending[ItemT], code: FailureCode, message: str) -> OutT:
        """An input this run never sent: retryable, and known not created only if no token
        for it can have left any run (``may_exist``). Under a job key, "not sent" means
        "unknown until the job is run again"."""
        if p.duplicate_of is not None:
            return self.duplicate(p)
        if self.may_exist(p):
            message += (
                "; its token may have been sent by an earlier run, so it is unknown until the "
                "same job (or the same tokens) runs again"
            )
        return self._failed(p, code, message, retryable=True, outcome_unknown=self.may_exist(p))

    def answered_now(self, p: Pending[ItemT]) -> Work[ItemT, OutT]:
        """A finished batch of one duplicate input, answered (for the batchers)."""
        work: Work[ItemT, OutT] = Work([p])
        work.withdraw()
        work.abandon(self.duplicate)
        work.finished.set()
        return work

    def duplicate(self, p: Pending[ItemT]) -> OutT:
        """An input that is the same request as an earlier one of the job: never sent."""
        return self._failed(
            p, FailureCode.DUPLICATE_IN_JOB,
            f"the same request as input {p.duplicate_of} of this job (same campaign, channel, "
            "destination, and key or content), which answers for both; not sent. Give it "
            "its own key= to send it as a request of its own",
            retryable=False, duplicate_of=p.duplicate_of,
        )

    def _failed(
        self,
        p: Pending[ItemT],
        code: str,
        message: str,
        *,
        retryable: bool,
        outcome_unknown: bool = False,
        duplicate_of: int | None = None,
    ) -> OutT:
        if duplicate_of is None:
            return self._outcomes.failure(
                p, str(code), message, retryable=retryable, outcome_unknown=outcome_unknown
            )
        return self._outcomes.failure(
            p, str(code), message, retryable=retryable, outcome_unknown=outcome_unknown,
            duplicate_of=duplicate_of,
        )
