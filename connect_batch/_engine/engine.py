"""``Engine``: one run's parts, wired together, and the one handle the drivers hold.

A run is made of: its ``Intake`` (keying the input), its ``Deadline``, its ``Verdicts``
(every answer given without the service's word), its ``AnswerReader``, its ``Caller`` (a
round's call, retried), its ``Settler`` (one batch's state machine, as effects), its
``Schedule`` (the reading rules both loops share), its ``Instrument`` (events and counts)
and its ``Interrupts``. ``Engine`` builds them from a client's options and exposes what the
drivers use; it decides nothing itself.

It also carries, for the drivers, what they carry effects out with (the boto3 client, the
rate limiter, the retry policy's sleep) and the run's stop flag. The flag is a
``threading.Event`` only so that the thread driver's back-off can wait on it; no thread is
started here, and the asyncio driver reads it as a plain flag. Knows no API: the operation
describes itself (``BatchOperation``).
"""

from __future__ import annotations

import collections
import datetime
import threading
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import AbstractContextManager
from typing import Any, Generic, TypeVar

import attrs

from connect_batch._engine.answers import AnswerReader
from connect_batch._engine.attempts import Round
from connect_batch._engine.calls import Caller
from connect_batch._engine.control import AbortRun, stop_reason
from connect_batch._engine.deadline import Deadline
from connect_batch._engine.effects import Effect
from connect_batch._engine.identity import Identities, RandomIdentities
from connect_batch._engine.instrument import Instrument
from connect_batch._engine.intake import Intake, Pending, RunKeys
from connect_batch._engine.interrupts import Interrupts
from connect_batch._engine.pacing import NoLimit, RateLimiter
from connect_batch._engine.retry import RetryPolicy
from connect_batch._engine.schedule import Schedule
from connect_batch._engine.settle import Settler
from connect_batch._engine.verdicts import OutcomeFactory, Verdicts
from connect_batch._engine.work import Work
from connect_batch.events import Publisher
from connect_batch.operations.base import BatchOperation

ItemT = TypeVar("ItemT")
OutT = TypeVar("OutT")


def _utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


@attrs.define
class Engine(Generic[ItemT, OutT]):
    """Runs a batch operation over an iterable with a retry policy: one run's parts."""

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
    # This run's own deadline (seconds from its start), over the policy's: a call's
    # ``deadline=``.
    _deadline_budget: float | None = None
    _cancelled: threading.Event = attrs.field(init=False, factory=threading.Event)
    interrupts: Interrupts = attrs.field(init=False)
    intake: Intake[ItemT] = attrs.field(init=False)
    deadline: Deadline = attrs.field(init=False)
    verdicts: Verdicts[ItemT, OutT] = attrs.field(init=False)
    instrument: Instrument = attrs.field(init=False)
    schedule: Schedule[ItemT, OutT] = attrs.field(init=False)
    settler: Settler[ItemT, OutT] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        operation = self._operation
        self.interrupts = Interrupts(self.cancel)
        self.intake = Intake(operation, self._identities, self._check_item)
        self.deadline = Deadline(self._policy, self._deadline_budget)
        self.verdicts = Verdicts(operation, self._outcomes, durable=self._identities.durable)
        self.instrument = Instrument(self._publish, operation.name, self._outcomes.code)
        self.schedule = Schedule(
            operation.name, self.intake, self.deadline, verdicts=self.verdicts,
            instrument=self.instrument, interrupts=self.interrupts,
        )
        answers = AnswerReader(
            operation, self._outcomes, self.verdicts, self._policy.max_item_retries
        )
        caller = Caller(
            operation, self._policy, verdicts=self.verdicts, answers=answers,
            deadline=self.deadline, instrument=self.instrument, now=self._now,
            cancelled=self._cancelled.is_set, on_retry=self._on_retry,
        )
        self.settler = Settler(
            operation, self._policy, self._identities, verdicts=self.verdicts,
            answers=answers, deadline=self.deadline, instrument=self.instrument, caller=caller,
        )

    # What the drivers carry effects out with.
    @property
    def operation(self) -> BatchOperation[ItemT]:
        """The operation this engine runs."""
        return self._operation

    @property
    def client(self) -> Any:
        """The boto3 (or aiobotocore) client calls are made with."""
        return self._client

    @property
    def limiter(self) -> RateLimiter:
        """The rate limiter the thread driver acquires slots from."""
        return self._limiter

    @property
    def policy(self) -> RetryPolicy:
        """The run's retry policy (its ``sleep`` is the thread driver's back-off)."""
        return self._policy

    @property
    def concurrency(self) -> int:
        """How many batches may be in flight at once."""
        return self._concurrency

    @property
    def skip(self) -> Callable[[list[Pending[ItemT]]], bool] | None:
        """Resuming: a batch this returns True for is neither sent nor answered."""
        return self._skip

    @property
    def skip_item(self) -> Callable[[Pending[ItemT]], bool] | None:
        """Resuming per item: an input this returns True for is neither sent nor answered."""
        return self._skip_item

    @property
    def durable(self) -> bool:
        """True when the run's tokens outlive it (a job key): an earlier run may have sent them."""
        return self._identities.durable

    # Stopping.
    def cancel(self) -> None:
        """No new attempt starts from now on; calls in flight finish."""
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        """True once the run was told to start no new attempt."""
        return self._cancelled.is_set()

    def wait_cancelled(self, seconds: float) -> bool:
        """Wait up to ``seconds`` for the run to be told to stop (thread driver); True if so."""
        return self._cancelled.wait(seconds)

    # The deadline.
    def start_clock(self) -> None:
        """Start the deadline now (the scheduling loops do this themselves)."""
        self.deadline.start()

    def past_deadline(self) -> bool:
        """True once the run's deadline passed (or a batch found it could not be met)."""
        return self.deadline.past()

    # Reading the input (``Intake``, ``Schedule``).
    def keyed(self, items: Iterable[ItemT]) -> Iterator[Pending[ItemT]]:
        """Check and key each input of ``items``, lazily."""
        return self.intake.keyed(items)

    def key(self, item: ItemT, position: int, seen: RunKeys) -> Pending[ItemT]:
        """Check ``item`` and give it its key; ``seen`` is what the run keyed so far."""
        return self.intake.key(item, position, seen)

    def take(
        self, keyed: Iterator[Pending[ItemT]], count: int, ready: collections.deque[OutT]
    ) -> list[Pending[ItemT]]:
        """Read up to ``count`` inputs (``Schedule.take``)."""
        return self.schedule.take(keyed, count, ready)

    def reading(
        self, batch: list[Pending[ItemT]], ready: collections.deque[OutT]
    ) -> AbstractContextManager[None]:
        """A block that reads the caller's input into ``batch`` (``Schedule.reading``)."""
        return self.schedule.reading(batch, ready)

    def answer_unsent(
        self, pending: Iterable[Pending[ItemT]], ready: collections.deque[OutT]
    ) -> None:
        """Answer inputs read but never sent (the run stopped first)."""
        self.schedule.answer_unsent(pending, ready)

    def hand_over(self, ready: collections.deque[OutT]) -> list[OutT]:
        """What is ready, as one chunk; a safe point first."""
        return self.schedule.hand_over(ready)

    def past_deadline_answers(
        self,
        late: list[Pending[ItemT]],
        rest: list[Pending[ItemT]],
        ready: collections.deque[OutT],
        *,
        in_memory: bool,
    ) -> None:
        """Answer what was read once the deadline passed (``Schedule.past_deadline_answers``)."""
        self.schedule.past_deadline_answers(late, rest, ready, in_memory=in_memory)

    # One batch (``Settler``).
    def settle_steps(
        self, batch: list[Pending[ItemT]], number: int, work: Work[ItemT, OutT]
    ) -> Generator[Effect, Any, AbortRun | None]:
        """The steps that settle one batch into ``work``, as effects (``Settler.steps``)."""
        return self.settler.steps(batch, number, work)

    # Verdicts.
    def may_exist(self, p: Pending[ItemT], current: Round | None = None) -> bool:
        """The one rule for ``outcome_unknown`` (``Verdicts.may_exist``)."""
        return self.verdicts.may_exist(p, current)

    def interrupted_unsent(self, p: Pending[ItemT]) -> OutT:
        """The outcome of an input handed over for a call that never started."""
        return self.verdicts.interrupted_unsent(p)

    def interrupted_in_flight(self, p: Pending[ItemT]) -> OutT:
        """The outcome of an input whose call the run stopped waiting for."""
        return self.verdicts.interrupted_in_flight(p)

    def unsent(self, p: Pending[ItemT]) -> OutT:
        """The outcome of an input read but never sent: the run stopped first."""
        return self.verdicts.unsent(p)

    def duplicate(self, p: Pending[ItemT]) -> OutT:
        """An input that is the same request as an earlier one of the job: never sent."""
        return self.verdicts.duplicate(p)

    def answered_now(self, p: Pending[ItemT]) -> Work[ItemT, OutT]:
        """A finished batch of one duplicate input, answered (for the batchers)."""
        return self.verdicts.answered_now(p)

    # Instrumentation (``Instrument``).
    def begin_run(self) -> float:
        """A run starts: its counts start from zero, its pace is told; the start time, for
        ``finished``."""
        started = self.instrument.begin_run()
        self.instrument.paced(self._limiter)
        return started

    stop_reason = staticmethod(stop_reason)

    def count(self, outcomes: Iterable[OutT]) -> None:
        """Count outcomes by code for ``RunFinished`` (only when someone listens)."""
        self.instrument.count(outcomes)

    def finish_run(self, outcomes: Iterable[OutT], started: float, stopped: str | None) -> None:
        """Publish ``RunFinished`` for a run driven outside a scheduling loop (a batcher)."""
        self.instrument.count(outcomes)
        self.instrument.finished(started, stopped)

    def finished(self, started: float, stopped: str | None) -> None:
        """Publish ``RunFinished`` (only when someone listens)."""
        self.instrument.finished(started, stopped)
