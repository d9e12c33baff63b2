"""What the engine is told about a batch operation, and what every operation shares.

Holds the ``BatchOperation`` protocol, the two idempotency models (``Idempotency``), what a
per-item code means (``ItemKind``), a call's answer (``Answer``, ``ItemAnswer``), the reader
of the usual two-list answer (``AnswerShape``) and the whole-call fault classification every
AWS batch API shares (429, 5xx, 408). It must not know any API's field names, nor botocore,
nor how the engine schedules calls: one module per API (``contacts``, ``campaigns_v2``,
``campaigns_v1``) describes each API in these terms.
"""

from __future__ import annotations

import datetime
import enum
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, TypeVar

import attrs

from connect_batch._errors import (
    CallFault,
    RunAbortedError,
)

ItemT_contra = TypeVar("ItemT_contra", contravariant=True)


class Idempotency(enum.Enum):
    """How an API keeps a retry from acting twice."""

    # One ClientToken per call (BatchPutContact): a retry must carry the very same body under
    # the same token; items put again in a new body need a new token, so an item whose answer
    # never came can never be put again in this run.
    PER_CALL = "per_call"
    # Each item carries its own token (outbound campaigns' clientToken): a call's body may
    # change between attempts, and an item whose answer never came is simply sent again
    # under its own token.
    PER_ITEM = "per_item"


class ItemKind(enum.Enum):
    """What a per-item failure code says about sending the item again."""

    FINAL = "final"  # the item itself is wrong: the same item fails the same way
    TRANSIENT = "transient"  # the service failed on the item for now: send it again
    # The service lacks capacity (agents, telecom, pending requests): slow the run down,
    # then send it again after a back-off.
    CAPACITY = "capacity"
    # The service does not say what happened: send it again (only under its own token);
    # if it never gets through, whether it was created is unknown.
    UNCERTAIN = "uncertain"


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
    # Whether any item failed: most answers hold successes only.
    failures: bool = True


class BatchOperation(Protocol[ItemT_contra]):
    """A batch API as the engine needs it described."""

    @property
    def name(self) -> str:
        """The operation's name in the service model, e.g. ``"BatchPutContact"``."""

    @property
    def max_items(self) -> int:
        """Most items one call may carry."""

    @property
    def idempotency(self) -> Idempotency:
        """Whether a token covers a whole call or one item."""

    @property
    def default_rate(self) -> float:
        """Calls per second an adaptive limiter starts at when no rate is given."""

    @property
    def key_name(self) -> str:
        """The caller's name for an item's key (``request_identifier``, ``client_token``)."""

    def item_key(self, item: ItemT_contra) -> str | None:
        """The caller-given key tying an item to its answer, or ``None`` to generate one."""

    def fingerprint(self, item: ItemT_contra) -> str:
        """A stable text naming ``item`` for job-derived keys (never logged).

        ``PER_CALL``: everything the item sends. ``PER_ITEM``: what the request *is*,
        whatever else the input holds (for the campaigns: the campaign, the channel, the
        destination, and the caller's ``key`` or else a digest of what the request says).
        Two items with one fingerprint are one request: under a job key the second is
        answered ``DUPLICATE_IN_JOB`` and not sent.
        """

    def request(
        self,
        items: Sequence[tuple[str, ItemT_contra]],
        token: str,
        now: datetime.datetime,
    ) -> tuple[str, dict[str, Any]]:
        """The boto3 method and parameters of one call for ``items`` (key, item) under
        ClientToken ``token`` (``PER_CALL``; ignored by ``PER_ITEM`` operations) at
        wall-clock time ``now`` (UTC). The engine makes the call (a boto3 or an aiobotocore
        client: the method is the same)."""

    def unsendable(
        self, items: Sequence[ItemT_contra], now: datetime.datetime
    ) -> Mapping[int, ItemAnswer]:
        """The items (by index in ``items``) that may not be sent at ``now`` (they expired),
        and why; empty, as a rule.

        Asked of ``PER_ITEM`` operations only, before every attempt: a ``PER_CALL`` body may
        not change between the attempts of one token.
        """

    def read(self, response: Mapping[str, Any], sent: Sequence[str]) -> Answer:
        """Read a call's response; never raises on a malformed one."""

    def is_transient(self, fault: CallFault) -> bool:
        """True when the same call, under the same token, may succeed later."""

    def is_throttle(self, fault: CallFault) -> bool:
        """True when ``fault`` says the caller is over the service's rate."""

    def is_token_conflict(self, fault: CallFault) -> bool:
        """True when ``fault`` says the token was used before with a different body."""

    def item_kind(self, code: str) -> ItemKind:
        """What an item's failure ``code`` says about sending it again."""

    def abort_error(self, fault: CallFault) -> type[RunAbortedError] | None:
        """The error that stops the run for ``fault``, or ``None`` if the run goes on."""

    def abort_message(self, fault: CallFault) -> str:
        """A one-line explanation for an aborting fault (no personal data)."""

    def retryable_after(self, fault: CallFault) -> bool:
        """Whether the items of a call refused with an aborting ``fault`` may succeed later
        (the campaign may be resumed), so that ``BatchResult.retryable()`` holds them."""


# Whole-call errors worth the same call again, under the same ClientToken: the service
# refused for now (429) or failed inside (5xx), or the connection failed. Everything else
# (400 InvalidRequest, 409 Idempotency) fails the same way every time.
TRANSIENT_CALL_CODES = frozenset(
    {
        "LimitExceededException",
        "InternalServiceException",
        "ThrottlingException",
        "TooManyRequestsException",
        "ServiceUnavailableException",
        "ServiceUnavailable",
    }
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


@attrs.frozen
class AnswerShape:
    """Where a batch API's answer puts its two lists and their members' names."""

    succeeded: str
    failed: str
    key: str
    resource_id: str
    code: str
    message: str | None
    # Texts for per-item codes, for APIs whose failures carry no message of their own.
    messages: Mapping[str, str] = attrs.field(factory=dict)

    def read(  # noqa: PLR0912 - one pass over each list, every odd case named in place
        self, response: Mapping[str, Any], sent: Sequence[str]
    ) -> Answer:
        """The answer, keyed by the items' keys; never raises on a malformed response."""
        if not isinstance(response, Mapping) or not any(
            isinstance(response.get(name), list) for name in (self.succeeded, self.failed)
        ):
            # botocore makes {} (or {"message": ...}) of a body cut off or not JSON.
            return Answer({}, readable=False)
        expected = set(sent)
        created: dict[str, str] = {}
        failed: dict[str, ItemAnswer] = {}
        unclear: set[str] = set()
        strangers = 0
        key_name, id_name = self.key, self.resource_id
        for entry in _entries(response, self.succeeded):
            key, resource_id = entry.get(key_name), entry.get(id_name)
            if key.__class__ is not str or key not in expected:
                strangers += 1
            elif not (resource_id.__class__ is str and resource_id):
                unclear.add(key)  # a success without an id
            elif created.setdefault(key, resource_id) != resource_id:
                unclear.add(key)  # two different ids for one request
        for entry in _entries(response, self.failed):
            key, code = entry.get(self.key), entry.get(self.code)
            if not isinstance(key, str) or key not in expected:
                strangers += 1
            elif not isinstance(code, str) or not code or key in created:
                unclear.add(key)
            elif key in failed and failed[key].code != code:
                unclear.add(key)  # two different codes for one request
            else:
                message = entry.get(self.message) if self.message else None
                text = str(message or "")
                if not text and self.messages:
                    text = self.messages.get(code, code)
                failed[key] = ItemAnswer(code=code, message=text)
        if not failed and not unclear:
            return Answer(created, strangers=strangers, failures=False)
        items: dict[str, str | ItemAnswer] = dict(created)
        items.update(failed)
        for key in unclear:
            items.pop(key, None)
        return Answer(items, frozenset(unclear), strangers, failures=bool(failed))


def transient_call(fault: CallFault, codes: frozenset[str]) -> bool:
    """True when the same call, under the same token(s), may succeed later: the connection
    failed or timed out, the service throttled (429) or failed inside (5xx, or one of
    ``codes``), or a proxy timed out (408)."""
    if fault.status is None:
        return True
    return (
        fault.code in codes
        or fault.status in (TOO_MANY_REQUESTS, REQUEST_TIMEOUT)
        or fault.status >= SERVER_ERROR
    )


def _entries(response: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
    value = response.get(name) if isinstance(response, Mapping) else None
    if not isinstance(value, list):
        return []
    if all(entry.__class__ is dict for entry in value):
        return value
    return [entry for entry in value if isinstance(entry, Mapping)]
