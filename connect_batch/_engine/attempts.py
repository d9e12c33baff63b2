"""One round of one batch: its token, its attempts, and what they met (``Round``).

A batch is settled in rounds: the first carries every input; each resubmission carries the
inputs the service refused for now. A round's record is what the verdicts read to say
whether an attempt may have reached the service and acted (``may_have_acted``). Pure data:
no thread, no clock, no API.
"""

from __future__ import annotations

from typing import Any

import attrs

from connect_batch import _botocore
from connect_batch._engine.intake import Pending
from connect_batch._errors import CallFault


@attrs.define(weakref_slot=False)
class Round:
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
    feedback: tuple[int, bool] | None = None  # (epoch, capacity): for the limiter, once read
    # An interrupt a subscriber raised while told of the answer: raised once it is read.
    deferred: BaseException | None = None

    def may_have_acted(self) -> bool:
        """True when any attempt of this round may have reached the service and acted."""
        in_progress = self.call is not None and self.call.sent
        return self.answered or in_progress or any(f.may_have_acted for f in self.faults)
