"""A run's deadline: when it falls, and whether a batch found it could no longer be met.

The time is the retry policy's clock (``RetryPolicy.clock``), so that tests can fake it;
this module reads no clock of its own, starts no thread and knows no API. The budget is
the policy's ``deadline`` (the client's option), or one given for a single call.
"""

from __future__ import annotations

from connect_batch._engine.retry import RetryPolicy


class Deadline:
    """One run's deadline (``at`` is ``None`` without one, or before ``start``).

    ``budget`` (seconds from ``start``) overrides the policy's ``deadline``: a call's own
    ``deadline=``. It may be zero or less: the budget is spent, and nothing is sent.
    """

    def __init__(self, policy: RetryPolicy, budget: float | None = None) -> None:
        self._policy = policy
        self._budget = budget
        self.at: float | None = None
        # A batch found the deadline could not be met (a backoff or a slot would outlast
        # it): the run reads nothing more. Set by whichever thread settles that batch.
        self.missed = False

    def start(self) -> None:
        """Start the deadline now."""
        if self._budget is None:
            self.at = self._policy.deadline_at()
        else:
            self.at = self._policy.clock() + self._budget

    def past(self) -> bool:
        """True once the deadline passed (or a batch found it could not be met)."""
        if self.missed:
            return True
        return self.at is not None and self._policy.clock() >= self.at

    def passed(self) -> bool:
        """True once the deadline itself passed."""
        return self.at is not None and self._policy.clock() >= self.at

    def remaining(self) -> float | None:
        """Seconds left, or ``None`` without a deadline."""
        return None if self.at is None else self.at - self._policy.clock()

    def too_near(self, wait: float) -> bool:
        """True when waiting ``wait`` seconds from now would reach the deadline."""
        return self.at is not None and self._policy.clock() + wait >= self.at
