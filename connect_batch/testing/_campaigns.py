"""PutOutboundRequestBatch (v2) and PutDialRequestBatch (v1) for moto's campaigns backend.

moto 5 implements v1 outbound campaigns (create, start, stop, pause, resume, describe) but
neither batch operation, and no v2 at all. v1 and v2 share the host
``connect-campaigns.{region}.amazonaws.com``, so both routes go into
``moto.connectcampaigns.urls.url_paths``:

- v1 ``PUT /campaigns/{id}/dial-requests``: moto's dispatch looks the operation up in the v1
  service model, finds ``PutDialRequestBatch`` and calls ``put_dial_request_batch`` on
  ``ConnectCampaignServiceResponse``; ``install_campaigns()`` adds that method.
- v2 ``PUT /v2/campaigns/{id}/outbound-requests``: the v1 model has no such operation, so
  moto's dispatch would find no action and answer an empty 404. The route goes to
  ``_OutboundRequestResponse`` instead, a subclass that names its one operation itself.

The rules of a valid call and item, and the ledger entry ``CreatedRequest``, are in
``_campaign_rules``; the fault model is ``_faults``. The state lives beside each moto
connectcampaigns backend (one per account and Region) and is
reset with it. ``FakeCampaigns`` is the handle tests use: ``requests`` is the ledger of what
the service really created, ``calls`` every HTTP attempt that reached it. v1 campaigns are
moto's own (their ``state`` is read from moto's backend); v2 campaigns exist only here
(``create_campaign_v2``).
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
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal

import attrs
from moto.connectcampaigns import urls as campaigns_urls
from moto.connectcampaigns.models import (
    ConnectCampaignServiceBackend,
    connectcampaigns_backends,
)
from moto.connectcampaigns.responses import ConnectCampaignServiceResponse
from moto.core.exceptions import JsonRESTError

from connect_batch.operations.contacts import mask
from connect_batch.testing._campaign_rules import (
    _LIST_KEY,
    TOKEN_LIFETIME,
    Api,
    CreatedRequest,
    _check_state,
    _invalid_request,
    _item_problem,
    _request,
)
from connect_batch.testing._faults import (
    ConnectionCut,
    Fault,
    InFlight,
    MangledAnswer,
    _cut_connection,
    _mangled_answer,
    _TokenBucket,
)

V1_ROUTE = "{0}/campaigns/(?P<id>[^/]+)/dial-requests$"
V2_ROUTE = "{0}/v2/campaigns/(?P<id>[^/]+)/outbound-requests$"
_ID_IN_PATH = re.compile(r"/campaigns/([^/]+)/(?:dial|outbound)-requests$")
# BatchPutContact's codes that Fault's shortcuts carry, and the campaign service's for them.
_SERVICE_CODES = {
    (429, "LimitExceededException"): "ThrottlingException",
    (500, "InternalServiceException"): "InternalServerException",
}
# The campaign services' 500 (connectcampaigns and connectcampaignsv2 models): the code of
# a Fault.error() that names none.
ERROR_CODE = "InternalServerException"
_STATE_ATTRIBUTE = "_connect_batch_fake_campaigns"
_lock = threading.Lock()


@attrs.frozen(kw_only=True)
class CampaignCall:
    """One HTTP attempt that reached the fake, and what became of it.

    ``outcome`` is one of ``answered``, ``throttled``, ``error`` (a whole-call error
    answered), ``dropped`` (acted on, connection cut), ``reset`` (connection cut, nothing
    done), ``late`` (answered late), ``garbled`` (acted on, answered 200 with a body that is
    not JSON), ``truncated`` (acted on, answered 200 with the JSON body cut short),
    ``refused`` (every item not created before answered failed, nothing created:
    ``Fault.items_failed``; a known token is answered with its id, as AWS documents).
    ``replayed`` holds the tokens of this call that were known already: answered with the id
    created before, nothing created.
    """

    api: Api
    campaign_id: str
    client_tokens: tuple[str, ...]
    status: int
    outcome: str
    error_code: str | None = None
    replayed: tuple[str, ...] = ()


class _ServiceError(JsonRESTError):
    """A rest-json error: ``x-amzn-ErrorType``, and a JSON body with ``message`` and more."""

    def __init__(self, status: int, code: str, message: str, **members: str) -> None:
        super().__init__(code, message)
        self.code = status
        if members:
            self.description = json.dumps({"__type": code, "message": message, **members})


class FakeCampaigns:
    """The fake campaigns batch APIs of one account and Region: ledger, campaigns, knobs."""

    def __init__(self, backend: ConnectCampaignServiceBackend) -> None:
        self._backend = backend
        self._lock = threading.RLock()
        self.requests: list[CreatedRequest] = []
        self.calls: list[CampaignCall] = []
        self.replays = 0  # items answered from an earlier request with the same token
        self._by_token: dict[tuple[str, str], tuple[CreatedRequest, float]] = {}
        self._v2_campaigns: dict[str, str] = {}
        self._planned: collections.deque[Fault | None] = collections.deque()
        self._item_faults: dict[str, collections.deque[str]] = {}
        self._bucket: _TokenBucket | None = None
        self._omitted: collections.Counter[str] = collections.Counter()
        # refuse_items_for: the failureCode, and until when (on ``clock``).
        self._refusing: tuple[str, float] | None = None
        self.latency = 0.0
        self.in_flight = InFlight()
        # Whether a clientToken is remembered per campaign ("campaign") or across the
        # account's campaigns ("account"): AWS documents neither.
        self.tokens_remembered_per: Literal["campaign", "account"] = "campaign"
        # The service's clock, in seconds since the epoch: expirationTime is checked on it,
        # and a token is remembered for 7 days of it.
        self.clock: Callable[[], float] = time.time

    @classmethod
    def of(cls, account_id: str = "123456789012", region: str = "us-east-1") -> FakeCampaigns:
        """The fake for moto's campaigns backend in ``account_id`` and ``region``."""
        return _state(connectcampaigns_backends[account_id][region])

    # Campaigns.
    def create_campaign_v2(self, state: str = "Running") -> str:
        """A v2 campaign in ``state``; returns its id (moto has no v2 to create one in)."""
        _check_state(state)
        campaign_id = str(uuid.uuid4())
        with self._lock:
            self._v2_campaigns[campaign_id] = state
        return campaign_id

    def set_campaign_state(self, campaign_id: str, state: str) -> None:
        """Put a v2 campaign, or a moto v1 campaign, in ``state``."""
        _check_state(state)
        with self._lock:
            if campaign_id in self._v2_campaigns:
                self._v2_campaigns[campaign_id] = state
            elif campaign_id in self._backend.campaigns:
                self._backend.campaigns[campaign_id].state = state
            else:
                raise KeyError(f"no campaign {campaign_id!r}")

    def campaign_state(self, api: Api, campaign_id: str) -> str | None:
        """The state of the campaign ``api`` knows as ``campaign_id``; ``None``: unknown."""
        if api == "v2":
            return self._v2_campaigns.get(campaign_id)
        campaign = self._backend.campaigns.get(campaign_id)
        return None if campaign is None else str(campaign.state)

    # The knobs.
    def throttle(self, *, rate: float, burst: int) -> None:
        """Answer 429 beyond ``rate`` calls/s with bursts of ``burst`` (0, 0: always).

        One bucket for v1 and v2 together, as the service counts per account and Region.
        """
        with self._lock:
            self._bucket = _TokenBucket(rate, burst)

    def plan(self, *faults: Fault | None) -> None:
        """Apply these faults to the next calls in order; ``None`` lets a call through.

        ``Fault.error()`` without a code is answered with the campaign services' 500 code,
        InternalServerException (whatever its status). A fault carrying BatchPutContact's
        code for its status (``Fault.throttle()``'s LimitExceededException, a 500
        InternalServiceException) is answered with the campaign services' own
        (ThrottlingException, InternalServerException); any other code as given.
        """
        with self._lock:
            self._planned.extend(faults)

    def fail_calls(self, count: int, fault: Fault | None = None) -> None:
        """Fail the next ``count`` calls with ``fault`` (default: 500 before commit)."""
        self.plan(*([fault or Fault.error()] * count))

    def fail_items(self, codes: Mapping[str, str], *, times: int = 1) -> None:
        """Answer each clientToken in ``codes`` with its failureCode the next ``times`` times.

        Those items are not created.
        """
        with self._lock:
            for token, code in codes.items():
                self._item_faults.setdefault(token, collections.deque()).extend([code] * times)

    def refuse_items_for(self, seconds: float, code: str = "RequestThrottled") -> None:
        """For the next ``seconds`` (of ``clock``), answer every call that is not throttled
        as ``Fault.items_failed(code)`` does: every item not created before refused with
        ``code``, nothing created. A campaign whose backlog is full for a while."""
        with self._lock:
            self._refusing = (code, self.clock() + seconds)

    def omit_items(self, client_tokens: Iterable[str], *, times: int = 1) -> None:
        """Create these items when next sent but leave them out of that answer.

        Left out of the next ``times`` answers that would carry them (a resend with the same
        token is answered from the first request, and left out too); calls add up.
        """
        with self._lock:
            for token in client_tokens:
                self._omitted[token] += times

    def reset_faults(self) -> None:
        """Remove every knob's effect; the ledger and the campaigns stay."""
        with self._lock:
            self._planned.clear()
            self._omitted.clear()
            self._item_faults.clear()
            self._refusing = None
            self._bucket = None
            self.latency = 0.0
            self.tokens_remembered_per = "campaign"
            self.clock = time.time

    # What tests read.
    def created_for_token(self, client_token: str) -> list[CreatedRequest]:
        """Every request created for ``client_token`` (in any campaign)."""
        return [r for r in self.requests if r.client_token == client_token]

    def duplicates(self, campaign_id: str | None = None) -> dict[str, int]:
        """Destinations a campaign created more than one request for, and how many: of
        ``campaign_id`` only, if given. The ledger is the whole server's, which tests on a
        shared server share, and some create duplicates on purpose: name your campaign.

        Keys are ``destination_key(campaign_id, destination)``: the campaign id, the masked
        destination and a short hash of it, so no key shows a whole address.
        """
        counts = collections.Counter(
            (r.campaign_id, r.destination) for r in self.requests
            if campaign_id is None or r.campaign_id == campaign_id
        )
        return {destination_key(*key): n for key, n in counts.items() if n > 1}

    @staticmethod
    def destination_key(campaign_id: str, destination: str) -> str:
        """The key ``duplicates()`` gives ``destination`` in ``campaign_id``."""
        return destination_key(campaign_id, destination)

    def attempts_by_token(self) -> dict[str, int]:
        """How many HTTP attempts reached the fake carrying each clientToken."""
        return dict(collections.Counter(t for c in self.calls for t in c.client_tokens))

    # The service.
    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until no call is being answered (see ``InFlight``); False on a timeout."""
        return self.in_flight.wait_idle(timeout)

    def handle(self, api: Api, campaign_id: str, body: Mapping[str, Any]) -> str:
        """Answer one PutDialRequestBatch (v1) or PutOutboundRequestBatch (v2) call.

        Raises ``ConnectionCut`` for a call that gets no answer and ``MangledAnswer`` for one
        answered with a body the client cannot parse; ``install_campaigns()``'s handlers turn
        each into what a client sees on the wire.
        """
        with self.in_flight:
            return self._handle(api, campaign_id, body)

    def _handle(self, api: Api, campaign_id: str, body: Mapping[str, Any]) -> str:
        if self.latency:
            time.sleep(self.latency)
        items = body.get(_LIST_KEY[api])
        tokens = tuple(
            str(i.get("clientToken", ""))
            for i in (items if isinstance(items, list) else ())
            if isinstance(i, Mapping)
        )
        with self._lock:
            record = _Recorder(self, api, campaign_id, tokens)
            fault = self._planned.popleft() if self._planned else None
            if self._bucket is not None and not self._bucket.take():
                fault = Fault.throttle()
            elif fault is None and self._refusing and self.clock() < self._refusing[1]:
                fault = Fault.items_failed(self._refusing[0])
            code = ERROR_CODE
            if fault is not None:
                code = fault.code_for(ERROR_CODE)
                code = _SERVICE_CODES.get((fault.status, code), code)
            if fault is not None and fault.every_item is not None:
                answer = self._answer(record, api, campaign_id, items, refuse=fault.every_item)
                record.done(200, "refused")
                return answer
            if fault is not None and not fault.after_commit:
                if fault.cut:
                    record.done(0, "reset")
                    raise ConnectionCut(acted=False)
                message = "fault injected by the test"
                raise record.error(fault.status, code, message)
            answer = self._answer(record, api, campaign_id, items)
            if fault is None or fault.delay:
                record.done(200, "answered" if fault is None else "late")
            elif fault.cut:
                record.done(0, "dropped")
                raise ConnectionCut(acted=True)
            elif fault.mangle is not None:
                record.done(200, fault.mangle)
                raise MangledAnswer(fault.mangle, answer)
            else:
                message = "fault injected after commit"
                raise record.error(fault.status, code, message)
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        return answer

    def _answer(
        self, record: _Recorder, api: Api, campaign_id: str, items: Any, refuse: str | None = None
    ) -> str:
        """The call's answer; ``refuse``: a failureCode for every item not created before."""
        problem = _invalid_request(api, items)
        if problem:
            raise record.error(400, "ValidationException", problem)
        state = self.campaign_state(api, campaign_id)
        if state is None:
            raise record.error(
                404, "ResourceNotFoundException", f"Campaign {campaign_id} not found"
            )
        if state != "Running":
            raise record.error(
                409,
                "InvalidCampaignStateException",
                f"Campaign {campaign_id} is {state}, not Running",
                state=state,
            )
        now = self.clock()
        succeeded: list[dict[str, str]] = []
        failed: list[dict[str, str]] = []
        for item in items:
            token = str(item["clientToken"])
            planned = self._item_faults.get(token)
            if planned:
                failed.append({"clientToken": token, "failureCode": planned.popleft()})
                continue
            scope = campaign_id if self.tokens_remembered_per == "campaign" else ""
            known = self._by_token.get((scope, token))
            created = known[0] if known and now - known[1] < TOKEN_LIFETIME else None
            if created is None and refuse is not None:
                # "If a dial request is already created, the dial request ID is returned"
                # (AWS): only a token not known yet can be refused.
                failed.append({"clientToken": token, "failureCode": refuse})
                continue
            if created is not None:
                # The service keys on the token alone: a known token gets its first id back,
                # whatever the item now says (the worst case, for a changed payload; it is
                # not checked again either, so an expirationTime gone stale does not matter).
                self.replays += 1
                record.replayed.append(token)
            elif _item_problem(api, item, now):
                failed.append({"clientToken": token, "failureCode": "InvalidInput"})
                continue
            else:
                created = _request(api, campaign_id, token, item)
                self.requests.append(created)
                self._by_token[(scope, token)] = (created, now)
            if self._omitted[token] > 0:
                self._omitted[token] -= 1  # left out of this answer
                continue
            succeeded.append({"clientToken": token, "id": created.id})
        return json.dumps({"successfulRequests": succeeded, "failedRequests": failed})


def destination_key(campaign_id: str, destination: str) -> str:
    """The key ``FakeCampaigns.duplicates()`` uses: readable, without the whole address."""
    digest = hashlib.sha256(destination.encode()).hexdigest()[:8]
    return f"{campaign_id}:{mask(destination)}:{digest}"


class _Recorder:
    def __init__(
        self, fake: FakeCampaigns, api: Api, campaign_id: str, tokens: tuple[str, ...]
    ) -> None:
        self.fake, self.api, self.campaign_id, self.tokens = fake, api, campaign_id, tokens
        self.replayed: list[str] = []

    def done(self, status: int, outcome: str, code: str | None = None) -> None:
        self.fake.calls.append(
            CampaignCall(
                api=self.api,
                campaign_id=self.campaign_id,
                client_tokens=self.tokens,
                status=status,
                outcome=outcome,
                error_code=code,
                replayed=tuple(self.replayed),
            )
        )

    def error(self, status: int, code: str, message: str, **members: str) -> _ServiceError:
        self.done(status, "throttled" if status == 429 else "error", code)  # noqa: PLR2004
        return _ServiceError(status, code, message, **members)


def _state(backend: ConnectCampaignServiceBackend) -> FakeCampaigns:
    state = getattr(backend, _STATE_ATTRIBUTE, None)
    if state is None:
        with _lock:
            state = getattr(backend, _STATE_ATTRIBUTE, None)
            if state is None:
                state = FakeCampaigns(backend)
                setattr(backend, _STATE_ATTRIBUTE, state)
    return state


def _campaign_id(path: str) -> str:
    match = _ID_IN_PATH.search(path)
    return urllib.parse.unquote(match.group(1)) if match else ""


def _handle(
    response: ConnectCampaignServiceResponse, api: Api
) -> str | tuple[int, dict[str, str], str]:
    campaign_id = _campaign_id(response.path)
    try:
        body = json.loads(response.body) if response.body else {}
    except ValueError:
        body = {}  # no list of items: answered 400 like any other call without one
    if not isinstance(body, Mapping):
        body = {}
    try:
        return _state(response.connectcampaigns_backend).handle(api, campaign_id, body)
    except MangledAnswer as mangled:
        return _mangled_answer(mangled)
    except ConnectionCut as cut:
        _cut_connection(cut, f"fake://campaigns/{campaign_id}")


def _put_dial_request_batch(
    self: ConnectCampaignServiceResponse,
) -> str | tuple[int, dict[str, str], str]:
    return _handle(self, "v1")


class _OutboundRequestResponse(ConnectCampaignServiceResponse):
    """The v2 route's handler: moto's dispatch, told the operation it cannot look up."""

    def _get_action(self) -> str:
        # moto looks operations up in the v1 model, which has no v2 paths.
        return "PutOutboundRequestBatch"

    def put_outbound_request_batch(self) -> str | tuple[int, dict[str, str], str]:
        return _handle(self, "v2")


def install_campaigns() -> None:
    """Teach moto's campaigns backend PutDialRequestBatch and PutOutboundRequestBatch.

    Idempotent. In server mode, call this in the server's process before its first
    campaigns request. ``connect_batch.testing.install()`` calls it.
    """
    with _lock:
        campaigns_urls.url_paths.setdefault(V1_ROUTE, ConnectCampaignServiceResponse.dispatch)
        campaigns_urls.url_paths.setdefault(V2_ROUTE, _OutboundRequestResponse.dispatch)
        name = "put_dial_request_batch"
        if getattr(ConnectCampaignServiceResponse, name, None) is not _put_dial_request_batch:
            # moto finds handlers by name on the class; there is no registry to add to.
            setattr(ConnectCampaignServiceResponse, name, _put_dial_request_batch)
