"""BatchPutContact's clients: ``ContactBatchClient`` (threads) and ``AsyncContactBatchClient``.

Each adds to the generic clients only BatchPutContact's description
(``BatchPutContactOperation``), its input check and the names of its methods
(``put_contacts``, ``iter_put_contacts``); the engine and drivers never learn which API
they run.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterable, Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from connect_batch._async_client import AsyncBatchClient, AsyncOptions, AsyncOutcomeStream
from connect_batch._client_core import type_check
from connect_batch._engine.pacing import RateLimiter
from connect_batch._engine.retry import Duration
from connect_batch._errors import ConfigurationError
from connect_batch._outcomes import BatchResult
from connect_batch._sync_client import BatchClient, OutcomeStream
from connect_batch.events import Subscriber
from connect_batch.operations.contacts import BatchPutContactOperation, ContactRequest

if TYPE_CHECKING:
    from mypy_boto3_connect import ConnectClient
    from types_aiobotocore_connect import ConnectClient as AsyncConnectClient
    from typing_extensions import Unpack

MAX_INSTANCE_ID_LENGTH = 100


class ContactBatchClient(BatchClient[ContactRequest]):
    """Puts any number of contacts through BatchPutContact, answering every one.

    BatchPutContact accepts calls only from the Amazon Connect outbound campaigns service
    principal: a customer's own role gets AccessDeniedException. Code that runs as a
    customer uses ``OutboundRequestBatchClient`` (or ``DialRequestBatchClient``).

    ``connect_client`` is a boto3 ``connect`` client (see ``BatchClient`` on how it is used).
    Retries of a batch reuse its ClientToken; items resubmitted after a per-item
    ``REQUEST_THROTTLED`` or ``INTERNAL_ERROR`` form a new body and get a new token.

    With ``job_key``, generated RequestIdentifiers and every ClientToken are derived from the
    key and the position of the input or call in the run, so running the same input again
    with the same key (after a crash, say) sends the same calls, and the service replays
    what it created the first time instead of creating it again.
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
        concurrency: int = 1,
        max_requests_per_second: float | None = None,
        rate_limiter: RateLimiter | None = None,
        on_retry: Callable[[str], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        subscribers: Sequence[Subscriber] = (),
    ) -> None:
        self._contacts = BatchPutContactOperation(instance_id_checked(instance_id))
        super().__init__(
            connect_client,
            self._contacts,
            CHECK_CONTACT,
            max_attempts=max_attempts,
            deadline=deadline,
            initial_backoff=initial_backoff,
            max_backoff=max_backoff,
            max_item_retries=max_item_retries,
            job_key=job_key,
            concurrency=concurrency,
            max_requests_per_second=max_requests_per_second,
            rate_limiter=rate_limiter,
            on_retry=on_retry,
            sleep=sleep,
            subscribers=subscribers,
        )

    @property
    def operation(self) -> BatchPutContactOperation:
        """The description of BatchPutContact this client runs."""
        return self._contacts

    @property
    def instance_id(self) -> str:
        """The Connect instance contacts are put into."""
        return self._contacts.instance_id

    def put_contacts(
        self,
        contacts: Iterable[ContactRequest],
        *,
        job_key: str | None = None,
        deadline: Duration | None = None,
    ) -> BatchResult[ContactRequest]:
        """Put every contact and answer each exactly once, in ``succeeded`` or ``failed``.

        ``contacts`` may be any iterable; it is read lazily, 25 at a time. A list is checked
        whole before anything is sent. Raises ``ContactValidationError`` for bad input and
        ``RunAbortedError`` (``AccessDeniedError``, ``InstanceNotFoundError``, ...) when
        nothing more can succeed; both carry ``result``, answering every input consumed
        until then. An interrupt (``KeyboardInterrupt``, ``SystemExit``) lets the calls in
        flight finish, starts no new attempt, and propagates as it was, with a ``result``
        attribute that answers every input consumed.

        ``job_key`` (default: the client's) names this input: run the same input again under
        the same key and the service replays instead of creating. Two *different* inputs
        under one key share tokens, and the service refuses the second (409).

        ``deadline`` (default: the client's) bounds this call alone: seconds, or a
        ``timedelta``, from now. Pass what is left of a time budget, such as a Lambda's
        ``context.get_remaining_time_in_millis() / 1000`` less a margin; zero or less sends
        nothing. A deadline that passes does not raise: the call returns its result, every
        input it read answered (those not sent ``DEADLINE_EXCEEDED``, retryable; unknown
        under a ``job_key``). A list or tuple is answered in full; an iterator is read no
        further, and what it has not yielded stays in it for you to put later.
        """
        return self._put(contacts, job_key, deadline)

    def iter_put_contacts(
        self,
        contacts: Iterable[ContactRequest],
        *,
        job_key: str | None = None,
        deadline: Duration | None = None,
    ) -> OutcomeStream[ContactRequest]:
        """Like ``put_contacts``, but yield each ``Success`` or ``Failure`` as its batch ends.

        The input is read lazily with a look-ahead of at most ``concurrency`` batches, and
        nothing is kept once yielded, so memory stays flat however long the input. When the
        run stops, every outcome, those the stop settled included, is yielded before the
        exception is raised; its ``result`` is empty, since everything was yielded already.
        Outcomes come in the order batches complete; ``position`` gives the input order.

        To stop early, leave a ``with`` block or call ``close()``: no new attempt starts,
        calls in flight finish, and the outcomes not yet yielded are returned (and kept in
        ``rest``). See ``OutcomeStream``. ``deadline`` is as in ``put_contacts``: when it
        passes, the stream yields what the run read and ends, without an error.
        """
        return self._iter(contacts, job_key, deadline)


CHECK_CONTACT = type_check(ContactRequest, "contact")


def instance_id_checked(instance_id: object) -> str:
    """``instance_id``, if it can name a Connect instance."""
    if not isinstance(instance_id, str) or not 1 <= len(instance_id) <= MAX_INSTANCE_ID_LENGTH:
        raise ConfigurationError(
            f"instance_id must be a str of 1-{MAX_INSTANCE_ID_LENGTH} characters"
        )
    return instance_id


class AsyncContactBatchClient(AsyncBatchClient[ContactRequest]):
    """``ContactBatchClient`` on asyncio: BatchPutContact over an aiobotocore ``connect``
    client. Options are ``AsyncOptions``."""

    def __init__(
        self,
        connect_client: AsyncConnectClient | Any,
        *,
        instance_id: str,
        **options: Unpack[AsyncOptions],
    ) -> None:
        self._contacts = BatchPutContactOperation(instance_id_checked(instance_id))
        super().__init__(connect_client, self._contacts, CHECK_CONTACT, options)

    @property
    def instance_id(self) -> str:
        """The Connect instance contacts are put into."""
        return self._contacts.instance_id

    async def put_contacts(
        self,
        contacts: Iterable[ContactRequest] | AsyncIterable[ContactRequest],
        *,
        job_key: str | None = None,
        deadline: Duration | None = None,
    ) -> BatchResult[ContactRequest]:
        """``ContactBatchClient.put_contacts``, awaited; ``contacts`` may be async."""
        return await self._put(contacts, job_key, deadline)

    def iter_put_contacts(
        self,
        contacts: Iterable[ContactRequest] | AsyncIterable[ContactRequest],
        *,
        job_key: str | None = None,
        deadline: Duration | None = None,
    ) -> AsyncOutcomeStream[ContactRequest]:
        """``async for outcome in client.iter_put_contacts(contacts)``; see
        ``AsyncOutcomeStream``."""
        return self._iter(contacts, job_key, deadline)
