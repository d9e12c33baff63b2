"""What the engine is told about a batch operation: its limits, how to call it, how to read it.

The engine knows nothing of Connect's field names. ``BatchPutContactOperation`` describes
BatchPutContact; another 25-item batch API (outbound campaigns' ``PutDialRequestBatch``, say)
would be another description, not another engine.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, TypeVar

import attrs

from connect_batch._errors import (
    AccessDeniedError,
    CallFault,
    InstanceNotFoundError,
    RunAbortedError,
)
from connect_batch._models import ContactRequest

ItemT_contra = TypeVar("ItemT_contra", contravariant=True)


@attrs.define(weakref_slot=False)
class ItemAnswer:
    """The service's failure answer for one item: a code and a message."""

    code: str | None = None
    message: str = ""


@attrs.frozen
class Answer:
    """One call's answer, keyed by item key: a resource id (str) or an ``ItemAnswer`` failure.

    ``unclear`` holds keys the answer contradicts itself about (both lists, or an entry
    missing its fields); ``strangers`` counts entries for keys that were not sent.
    ``readable`` is False for a body that is not an answer at all (cut off, not JSON): the
    engine retries such a call under the same token, which replays the real answer.
    """

    items: Mapping[str, str | ItemAnswer]
    unclear: frozenset[str] = frozenset()
    strangers: int = 0
    readable: bool = True


class BatchOperation(Protocol[ItemT_contra]):
    """A batch API as the engine needs it described."""

    @property
    def name(self) -> str:
        """The operation's name in the service model, e.g. ``"BatchPutContact"``."""

    @property
    def max_items(self) -> int:
        """Most items one call may carry."""

    def item_key(self, item: ItemT_contra) -> str | None:
        """The caller-given key tying an item to its answer, or ``None`` to generate one."""

    def fingerprint(self, item: ItemT_contra) -> str:
        """A stable text of everything ``item`` sends, for job-derived identifiers."""

    def call(
        self, client: Any, items: Sequence[tuple[str, ItemT_contra]], token: str
    ) -> Mapping[str, Any]:
        """Make one call for ``items`` (key, item) under ClientToken ``token``."""

    def read(self, response: Mapping[str, Any], sent: Sequence[str]) -> Answer:
        """Read a call's response; never raises on a malformed one."""

    def is_transient(self, fault: CallFault) -> bool:
        """True when the same call, under the same token, may succeed later."""

    def is_throttle(self, fault: CallFault) -> bool:
        """True when ``fault`` says the caller is over the service's rate."""

    def is_token_conflict(self, fault: CallFault) -> bool:
        """True when ``fault`` says the token was used before with a different body."""

    def is_transient_item(self, code: str) -> bool:
        """True when an item that failed with ``code`` may succeed if sent again."""

    def abort_error(self, fault: CallFault) -> type[RunAbortedError] | None:
        """The error that stops the run for ``fault``, or ``None`` if the run goes on."""

    def abort_message(self, fault: CallFault) -> str:
        """A one-line explanation for an aborting fault (no personal data)."""


# Whole-call errors worth the same call again, under the same ClientToken: the service
# refused for now (429) or failed inside (5xx), or the connection failed. Everything else
# (400 InvalidRequest, 409 Idempotency) fails the same way every time.
TRANSIENT_CALL_CODES = frozenset(
    {"LimitExceededException", "InternalServiceException", "ThrottlingException",
     "TooManyRequestsException", "ServiceUnavailableException", "ServiceUnavailable"}
)
TOO_MANY_REQUESTS = 429
# A proxy's "Request Timeout": the same call, under the same token, may go through.
REQUEST_TIMEOUT = 408
THROTTLE_CODES = frozenset(
    {"LimitExceededException", "ThrottlingException", "TooManyRequestsException"}
)
SERVER_ERROR = 500
CONFLICT = 409
# Per-item codes worth another round in a new call (a new body, so a new token): the
# service throttled or failed on that item alone. The model gives no hints; these are the
# only two that read as transient. Every other code describes the request itself.
TRANSIENT_ITEM_CODES = frozenset({"REQUEST_THROTTLED", "INTERNAL_ERROR"})
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

    def item_key(self, item: ContactRequest) -> str | None:
        return item.request_identifier

    def fingerprint(self, item: ContactRequest) -> str:
        return json.dumps(item.to_api(), sort_keys=True, separators=(",", ":"))

    def call(
        self, client: Any, items: Sequence[tuple[str, ContactRequest]], token: str
    ) -> Mapping[str, Any]:
        response: Mapping[str, Any] = client.batch_put_contact(
            InstanceId=self.instance_id,
            ClientToken=token,
            ContactDataRequestList=[item.to_api(key) for key, item in items],
        )
        return response

    def read(self, response: Mapping[str, Any], sent: Sequence[str]) -> Answer:
        if not isinstance(response, Mapping) or not any(
            isinstance(response.get(name), list)
            for name in ("SuccessfulRequestList", "FailedRequestList")
        ):
            # botocore makes {} (or {"message": ...}) of a body cut off or not JSON.
            return Answer({}, readable=False)
        expected = set(sent)
        created: dict[str, str] = {}
        failed: dict[str, ItemAnswer] = {}
        unclear: set[str] = set()
        strangers = 0
        for entry in _entries(response, "SuccessfulRequestList"):
            key, contact_id = entry.get("RequestIdentifier"), entry.get("ContactId")
            if not isinstance(key, str) or key not in expected:
                strangers += 1
            elif not (isinstance(contact_id, str) and contact_id):
                unclear.add(key)  # a success without a ContactId
            elif created.setdefault(key, contact_id) != contact_id:
                unclear.add(key)  # two different ContactIds for one request
        for entry in _entries(response, "FailedRequestList"):
            key, code = entry.get("RequestIdentifier"), entry.get("FailureReasonCode")
            if not isinstance(key, str) or key not in expected:
                strangers += 1
            elif not isinstance(code, str) or not code or key in created:
                unclear.add(key)
            else:
                message = entry.get("FailureReasonMessage")
                failed[key] = ItemAnswer(code=code, message=str(message or ""))
        items: dict[str, str | ItemAnswer] = dict(created)
        items.update(failed)
        for key in unclear:
            items.pop(key, None)
        return Answer(items, frozenset(unclear), strangers)

    def is_transient(self, fault: CallFault) -> bool:
        if fault.status is None:  # the connection failed or timed out
            return True
        return (
            fault.code in TRANSIENT_CALL_CODES
            or fault.status in (TOO_MANY_REQUESTS, REQUEST_TIMEOUT)
            or fault.status >= SERVER_ERROR
        )

    def is_throttle(self, fault: CallFault) -> bool:
        return fault.status == TOO_MANY_REQUESTS or fault.code in THROTTLE_CODES

    def is_token_conflict(self, fault: CallFault) -> bool:
        return fault.code == "IdempotencyException" or fault.status == CONFLICT

    def is_transient_item(self, code: str) -> bool:
        return code in TRANSIENT_ITEM_CODES

    def abort_error(self, fault: CallFault) -> type[RunAbortedError] | None:
        if fault.code in _ABORTS:
            return _ABORTS[fault.code]
        if fault.status in _UNAUTHORIZED:
            return RunAbortedError
        return None

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


def _entries(response: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
    value = response.get(name) if isinstance(response, Mapping) else None
    if not isinstance(value, list):
        return []
    return [entry for entry in value if isinstance(entry, Mapping)]
