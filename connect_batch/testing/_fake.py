"""BatchPutContact for moto's Connect backend, with a ledger and fault knobs.

moto 5 implements Connect instances but not BatchPutContact. moto has no plug-in API, so
``install()`` adds the route to ``moto.connect.urls.url_paths`` and the handler to
``ConnectResponse``, where moto's dispatch finds them both in-process (``mock_aws``) and in
server mode (``ThreadedMotoServer``; install before the server's first Connect request).

The state lives beside each moto Connect backend (one per account and Region) and is reset
with it. ``FakeConnect`` is the handle tests use: ``contacts`` is the ledger of what the
service really created, ``calls`` every HTTP attempt that reached it. The campaign batch
APIs (``_campaigns.py``) share the fault model (``_faults.py``: ``Fault``, connection cuts and
mangled answers); it must not know them.
"""

from __future__ import annotations

import collections
import hashlib
import json
import re
import threading
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs
from moto.connect import urls as connect_urls
from moto.connect.models import ConnectBackend, connect_backends
from moto.connect.responses import ConnectResponse
from moto.core.exceptions import JsonRESTError

from connect_batch.operations.contacts import E164, mask
from connect_batch.testing._faults import (
    GARBLED_BODY,
    TRUNCATED_AT,
    ConnectionCut,
    Fault,
    InFlight,
    MangledAnswer,
    _cut_connection,
    _mangled_answer,
    _TokenBucket,
)

# Re-exported: tests and the campaigns double imported these from here before _faults.
__all__ = [
    "GARBLED_BODY",
    "TRUNCATED_AT",
    "CallRecord",
    "ConnectionCut",
    "CreatedContact",
    "FakeConnect",
    "Fault",
    "InFlight",
    "MangledAnswer",
    "install_connect",
]

MAX_ITEMS = 25
# BatchPutContact's 500 (the connect model): the code of a Fault.error() that names none.
ERROR_CODE = "InternalServiceException"
MAX_TOKEN_LENGTH = 500
MAX_REQUEST_IDENTIFIER_LENGTH = 80
ATTRIBUTE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
ROUTE = "{0}/contact/batch/(?P<InstanceId>[^/]+)$"
_STATE_ATTRIBUTE = "_connect_batch_fake"
_install_lock = threading.Lock()


@attrs.frozen(kw_only=True)
class CreatedContact:
    """One contact the fake service created: an entry in the ledger."""

    contact_id: str
    instance_id: str
    request_identifier: str
    client_token: str
    customer_address: str = attrs.field(repr=mask)
    campaign_id: str | None
    attributes: Mapping[str, str] = attrs.field(repr=False)


@attrs.frozen(kw_only=True)
class CallRecord:
    """One HTTP attempt that reached the fake, and what became of it.

    ``outcome`` is one of ``answered``, ``replayed`` (the remembered answer to an earlier
    call with the same token: same body, or any body when ``FakeConnect.compare_bodies`` is
    off), ``throttled``, ``error`` (a whole-call error answered), ``dropped`` (acted on,
    connection cut), ``reset`` (connection cut, nothing done), ``late`` (answered late),
    ``garbled`` (acted on, answered 200 with a body that is not JSON), ``truncated`` (acted
    on, answered 200 with the JSON body cut short). ``status`` is 200 for the last two.
    """

    instance_id: str
    client_token: str
    request_identifiers: tuple[str, ...]
    status: int
    outcome: str
    error_code: str | None = None












class FakeConnect:
    """The fake BatchPutContact of one moto Connect backend: its ledger and its knobs."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.contacts: list[CreatedContact] = []
        self.calls: list[CallRecord] = []
        self._answers: dict[tuple[str, str], tuple[str, str]] = {}
        self._planned: collections.deque[Fault | None] = collections.deque()
        self._item_faults: dict[str, collections.deque[str]] = {}
        self._bucket: _TokenBucket | None = None
        self._omitted: set[str] = set()
        self.latency = 0.0
        self.in_flight = InFlight()
        # False: replay by token alone, as a service that ignores the body on a known token.
        self.compare_bodies = True

    @classmethod
    def of(cls, account_id: str = "123456789012", region: str = "us-east-1") -> FakeConnect:
        """The fake for moto's Connect backend in ``account_id`` and ``region``."""
        return _state(connect_backends[account_id][region])

    # The knobs.
    def throttle(self, *, rate: float, burst: int) -> None:
        """Answer 429 beyond ``rate`` calls/s with bursts of ``burst`` (0, 0: always)."""
        with self._lock:
            self._bucket = _TokenBucket(rate, burst)

    def plan(self, *faults: Fault | None) -> None:
        """Apply these faults to the next calls in order; ``None`` lets a call through."""
        if any(f is not None and f.every_item is not None for f in faults):
            raise ValueError(
                "Fault.items_failed() is for the campaign APIs; fail BatchPutContact's items "
                "with fail_items()"
            )
        with self._lock:
            self._planned.extend(faults)

    def fail_calls(self, count: int, fault: Fault | None = None) -> None:
        """Fail the next ``count`` calls with ``fault`` (default: 500 before commit)."""
        self.plan(*([fault or Fault.error()] * count))

    def fail_items(self, codes: Mapping[str, str], *, times: int = 1) -> None:
        """Fail each RequestIdentifier in ``codes`` with its code, the next ``times`` times."""
        with self._lock:
            for key, code in codes.items():
                self._item_faults.setdefault(key, collections.deque()).extend([code] * times)

    def omit_items(self, request_identifiers: Iterable[str]) -> None:
        """Create these items when next sent but leave them out of that answer."""
        with self._lock:
            self._omitted.update(request_identifiers)

    def reset_faults(self) -> None:
        """Remove every knob's effect; the ledger stays."""
        with self._lock:
            self._planned.clear()
            self._omitted.clear()
            self._item_faults.clear()
            self._bucket = None
            self.latency = 0.0
            self.compare_bodies = True

    # What tests read.
    def created_for(self, request_identifier: str) -> list[CreatedContact]:
        """Every contact created for ``request_identifier`` (more than one is a duplicate)."""
        return [c for c in self.contacts if c.request_identifier == request_identifier]

    def duplicates(self) -> dict[str, int]:
        """RequestIdentifiers the service created more than one contact for."""
        counts = collections.Counter((c.instance_id, c.request_identifier) for c in self.contacts)
        return {rid: n for (_, rid), n in counts.items() if n > 1}

    def attempts_by_token(self) -> dict[str, int]:
        """How many HTTP attempts reached the fake under each ClientToken."""
        return dict(collections.Counter(c.client_token for c in self.calls))

    # The service.
    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until no call is being answered (see ``InFlight``); False on a timeout."""
        return self.in_flight.wait_idle(timeout)

    def handle(self, instance_id: str, body: Mapping[str, Any], *, instance_exists: bool) -> str:
        """Answer one BatchPutContact call, as the service would.

        Raises ``ConnectionCut`` for a call that gets no answer and ``MangledAnswer`` for one
        answered with a body the client cannot parse; ``install()``'s handler turns each into
        what a client sees on the wire.
        """
        with self.in_flight:
            return self._handle(instance_id, body, instance_exists=instance_exists)

    def _handle(self, instance_id: str, body: Mapping[str, Any], *, instance_exists: bool) -> str:
        if self.latency:
            time.sleep(self.latency)
        token = str(body.get("ClientToken") or uuid.uuid4())
        items = body.get("ContactDataRequestList")
        rids = tuple(
            str(i.get("RequestIdentifier", "")) for i in items or () if isinstance(i, Mapping)
        )
        with self._lock:
            record = _Recorder(self, instance_id, token, rids)
            fault = self._planned.popleft() if self._planned else None
            if self._bucket is not None and not self._bucket.take():
                fault = Fault.throttle()
            if fault is not None and not fault.after_commit:
                if fault.cut:
                    record.done(0, "reset")
                    raise ConnectionCut(acted=False)
                raise record.error(
                    fault.status, fault.code_for(ERROR_CODE), "fault injected by the test"
                )
            answer, outcome = self._answer(record, instance_id, token, items, instance_exists)
            if fault is None or fault.delay:
                record.done(200, outcome if fault is None else "late")
            elif fault.cut:
                record.done(0, "dropped")
                raise ConnectionCut(acted=True)
            elif fault.mangle is not None:
                record.done(200, fault.mangle)
                raise MangledAnswer(fault.mangle, answer)
            else:
                raise record.error(
                    fault.status, fault.code_for(ERROR_CODE), "fault injected after commit"
                )
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        return answer

    def _answer(
        self,
        record: _Recorder,
        instance_id: str,
        token: str,
        items: Any,
        instance_exists: bool,  # noqa: FBT001 - private helper, positional for brevity
    ) -> tuple[str, str]:
        if not instance_exists:
            raise record.error(
                404, "ResourceNotFoundException", f"Instance {instance_id} not found"
            )
        problem = _invalid_request(token, items)
        if problem:
            raise record.error(400, "InvalidRequestException", problem)
        fingerprint = hashlib.sha256(json.dumps(items, sort_keys=True).encode()).hexdigest()
        remembered = self._answers.get((instance_id, token))
        if remembered is None:
            answer = json.dumps(self._create(instance_id, token, items))
            self._answers[(instance_id, token)] = (fingerprint, answer)
            return answer, "answered"
        if self.compare_bodies and remembered[0] != fingerprint:
            raise record.error(
                409, "IdempotencyException", "ClientToken reused with a different body"
            )
        return remembered[1], "replayed"

    def _create(self, instance_id: str, token: str, items: Sequence[Any]) -> dict[str, Any]:
        succeeded: list[dict[str, str]] = []
        failed: list[dict[str, str]] = []
        for item in items:
            rid = str(item.get("RequestIdentifier") or uuid.uuid4())
            code = self._item_code(rid, item)
            if code is not None:
                failed.append(
                    {
                        "RequestIdentifier": rid,
                        "FailureReasonCode": code,
                        "FailureReasonMessage": f"{code} (fake)",
                    }
                )
                continue
            contact = CreatedContact(
                contact_id=str(uuid.uuid4()),
                instance_id=instance_id,
                request_identifier=rid,
                client_token=token,
                customer_address=item["CustomerEndpoint"].get("Address", ""),
                campaign_id=item["Campaign"]["CampaignId"],
                attributes=dict(item.get("Attributes") or {}),
            )
            self.contacts.append(contact)
            if rid in self._omitted:
                self._omitted.discard(rid)  # created, but left out of the answer once
                continue
            succeeded.append({"RequestIdentifier": rid, "ContactId": contact.contact_id})
        return {"SuccessfulRequestList": succeeded, "FailedRequestList": failed}

    def _item_code(self, rid: str, item: Mapping[str, Any]) -> str | None:
        planned = self._item_faults.get(rid)
        if planned:
            return planned.popleft()
        return _item_problem(item)


class _Recorder:
    def __init__(
        self, fake: FakeConnect, instance_id: str, token: str, rids: tuple[str, ...]
    ) -> None:
        self.fake, self.instance_id, self.token, self.rids = fake, instance_id, token, rids

    def done(self, status: int, outcome: str, code: str | None = None) -> None:
        self.fake.calls.append(
            CallRecord(
                instance_id=self.instance_id,
                client_token=self.token,
                request_identifiers=self.rids,
                status=status,
                outcome=outcome,
                error_code=code,
            )
        )

    def error(self, status: int, code: str, message: str) -> JsonRESTError:
        self.done(status, "throttled" if status == 429 else "error", code)  # noqa: PLR2004
        error = JsonRESTError(code, message)
        error.code = status
        return error


def _invalid_request(token: str, items: object) -> str | None:
    if len(token) > MAX_TOKEN_LENGTH:
        return "ClientToken is longer than 500 characters"
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_ITEMS:
        return "ContactDataRequestList must hold 1 to 25 items"
    rids = [i.get("RequestIdentifier") for i in items if isinstance(i, Mapping)]
    if len(rids) != len(items):
        return "ContactDataRequestList items must be objects"
    if any(r is not None and len(str(r)) > MAX_REQUEST_IDENTIFIER_LENGTH for r in rids):
        return "RequestIdentifier is longer than 80 characters"
    given = [r for r in rids if r is not None]
    if len(set(given)) != len(given):
        return "RequestIdentifier values must be unique within a request"
    return None


def _item_problem(item: Mapping[str, Any]) -> str | None:  # noqa: PLR0911 - one rule a line
    """The per-item code the service gives a request that lacks what it needs."""
    customer = item.get("CustomerEndpoint")
    if not isinstance(customer, Mapping) or not customer.get("Address"):
        return "MISSING_CUSTOMER_ENDPOINT"
    if customer.get("Type") == "TELEPHONE_NUMBER" and not E164.fullmatch(str(customer["Address"])):
        return "INVALID_CUSTOMER_ENDPOINT"
    system = item.get("SystemEndpoint")
    if system is not None and not (isinstance(system, Mapping) and system.get("Address")):
        return "INVALID_SYSTEM_ENDPOINT"
    if not item.get("QueueId") and system is None:
        return "MISSING_QUEUE_ID_AND_SYSTEM_ENDPOINT"
    if not (item.get("Campaign") or {}).get("CampaignId"):
        return "MISSING_CAMPAIGN"
    # Connect documents attribute keys as alphanumeric, dash and underscore.
    if any(not ATTRIBUTE_KEY.match(key) for key in item.get("Attributes") or {}):
        return "INVALID_ATTRIBUTE_KEY"
    strategy = item.get("OutboundStrategy")
    if strategy is not None and strategy.get("Type") != "AGENT_FIRST":
        return "INVALID_OUTBOUND_STRATEGY"
    return None


def _state(backend: ConnectBackend) -> FakeConnect:
    state = getattr(backend, _STATE_ATTRIBUTE, None)
    if state is None:
        with _install_lock:
            state = getattr(backend, _STATE_ATTRIBUTE, None)
            if state is None:
                state = FakeConnect()
                setattr(backend, _STATE_ATTRIBUTE, state)
    return state


def _batch_put_contact(self: ConnectResponse) -> str | tuple[int, dict[str, str], str]:
    instance_id = self._get_instance_id()
    body = json.loads(self.body) if self.body else {}
    backend = self.connect_backend
    try:
        return _state(backend).handle(
            instance_id, body, instance_exists=instance_id in backend.instances
        )
    except MangledAnswer as mangled:
        return _mangled_answer(mangled)
    except ConnectionCut as cut:
        _cut_connection(cut, f"fake://contact/batch/{instance_id}")






def install_connect() -> None:
    """Teach moto BatchPutContact (idempotent); ``connect_batch.testing.install()`` calls it
    beside the campaigns' own."""
    with _install_lock:
        connect_urls.url_paths.setdefault(ROUTE, ConnectResponse.dispatch)
        if getattr(ConnectResponse, "batch_put_contact", None) is not _batch_put_contact:
            # moto finds handlers by name on the class; there is no registry to add to.
            setattr(ConnectResponse, "batch_put_contact", _batch_put_contact)  # noqa: B010
