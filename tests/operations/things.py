"""A made-up 25-item API, "PutThingBatch", described entirely in the test suite.

Its request builder (``Thing``), its ``BatchOperation`` (``ThingOperation``, in either
idempotency model), its botocore service model (``data/thingbatch``, found through the
data loader's search path) and its route on the double (``ROUTES``). Nothing under
``connect_batch/`` knows it: the proof that a fourth API needs no engine change.
"""

from __future__ import annotations

import datetime
import pathlib
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import botocore.session
from aiobotocore.session import AioSession, get_session

from connect_batch import AccessDeniedError, ContactValidationError, RunAbortedError
from connect_batch.operations import (
    Answer,
    AnswerShape,
    CallFault,
    Idempotency,
    ItemAnswer,
    ItemKind,
    transient_call,
)
from connect_batch.testing import Route

DATA = pathlib.Path(__file__).parent / "data"
SERVICE = "thingbatch"
GROUP = "group-1"

ROUTES = {
    Idempotency.PER_ITEM: Route(
        operation="PutThingBatch",
        path="/things/batch/(?P<GroupId>[^/]+)",
        items="things",
        key="key",
    ),
    Idempotency.PER_CALL: Route(
        operation="PutThingBatchOnce",
        path="/things/batch-once/(?P<GroupId>[^/]+)",
        items="things",
        key="key",
        token="ClientToken",
    ),
}
_METHODS = {Idempotency.PER_ITEM: "put_thing_batch", Idempotency.PER_CALL: "put_thing_batch_once"}
_ANSWER = AnswerShape(
    succeeded="successful", failed="failed", key="key", resource_id="id", code="code",
    message="message",
)  # fmt: skip
_KINDS = {"RequestThrottled": ItemKind.TRANSIENT, "Busy": ItemKind.CAPACITY,
          "UnknownError": ItemKind.UNCERTAIN}  # fmt: skip
_TRANSIENT = frozenset({"ThrottlingException", "InternalServerException"})


@attrs.frozen(kw_only=True)
class Thing:
    """One item: a name, and the caller's key (or None for a generated one)."""

    name: str = attrs.field(repr=False)
    key: str | None = None

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.name, str) or not 1 <= len(self.name) <= 100:
            raise ContactValidationError("name: must be a str of 1-100 characters")


@attrs.frozen
class ThingOperation:
    """PutThingBatch (per-item tokens) or PutThingBatchOnce (one token per call)."""

    group_id: str
    idempotency: Idempotency = Idempotency.PER_ITEM
    max_items: int = 25
    default_rate: float = 5.0
    key_name: str = "key"

    @property
    def name(self) -> str:
        return ROUTES[self.idempotency].operation

    def item_key(self, item: Thing) -> str | None:
        return item.key

    def fingerprint(self, item: Thing) -> str:
        return f"{self.group_id}\x00{item.name}"

    def request(
        self, items: Sequence[tuple[str, Thing]], token: str, now: datetime.datetime
    ) -> tuple[str, dict[str, Any]]:
        del now  # things do not expire
        params: dict[str, Any] = {
            "GroupId": self.group_id,
            "things": [{"key": key, "name": item.name} for key, item in items],
        }
        if self.idempotency is Idempotency.PER_CALL:
            params["ClientToken"] = token
        return _METHODS[self.idempotency], params

    def unsendable(
        self, items: Sequence[Thing], now: datetime.datetime
    ) -> Mapping[int, ItemAnswer]:
        del items, now
        return {}

    def read(self, response: Mapping[str, Any], sent: Sequence[str]) -> Answer:
        return _ANSWER.read(response, sent)

    def is_transient(self, fault: CallFault) -> bool:
        return transient_call(fault, _TRANSIENT)

    def is_throttle(self, fault: CallFault) -> bool:
        return fault.status == 429 or fault.code == "ThrottlingException"

    def is_token_conflict(self, fault: CallFault) -> bool:
        return fault.code == "ConflictException"

    def item_kind(self, code: str) -> ItemKind:
        return _KINDS.get(code, ItemKind.FINAL)

    def abort_error(self, fault: CallFault) -> type[RunAbortedError] | None:
        if fault.code == "AccessDeniedException":
            return AccessDeniedError
        return RunAbortedError if fault.status in (401, 403) else None

    def abort_message(self, fault: CallFault) -> str:
        return f"{self.name} was refused with {fault.code} (HTTP {fault.status})"

    def retryable_after(self, fault: CallFault) -> bool:
        del fault
        return False


def botocore_session() -> botocore.session.Session:
    """A botocore session that knows the thingbatch service model."""
    session = botocore.session.get_session()
    session.get_component("data_loader").search_paths.insert(0, str(DATA))
    return session


def aio_session() -> AioSession:
    """An aiobotocore session that knows the thingbatch service model."""
    session = get_session()
    session.get_component("data_loader").search_paths.insert(0, str(DATA))
    return session
