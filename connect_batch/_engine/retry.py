"""The retry policy: one frozen object that says how often, how long and how to wait.

Built on tenacity. Which *errors* are worth a retry is the operation's to say
(``_operation.TRANSIENT_CALL_CODES``); this module says how retries are paced.
"""

from __future__ import annotations

import datetime
import random
import time
from collections.abc import Callable
from typing import TypeVar

import attrs
import tenacity

from connect_batch._errors import ConfigurationError

T = TypeVar("T")
# The first wait before items the service refused for lack of capacity go again (seconds).
CAPACITY_BACKOFF = 1.0
Duration = float | datetime.timedelta


def _seconds(value: Duration) -> float:
    return value.total_seconds() if isinstance(value, datetime.timedelta) else float(value)


def _optional_seconds(value: Duration | None) -> float | None:
    return None if value is None else _seconds(value)


def budget_seconds(value: Duration | None) -> float | None:
    """A call's own ``deadline=``, in seconds (``None``: the client's). Unlike the client's
    option it may be zero or less, as what is left of a time budget may be: nothing is sent."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | datetime.timedelta):
        raise ConfigurationError(
            f"deadline must be seconds (int or float) or a timedelta, got {type(value).__name__}"
        )
    seconds = _seconds(value)
    if seconds != seconds:  # noqa: PLR0124 - NaN is the one value not equal to itself
        raise ConfigurationError("deadline must be a number of seconds, got NaN")
    return seconds


def _positive(_: object, attribute: attrs.Attribute[float], value: float | None) -> None:
    if value is not None and not value > 0:
        raise ConfigurationError(f"{attribute.name} must be > 0, got {value!r}")


def _at_least(low: int) -> Callable[[object, attrs.Attribute[int], int], None]:
    def check(_: object, attribute: attrs.Attribute[int], value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ConfigurationError(f"{attribute.name} must be an int >= {low}, got {value!r}")

    return check


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How a batch is retried.

    ``max_attempts`` caps the HTTP attempts of one call in a run (botocore's own retries
    are switched off for the library's calls); it is never exceeded. Under a per-call token
    (BatchPutContact) that is a cap per ClientToken. Under per-item tokens (outbound
    campaigns) an item whose answer never came goes again in up to ``max_item_retries``
    more rounds, so one item's token may be sent ``max_attempts * (max_item_retries + 1)``
    times at most. Waits are
    exponential with full jitter: a uniform draw from 0 to
    ``min(max_backoff, initial_backoff * 2**(n-1))``.
    ``max_item_retries`` bounds how many times items that failed on their own with a
    transient code are put again. ``deadline`` bounds a whole run: no attempt starts, and
    no wait is begun that would end, after it.
    """

    max_attempts: int = attrs.field(default=5, validator=_at_least(1))
    initial_backoff: float = attrs.field(default=0.2, converter=_seconds, validator=_positive)
    max_backoff: float = attrs.field(default=20.0, converter=_seconds, validator=_positive)
    max_item_retries: int = attrs.field(default=3, validator=_at_least(0))
    deadline: float | None = attrs.field(
        default=None, converter=_optional_seconds, validator=_positive
    )
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic

    def deadline_at(self) -> float | None:
        """The clock reading at which a run starting now must end."""
        return None if self.deadline is None else self.clock() + self.deadline

    def backoff(self, retry_number: int) -> float:
        """The full-jitter wait before retry ``retry_number`` (1-based)."""
        ceiling = min(self.max_backoff, self.initial_backoff * 2 ** (retry_number - 1))
        return random.uniform(0, ceiling)  # noqa: S311 - jitter, not secrecy

    def capacity_backoff(self, retry_number: int) -> float:
        """The wait before items refused for capacity go again (round ``retry_number``).

        Equal jitter, never under half the ceiling: ``CAPACITY_BACKOFF * 2**(n-1)`` (at most
        ``max_backoff``), of which a random half. AWS asks callers to stop sending and wait.
        """
        ceiling = min(self.max_backoff, CAPACITY_BACKOFF * 2.0 ** (retry_number - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 - jitter

    def retrying(
        self,
        *,
        retry_on: type[BaseException],
        deadline_at: float | None,
        attempts: Callable[[], int],
        sleep: Callable[[float], None] | None = None,
        before_sleep: Callable[[tenacity.RetryCallState], None] | None = None,
    ) -> tenacity.Retrying:
        """A tenacity ``Retrying`` for one call: ``retry_on`` errors are retried.

        ``attempts`` says how many HTTP attempts the call has made; it stops at
        ``max_attempts``, a hard cap. An error whose ``known_throttle`` is True is retried
        without a backoff of its own: the rate limiter's pace is the wait.
        """
        stop: tenacity.stop.stop_base = _StopAfterAttempts(self.max_attempts, attempts)
        if deadline_at is not None:
            stop = stop | _StopBefore(deadline_at, self.clock)
        return tenacity.Retrying(
            stop=stop,
            wait=_Backoff(self.backoff, attempts),
            retry=tenacity.retry_if_exception_type(retry_on),
            sleep=sleep or self.sleep,
            before_sleep=before_sleep,
            reraise=True,
        )


@attrs.frozen
class _StopAfterAttempts(tenacity.stop.stop_base):
    max_attempts: int
    attempts: Callable[[], int]

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:  # noqa: ARG002
        return self.attempts() >= self.max_attempts


@attrs.frozen
class _Backoff(tenacity.wait.wait_base):
    """The policy's full-jitter backoff, numbered by HTTP attempts made."""

    backoff: Callable[[int], float]
    attempts: Callable[[], int]

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None else None
        if getattr(error, "known_throttle", False):
            return 0.0
        return self.backoff(max(1, self.attempts()))


@attrs.frozen
class _StopBefore(tenacity.stop.stop_base):
    """Stop when the coming wait would end past ``deadline_at``."""

    deadline_at: float
    clock: Callable[[], float]

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        return self.clock() + retry_state.upcoming_sleep >= self.deadline_at
