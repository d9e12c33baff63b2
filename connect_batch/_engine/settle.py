"""Settling one batch: its rounds, its attempts under each round's token, what is retried.

``Settler.steps`` settles one batch, round by round, as a generator of effects (acquire a
slot, make a call, sleep, tell the limiter: ``effects``) that a driver carries out: the
thread driver blocking (``connect_batch._threads``), the asyncio driver awaiting
(``connect_batch._asyncio``). Every decision (which token, which round, what is retried,
what outcome) is made here, once; the outcomes themselves come from ``verdicts`` and
``answers``.

Must not know: threads or event loops (it yields, it never waits), the clock (the deadline
and the wall clock are handed in; call durations are ``instrument``'s), or any API's field
names (the operation builds each request and reads each answer). It tells a per-call
operation from a per-item one only by ``BatchOperation.idempotency``.
"""

from __future__ import annotations

import datetime
import logging
import sys
from collections.abc import Callable, Generator
from typing import Any, Generic, NoReturn, TypeVar

import tenacity

from connect_batch import _botocore
from connect_batch._engine.answers import NOT_ANSWERED, AnswerReader
from connect_batch._engine.attempts import Round
from connect_batch._engine.control import (
    AbortRun,
    Cancelled,
    DeadlinePassed,
    Final,
    Retry,
    Stop,
)
from connect_batch._engine.deadline import Deadline
from connect_batch._engine.effects import Acquire, Call, Effect, Feedback, Sleep
from connect_batch._engine.identity import Identities
from connect_batch._engine.instrument import Instrument
from connect_batch._engine.intake import Pending
from connect_batch._engine.retry import RetryPolicy
from connect_batch._engine.verdicts import Verdicts
from connect_batch._engine.work import Work
from connect_batch._errors import CallFault
from connect_batch._operation import Answer, BatchOperation, Idempotency, ItemAnswer, ItemKind
from connect_batch._outcomes import FailureCode
from connect_batch.events import CapacityBackoff, ItemsResubmitted, RetryScheduled

ItemT = TypeVar("ItemT")
OutT = TypeVar("OutT")
logger = logging.getLogger("connect_batch")


class Settler(Generic[ItemT, OutT]):
    """The batch state machine of one run: ``steps`` for each batch.

    About 330 lines, on purpose: a round's steps (send, retry under one token, read, back
    off, resubmit) are one sequence that reads best in order; the answers they give are
    ``Verdicts``' and ``AnswerReader``'s.
    """

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
        now: Callable[[], datetime.datetime],
        cancelled: Callable[[], bool],
        on_retry: Callable[[str], None] | None,
    ) -> None:
        self._operation = operation
        self._policy = policy
        self._identities = identities
        self._verdicts = verdicts
        self._answers = answers
        self._deadline = deadline
        self._instrument = instrument
        self._now = now
        self._cancelled = cancelled
        self._on_retry = on_retry

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
                answer, abort = yield from self._call(current, number, round_number, work)
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
                        yield Feedback(*done.feedback)
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

    def _drop_unsendable(
        self, current: Round, now: datetime.datetime, work: Work[ItemT, OutT]
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
            else:
                work.add(p, self._verdicts.expired(p, why, current))
        if len(kept) < len(current.items):
            logger.warning(
                "%s: %d item(s) expired before they could be sent; reported EXPIRED",
                self._operation.name, len(current.items) - len(kept),
            )
            current.items = kept

    def _call(
        self, current: Round, number: int, round_number: int, work: Work[ItemT, OutT]
    ) -> Generator[Effect, Any, tuple[Answer | None, AbortRun | None]]:
        """The round's answer; or ``None`` once its items are answered (and why the run stops)."""
        try:
            return (yield from self._send(current, number, round_number, work)), None
        except (Retry, DeadlinePassed) as stop:
            self._verdicts.gave_up(current, number, stop, work)
        except Final as final:
            self._verdicts.final(current, final.fault, work)
        except Cancelled:
            for p in current.items:
                work.add(p, self._verdicts.interrupted(p, current))
        except AbortRun as abort:
            self._verdicts.aborted(current, abort, work)
            return None, abort
        return None, None

    def _send(
        self, current: Round, number: int, round_number: int, work: Work[ItemT, OutT]
    ) -> Generator[Effect, Any, Answer]:
        """Make the round's call, retrying it under the same token up to ``max_attempts``."""
        try:
            try:
                # Most calls succeed at once: tenacity is set up only for a retry.
                result: Answer = yield from self._attempt(current, number, round_number, work)
            except Retry as first:
                result = yield from self._retry_after(first, current, number, round_number, work)
        except Retry:
            if current.attempts < self._policy.max_attempts:
                self._deadline.missed = True  # tenacity stopped for the deadline
            raise
        except DeadlinePassed:
            self._deadline.missed = True
            raise
        except (Final, Cancelled, AbortRun):
            raise
        except Exception as exc:
            # Anything else (a hook, a limiter, a sleep that raised): the run cannot go on,
            # and this call may have reached the service.
            raise AbortRun(Stop.UNEXPECTED, cause=exc) from exc
        return result

    def _attempt(  # noqa: PLR0912, PLR0915 - one attempt's steps, in the order they happen
        self, current: Round, number: int, round_number: int, work: Work[ItemT, OutT]
    ) -> Generator[Effect, Any, Answer]:
        """One HTTP attempt of the round's call, under its token."""
        operation = self._operation
        if self._cancelled():
            raise Cancelled
        if self._deadline.passed():
            raise DeadlinePassed
        epoch: int | None = yield Acquire(self._deadline.remaining())
        if epoch is None:
            raise DeadlinePassed
        if self._cancelled():
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
        instrument = self._instrument if self._instrument.on else None
        if instrument is not None:
            sent_at = instrument.call_sent(number, round_number, current.attempts, len(items))
        try:
            with _botocore.single_attempt() as current.call:
                response = yield Call(method, params)
        except Exception as exc:
            mark, current.call = current.call, None
            fault = _botocore.fault_from(exc)
            if instrument is not None:
                unsent = fault is None and mark is not None and not mark.sent
                code = fault.code if fault else "NOT_SENT" if unsent else "UNEXPECTED"
                instrument.call_answered(
                    number, round_number, current.attempts, len(items),
                    status=fault.status if fault else None, code=code, sent_at=sent_at,
                    throttled=fault is not None and operation.is_throttle(fault),
                )
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
            if instrument is not None:
                instrument.call_answered(
                    number, round_number, current.attempts, len(items),
                    status=None, code=FailureCode.INTERRUPTED.value, sent_at=sent_at,
                    throttled=False,
                )
            raise
        current.answered = True
        current.call = None
        answer = operation.read(response, [key for key, _ in items])
        # A capacity answer (no agents, no telecom capacity, too many pending requests)
        # slows the run down as a throttle does.
        capacity_short = self._answers.capacity_short(answer)
        if instrument is not None:
            try:
                instrument.call_answered(
                    number, round_number, current.attempts, len(items), status=200,
                    code=None if answer.readable else FailureCode.UNREADABLE_ANSWER.value,
                    sent_at=sent_at, throttled=capacity_short,
                )
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
        # The limiter is told once the answer is read (``steps``): an interrupt while it
        # is told (a round trip, for a shared limiter) then loses no answer.
        current.feedback = (epoch, capacity_short)
        logger.debug(
            "%s batch=%d round=%d attempt=%d items=%d token=%s -> answered",
            operation.name, number, round_number, current.attempts, len(items),
            current.token or "per-item",
        )
        return answer

    def _retry_after(
        self,
        first: Retry,
        current: Round,
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
        if self._instrument.on:
            publish, name = self._instrument.publish, self._operation.name

            def before_sleep(state: tenacity.RetryCallState) -> None:
                error = state.outcome.exception() if state.outcome is not None else None
                code = error.fault.code if isinstance(error, Retry) else "unknown"
                publish(RetryScheduled(
                    name, number, current.attempts, code, state.upcoming_sleep,
                    len(current.items),
                ))

        retrying = self._policy.retrying(
            retry_on=Retry,
            deadline_at=self._deadline.at,
            attempts=lambda: current.attempts,
            before_sleep=before_sleep,
        )
        retrying.begin()
        state = tenacity.RetryCallState(retrying, fn=None, args=(), kwargs={})
        replay: Retry | None = first
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

    def _failed_attempt(
        self,
        current: Round,
        fault: CallFault,
        *,
        known: bool,
        number: int,
        round_number: int,
        exc: BaseException | None,
    ) -> NoReturn:
        """Classify one failed attempt (already in ``current.faults``): raise what the
        retry loop and ``steps`` act on. ``known``: a throttle the limiter had already
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
            raise Retry(fault, known_throttle=known) from exc
        raise Final(fault) from exc
