"""What a run answers: one ``Success`` or ``Failure`` per input, gathered in a ``BatchResult``."""

from __future__ import annotations

import collections
import enum
import operator
from collections.abc import Iterable
from typing import Generic, TypeVar

import attrs

RequestT = TypeVar("RequestT")

# The code a success counts under, wherever outcomes are counted: BatchResult.counts(),
# events (BatchSettled.codes, RunFinished.counts), the metrics' outcome label, the CLI.
CREATED = "CREATED"


class FailureCode(str, enum.Enum):
    """Every code a ``Failure`` may carry that the library knows of.

    The first group are the API's per-item ``FailureReasonCode`` values; the second the
    service's whole-call errors, which fail every item of the call they ended; the third the
    library's own. ``Failure.code`` is a plain ``str`` so that a code the service adds later
    still comes through; compare it with these members or with strings alike.
    """

    # Per-item FailureReasonCode (service model).
    INVALID_ATTRIBUTE_KEY = "INVALID_ATTRIBUTE_KEY"
    INVALID_CUSTOMER_ENDPOINT = "INVALID_CUSTOMER_ENDPOINT"
    INVALID_SYSTEM_ENDPOINT = "INVALID_SYSTEM_ENDPOINT"
    INVALID_QUEUE = "INVALID_QUEUE"
    INVALID_OUTBOUND_STRATEGY = "INVALID_OUTBOUND_STRATEGY"
    MISSING_CAMPAIGN = "MISSING_CAMPAIGN"
    MISSING_CUSTOMER_ENDPOINT = "MISSING_CUSTOMER_ENDPOINT"
    MISSING_QUEUE_ID_AND_SYSTEM_ENDPOINT = "MISSING_QUEUE_ID_AND_SYSTEM_ENDPOINT"
    REQUEST_THROTTLED = "REQUEST_THROTTLED"
    IDEMPOTENCY_EXCEPTION = "IDEMPOTENCY_EXCEPTION"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    # Whole-call errors (service model).
    ACCESS_DENIED = "AccessDeniedException"
    INVALID_REQUEST = "InvalidRequestException"
    RESOURCE_NOT_FOUND = "ResourceNotFoundException"
    IDEMPOTENCY_CONFLICT = "IdempotencyException"
    LIMIT_EXCEEDED = "LimitExceededException"
    INTERNAL_SERVICE = "InternalServiceException"
    # Outbound campaigns (v1 and v2): per-item failureCode values.
    INVALID_INPUT = "InvalidInput"
    CAPACITY_THROTTLED = "RequestThrottled"
    BUFFER_LIMIT_EXCEEDED = "BufferLimitExceeded"
    UNKNOWN_ERROR = "UnknownError"
    # Outbound campaigns: whole-call errors.
    VALIDATION = "ValidationException"
    CONFLICT = "ConflictException"
    INVALID_CAMPAIGN_STATE = "InvalidCampaignStateException"
    THROTTLING = "ThrottlingException"
    INTERNAL_SERVER = "InternalServerException"
    # The library's own.
    UNKNOWN_OUTCOME = "UNKNOWN_OUTCOME"
    # The same request as an earlier input of the job (``Failure.duplicate_of``): not sent,
    # the earlier input's outcome answers for both.
    DUPLICATE_IN_JOB = "DUPLICATE_IN_JOB"
    NOT_SENT = "NOT_SENT"
    DEADLINE_EXCEEDED = "DEADLINE_EXCEEDED"
    INTERRUPTED = "INTERRUPTED"
    UNREADABLE_ANSWER = "UNREADABLE_ANSWER"
    EXPIRED = "EXPIRED"

    def __str__(self) -> str:
        return self.value


@attrs.frozen(kw_only=True)
class Success(Generic[RequestT]):
    """The service created ``request``, as ``id``.

    ``id`` is the ContactId (BatchPutContact) or the dial or outbound request's id (outbound
    campaigns). The input is named in the call by ``request_identifier`` (BatchPutContact)
    or by its own ``client_token`` (outbound campaigns, whose idempotency is per item); the
    other is ``None``. ``position`` is the input's 0-based index in the run.
    """

    id: str
    request: RequestT
    position: int
    request_identifier: str | None = None
    client_token: str | None = None

    @property
    def contact_id(self) -> str:
        """BatchPutContact's name for ``id``."""
        return self.id


@attrs.frozen(kw_only=True)
class Failure(Generic[RequestT]):
    """No resource is known to exist for ``request``.

    ``retryable`` says whether putting it again may succeed. ``outcome_unknown`` is True when
    the service may nonetheless have created it (the last attempt timed out, was cut off or
    answered 5xx, the answer left it out, or, under a ``job_key``, an earlier run may have
    sent it): put it again only by running the same job again. ``message`` is the service's
    text and is left out of ``repr()``. ``request_identifier`` and ``client_token`` are as
    in ``Success``. ``duplicate_of`` is set on a ``DUPLICATE_IN_JOB`` failure: the position
    of the earlier input that is the same request, and whose outcome answers for this one.
    """

    code: str
    message: str = attrs.field(repr=False)
    retryable: bool
    request: RequestT
    position: int
    outcome_unknown: bool = False
    request_identifier: str | None = None
    client_token: str | None = None
    duplicate_of: int | None = None


Outcome = Success[RequestT] | Failure[RequestT]
_BY_POSITION = operator.attrgetter("position")
_NEW = object.__new__
_SET_ID, _SET_REQUEST, _SET_POSITION, _SET_RID, _SET_TOKEN = (
    Success.__dict__[name].__set__
    for name in ("id", "request", "position", "request_identifier", "client_token")
)


def success_of(
    resource_id: str,
    request: RequestT,
    position: int,
    request_identifier: str | None,
    client_token: str | None,
) -> Success[RequestT]:
    """A ``Success``, as ``Success(...)`` makes it, at half the cost: the engine makes one
    per input. Each slot is set through its descriptor, which a frozen class's
    ``__init__`` reaches only through ``object.__setattr__``; the value stays frozen."""
    success: Success[RequestT] = _NEW(Success)
    _SET_ID(success, resource_id)
    _SET_REQUEST(success, request)
    _SET_POSITION(success, position)
    _SET_RID(success, request_identifier)
    _SET_TOKEN(success, client_token)
    return success


@attrs.frozen
class BatchResult(Generic[RequestT]):
    """Every input of a run answered exactly once, each list in input order."""

    succeeded: tuple[Success[RequestT], ...] = ()
    failed: tuple[Failure[RequestT], ...] = ()

    @classmethod
    def from_outcomes(cls, outcomes: Iterable[Outcome[RequestT]]) -> BatchResult[RequestT]:
        """Split outcomes into ``succeeded`` and ``failed``, each sorted by input position."""
        succeeded: list[Success[RequestT]] = []
        failed: list[Failure[RequestT]] = []
        for outcome in sorted(outcomes, key=_BY_POSITION):
            if isinstance(outcome, Success):
                succeeded.append(outcome)
            else:
                failed.append(outcome)
        return cls(tuple(succeeded), tuple(failed))

    @property
    def all_succeeded(self) -> bool:
        """True when every input was created."""
        return not self.failed

    def __len__(self) -> int:
        return len(self.succeeded) + len(self.failed)

    def counts(self) -> dict[str, int]:
        """How many inputs ended with each code; successes count under ``"CREATED"``
        (``CREATED``), as in ``RunFinished.counts``, the ``outcome`` metric label and the
        command line's summary."""
        counter = collections.Counter(str(f.code) for f in self.failed)
        if self.succeeded:
            counter[CREATED] = len(self.succeeded)
        return dict(counter)

    def retryable(self) -> list[RequestT]:
        """The requests safe to put again, in input order.

        Failures the service may nonetheless have acted on (``outcome_unknown``) are left
        out: putting them again under a new token may call the person twice.
        """
        return [f.request for f in self.failed if f.retryable and not f.outcome_unknown]

    def unknown(self) -> list[Failure[RequestT]]:
        """Failures whose contact may exist after all; check before putting them again."""
        return [f for f in self.failed if f.outcome_unknown]
