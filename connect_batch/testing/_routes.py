"""One more batch route on the double: a seam for a fourth 25-item API, in tests or user code.

``add_route(Route(...))`` mounts an operation on moto's Connect host (in-process under
``mock_aws`` and in server mode; add it before the server's first Connect request, or
start a new ``moto_server()`` after). Its state is a ``FakeBatch``: the same fault model as
the three APIs the double serves (``Fault``, ``plan(...)``, ``fail_items``, throttling,
cuts and mangled answers, ``_faults``) over a generic ledger of created things. A route
describes its wire as data (``Route``); the ledger is per moto backend (account, Region),
reset with it. Reach it with ``FakeBatch.of(route, account, region)``.

It must not know any of the library's APIs (``_fake``, ``_campaigns`` serve those) nor the
engine: it speaks only JSON bodies.
"""

from __future__ import annotations

import collections
import hashlib
import json
import re
import threading
import time
import urllib.parse
import uuid
from collections.abc import Mapping
from typing import Any

import attrs
from moto.connect import urls as connect_urls
from moto.connect.models import ConnectBackend, connect_backends
from moto.connect.responses import ConnectResponse
from moto.core.exceptions import JsonRESTError

from connect_batch.testing._faults import (
    ConnectionCut,
    Fault,
    InFlight,
    MangledAnswer,
    _cut_connection,
    _mangled_answer,
    _TokenBucket,
)

__all__ = ["Created", "FakeBatch", "Route", "RouteCall", "add_route"]

_lock = threading.Lock()
TOO_MANY = 429


@attrs.frozen(kw_only=True)
class Route:
    """A batch operation's wire, as the double needs it.

    ``path`` is a regex of the request path (``/things/batch/(?P<GroupId>[^/]+)``);
    ``items`` the body member holding the list; ``key`` each item's member naming it (its
    own token under per-item idempotency); ``token`` the body member of a per-call token,
    or ``None`` when each item's ``key`` is its token. The answer has two lists,
    ``succeeded`` (entries ``{key: ..., resource_id: ...}``) and ``failed`` (``{key: ...,
    code: ..., message: ...}``). ``throttle_code`` and ``error_code`` are the service's
    names for a 429 and a 500 (``Fault.throttle()`` and ``Fault.error()`` are sent as
    them); ``conflict_code`` answers a known per-call token with another body (409).
    """

    operation: str
    path: str
    items: str
    key: str
    token: str | None = None
    succeeded: str = "successful"
    failed: str = "failed"
    resource_id: str = "id"
    code: str = "code"
    message: str = "message"
    max_items: int = 25
    throttle_code: str = "ThrottlingException"
    error_code: str = "InternalServerException"
    conflict_code: str = "ConflictException"


@attrs.frozen(kw_only=True)
class Created:
    """One thing the route's service created: an entry in the ledger (``item`` is the body's
    entry, kept out of ``repr``)."""

    key: str
    token: str
    id: str
    path: Mapping[str, str]
    item: Mapping[str, Any] = attrs.field(repr=False)


@attrs.frozen(kw_only=True)
class RouteCall:
    """One HTTP attempt that reached the route; ``outcome`` as ``CallRecord.outcome``."""

    token: str
    keys: tuple[str, ...]
    status: int
    outcome: str
    error_code: str | None = None


class FakeBatch:
    """The ledger and knobs of one route on one moto backend; see ``FakeConnect`` for the
    knobs' meaning (``plan``, ``fail_calls``, ``fail_items``, ``throttle``, ...)."""

    def __init__(self, route: Route) -> None:
        self.route = route
        self._lock = threading.RLock()
        self.created: list[Created] = []
        self.calls: list[RouteCall] = []
        self._by_token: dict[str, str] = {}  # per-item token -> id
        self._answers: dict[str, tuple[str, str]] = {}  # per-call token -> (body, answer)
        self._planned: collections.deque[Fault | None] = collections.deque()
        self._item_faults: dict[str, collections.deque[str]] = {}
        self._bucket: _TokenBucket | None = None
        self.latency = 0.0
        self.in_flight = InFlight()

    @classmethod
    def of(
        cls, route: Route, account_id: str = "123456789012", region: str = "us-east-1"
    ) -> FakeBatch:
        """The route's state on moto's Connect backend in ``account_id`` and ``region``."""
        return _state(connect_backends[account_id][region], route)

    def throttle(self, *, rate: float, burst: int) -> None:
        """Answer 429 beyond ``rate`` calls/s with bursts of ``burst`` (0, 0: always)."""
        with self._lock:
            self._bucket = _TokenBucket(rate, burst)

    def plan(self, *faults: Fault | None) -> None:
        """Apply these faults to the next calls in order; ``None`` lets a call through."""
        with self._lock:
            self._planned.extend(faults)

    def fail_calls(self, count: int, fault: Fault | None = None) -> None:
        """Fail the next ``count`` calls with ``fault`` (default: 500 before commit)."""
        self.plan(*([fault or Fault.error()] * count))

    def fail_items(self, codes: Mapping[str, str], *, times: int = 1) -> None:
        """Fail each item key in ``codes`` with its code, the next ``times`` times."""
        with self._lock:
            for key, code in codes.items():
                self._item_faults.setdefault(key, collections.deque()).extend([code] * times)

    def reset_faults(self) -> None:
        """Remove every knob's effect; the ledger stays."""
        with self._lock:
            self._planned.clear()
            self._item_faults.clear()
            self._bucket = None
            self.latency = 0.0

    def created_for(self, key: str) -> list[Created]:
        """Everything created for ``key`` (more than one is a duplicate)."""
        return [c for c in self.created if c.key == key]

    def duplicates(self) -> dict[str, int]:
        """Keys the service created more than one thing for."""
        counts = collections.Counter(c.key for c in self.created)
        return {key: n for key, n in counts.items() if n > 1}

    def attempts_by_token(self) -> dict[str, int]:
        """How many HTTP attempts reached the route under each token (per-item: the keys)."""
        return dict(collections.Counter(c.token for c in self.calls))

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until no call is being answered; False on a timeout."""
        return self.in_flight.wait_idle(timeout)

    def handle(self, path: Mapping[str, str], body: Mapping[str, Any]) -> str:
        """Answer one call as the service would, or raise ``JsonRESTError``,
        ``ConnectionCut`` or ``MangledAnswer``."""
        with self.in_flight:
            return self._handle(path, body)

    def _handle(self, path: Mapping[str, str], body: Mapping[str, Any]) -> str:
        route = self.route
        if self.latency:
            time.sleep(self.latency)
        items = body.get(route.items)
        entries = [i for i in items if isinstance(i, Mapping)] if isinstance(items, list) else []
        keys = tuple(str(i.get(route.key, "")) for i in entries)
        token = str(body.get(route.token) or uuid.uuid4()) if route.token else ",".join(keys)
        with self._lock:
            fault = self._planned.popleft() if self._planned else None
            if self._bucket is not None and not self._bucket.take():
                fault = Fault.throttle()
            if fault is not None and not fault.after_commit and fault.every_item is None:
                if fault.cut:
                    self._record(token, keys, 0, "reset")
                    raise ConnectionCut(acted=False)
                raise self._error(token, keys, fault.status, fault.code_for(route.error_code))
            if not entries or len(entries) != len(items or ()) or len(entries) > route.max_items:
                raise self._error(token, keys, 400, "ValidationException")
            answer, outcome = self._answer(path, body, token, entries, fault)
            if fault is None or fault.delay or fault.every_item is not None:
                self._record(token, keys, 200, outcome if fault is None else "late")
            elif fault.cut:
                self._record(token, keys, 0, "dropped")
                raise ConnectionCut(acted=True)
            elif fault.mangle is not None:
                self._record(token, keys, 200, fault.mangle)
                raise MangledAnswer(fault.mangle, answer)
            else:
                raise self._error(token, keys, fault.status, fault.code_for(route.error_code))
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        return answer

    def _answer(
        self,
        path: Mapping[str, str],
        body: Mapping[str, Any],
        token: str,
        entries: list[Mapping[str, Any]],
        fault: Fault | None,
    ) -> tuple[str, str]:
        route = self.route
        if route.token is not None:
            digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
            known = self._answers.get(token)
            if known is not None:
                if known[0] != digest:
                    raise self._error(token, (), 409, route.conflict_code)
                return known[1], "replayed"
        succeeded: list[dict[str, str]] = []
        failed: list[dict[str, str]] = []
        for entry in entries:
            key = str(entry.get(route.key, ""))
            existing = self._by_token.get(key) if route.token is None else None
            planned = self._item_faults.get(key)
            if existing is not None:
                succeeded.append({route.key: key, route.resource_id: existing})
            elif fault is not None and fault.every_item is not None:
                failed.append(self._failure(key, fault.every_item))
            elif planned:
                failed.append(self._failure(key, planned.popleft()))
            else:
                created = Created(
                    key=key, token=token, id=str(uuid.uuid4()), path=dict(path), item=entry
                )
                self.created.append(created)
                if route.token is None:
                    self._by_token[key] = created.id
                succeeded.append({route.key: key, route.resource_id: created.id})
        answer = json.dumps({route.succeeded: succeeded, route.failed: failed})
        if route.token is not None:
            self._answers[token] = (digest, answer)
        return answer, "answered"

    def _failure(self, key: str, code: str) -> dict[str, str]:
        route = self.route
        return {route.key: key, route.code: code, route.message: f"{code} (fault injected)"}

    def _record(self, token: str, keys: tuple[str, ...], status: int, outcome: str) -> None:
        self.calls.append(RouteCall(token=token, keys=keys, status=status, outcome=outcome))

    def _error(self, token: str, keys: tuple[str, ...], status: int, code: str) -> JsonRESTError:
        # Fault.throttle() carries BatchPutContact's code (a test may name its 500 too):
        # speak the route's.
        if code == "LimitExceededException":
            code = self.route.throttle_code
        elif code == "InternalServiceException":
            code = self.route.error_code
        outcome = "throttled" if status == TOO_MANY else "error"
        self.calls.append(
            RouteCall(token=token, keys=keys, status=status, outcome=outcome, error_code=code)
        )
        error = JsonRESTError(code, "fault injected by the test")
        error.code = status
        return error


def _state(backend: ConnectBackend, route: Route) -> FakeBatch:
    name = f"_connect_batch_route_{route.operation}"
    state = getattr(backend, name, None)
    if state is None or state.route != route:
        with _lock:
            state = getattr(backend, name, None)
            if state is None or state.route != route:
                state = FakeBatch(route)
                setattr(backend, name, state)
    return state


def add_route(route: Route) -> None:
    """Mount ``route`` on moto's Connect host (idempotent for one route).

    A client reaches it with a service model whose ``endpointPrefix`` and ``signingName``
    are ``connect`` (so that moto's server dispatches it to the Connect backend) and whose
    operation ``route.operation`` is a ``PUT`` or ``POST`` to ``route.path``.
    """
    pattern = re.compile(route.path + "$")
    method = re.sub(r"(?<!^)(?=[A-Z])", "_", route.operation).lower()

    def handler(self: ConnectResponse) -> str | tuple[int, dict[str, str], str]:
        match = pattern.search(urllib.parse.urlsplit(self.path).path)
        found = match.groupdict() if match else {}
        params = {k: urllib.parse.unquote(v) for k, v in found.items()}
        try:
            body = json.loads(self.body) if self.body else {}
        except ValueError:
            body = {}
        if not isinstance(body, Mapping):
            body = {}
        try:
            return _state(self.connect_backend, route).handle(params, body)
        except MangledAnswer as mangled:
            return _mangled_answer(mangled)
        except ConnectionCut as cut:
            _cut_connection(cut, f"fake://{route.operation}")

    def get_action(self: ConnectResponse) -> str:  # noqa: ARG001 - moto's signature
        # moto looks operations up in Connect's own model, which has no such operation.
        return route.operation

    response: type[ConnectResponse] = type(
        f"_{route.operation}Response",
        (ConnectResponse,),
        {"_get_action": get_action, method: handler},
    )
    with _lock:
        connect_urls.url_paths["{0}" + route.path + "$"] = response.dispatch

