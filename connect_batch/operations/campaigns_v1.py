"""Outbound campaigns v1 ``PutDialRequestBatch``: ``DialRequest`` and its operation.

Holds the request builder (telephony only; the ``connectcampaigns`` model's limits) and
``PutDialRequestBatchOperation``: per-item tokens, v1's 30-900 s expiry window, and the
wire names. What v1 and v2 share is in ``_campaign``. It must not know v2, the engine's
scheduling, nor botocore.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import attrs

from connect_batch.operations._campaign import V1_MAX_SEND_LEAD, CampaignOperation
from connect_batch.operations._campaign_checks import (
    _EMPTY,
    V1_MAX_LEAD,
    V1_MIN_SEND_LEAD,
    _check_expires,
    _check_key,
    _check_phone,
    _check_token,
    _expiration,
    _expires_text,
    _json_text,
    _says_digest,
    _to_parameters,
)
from connect_batch.operations.contacts import mask

if TYPE_CHECKING:
    from mypy_boto3_connectcampaigns.type_defs import DialRequestTypeDef


def _or_empty(value: Mapping[str, str] | None) -> Mapping[str, str]:
    return _EMPTY if value is None else value


@attrs.frozen(kw_only=True)
class DialRequest:
    """One v1 dial request: a call to ``phone_number`` (E.164) with contact ``attributes``.

    ``attributes`` is kept as an immutable copy (a read-only dict).

    ``client_token`` is the idempotency key; leave it ``None`` and the client makes one.
    ``key`` names the request within a job, as ``OutboundRequest.key`` does: under a
    ``job_key`` the generated token is derived from the job key, the campaign, the number
    and ``key`` (or, without one, a digest of the attributes). Give ``key`` or
    ``client_token``, not both.
    ``expires`` is an aware datetime, a timedelta of 30-900 seconds counted from the send
    (v1 takes an expiration 30-900 s after the call), or ``None`` for ``DEFAULT_EXPIRES``.
    ``repr()`` masks the number and hides the attributes.
    """

    phone_number: str = attrs.field(repr=mask)
    attributes: Mapping[str, str] = attrs.field(
        default=_EMPTY, converter=_or_empty, repr=False, hash=False
    )
    client_token: str | None = None
    # A caller's id may be personal data: repr() says only whether one was given.
    key: str | None = attrs.field(
        default=None, repr=lambda key: "None" if key is None else "<given>"
    )
    expires: datetime | timedelta | None = None
    _fingerprint: str | None = attrs.field(
        init=False, default=None, repr=False, eq=False, hash=False
    )
    _says: str | None = attrs.field(init=False, default=None, repr=False, eq=False, hash=False)

    def __attrs_post_init__(self) -> None:
        _check_phone("phone_number", self.phone_number)
        object.__setattr__(self, "attributes", _to_parameters("attributes", self.attributes))
        _check_token("client_token", self.client_token)
        _check_key(self.key, self.client_token)
        _check_expires("expires", self.expires, (V1_MIN_SEND_LEAD, V1_MAX_LEAD))

    def expiration(self, now: datetime) -> datetime:
        """When the request expires if sent at ``now`` (an aware UTC datetime).

        An aware datetime is returned as given, a timedelta is counted from ``now``, and
        ``None`` gives ``now + DEFAULT_EXPIRES``. An absolute datetime is not held to v1's
        30-900 s window here: only the sender knows when the call goes.
        """
        return _expiration(self.expires, now)

    def to_api(self, client_token: str, expiration_time: datetime) -> DialRequestTypeDef:
        """The API's ``DialRequest`` dict, as boto3 takes it.

        ``client_token`` and ``expiration_time`` are used as given, unchecked. The
        ``attributes`` dict is built once and shared by every call; it refuses changes.
        """
        return {
            "clientToken": client_token,
            "phoneNumber": self.phone_number,
            "expirationTime": expiration_time,
            "attributes": self.attributes,
        }

    def fingerprint(self) -> str:
        """A stable text of what this request sends, but for its token and expiration time.

        Compact JSON with sorted keys of ``phoneNumber`` and ``attributes``, plus ``expires``
        (ISO 8601 in UTC for a datetime, seconds for a timedelta, ``""`` for None). Equal
        requests give equal fingerprints. It holds personal data: never log it.
        """
        found = self._fingerprint
        if found is None:
            found = _json_text(
                {
                    "phoneNumber": self.phone_number,
                    "attributes": self.attributes,
                    "expires": _expires_text(self.expires),
                }
            )
            object.__setattr__(self, "_fingerprint", found)
        return found

    def says(self) -> str:
        """A digest of what this request says: its attributes (not its number, token, key
        or expiry). Under a ``job_key`` and without ``key=``, it is what tells two requests
        to one number apart. 32 hex digits, no personal data."""
        found = self._says
        if found is None:
            found = _says_digest({"attributes": self.attributes})
            object.__setattr__(self, "_says", found)
        return found


@attrs.frozen
class PutDialRequestBatchOperation(CampaignOperation[DialRequest]):
    """Outbound campaigns v1 ``PutDialRequestBatch`` on one campaign.

    v1 requires each request's expiration 30-900 s after the call arrives: a request with
    less than ``V1_MIN_SEND_LEAD`` (32 s) left is answered ``EXPIRED``, and one further than
    898 s away is sent as 898 s from the call (it then expires sooner than asked, never
    later; 2 s less than the API's 900 leaves room for clock skew).
    """

    name: str = "PutDialRequestBatch"
    iam_action: str = "connect-campaigns:PutDialRequestBatch"
    min_lead: timedelta = V1_MIN_SEND_LEAD
    max_lead: timedelta | None = V1_MAX_SEND_LEAD
    method: str = "put_dial_request_batch"
    list_name: str = "dialRequests"

    def reach(self, item: DialRequest) -> tuple[str, str]:
        return "telephony", item.phone_number
