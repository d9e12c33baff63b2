"""Outbound campaigns: ``PutOutboundRequestBatch`` (v2) and ``PutDialRequestBatch`` (v1).

These are the batch calls a customer's own role may make (BatchPutContact accepts only the
campaigns service principal). Each is a description for the engine, plus a client that
names its methods. What differs from BatchPutContact is said here, as data:

- idempotency is per item (``Idempotency.PER_ITEM``): each request's ``clientToken`` is its
  key, and an item whose answer never came is sent again under its own token;
- per-item ``RequestThrottled`` and ``BufferLimitExceeded`` are capacity, not rate
  (``ItemKind.CAPACITY``): they slow the run down; ``UnknownError`` is ``UNCERTAIN``;
- items expire: an item with too little time left when its call is sent is answered
  ``EXPIRED`` and not sent.

This module knows the two APIs' field names; the engine knows none of them.
"""

from __future__ import annotations

import datetime
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs

from connect_batch._campaign_models import (
    DEFAULT_EXPIRES,
    V1_MAX_LEAD,
    V1_MIN_SEND_LEAD,
    DialRequest,
    OutboundRequest,
)
from connect_batch._client import BatchClient, OutcomeStream, type_check
from connect_batch._errors import (
    AccessDeniedError,
    CallFault,
    CampaignNotFoundError,
    CampaignStateError,
    ConfigurationError,
    RunAbortedError,
)
from connect_batch._operation import (
    TOO_MANY_REQUESTS,
    Answer,
    AnswerShape,
    Idempotency,
    ItemAnswer,
    ItemKind,
    transient_call,
)
from connect_batch._outcomes import BatchResult, FailureCode
from connect_batch._pacing import RateLimiter
from connect_batch._retry import Duration
from connect_batch.events import Subscriber

if TYPE_CHECKING:
    from mypy_boto3_connectcampaigns import ConnectCampaignServiceClient
    from mypy_boto3_connectcampaignsv2 import ConnectCampaignServiceV2Client

RequestT = TypeVar("RequestT", bound=OutboundRequest | DialRequest)

# No request rate is documented for either operation. An unofficial summary says 2 calls/s,
# burst 5; the adaptive limiter starts there and probes upward until throttled.
DEFAULT_CAMPAIGN_RATE = 2.0
# An item with less than this left before it expires when its call is sent is answered
# EXPIRED instead: v1 refuses under 30 s; v2 documents no minimum.
V2_MIN_LEAD = datetime.timedelta(seconds=5)
# v1 refuses an expiration more than 900 s after the call arrives; 2 s less leaves room for
# clocks that disagree.
V1_MAX_SEND_LEAD = V1_MAX_LEAD - datetime.timedelta(seconds=2)
MAX_CAMPAIGN_ID_LENGTH = 256
_V2_CAMPAIGN_ID = re.compile(r"[-:/a-zA-Z0-9]+")
_V1_CAMPAIGN_ID = re.compile(r"\S+")

_ITEM_KINDS: Mapping[str, ItemKind] = {
    "RequestThrottled": ItemKind.CAPACITY,
    "BufferLimitExceeded": ItemKind.CAPACITY,
    "UnknownError": ItemKind.UNCERTAIN,
    "InvalidInput": ItemKind.FINAL,
}
# The service's per-item answers carry a code and no text: these say what each means.
_ITEM_MESSAGES: Mapping[str, str] = {
    "InvalidInput": "the service refused this request's content (InvalidInput)",
    "RequestThrottled": (
        "not enough agents or telecom capacity for this request now (RequestThrottled)"
    ),
    "BufferLimitExceeded": (
        "too many dial requests are pending in the campaign (BufferLimitExceeded)"
    ),
    "UnknownError": "the service failed on this request for an unknown reason (UnknownError)",
}
_TRANSIENT_CALL_CODES = frozenset({"ThrottlingException", "InternalServerException"})
_ANSWER = AnswerShape(
    succeeded="successfulRequests",
    failed="failedRequests",
    key="clientToken",
    resource_id="id",
    code="failureCode",
    message=None,
    messages=_ITEM_MESSAGES,
)
_ABORTS: Mapping[str, type[RunAbortedError]] = {
    "AccessDeniedException": AccessDeniedError,
    "ResourceNotFoundException": CampaignNotFoundError,
    "InvalidCampaignStateException": CampaignStateError,
}
_UNAUTHORIZED = (401, 403)


@attrs.frozen
class _CampaignOperation(Generic[RequestT]):
    """What the two campaign operations share; ``_call`` and the limits tell them apart."""

    campaign_id: str
    name: str
    iam_action: str
    min_lead: datetime.timedelta
    max_lead: datetime.timedelta | None
    method: str  # the boto3 client's method
    list_name: str  # the request list's member name
    max_items: int = 25
    idempotency: Idempotency = Idempotency.PER_ITEM
    default_rate: float = DEFAULT_CAMPAIGN_RATE
    key_name: str = "client_token"

    def item_key(self, item: RequestT) -> str | None:
        return item.client_token

    def fingerprint(self, item: RequestT) -> str:
        # What the request *is*, whatever else the input holds: the campaign, the channel,
        # whom it reaches, and the caller's key or else a digest of what it says. Not where
        # it sits, nor how many other requests reach the same person.
        if isinstance(item, OutboundRequest):
            channel, whom = item.channel.value, item.destination
        else:
            channel, whom = "telephony", item.phone_number
        what = "says\x00" + item.says() if item.key is None else "key\x00" + item.key
        return f"{self.name}\x00{self.campaign_id}\x00{channel}\x00{whom}\x00{what}"

    def expiration(self, item: RequestT, now: datetime.datetime) -> datetime.datetime:
        """When ``item`` expires if sent at ``now``; no later than the API accepts."""
        expires = item.expiration(now)
        if self.max_lead is not None and expires - now > self.max_lead:
            return now + self.max_lead
        return expires

    def unsendable(
        self, items: Sequence[RequestT], now: datetime.datetime
    ) -> Mapping[int, ItemAnswer]:
        found: dict[int, ItemAnswer] = {}
        for index, item in enumerate(items):
            if item.expires is None:
                continue  # the default leaves room enough for either API
            left = item.expiration(now) - now
            if left < self.min_lead:
                found[index] = ItemAnswer(
                    FailureCode.EXPIRED.value,
                    f"not sent: it expires in {max(left.total_seconds(), 0):.0f} s, and "
                    f"{self.name} needs at least {self.min_lead.total_seconds():.0f} s",
                )
        return found

    def request(
        self,
        items: Sequence[tuple[str, RequestT]],
        token: str,  # noqa: ARG002 - each item carries its own
        now: datetime.datetime,
    ) -> tuple[str, dict[str, Any]]:
        expiration = self.expiration
        usual = now + DEFAULT_EXPIRES  # most items say nothing
        if self.max_lead is not None and self.max_lead < DEFAULT_EXPIRES:
            usual = now + self.max_lead
        entries = [
            item.to_api(key, usual if item.expires is None else expiration(item, now))
            for key, item in items
        ]
        return self.method, {"id": self.campaign_id, self.list_name: entries}

    def read(self, response: Mapping[str, Any], sent: Sequence[str]) -> Answer:
        return _ANSWER.read(response, sent)

    def is_transient(self, fault: CallFault) -> bool:
        return transient_call(fault, _TRANSIENT_CALL_CODES)

    def is_throttle(self, fault: CallFault) -> bool:
        return fault.status == TOO_MANY_REQUESTS or fault.code == "ThrottlingException"

    def is_token_conflict(self, fault: CallFault) -> bool:
        return fault.code == "ConflictException"

    def item_kind(self, code: str) -> ItemKind:
        return _ITEM_KINDS.get(code, ItemKind.FINAL)

    def abort_error(self, fault: CallFault) -> type[RunAbortedError] | None:
        if fault.code in _ABORTS:
            return _ABORTS[fault.code]
        if fault.status in _UNAUTHORIZED:
            return RunAbortedError
        return None

    def retryable_after(self, fault: CallFault) -> bool:
        # A campaign that is not running may be started or resumed.
        return fault.code == "InvalidCampaignStateException"

    def abort_message(self, fault: CallFault) -> str:
        campaign = f"campaign {self.campaign_id!r}"
        if fault.code == "AccessDeniedException":
            return (
                f"{self.name} on {campaign} was refused (AccessDeniedException): the role "
                f"needs the IAM action {self.iam_action} on the campaign's ARN, in the "
                "client's account and Region. See docs/campaigns.md for the policy."
            )
        if fault.code == "ResourceNotFoundException":
            return (
                f"{campaign} was not found (ResourceNotFoundException): check the campaign "
                "id, and that the boto3 client is in the campaign's account and Region"
            )
        if fault.code == "InvalidCampaignStateException":
            state = fault.state or "not running"
            return (
                f"{campaign} is {state} (InvalidCampaignStateException): {self.name} needs "
                "it Running. Start or resume the campaign; then put the error's "
                "result.retryable() again, or, under a job_key, run the same job again"
            )
        return f"{self.name} was refused with {fault.code} (HTTP {fault.status}); run stopped."


@attrs.frozen
class PutOutboundRequestBatchOperation(_CampaignOperation[OutboundRequest]):
    """Outbound campaigns v2 ``PutOutboundRequestBatch`` on one campaign."""

    name: str = "PutOutboundRequestBatch"
    iam_action: str = "connect-campaigns:PutOutboundRequestBatch"
    min_lead: datetime.timedelta = V2_MIN_LEAD
    max_lead: datetime.timedelta | None = None
    method: str = "put_outbound_request_batch"
    list_name: str = "outboundRequests"


@attrs.frozen
class PutDialRequestBatchOperation(_CampaignOperation[DialRequest]):
    """Outbound campaigns v1 ``PutDialRequestBatch`` on one campaign.

    v1 requires each request's expiration 30-900 s after the call arrives: a request with
    less than ``V1_MIN_SEND_LEAD`` (32 s) left is answered ``EXPIRED``, and one further than
    898 s away is sent as 898 s from the call (it then expires sooner than asked, never
    later; 2 s less than the API's 900 leaves room for clock skew).
    """

    name: str = "PutDialRequestBatch"
    iam_action: str = "connect-campaigns:PutDialRequestBatch"
    min_lead: datetime.timedelta = V1_MIN_SEND_LEAD
    max_lead: datetime.timedelta | None = V1_MAX_SEND_LEAD
    method: str = "put_dial_request_batch"
    list_name: str = "dialRequests"


def campaign_id_checked(value: object, api: str) -> str:
    """``value``, if it can name a campaign of ``api`` (``"v2"`` or ``"v1"``)."""
    pattern = _V2_CAMPAIGN_ID if api == "v2" else _V1_CAMPAIGN_ID
    if (
        not isinstance(value, str)
        or not 1 <= len(value) <= MAX_CAMPAIGN_ID_LENGTH
        or not pattern.fullmatch(value)
    ):
        raise ConfigurationError(
            f"campaign_id must be a str of 1-{MAX_CAMPAIGN_ID_LENGTH} characters matching "
            f"{pattern.pattern} (the campaign's id, not its name or ARN)"
        )
    return value


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
        self, requests: Iterable[RequestT], *, job_key: str | None = None
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
        """
        return self._put(requests, job_key)

    def iter_put_requests(
        self, requests: Iterable[RequestT], *, job_key: str | None = None
    ) -> OutcomeStream[RequestT]:
        """Like ``put_requests``, but yield each ``Success`` or ``Failure`` as its batch
        ends, with flat memory; leave a ``with`` block or call ``close()`` to stop early
        (see ``OutcomeStream``)."""
        return self._iter(requests, job_key)


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
