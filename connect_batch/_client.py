"""``ContactBatchClient``: the public face of the engine for BatchPutContact."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from connect_batch import _botocore
from connect_batch._engine import INPUT_FAILED, AbortRun, Engine, Settled
from connect_batch._errors import (
    ConfigurationError,
    ContactValidationError,
    DeadlineExceededError,
    InputError,
    RunAbortedError,
)
from connect_batch._identity import Identities, JobIdentities, RandomIdentities
from connect_batch._models import ContactRequest
from connect_batch._operation import BatchPutContactOperation
from connect_batch._outcomes import BatchResult, Failure, FailureCode, Outcome, Success
from connect_batch._retry import Duration, RetryPolicy

if TYPE_CHECKING:
    from mypy_boto3_connect import ConnectClient

MAX_INSTANCE_ID_LENGTH = 100


def _check_contact(item: object) -> None:
    if not isinstance(item, ContactRequest):
        raise ContactValidationError(
            f"expected a ContactRequest, got {type(item).__name__}", field="contact"
        )


def _identities_for(job_key: str) -> Identities:
    if not isinstance(job_key, str) or not job_key:
        raise ConfigurationError("job_key must be a non-empty str")
    return JobIdentities(job_key)


def _outcome(settled: Settled[ContactRequest]) -> Outcome:
    if settled.resource_id is not None:
        return Success(
            request_identifier=settled.key,
            contact_id=settled.resource_id,
            request=settled.item,
            position=settled.position,
        )
    return Failure(
        request_identifier=settled.key,
        code=settled.code,
        message=settled.message,
        retryable=settled.retryable,
        request=settled.item,
        position=settled.position,
        outcome_unknown=settled.outcome_unknown,
    )


class ContactBatchClient:
    """Puts any number of contacts through BatchPutContact, answering every one.

    ``connect_client`` is a boto3 ``connect`` client; it is used as it is, except that the
    library's own BatchPutContact calls make one HTTP attempt each (botocore's retries would
    multiply ``max_attempts``), which a handler scoped to those calls arranges. Its other
    operations, and BatchPutContact calls you make yourself, keep botocore's retry behaviour.

    Retries of a batch reuse its ClientToken; items resubmitted after a per-item
    ``REQUEST_THROTTLED`` or ``INTERNAL_ERROR`` form a new body and get a new token.

    With ``job_key``, generated RequestIdentifiers and every ClientToken are derived from the
    key and the position of the input or call in the run, so running the same input again
    with the same key (after a crash, say) sends the same calls, and the service replays
    what it created the first time instead of creating it again.

    One client may be shared by threads: each ``put_contacts`` call keeps its own state.
    """

    def __init__(
        self,
        connect_client: ConnectClient | Any,
        *,
        instance_id: str,
        max_attempts: int = 5,
        deadline: Duration | None = None,
        initial_backoff: Duration = 0.2,
        max_backoff: Duration = 20.0,
        max_item_retries: int = 3,
        job_key: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not isinstance(instance_id, str) or not 1 <= len(instance_id) <= MAX_INSTANCE_ID_LENGTH:
            raise ConfigurationError(
                f"instance_id must be a str of 1-{MAX_INSTANCE_ID_LENGTH} characters"
            )
        self._client = connect_client
        self._identities = RandomIdentities() if job_key is None else _identities_for(job_key)
        self._operation: BatchPutContactOperation = BatchPutContactOperation(instance_id)
        self.policy = RetryPolicy(
            max_attempts=max_attempts,
            deadline=deadline,
            initial_backoff=initial_backoff,
            max_backoff=max_backoff,
            max_item_retries=max_item_retries,
            sleep=sleep,
        )
        _botocore.install(connect_client, self._operation.name)

    @property
    def instance_id(self) -> str:
        """The Connect instance contacts are put into."""
        return self._operation.instance_id

    def put_contacts(
        self, contacts: Iterable[ContactRequest], *, job_key: str | None = None
    ) -> BatchResult:
        """Put every contact and answer each exactly once, in ``succeeded`` or ``failed``.

        ``contacts`` may be any iterable; it is read lazily, 25 at a time. A list is checked
        whole before anything is sent. Raises ``ContactValidationError`` for bad input and
        ``RunAbortedError`` (``AccessDeniedError``, ``InstanceNotFoundError``) when nothing more
        can succeed; both carry ``result``, answering every input consumed until then.

        ``job_key`` (default: the client's) names this input: run the same input again under
        the same key and the service replays instead of creating. Two *different* inputs
        under one key share tokens, and the service refuses the second (409).
        """
        identities = self._identities if job_key is None else _identities_for(job_key)
        outcomes: list[Outcome] = []
        try:
            outcomes.extend(self._outcomes(contacts, identities))
        except ContactValidationError as error:
            if not outcomes:
                raise
            position = error.position if error.position is not None else len(outcomes)
            raise error.at(position, BatchResult.from_outcomes(outcomes)) from None
        except AbortRun as abort:
            raise self._aborted(abort, BatchResult.from_outcomes(outcomes)) from (
                abort.cause or abort.__cause__
            )
        return BatchResult.from_outcomes(outcomes)

    def _outcomes(
        self, contacts: Iterable[ContactRequest], identities: Identities
    ) -> Iterator[Outcome]:
        engine: Engine[ContactRequest] = Engine(
            self._client,
            self._operation,
            self.policy,
            identities=identities,
            check_item=_check_contact,
        )
        return (_outcome(settled) for settled in engine.run(contacts))

    def _aborted(self, abort: AbortRun, result: BatchResult) -> RunAbortedError:
        if abort.fault is not None:
            error = self._operation.abort_error(abort.fault) or RunAbortedError
            message = self._operation.abort_message(abort.fault)
            return error(message, code=abort.fault.code, result=result)
        if abort.code == FailureCode.DEADLINE_EXCEEDED:
            return DeadlineExceededError(
                "the run's deadline passed; the rest of the input was not read",
                code=abort.code,
                result=result,
            )
        name = type(abort.cause).__name__
        if abort.code == INPUT_FAILED:
            return InputError(
                f"reading the contacts raised {name}; the run stopped", code=name, result=result
            )
        return RunAbortedError(
            f"{self._operation.name} raised {name}; the run stopped", code=name, result=result
        )
