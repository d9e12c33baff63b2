"""One round's call: its attempts under the round's token, retried by the policy's rules.

``Caller.call`` makes a round's call as a generator of effects (``effects``): it waits for
a slot, builds the request (the operation's), yields the HTTP attempt, classifies what came
back, and retries under the same token, by tenacity's rules, until an answer, the policy's
``max_attempts``, the deadline, or an error no retry can fix. A round that ends without an
answer has its inputs answered by ``verdicts``. Must not know threads or event loops (it
yields; it never waits), the clock (the deadline and the wall clock are handed in; call
durations are ``instrument``'s), or any API's field names.
"""

from __future__ import annotations

import datetime
import logging
import sys
from collections.abc import Callable, Generator
from typing import Any, Generic, NoReturn, TypeVar

import tenacity

from connect_batch import _botocore
from connect_batch._engine.answers import AnswerReader
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
from connect_batch._engine.instrument import Instrument
from connect_batch._engine.intake import Pending
from connect_batch._engine.retry import RetryPolicy
from connect_batch._engine.verdicts import Verdicts
from connect_batch._engine.work import Work
from connect_batch._errors import CallFault
from connect_batch._outcomes import FailureCode
from connect_batch.events import RetryScheduled
from connect_batch.operations.base import Answer, BatchOperation, Idempotency

ItemT = TypeVar("ItemT")
OutT = TypeVar("OutT")
logger = logging.getLogger("connect_batch")


class Caller(Generic[ItemT, OutT]):
    """Makes one run's round calls (``call``), attempt by attempt."""

    def __init__(
        self,
        operation: BatchOperation[ItemT],
        policy: RetryPolicy,
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
        self._verdicts = verdicts
        self._answers = answers
        self._deadline = deadline
        self._instrument = instrument
        self._now = now
        self._cancelled = cancelled
        self._on_retry = on_retry

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

    def call(
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
        # pauses the pacer (the backlog is full), without a cut in its pace.
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
            yield Feedback(epoch, throttled=False, capacity=capacity_short)
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
