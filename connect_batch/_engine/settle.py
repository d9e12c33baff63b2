"""Settling one batch: its rounds, and what goes again after each.

``Settler.steps`` settles one batch, round by round, as a generator of effects (acquire a
slot, make a call, sleep, tell the limiter: ``effects``) that a driver carries out: the
thread driver blocking (``connect_batch._threads``), the asyncio driver awaiting
(``connect_batch._asyncio``). Every decision (which token, which round, what is retried,
what outcome) is made in this package, once: the rounds here, each round's call and its
retries in ``calls``, what an answer settles in ``answers``, every other answer in
``verdicts``.

Must not know: threads or event loops (it yields, it never waits), the clock (the deadline
is handed in), or any API's field names. It tells a per-call operation from a per-item one
only by ``BatchOperation.idempotency``.
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from typing import Any, Generic, TypeVar

from connect_batch._engine.answers import NOT_ANSWERED, AnswerReader
from connect_batch._engine.attempts import Round
from connect_batch._engine.calls import Caller
from connect_batch._engine.control import AbortRun, Cancelled, Stop
from connect_batch._engine.deadline import Deadline
from connect_batch._engine.effects import Effect, Feedback, Sleep
from connect_batch._engine.identity import Identities
from connect_batch._engine.instrument import Instrument
from connect_batch._engine.intake import Pending
from connect_batch._engine.retry import RetryPolicy
from connect_batch._engine.verdicts import Verdicts
from connect_batch._engine.work import Work
from connect_batch.events import CapacityBackoff, ItemsResubmitted
from connect_batch.operations.base import BatchOperation, Idempotency, ItemAnswer, ItemKind

ItemT = TypeVar("ItemT")
OutT = TypeVar("OutT")
logger = logging.getLogger("connect_batch")


class Settler(Generic[ItemT, OutT]):
    """The batch state machine of one run: ``steps`` for each batch."""

    def __init__(
        self,
        operation: BatchOperation[ItemT],
        policy: RetryPolicy,
        identities: Identities,
        *,
        verdicts: Verdicts[ItemT, OutT],
        answers: AnswerReader[ItemT, OutT],
        deadline: Deadline,
        instrument: Instrument,
        caller: Caller[ItemT, OutT],
    ) -> None:
        self._operation = operation
        self._policy = policy
        self._identities = identities
        self._verdicts = verdicts
        self._answers = answers
        self._deadline = deadline
        self._instrument = instrument
        self._caller = caller

    def steps(
        self, batch: list[Pending[ItemT]], number: int, work: Work[ItemT, OutT]
    ) -> Generator[Effect, Any, AbortRun | None]:
        """The steps that settle one batch into ``work``, as a generator of effects (acquire
        a slot, make a call, sleep, tell the limiter) that a driver carries out and answers.

        A run-stopping error comes back as the generator's value. If an exception is thrown
        in (an interrupt, a task's cancellation), the inputs still open are answered first
        (their outcome unknown if a call may have reached the service), then it goes on.
        """
        if not work.start():
            return None  # withdrawn before it started: answered by whoever withdrew it
        current: Round | None = None
        per_call = self._operation.idempotency is Idempotency.PER_CALL
        try:
            pending = [(p, NOT_ANSWERED) for p in batch]
            for round_number in range(self._policy.max_item_retries + 1):
                if round_number:
                    resume = yield from self._wait_to_resubmit(round_number, number, pending, work)
                    if not resume:
                        return None
                items = [p for p, _ in pending]
                token = self._identities.client_token(number, round_number) if per_call else ""
                current = Round(items, token)
                answer, abort = yield from self._caller.call(current, number, round_number, work)
                if answer is None:
                    return abort
                last_round = round_number == self._policy.max_item_retries
                pending = self._answers.read(current, answer, work, last_round=last_round)
                # The round is settled: what is still open was refused by the service, and
                # each input's own exposure says whether it may exist.
                done, current = current, None
                if done.deferred is not None:
                    raise done.deferred  # noqa: TRY301 - the subscriber's interrupt, deferred
                if done.feedback is not None:
                    try:
                        epoch, capacity = done.feedback
                        yield Feedback(epoch, throttled=False, capacity=capacity)
                    except Exception as exc:  # noqa: BLE001 - a limiter that raised: the run stops
                        abort = AbortRun(Stop.UNEXPECTED, cause=exc)
                        self._verdicts.aborted(Round([p for p, _ in pending], ""), abort, work)
                        return abort
                if not pending:
                    return None
        except BaseException:
            round_, interrupted = current, self._verdicts.interrupted
            work.abandon(lambda p: interrupted(p, round_))
            raise
        finally:
            # Told before the batch counts as finished, so that it comes before RunFinished.
            if self._instrument.on:
                self._instrument.batch_settled(number, len(batch), work.outcomes)
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
        if self._deadline.too_near(wait):
            self._deadline.missed = True
            self._verdicts.cut_short(number, pending, work)
            return False
        if self._instrument.on:
            publish, name = self._instrument.publish, self._operation.name
            if capacity:
                publish(CapacityBackoff(name, number, round_number, len(pending), wait))
            publish(ItemsResubmitted(name, number, round_number, len(pending), wait, capacity))
        try:
            yield Sleep(wait)
        except Cancelled:
            for p, _ in pending:
                work.add(p, self._verdicts.interrupted(p, None))
            return False
        return True
