"""The outbound campaigns double's rules: what a valid call and item are, and the ledger entry.

Holds the limits the fake services enforce for ``PutDialRequestBatch`` (v1) and
``PutOutboundRequestBatch`` (v2), the checks of a call's list and of each item, and
``CreatedRequest``. It must not know moto, the fault model, nor the ledger's bookkeeping
(``_campaigns``).
"""

from __future__ import annotations

import datetime
import re
import uuid
from collections.abc import Mapping
from typing import Any, Literal

import attrs

from connect_batch.operations.contacts import E164, mask

Api = Literal["v1", "v2"]
Channel = Literal["telephony", "sms", "email", "whatsapp"]

MAX_ITEMS = 25
MAX_TOKEN_LENGTH = 200
CLIENT_TOKEN = re.compile(r"[a-zA-Z0-9_\-.]{1,200}")
PARAMETER_KEY = re.compile(r"[a-zA-Z0-9\-_]+")
EMAIL = re.compile(r".*[^\s@]+@[^\s@]+\.[^\s@]+.*")
# v1: "expirationTime must be at least 30 s and at most 900 s from now" (AWS DialRequest).
V1_MIN_EXPIRY = 30.0
V1_MAX_EXPIRY = 900.0
EXPIRY_SLACK = 2.0  # seconds either side, for the time a request spends in transit
# "The token is valid for 7 days after creation": after that, the same token creates anew.
TOKEN_LIFETIME = 7 * 24 * 3600.0
STATES = frozenset({"Initialized", "Running", "Paused", "Stopped", "Failed", "Completed"})

_LIST_KEY: Mapping[Api, str] = {"v1": "dialRequests", "v2": "outboundRequests"}
# The wire name of each v2 channel, the ledger's name for it, and the member naming whom
# it reaches.
_CHANNELS: Mapping[str, tuple[Channel, str, str]] = {
    "telephony": ("telephony", "destinationPhoneNumber", "attributes"),
    "sms": ("sms", "destinationPhoneNumber", "templateParameters"),
    "email": ("email", "destinationEmailAddress", "templateParameters"),
    "whatsApp": ("whatsapp", "destinationPhoneNumber", "templateParameters"),
}


@attrs.frozen(kw_only=True)
class CreatedRequest:
    """One dial or outbound request the fake service created: an entry in the ledger."""

    api: Api
    campaign_id: str
    client_token: str
    id: str
    channel: Channel
    destination: str = attrs.field(repr=mask)
    parameters: Mapping[str, str] = attrs.field(repr=False)
    expiration_time: str


def _check_state(state: str) -> None:
    if state not in STATES:
        raise ValueError(f"state must be one of {sorted(STATES)}, not {state!r}")


def _request(api: Api, campaign_id: str, token: str, item: Mapping[str, Any]) -> CreatedRequest:
    if api == "v1":
        channel: Channel = "telephony"
        destination, parameters = item["phoneNumber"], item["attributes"]
    else:
        wire, fields = _channel(item)
        channel, address, parameters_name = _CHANNELS[wire]
        destination, parameters = fields[address], fields[parameters_name]
    return CreatedRequest(
        api=api,
        campaign_id=campaign_id,
        client_token=token,
        id=str(uuid.uuid4()),
        channel=channel,
        destination=str(destination),
        parameters=dict(parameters),
        expiration_time=str(item["expirationTime"]),
    )


def _channel(item: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
    """The one channel a valid v2 item sets, and its parameters."""
    parameters = item["channelSubtypeParameters"]
    ((wire, fields),) = ((k, v) for k, v in parameters.items() if v is not None)
    return wire, fields


def _invalid_request(api: Api, items: object) -> str | None:
    """The ValidationException message for a call the service rejects whole, if any."""
    name = _LIST_KEY[api]
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_ITEMS:
        return f"{name} must hold 1 to 25 items"
    if not all(isinstance(i, Mapping) for i in items):
        return f"{name} items must be objects"
    tokens = [i.get("clientToken") for i in items]
    if not all(isinstance(t, str) and CLIENT_TOKEN.fullmatch(t) for t in tokens):
        return "clientToken must be 1 to 200 characters of [a-zA-Z0-9_\\-.]"
    # Undocumented: what the service does with one token twice in a call. Rejecting the call
    # is the answer that gives a client no second chance to create two requests.
    if len(set(tokens)) != len(tokens):
        return "clientToken values must be unique within a request"
    for item in items:
        problem = _invalid_item(api, item)
        if problem:
            return problem
    return None


def _invalid_item(api: Api, item: Mapping[str, Any]) -> str | None:  # noqa: PLR0911
    """Required members missing, a timestamp that is none, a union not set exactly once."""
    if _timestamp(item.get("expirationTime")) is None:
        return "expirationTime is required and must be a timestamp"
    if api == "v1":
        if not isinstance(item.get("phoneNumber"), str):
            return "phoneNumber is required"
        if not isinstance(item.get("attributes"), Mapping):
            return "attributes is required"
        return None
    parameters = item.get("channelSubtypeParameters")
    if not isinstance(parameters, Mapping):
        return "channelSubtypeParameters is required"
    given = [k for k, v in parameters.items() if v is not None]
    if len(given) != 1 or given[0] not in _CHANNELS:
        return "channelSubtypeParameters must set exactly one of " + ", ".join(_CHANNELS)
    fields = parameters[given[0]]
    _, address, parameters_name = _CHANNELS[given[0]]
    if not isinstance(fields, Mapping) or not isinstance(fields.get(address), str):
        return f"{given[0]}.{address} is required"
    if not isinstance(fields.get(parameters_name), Mapping):
        return f"{given[0]}.{parameters_name} is required"
    return None


def _item_problem(api: Api, item: Mapping[str, Any], now: float) -> bool:
    """Whether the service takes this item in but will not create it (``InvalidInput``)."""
    expires = _timestamp(item["expirationTime"])
    assert expires is not None  # noqa: S101 - checked by _invalid_item
    if api == "v1":
        destination, parameters = str(item["phoneNumber"]), item["attributes"]
        valid = E164.fullmatch(destination) is not None
        ahead = expires - now
        in_time = V1_MIN_EXPIRY - EXPIRY_SLACK <= ahead <= V1_MAX_EXPIRY + EXPIRY_SLACK
    else:
        wire, fields = _channel(item)
        _, address, parameters_name = _CHANNELS[wire]
        destination, parameters = str(fields[address]), fields[parameters_name]
        pattern = EMAIL if wire == "email" else E164
        valid = pattern.fullmatch(destination) is not None
        in_time = expires >= now - EXPIRY_SLACK
    keys_valid = all(isinstance(k, str) and PARAMETER_KEY.fullmatch(k) for k in parameters)
    return not (valid and in_time and keys_valid)


def _timestamp(value: object) -> float | None:
    """Seconds since the epoch for an ISO-8601 string (what botocore sends) or a number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if not isinstance(value, str):
        return None
    text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.timestamp()
