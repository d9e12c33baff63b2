"""What the two outbound campaigns operations share: answers, faults, pacing and expiry.

``PutOutboundRequestBatch`` (v2, ``campaigns_v2``) and ``PutDialRequestBatch`` (v1,
``campaigns_v1``) are the batch calls a customer's own role may make. What differs from
BatchPutContact is said here, as data:

- idempotency is per item (``Idempotency.PER_ITEM``): each request's ``clientToken`` is its
  key, and an item whose answer never came is sent again under its own token;
- per-item ``RequestThrottled`` and ``BufferLimitExceeded`` are capacity, not rate
  (``ItemKind.CAPACITY``): they slow the run down; ``UnknownError`` is ``UNCERTAIN``;
- items expire: an item with too little time left when its call is sent is answered
  ``EXPIRED`` and not sent.

It must not know either request class (each subclass says whom its requests reach), the
engine's scheduling, nor botocore.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping, Sequence
from typing import Any, Generic, Protocol, TypeVar

import attrs

from connect_batch._errors import (
    AccessDeniedError,
    CallFault,
    CampaignNotFoundError,
    CampaignStateError,
    ConfigurationError,
    RunAbortedError,
)
from connect_batch._outcomes import FailureCode
from connect_batch.operations._campaign_checks import (
    DEFAULT_EXPIRES,
    V1_MAX_LEAD,
)
from connect_batch.operations.base import (
    TOO_MANY_REQUESTS,
    Answer,
    AnswerShape,
    Idempotency,
    ItemAnswer,
    ItemKind,
    transient_call,
)


class CampaignRequest(Protocol):
    """What the shared operation reads of a v1 or v2 request."""

    @property
    def client_token(self) -> str | None: ...
    @property
    def key(self) -> str | None: ...
    @property
    def expires(self) -> datetime.datetime | datetime.timedelta | None: ...
    def says(self) -> str: ...
    def expiration(self, now: datetime.datetime) -> datetime.datetime: ...
    def to_api(self, client_token: str, expiration_time: datetime.datetime) -> Any: ...


RequestT = TypeVar("RequestT", bound=CampaignRequest)

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
class CampaignOperation(Generic[RequestT]):
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
        channel, whom = self.reach(item)
        what = "says\x00" + item.says() if item.key is None else "key\x00" + item.key
        return f"{self.name}\x00{self.campaign_id}\x00{channel}\x00{whom}\x00{what}"

    def reach(self, item: RequestT) -> tuple[str, str]:
        """The channel of ``item`` and whom it reaches (each API's subclass says)."""
        raise NotImplementedError

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
