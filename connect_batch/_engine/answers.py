"""Reading one round's answer: what it settles, and which inputs are worth another round.

The operation reads the service's response into an ``Answer`` (its field names are the
operation's); this module decides, by the operation's ``item_kind`` and ``idempotency``, what
each input's answer means: created, failed for good, refused for now (another round), or
left out. Knows no field name, no thread, no clock.
"""

from __future__ import annotations

import logging
from typing import Generic, TypeVar

from connect_batch._engine.attempts import Round
from connect_batch._engine.intake import Pending
from connect_batch._engine.verdicts import OutcomeFactory, Verdicts
from connect_batch._engine.work import Work
from connect_batch._outcomes import FailureCode
from connect_batch.operations.base import Answer, BatchOperation, Idempotency, ItemAnswer, ItemKind

ItemT = TypeVar("ItemT")
OutT = TypeVar("OutT")
logger = logging.getLogger("connect_batch")

NOT_ANSWERED = ItemAnswer()
OMITTED = ItemAnswer(
    FailureCode.UNKNOWN_OUTCOME.value, "the service's answer did not settle this request"
)


class AnswerReader(Generic[ItemT, OutT]):
    """Settles what one run's answers settle."""

    def __init__(
        self,
        operation: BatchOperation[ItemT],
        outcomes: OutcomeFactory[ItemT, OutT],
        verdicts: Verdicts[ItemT, OutT],
        max_item_retries: int,
    ) -> None:
        self._operation = operation
        self._outcomes = outcomes
        self._verdicts = verdicts
        self._max_item_retries = max_item_retries

    def capacity_short(self, answer: Answer) -> bool:
        """True when the answer refused an input for lack of capacity (a throttle's kin)."""
        if not answer.failures:
            return False
        kind = self._operation.item_kind
        return any(
            not isinstance(a, str) and a.code is not None and kind(a.code) is ItemKind.CAPACITY
            for a in answer.items.values()
        )

    def read(
        self, current: Round, answer: Answer, work: Work[ItemT, OutT], *, last_round: bool
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
        failed = self._verdicts.failed
        found, success = answer.items.get, self._outcomes.success
        for p in current.items:
            item_answer = found(p.key)
            if item_answer is None:
                if resend_unanswered:
                    p.exposed = True
                    again.append((p, OMITTED))
                    continue
                # Left out of the answer, or contradicted: the item may have been created.
                settled.append((p, failed(
                    p, FailureCode.UNKNOWN_OUTCOME, OMITTED.message,
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
                    settled.append((p, failed(p, code, item_answer.message, retryable=False)))
                elif not last_round:
                    again.append((p, item_answer))
                else:
                    # The service answered for it under the last token that carried it.
                    gave_up += 1
                    settled.append((p, failed(
                        p, code, item_answer.message, retryable=True, outcome_unknown=p.exposed
                    )))
        work.add_all(settled)
        if gave_up:
            logger.warning(
                "%s: %d item(s) still failing with a transient code after %d resubmission(s);"
                " reported failed and retryable",
                self._operation.name, gave_up, self._max_item_retries,
            )
        return again
