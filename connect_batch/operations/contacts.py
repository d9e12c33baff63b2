"""Amazon Connect ``BatchPutContact``: the request builder and the operation's description.

Holds ``ContactRequest``, ``Endpoint``, ``OutboundStrategy`` and their enums (frozen,
validated values for one item) and ``BatchPutContactOperation``: the request and answer
mapping, one ClientToken per call (``Idempotency.PER_CALL``), the default pace, and which
faults stop the run. It must not know how the engine schedules calls, nor botocore.

Every limit here comes from botocore's service model for ``connect``, which botocore itself
does not enforce (it checks only minimums). A bad value raises ``ContactValidationError`` at
the line that built it, naming the field; the value itself never appears in the message,
``repr()`` or ``str()``, because addresses and attribute values belong to real people.
"""

from __future__ import annotations

import datetime
import enum
import json
import re
import types
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from connect_batch._errors import (
    AccessDeniedError,
    CallFault,
    ContactValidationError,
    InstanceNotFoundError,
    RunAbortedError,
)
from connect_batch.operations.base import (
    CONFLICT,
    THROTTLE_CODES,
    TOO_MANY_REQUESTS,
    TRANSIENT_CALL_CODES,
    TRANSIENT_ITEM_CODES,
    Answer,
    AnswerShape,
    Idempotency,
    ItemAnswer,
    ItemKind,
    transient_call,
)

if TYPE_CHECKING:
    from mypy_boto3_connect.type_defs import (
        ContactDataRequestTypeDef,
        EndpointTypeDef,
        OutboundStrategyTypeDef,
    )

# Limits from the service model (botocore data/connect/.../service-2.json).
MAX_ADDRESS_LENGTH = 256
MAX_REQUEST_IDENTIFIER_LENGTH = 80
MAX_CAMPAIGN_ID_LENGTH = 100
MAX_ATTRIBUTE_LENGTH = 32767
# Connect documents E.164 for phone numbers elsewhere; BatchPutContact does not say, so we
# hold it to the same rule rather than let the service guess.
E164 = re.compile(r"\+[1-9][0-9]{1,14}")


class EndpointType(str, enum.Enum):
    """The five endpoint types the service model allows."""

    TELEPHONE_NUMBER = "TELEPHONE_NUMBER"
    VOIP = "VOIP"
    CONTACT_FLOW = "CONTACT_FLOW"
    CONNECT_PHONENUMBER_ARN = "CONNECT_PHONENUMBER_ARN"
    EMAIL_ADDRESS = "EMAIL_ADDRESS"

    def __str__(self) -> str:
        return self.value


class AllowedUserAction(str, enum.Enum):
    """What an agent may do with a previewed contact."""

    CALL = "CALL"
    DISCARD = "DISCARD"

    def __str__(self) -> str:
        return self.value


def mask(value: str) -> str:
    """Hide most of ``value``: ``+14155550123`` becomes ``+1415*****23``.

    At most five leading and two trailing characters show, and never more than half of a
    short value; under eight characters nothing shows.
    """
    size = len(value)
    if size < 8:  # noqa: PLR2004 - too short for any edge to stay anonymous
        return "*" * size
    head = min(5, size - 7)
    return value[:head] + "*" * (size - head - 2) + value[-2:]


def _invalid(field: str, reason: str) -> ContactValidationError:
    return ContactValidationError(f"{field}: {reason}", field=field)


def _check_length(field: str, value: object, *, low: int, high: int | None) -> None:
    if not isinstance(value, str):
        raise _invalid(field, f"must be a str, not {type(value).__name__}")
    if len(value) < low or (high is not None and len(value) > high):
        bound = f"{low}-{high}" if high is not None else f"at least {low}"
        raise _invalid(field, f"length {len(value)} is outside {bound} characters")


def _to_endpoint_type(value: EndpointType | str) -> EndpointType:
    if value.__class__ is EndpointType:
        return value  # type: ignore[return-value,unused-ignore]  # checked just above
    try:
        return EndpointType(value)
    except ValueError:
        allowed = ", ".join(t.value for t in EndpointType)
        raise _invalid("type", f"must be one of {allowed}") from None


@attrs.frozen
class Endpoint:
    """A customer or system endpoint: an address and what kind of address it is.

    A ``TELEPHONE_NUMBER`` must be E.164 (``+`` then up to 15 digits). The address is
    masked in ``repr()``.
    """

    type: EndpointType = attrs.field(converter=_to_endpoint_type)
    address: str = attrs.field(repr=mask)

    @address.validator
    def _check_address(self, _: attrs.Attribute[str], value: str) -> None:
        _check_length("address", value, low=0, high=MAX_ADDRESS_LENGTH)
        if self.type is EndpointType.TELEPHONE_NUMBER and not E164.fullmatch(value):
            raise _invalid("address", "a TELEPHONE_NUMBER must be E.164, like +14155550100")

    @classmethod
    def phone(cls, number: str) -> Endpoint:
        """A ``TELEPHONE_NUMBER`` endpoint for an E.164 number."""
        return cls(EndpointType.TELEPHONE_NUMBER, number)

    @classmethod
    def from_api(cls, data: EndpointTypeDef | Mapping[str, Any]) -> Endpoint:
        """Build from the API's ``{"Type": ..., "Address": ...}``."""
        return cls(data.get("Type", ""), data.get("Address", ""))

    def to_api(self) -> EndpointTypeDef:
        """The API's ``{"Type": ..., "Address": ...}``."""
        return {"Type": self.type.value, "Address": self.address}


def _dig(data: Mapping[str, Any] | Any, *path: str) -> Any:
    for name in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(name)
    return data


def _to_actions(value: Sequence[AllowedUserAction | str]) -> tuple[AllowedUserAction, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise _invalid("allowed_user_actions", "must be a sequence of CALL or DISCARD")
    try:
        return tuple(AllowedUserAction(v) for v in value)
    except ValueError:
        raise _invalid("allowed_user_actions", "each action must be CALL or DISCARD") from None


@attrs.frozen(kw_only=True)
class OutboundStrategy:
    """``AGENT_FIRST`` with a preview: the only outbound strategy the API offers.

    Both members the model requires are required here: how long the agent may preview
    (``post_accept_timeout_seconds`` >= 0) and which actions they may take.
    """

    post_accept_timeout_seconds: int = attrs.field()
    allowed_user_actions: tuple[AllowedUserAction, ...] = attrs.field(converter=_to_actions)

    @post_accept_timeout_seconds.validator
    def _check_timeout(self, _: attrs.Attribute[int], value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise _invalid("post_accept_timeout_seconds", "must be an int >= 0")

    @classmethod
    def agent_first_preview(
        cls,
        *,
        post_accept_timeout_seconds: int,
        allowed_user_actions: Sequence[AllowedUserAction | str] = ("CALL", "DISCARD"),
    ) -> OutboundStrategy:
        """The agent previews the contact, then may take any of ``allowed_user_actions``."""
        return cls(
            post_accept_timeout_seconds=post_accept_timeout_seconds,
            allowed_user_actions=allowed_user_actions,
        )

    @classmethod
    def from_api(cls, data: OutboundStrategyTypeDef | Mapping[str, Any]) -> OutboundStrategy:
        """Build from the API's nested ``OutboundStrategy`` dict, checking required members."""
        if data.get("Type") != "AGENT_FIRST":
            raise _invalid("outbound_strategy.Type", "must be AGENT_FIRST")
        preview = _dig(data, "Config", "AgentFirst", "Preview")
        if not isinstance(preview, Mapping):
            raise _invalid("outbound_strategy.Config.AgentFirst.Preview", "is required")
        timeout = _dig(preview, "PostAcceptTimeoutConfig", "DurationInSeconds")
        if timeout is None:
            raise _invalid(
                "outbound_strategy.PostAcceptTimeoutConfig.DurationInSeconds", "is required"
            )
        if "AllowedUserActions" not in preview:
            raise _invalid("outbound_strategy.AllowedUserActions", "is required")
        return cls.agent_first_preview(
            post_accept_timeout_seconds=timeout,
            allowed_user_actions=preview["AllowedUserActions"],
        )

    def to_api(self) -> OutboundStrategyTypeDef:
        """The API's nested ``OutboundStrategy`` dict."""
        return {
            "Type": "AGENT_FIRST",
            "Config": {
                "AgentFirst": {
                    "Preview": {
                        "PostAcceptTimeoutConfig": {
                            "DurationInSeconds": self.post_accept_timeout_seconds
                        },
                        "AllowedUserActions": [a.value for a in self.allowed_user_actions],
                    }
                }
            },
        }


_NO_ATTRIBUTES: Mapping[str, str] = types.MappingProxyType({})


def _to_attributes(value: Mapping[str, str]) -> Mapping[str, str]:
    if not isinstance(value, Mapping):
        raise _invalid("attributes", "must be a mapping of str to str")
    if not value:
        return _NO_ATTRIBUTES
    for key, item in value.items():
        # The fast test first; the slow one only to name what is wrong.
        if not (
            key.__class__ is str
            and item.__class__ is str
            and 0 < len(key) <= MAX_ATTRIBUTE_LENGTH
            and len(item) <= MAX_ATTRIBUTE_LENGTH
        ):
            _check_length("attributes key", key, low=1, high=MAX_ATTRIBUTE_LENGTH)
            # The key is named in the field, never the value: values are personal data.
            _check_length(f"attributes[{key!r}]", item, low=0, high=MAX_ATTRIBUTE_LENGTH)
    return types.MappingProxyType(dict(value))


def _attributes_repr(value: Mapping[str, str]) -> str:
    return "{" + ", ".join(f"{k!r}: '***'" for k in value) + "}"


def _to_strategy(value: OutboundStrategy | Mapping[str, Any] | None) -> OutboundStrategy | None:
    if value is None or isinstance(value, OutboundStrategy):
        return value
    if isinstance(value, Mapping):
        return OutboundStrategy.from_api(value)
    raise _invalid("outbound_strategy", "must be an OutboundStrategy or the API's dict")


def _check_optional(field: str, value: str | None, low: int, high: int | None) -> None:
    if value is not None and not (
        value.__class__ is str and low <= len(value) and (high is None or len(value) <= high)
    ):
        _check_length(field, value, low=low, high=high)


def _check_endpoint(field: str, value: object) -> None:
    if value.__class__ is not Endpoint and not isinstance(value, Endpoint):
        raise _invalid(field, "is required" if value is None else "must be an Endpoint")


@attrs.frozen(kw_only=True)
class ContactRequest:
    """One contact to create: who to call and how, checked against the API's limits.

    ``request_identifier`` ties the service's answer to this request; leave it ``None`` and
    the client generates a unique one when sending. Addresses and attribute values are masked
    in ``repr()``.
    """

    customer_endpoint: Endpoint
    campaign_id: str | None = None
    queue_id: str | None = None
    system_endpoint: Endpoint | None = None
    attributes: Mapping[str, str] = attrs.field(
        factory=dict, converter=_to_attributes, repr=_attributes_repr, hash=False
    )
    request_identifier: str | None = None
    outbound_strategy: OutboundStrategy | None = attrs.field(default=None, converter=_to_strategy)

    def __attrs_post_init__(self) -> None:
        # Every rule in one pass rather than a validator call per field: these are built by
        # the million, and the common case is all plain strings within their limits.
        _check_endpoint("customer_endpoint", self.customer_endpoint)
        if self.system_endpoint is not None:
            _check_endpoint("system_endpoint", self.system_endpoint)
        _check_optional("campaign_id", self.campaign_id, 1, MAX_CAMPAIGN_ID_LENGTH)
        _check_optional("queue_id", self.queue_id, 0, None)
        _check_optional(
            "request_identifier", self.request_identifier, 0, MAX_REQUEST_IDENTIFIER_LENGTH
        )

    @classmethod
    def from_api(cls, data: ContactDataRequestTypeDef | Mapping[str, Any]) -> ContactRequest:
        """Build from one ``ContactDataRequest`` dict, validating it like any other."""
        customer = data.get("CustomerEndpoint")
        if customer is None:
            raise _invalid("customer_endpoint", "is required")
        system = data.get("SystemEndpoint")
        campaign = data.get("Campaign")
        return cls(
            customer_endpoint=Endpoint.from_api(customer),
            campaign_id=campaign.get("CampaignId") if campaign is not None else None,
            queue_id=data.get("QueueId"),
            system_endpoint=Endpoint.from_api(system) if system is not None else None,
            attributes=data.get("Attributes", {}),
            request_identifier=data.get("RequestIdentifier"),
            outbound_strategy=data.get("OutboundStrategy"),
        )

    def to_api(self, request_identifier: str | None = None) -> ContactDataRequestTypeDef:
        """The API's ``ContactDataRequest``; ``request_identifier`` overrides the stored one."""
        item: ContactDataRequestTypeDef = {"CustomerEndpoint": self.customer_endpoint.to_api()}
        rid = request_identifier if request_identifier is not None else self.request_identifier
        if rid is not None:
            item["RequestIdentifier"] = rid
        if self.campaign_id is not None:
            item["Campaign"] = {"CampaignId": self.campaign_id}
        if self.queue_id is not None:
            item["QueueId"] = self.queue_id
        if self.system_endpoint is not None:
            item["SystemEndpoint"] = self.system_endpoint.to_api()
        if self.attributes:
            item["Attributes"] = dict(self.attributes)
        if self.outbound_strategy is not None:
            item["OutboundStrategy"] = self.outbound_strategy.to_api()
        return item


# Whole-call errors after which no other batch of the run can succeed.
_ABORTS: Mapping[str, type[RunAbortedError]] = {
    "AccessDeniedException": AccessDeniedError,
    "ResourceNotFoundException": InstanceNotFoundError,
}

_UNAUTHORIZED = (401, 403)


@attrs.frozen
class BatchPutContactOperation:
    """Amazon Connect ``BatchPutContact`` on one instance."""

    instance_id: str
    name: str = "BatchPutContact"
    max_items: int = 25
    idempotency: Idempotency = Idempotency.PER_CALL
    # BatchPutContact's documented quota: 10 calls/s, burst 15, per account and Region.
    default_rate: float = 10.0
    # The pace starts at that documented quota; no slow start from a guess.
    rate_documented: bool = True
    key_name: str = "request_identifier"

    def item_key(self, item: ContactRequest) -> str | None:
        return item.request_identifier

    def fingerprint(self, item: ContactRequest) -> str:
        return json.dumps(item.to_api(), sort_keys=True, separators=(",", ":"))

    def request(
        self,
        items: Sequence[tuple[str, ContactRequest]],
        token: str,
        now: datetime.datetime,  # noqa: ARG002 - BatchPutContact's items do not expire
    ) -> tuple[str, dict[str, Any]]:
        return "batch_put_contact", {
            "InstanceId": self.instance_id,
            "ClientToken": token,
            "ContactDataRequestList": [item.to_api(key) for key, item in items],
        }

    def read(self, response: Mapping[str, Any], sent: Sequence[str]) -> Answer:
        return _BATCH_PUT_CONTACT_ANSWER.read(response, sent)

    def is_transient(self, fault: CallFault) -> bool:
        return transient_call(fault, TRANSIENT_CALL_CODES)

    def is_throttle(self, fault: CallFault) -> bool:
        return fault.status == TOO_MANY_REQUESTS or fault.code in THROTTLE_CODES

    def is_token_conflict(self, fault: CallFault) -> bool:
        return fault.code == "IdempotencyException" or fault.status == CONFLICT

    def unsendable(
        self,
        items: Sequence[ContactRequest],  # noqa: ARG002 - nothing expires
        now: datetime.datetime,  # noqa: ARG002
    ) -> Mapping[int, ItemAnswer]:
        return {}

    def item_kind(self, code: str) -> ItemKind:
        return ItemKind.TRANSIENT if code in TRANSIENT_ITEM_CODES else ItemKind.FINAL

    def abort_error(self, fault: CallFault) -> type[RunAbortedError] | None:
        if fault.code in _ABORTS:
            return _ABORTS[fault.code]
        if fault.status in _UNAUTHORIZED:
            return RunAbortedError
        return None

    def retryable_after(self, fault: CallFault) -> bool:  # noqa: ARG002 - nothing to resume
        return False

    def abort_message(self, fault: CallFault) -> str:
        if fault.code == "AccessDeniedException":
            return (
                "BatchPutContact was refused (AccessDeniedException): the service accepts it "
                "only from the Amazon Connect outbound campaigns service principal. To put "
                "contacts from your own code, use outbound campaigns' PutDialRequestBatch "
                "(connectcampaigns) or PutOutboundRequestBatch (connectcampaignsv2)."
            )
        if fault.code == "ResourceNotFoundException":
            return (
                f"Connect instance {self.instance_id!r} was not found "
                "(ResourceNotFoundException); check the instance id, account and Region."
            )
        return f"{self.name} was refused with {fault.code} (HTTP {fault.status}); run stopped."


_BATCH_PUT_CONTACT_ANSWER = AnswerShape(
    succeeded="SuccessfulRequestList",
    failed="FailedRequestList",
    key="RequestIdentifier",
    resource_id="ContactId",
    code="FailureReasonCode",
    message="FailureReasonMessage",
)
