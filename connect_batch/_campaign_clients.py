"""Outbound campaigns' sync clients: ``OutboundRequestBatchClient`` and ``DialRequestBatchClient``.

The operations' descriptions and request builders live in ``connect_batch.operations``
(``campaigns_v2``, ``campaigns_v1``, ``_campaign``).

Summary of the two APIs (``PutOutboundRequestBatch`` v2, ``PutDialRequestBatch`` v1):

These are the batch calls a customer's own role may make (BatchPutContact accepts only the
campaigns service principal). What differs from BatchPutContact is said here, as data:

- idempotency is per item (``Idempotency.PER_ITEM``): each request's ``clientToken`` is its
  key, and an item whose answer never came is sent again under its own token;
- per-item ``RequestThrottled`` and ``BufferLimitExceeded`` are capacity, not rate
  (``ItemKind.CAPACITY``): they slow the run down; ``UnknownError`` is ``UNCERTAIN``;
- items expire: an item with too little time left when its call is sent is answered
  ``EXPIRED`` and not sent.

This module knows the two APIs' client methods; the engine knows none of them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from connect_batch._client_core import type_check
from connect_batch._engine.pacing import RateLimiter
from connect_batch._engine.retry import Duration
from connect_batch._outcomes import BatchResult
from connect_batch._sync_client import BatchClient, OutcomeStream
from connect_batch.events import Subscriber
from connect_batch.operations._campaign import CampaignOperation as _CampaignOperation
from connect_batch.operations._campaign import (
    campaign_id_checked,
)
from connect_batch.operations.campaigns_v1 import DialRequest, PutDialRequestBatchOperation
from connect_batch.operations.campaigns_v2 import (
    OutboundRequest,
    PutOutboundRequestBatchOperation,
)

if TYPE_CHECKING:
    from mypy_boto3_connectcampaigns import ConnectCampaignServiceClient
    from mypy_boto3_connectcampaignsv2 import ConnectCampaignServiceV2Client

RequestT = TypeVar("RequestT", bound=OutboundRequest | DialRequest)

__all__ = ["DialRequestBatchClient", "OutboundRequestBatchClient"]


class _CampaignClient(BatchClient[RequestT]):
    """A client for one campaign's batch operation; see the two public subclasses."""

    def __init__(
        self,
        campaigns_client: Any,
        operation: _CampaignOperation[RequestT],
        request_type: type[RequestT],
        *,
        max_attempts: int,
        deadline: Duration | None,
        initial_backoff: Duration,
        max_backoff: Duration,
        max_item_retries: int,
        job_key: str | None,
        concurrency: int,
        max_requests_per_second: float | None,
        rate_limiter: RateLimiter | None,
        on_retry: Callable[[str], None] | None,
        sleep: Callable[[float], None],
        subscribers: Sequence[Subscriber],
    ) -> None:
        self._campaign: _CampaignOperation[RequestT] = operation
        super().__init__(
            campaigns_client,
            operation,
            type_check(request_type, "request"),
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
    def campaign_id(self) -> str:
        """The campaign the requests go to."""
        return self._campaign.campaign_id

    def put_requests(
        self,
        requests: Iterable[RequestT],
        *,
        job_key: str | None = None,
        deadline: Duration | None = None,
    ) -> BatchResult[RequestT]:
        """Put every request and answer each exactly once, in ``succeeded`` or ``failed``.

        ``requests`` may be any iterable; it is read lazily, 25 at a time, and a list is
        checked whole before anything is sent. Each request goes under its own
        ``clientToken``: yours if given; under ``job_key`` one derived from the job key, the
        campaign id, the channel, the destination, and the request's ``key`` (or, without
        one, a digest of what it says: attributes or template parameters and template), so
        that a reordered, filtered or split rerun sends each request its own token;
        otherwise a random one. Two requests of one job with the same derived token are one
        request: the second is answered ``DUPLICATE_IN_JOB`` and not sent. Calls that fail,
        and items whose answer never came, are sent again under the same tokens, so the
        service creates each request at most once. Raises ``ContactValidationError`` for
        bad input and ``RunAbortedError`` (``CampaignStateError``, ``CampaignNotFoundError``,
        ``AccessDeniedError``, ...) when nothing more can succeed; both carry ``result``.
        An interrupt lets the calls in flight finish and carries ``result`` too.

        ``deadline`` (default: the client's) bounds this call alone, as in
        ``ContactBatchClient.put_contacts``: when it passes the call returns, every request
        it read answered (those not sent ``DEADLINE_EXCEEDED``), and an iterator's unread
        rest stays in it.
        """
        return self._put(requests, job_key, deadline)

    def iter_put_requests(
        self,
        requests: Iterable[RequestT],
        *,
        job_key: str | None = None,
        deadline: Duration | None = None,
    ) -> OutcomeStream[RequestT]:
        """Like ``put_requests``, but yield each ``Success`` or ``Failure`` as its batch
        ends, with flat memory; leave a ``with`` block or call ``close()`` to stop early
        (see ``OutcomeStream``)."""
        return self._iter(requests, job_key, deadline)


class OutboundRequestBatchClient(_CampaignClient[OutboundRequest]):
    """Puts outbound requests (telephony, SMS, email, WhatsApp) into an outbound campaign
    (v2 ``PutOutboundRequestBatch``), answering every one.

    ``campaigns_client`` is a boto3 ``connectcampaignsv2`` client; its role needs
    ``connect-campaigns:PutOutboundRequestBatch``. The campaign must be Running. Options
    are those of ``ContactBatchClient``. With no rate given, calls start at
    ``DEFAULT_CAMPAIGN_RATE`` per second and the pace adapts to throttles and to
    capacity answers (``RequestThrottled``, ``BufferLimitExceeded``).
    """

    def __init__(
        self,
        campaigns_client: ConnectCampaignServiceV2Client | Any,
        *,
        campaign_id: str,
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
        operation = PutOutboundRequestBatchOperation(campaign_id_checked(campaign_id, "v2"))
        super().__init__(
            campaigns_client, operation, OutboundRequest,
            max_attempts=max_attempts, deadline=deadline, initial_backoff=initial_backoff,
            max_backoff=max_backoff, max_item_retries=max_item_retries, job_key=job_key,
            concurrency=concurrency, max_requests_per_second=max_requests_per_second,
            rate_limiter=rate_limiter, on_retry=on_retry, sleep=sleep, subscribers=subscribers,
        )


class DialRequestBatchClient(_CampaignClient[DialRequest]):
    """Puts dial requests into an outbound campaign (v1 ``PutDialRequestBatch``),
    answering every one.

    ``campaigns_client`` is a boto3 ``connectcampaigns`` client; its role needs
    ``connect-campaigns:PutDialRequestBatch``. The campaign must be Running. Each request
    expires 30-900 s after its call is sent (default ``DEFAULT_EXPIRES``). Options are
    those of ``OutboundRequestBatchClient``.
    """

    def __init__(
        self,
        campaigns_client: ConnectCampaignServiceClient | Any,
        *,
        campaign_id: str,
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
        operation = PutDialRequestBatchOperation(campaign_id_checked(campaign_id, "v1"))
        super().__init__(
            campaigns_client, operation, DialRequest,
            max_attempts=max_attempts, deadline=deadline, initial_backoff=initial_backoff,
            max_backoff=max_backoff, max_item_retries=max_item_retries, job_key=job_key,
            concurrency=concurrency, max_requests_per_second=max_requests_per_second,
            rate_limiter=rate_limiter, on_retry=on_retry, sleep=sleep, subscribers=subscribers,
        )
