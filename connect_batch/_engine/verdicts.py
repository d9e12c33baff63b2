"""Verdicts: every answer the engine gives an input without the service's word, in one place.

**Known not created.** A ``Failure`` says ``outcome_unknown=False`` only when (a) the service
answered for the input, under the last token that carried it, that it failed; or (b) no token
that could carry it can have left this run or any earlier one: not a call token under a job
key (``Identities.durable``), not a caller's own per-item token, not a job-derived per-item
token (``Pending.exposed`` marks those two). Everything else that is not a success is
``outcome_unknown=True``; ``Verdicts.may_exist`` is that rule, and every answer here goes
through it. One exception: an input that is the same request as an earlier input of the job
(``Pending.duplicate_of``) is answered ``DUPLICATE_IN_JOB`` and never sent: its outcome is
the earlier input's.

Holds the answers for inputs not sent (the run stopped, the deadline passed, an interrupt),
for calls the run stopped waiting for, and for a round that ended without an answer (retries
exhausted, a final error, a run-stopping error, an expiry). The caller's outcome values are
built by an ``OutcomeFactory``. Knows no API's field names, no thread, no clock.
"""

from __future__ import annotations

import logging
from typing import Any, Generic, Protocol, TypeVar

from connect_batch import _botocore
from connect_batch._engine.attempts import Round
from connect_batch._engine.control import AbortRun, DeadlinePassed, Stop
from connect_batch._engine.intake import Pending
from connect_batch._engine.work import Work
from connect_batch._errors import CallFault
from connect_batch._outcomes import FailureCode
from connect_batch.operations.base import BatchOperation, Idempotency, ItemAnswer

ItemT = TypeVar("ItemT")
OutT = TypeVar("OutT")
OutT_co = TypeVar("OutT_co", covariant=True)
logger = logging.getLogger("connect_batch")


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


class Verdicts(Generic[ItemT, OutT]):
    """The outcomes of one run's inputs that the service did not answer for."""

    def __init__(
        self,
        operation: BatchOperation[ItemT],
        outcomes: OutcomeFactory[ItemT, OutT],
        *,
        durable: bool,
    ) -> None:
        self._operation = operation
        self._outcomes = outcomes
        # Under a job key a call token of this job may have left any earlier run.
        self._call_token_durable = durable and operation.idempotency is Idempotency.PER_CALL

    def may_exist(self, p: Pending[ItemT], current: Round | None = None) -> bool:
        """The one rule for ``outcome_unknown`` when the service did not answer for ``p``
        under the last token that carried it: may ``p`` have been created anyway?

        Yes if a call token of this job may have left any run (``PER_CALL`` under a job
        key), if ``p``'s own token may have (``exposed``: a caller's token, a job-derived
        one, an attempt of this run that may have acted), or if ``current``, the round
        that carried it, may have acted.
        """
        if p.exposed or (current is not None and current.may_have_acted()):
            return True
        return self._call_token_durable

    # Inputs, one at a time.
    def interrupted(self, p: Pending[ItemT], current: Round | None) -> OutT:
        """An input whose batch was interrupted before it was settled."""
        return self.failed(
            p, FailureCode.INTERRUPTED, "the run was interrupted before this was settled",
            retryable=True, outcome_unknown=self.may_exist(p, current),
        )

    def interrupted_unsent(self, p: Pending[ItemT]) -> OutT:
        """The outcome of an input handed over for a call that never started."""
        return self._not_sent(p, FailureCode.INTERRUPTED, "not sent: the run was interrupted first")

    def interrupted_in_flight(self, p: Pending[ItemT]) -> OutT:
        """The outcome of an input whose call the run stopped waiting for."""
        return self.failed(
            p, FailureCode.INTERRUPTED,
            "the run stopped waiting for this call; the service may have acted on it",
            retryable=True, outcome_unknown=True,
        )

    def deadline_exceeded(self, p: Pending[ItemT]) -> OutT:
        """An input read once the run's deadline could no longer be met: not sent."""
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
        return self.failed(p, code, message, retryable=True, outcome_unknown=self.may_exist(p))

    def duplicate(self, p: Pending[ItemT]) -> OutT:
        """An input that is the same request as an earlier one of the job: never sent."""
        return self.failed(
            p, FailureCode.DUPLICATE_IN_JOB,
            f"the same request as input {p.duplicate_of} of this job (same campaign, channel, "
            "destination, and key or content), which answers for both; not sent. Give it "
            "its own key= to send it as a request of its own",
            retryable=False, duplicate_of=p.duplicate_of,
        )

    def answered_now(self, p: Pending[ItemT]) -> Work[ItemT, OutT]:
        """A finished batch of one duplicate input, answered (for the batchers)."""
        work: Work[ItemT, OutT] = Work([p])
        work.withdraw()
        work.abandon(self.duplicate)
        work.finished.set()
        return work

    def expired(
        self, p: Pending[ItemT], why: ItemAnswer, current: Round
    ) -> OutT:
        """An input the operation may no longer send (it expired) before this attempt."""
        if current.may_have_acted():
            return self.failed(
                p, why.code or FailureCode.EXPIRED,
                "expired before it could be sent again; an earlier attempt may have "
                "created it", retryable=False, outcome_unknown=True,
            )
        return self.failed(
            p, why.code or FailureCode.EXPIRED, why.message, retryable=False,
            outcome_unknown=self.may_exist(p),
        )

    # A round that ended without an answer for its inputs.
    def cut_short(
        self,
        number: int,
        pending: list[tuple[Pending[ItemT], ItemAnswer]],
        work: Work[ItemT, OutT],
    ) -> None:
        """Inputs to resubmit when the deadline is too near to: failed and retryable."""
        logger.warning(
            "%s batch=%d: deadline too near to resubmit %d item(s); reported failed and "
            "retryable", self._operation.name, number, len(pending),
        )
        for p, seen in pending:
            # Answered under its token this round (or the next round's call token never left
            # this run); under a job key, an earlier run may have sent that call token.
            work.add(p, self.failed(
                p, seen.code or "", seen.message, retryable=True,
                outcome_unknown=self.may_exist(p),
            ))

    def gave_up(
        self, current: Round, number: int, stop: Exception, work: Work[ItemT, OutT]
    ) -> None:
        """The round's call was retried until its attempts or the deadline ran out."""
        unknown = any(self.may_exist(p, current) for p in current.items)
        if current.faults:
            last = current.faults[-1]
            code, message = last.code, last.message
        else:
            code, message = FailureCode.DEADLINE_EXCEEDED, "not sent: the run's deadline passed"
        why = "deadline passed" if isinstance(stop, DeadlinePassed) else "retries exhausted"
        logger.warning(
            "%s batch=%d token=%s: %s after %d attempt(s), last error %s; %d item(s) reported "
            "failed and retryable%s", self._operation.name, number, current.token, why,
            current.attempts, code, len(current.items),
            ", outcome unknown" if unknown else "",
        )
        for p in current.items:
            work.add(p, self.failed(
                p, code, message, retryable=True,
                outcome_unknown=self.may_exist(p, current),
            ))

    def final(self, current: Round, fault: CallFault, work: Work[ItemT, OutT]) -> None:
        """The round's call met an error no retry of it can fix."""
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
            work.add(p, self.failed(
                p, fault.code, message, retryable=False,
                outcome_unknown=conflict or self.may_exist(p, current),
            ))

    def aborted(self, current: Round, abort: AbortRun, work: Work[ItemT, OutT]) -> None:
        """The round met an error that stops the run."""
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
            work.add(p, self.failed(
                p, code, message, retryable=retryable,
                outcome_unknown=certain or self.may_exist(p, current),
            ))

    def failed(
        self,
        p: Pending[ItemT],
        code: str,
        message: str,
        *,
        retryable: bool,
        outcome_unknown: bool = False,
        duplicate_of: int | None = None,
    ) -> OutT:
        """A ``Failure`` (the factory's), with ``duplicate_of`` only when there is one."""
        if duplicate_of is None:
            return self._outcomes.failure(
                p, str(code), message, retryable=retryable, outcome_unknown=outcome_unknown
            )
        return self._outcomes.failure(
            p, str(code), message, retryable=retryable, outcome_unknown=outcome_unknown,
            duplicate_of=duplicate_of,
        )
