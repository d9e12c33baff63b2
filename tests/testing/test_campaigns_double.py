"""The campaigns double answers PutDialRequestBatch (v1) and PutOutboundRequestBatch (v2).

Raw boto3 clients, one attempt per call, in-process (``mock_connect``) and over real HTTP to
the moto server on loopback, so what botocore makes of each answer is seen as it is.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterator
from typing import Any

import attrs
import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError, ReadTimeoutError
from moto.connectcampaigns import urls as campaigns_urls
from moto.connectcampaigns.responses import ConnectCampaignServiceResponse

from connect_batch.testing import (
    CampaignCall,
    CreatedRequest,
    FakeCampaigns,
    Fault,
    MockConnect,
    install,
    mock_connect,
)
from connect_batch.testing._campaigns import V1_ROUTE, V2_ROUTE

REGION = "us-east-1"
NOW = datetime.datetime(2030, 1, 1, 12, 0, tzinfo=datetime.timezone.utc)
SINGLE = Config(
    retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=5
)
SERVICE = {"v1": "connectcampaigns", "v2": "connectcampaignsv2"}


def phone(i: int) -> str:
    return f"+1415555{i:04d}"


def later(seconds: float) -> datetime.datetime:
    return NOW + datetime.timedelta(seconds=seconds)


@attrs.define
class Service:
    """One API (v1 or v2) of the double, a single-attempt client, and a campaign."""

    api: str
    client: Any
    campaign_id: str
    fake: FakeCampaigns
    in_process: bool

    def item(self, i: int, token: str | None = None, **changes: Any) -> dict[str, Any]:
        """A valid item whose token and phone number are unique to ``i``."""
        token = f"token-{i}" if token is None else token
        number = changes.pop("phone", phone(i))
        attributes = changes.pop("attributes", {"name": f"Person {i}"})
        if self.api == "v1":
            body = {
                "clientToken": token,
                "phoneNumber": number,
                "expirationTime": later(changes.pop("expires_in", 120)),
                "attributes": attributes,
            }
        else:
            telephony = {"destinationPhoneNumber": number, "attributes": attributes}
            body = {
                "clientToken": token,
                "expirationTime": later(changes.pop("expires_in", 3600)),
                "channelSubtypeParameters": {"telephony": telephony},
            }
        body.update(changes)
        return body

    def put(self, items: list[dict[str, Any]], campaign_id: str | None = None) -> Any:
        return put(self.client, self.api, campaign_id or self.campaign_id, items)

    @property
    def requests(self) -> list[CreatedRequest]:
        return [r for r in self.fake.requests if r.campaign_id == self.campaign_id]

    def created_for_token(self, client_token: str) -> list[CreatedRequest]:
        """The ledger's entries for ``client_token`` in this test's campaign (the shared
        server's ledger also holds earlier tests' campaigns)."""
        return [r for r in self.requests if r.client_token == client_token]

    @property
    def calls(self) -> list[CampaignCall]:
        return [c for c in self.fake.calls if c.campaign_id == self.campaign_id]

    def outcomes(self) -> list[tuple[str, int, str | None]]:
        return [(c.outcome, c.status, c.error_code) for c in self.calls]


def put(client: Any, api: str, campaign_id: str, items: list[dict[str, Any]]) -> Any:
    if api == "v1":
        return client.put_dial_request_batch(id=campaign_id, dialRequests=items)
    return client.put_outbound_request_batch(id=campaign_id, outboundRequests=items)


def created(answer: Any) -> dict[str, str]:
    return {s["clientToken"]: s["id"] for s in answer["successfulRequests"]}


def failed(answer: Any) -> dict[str, str]:
    return {f["clientToken"]: f["failureCode"] for f in answer["failedRequests"]}


def error_of(caught: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = caught.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def make_client(api: str, endpoint: str | None, config: Config = SINGLE) -> Any:
    return boto3.client(SERVICE[api], region_name=REGION, endpoint_url=endpoint, config=config)


def new_campaign(api: str, endpoint: str | None, fake: FakeCampaigns) -> str:
    """A Running campaign: moto's own for v1 (created and started), the fake's for v2."""
    if api == "v2":
        return fake.create_campaign_v2()
    v1 = make_client("v1", endpoint)
    campaign = v1.create_campaign(
        name="tests",
        connectInstanceId="instance-1",
        dialerConfig={"progressiveDialerConfig": {"bandwidthAllocation": 1.0}},
        outboundCallConfig={"connectContactFlowId": "flow-1"},
    )
    v1.start_campaign(id=campaign["id"])
    return str(campaign["id"])


@pytest.fixture(params=["in_process", "http"])
def endpoint(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """``None`` under ``mock_connect``, or the moto server's URL."""
    if request.param == "http":
        yield request.getfixturevalue("moto_server")
    else:
        with mock_connect():
            yield None


@pytest.fixture(params=["v1", "v2"])
def service(request: pytest.FixtureRequest, endpoint: str | None) -> Iterator[Service]:
    fake = FakeCampaigns.of()
    fake.reset_faults()
    fake.clock = NOW.timestamp
    campaign_id = new_campaign(request.param, endpoint, fake)
    yield Service(
        request.param, make_client(request.param, endpoint), campaign_id, fake, endpoint is None
    )
    fake.reset_faults()


# Creation, the ledger, replay by token.


def test_creates_one_request_per_item_and_records_it(service):
    answer = service.put([service.item(1), service.item(2)])

    ids = created(answer)
    assert set(ids) == {"token-1", "token-2"}
    assert answer["failedRequests"] == []
    assert {(r.client_token, r.id) for r in service.requests} == set(ids.items())
    first = service.requests[0]
    assert first.api == service.api
    assert first.channel == "telephony"
    assert first.destination == phone(1)
    assert first.parameters == {"name": "Person 1"}
    # As botocore sent it: ISO-8601 in UTC, which the fake keeps as a string.
    assert first.expiration_time.endswith("Z")
    sent = datetime.datetime.fromisoformat(first.expiration_time.replace("Z", "+00:00"))
    assert sent == later(120 if service.api == "v1" else 3600)
    assert service.outcomes() == [("answered", 200, None)]
    assert service.calls[0].client_tokens == ("token-1", "token-2")


def test_the_ledger_masks_destinations_and_hides_parameters(service):
    service.put([service.item(1)])
    shown = repr(service.requests[0])
    assert phone(1) not in shown
    assert "Person 1" not in shown
    assert "+1415*****01" in shown


def test_a_known_token_gets_its_first_id_back_and_creates_nothing(service):
    first = created(service.put([service.item(1)]))
    # Even with another destination: the token is the only key (the worst case).
    again = service.put([service.item(1, phone=phone(99)), service.item(2)])

    assert created(again) == {"token-1": first["token-1"], "token-2": created(again)["token-2"]}
    assert sorted(r.client_token for r in service.requests) == ["token-1", "token-2"]
    assert [r.destination for r in service.created_for_token("token-1")] == [phone(1)]
    assert service.calls[-1].replayed == ("token-1",)
    assert service.fake.replays >= 1
    assert service.fake.attempts_by_token()["token-1"] >= 2


def test_tokens_are_remembered_per_campaign(service, endpoint):
    service.put([service.item(1)])
    other = new_campaign(service.api, endpoint, service.fake)
    answer = service.put([service.item(1)], campaign_id=other)
    assert len(created(answer)) == 1
    campaigns = [r.campaign_id for r in service.fake.created_for_token("token-1")]
    assert campaigns.count(service.campaign_id) == campaigns.count(other) == 1


def test_a_token_is_remembered_for_seven_days(service):
    first = created(service.put([service.item(1)]))
    service.fake.clock = lambda: NOW.timestamp() + 7 * 24 * 3600 - 1
    assert created(service.put([service.item(1, expires_in=7 * 24 * 3600 + 60)])) == first

    service.fake.clock = lambda: NOW.timestamp() + 7 * 24 * 3600
    again = created(service.put([service.item(1, expires_in=7 * 24 * 3600 + 120)]))
    assert again["token-1"] != first["token-1"]
    assert len(service.requests) == 2
    assert len(service.fake.duplicates(service.campaign_id)) == 1


def test_duplicates_counts_destinations_created_more_than_once(service):
    service.put([service.item(1), service.item(2, token="other", phone=phone(1))])
    key = FakeCampaigns.destination_key(service.campaign_id, phone(1))
    assert {k: n for k, n in service.fake.duplicates().items() if k == key} == {key: 2}
    assert service.fake.duplicates(service.campaign_id) == {key: 2}  # this campaign's only
    assert phone(1) not in key


# The campaign: unknown, or not Running.


@pytest.mark.parametrize("state", ["Initialized", "Paused", "Stopped", "Failed"])
def test_a_campaign_not_running_is_an_invalid_state_with_the_state(service, state):
    service.fake.set_campaign_state(service.campaign_id, state)
    with pytest.raises(ClientError) as caught:
        service.put([service.item(1)])

    assert error_of(caught) == ("InvalidCampaignStateException", 409)
    # botocore merges a modelled error's members into the top of the parsed response.
    assert caught.value.response["state"] == state
    assert isinstance(caught.value, service.client.exceptions.InvalidCampaignStateException)
    assert service.requests == []
    assert service.outcomes() == [("error", 409, "InvalidCampaignStateException")]


def test_moto_v1_campaign_paused_through_the_api_is_not_running(endpoint):
    fake = FakeCampaigns.of()
    campaign_id = new_campaign("v1", endpoint, fake)
    client = make_client("v1", endpoint)
    client.pause_campaign(id=campaign_id)
    item = {
        "clientToken": "t",
        "phoneNumber": phone(1),
        "expirationTime": datetime.datetime.now(datetime.timezone.utc)
        + datetime.timedelta(seconds=120),
        "attributes": {},
    }
    with pytest.raises(ClientError) as caught:
        put(client, "v1", campaign_id, [item])
    assert caught.value.response["state"] == "Paused"

    client.resume_campaign(id=campaign_id)
    assert len(created(put(client, "v1", campaign_id, [item]))) == 1


def test_an_unknown_campaign_is_resource_not_found(service):
    with pytest.raises(ClientError) as caught:
        service.put([service.item(1)], campaign_id="no-such-campaign")
    assert error_of(caught) == ("ResourceNotFoundException", 404)
    assert service.created_for_token("token-1") == []
    assert not [r for r in service.fake.requests if r.campaign_id == "no-such-campaign"]


def test_v1_and_v2_campaigns_are_not_each_others(endpoint):
    fake = FakeCampaigns.of()
    v1_id, v2_id = new_campaign("v1", endpoint, fake), new_campaign("v2", endpoint, fake)
    v2 = Service("v2", make_client("v2", endpoint), v1_id, fake, endpoint is None)
    v1 = Service("v1", make_client("v1", endpoint), v2_id, fake, endpoint is None)
    for service in (v1, v2):
        with pytest.raises(ClientError) as caught:
            service.put([service.item(1, expires_in=0)])
        assert error_of(caught) == ("ResourceNotFoundException", 404)


def test_set_campaign_state_rejects_unknown_campaigns_and_states():
    with mock_connect():
        fake = FakeCampaigns.of()
        campaign_id = fake.create_campaign_v2(state="Paused")
        assert fake.campaign_state("v2", campaign_id) == "Paused"
        with pytest.raises(KeyError):
            fake.set_campaign_state("nope", "Running")
        with pytest.raises(ValueError, match="state must be one of"):
            fake.set_campaign_state(campaign_id, "Sleeping")


# Whole calls the service rejects: 400 ValidationException.


def test_26_items_is_a_validation_error(service):
    with pytest.raises(ClientError) as caught:
        service.put([service.item(i) for i in range(26)])
    assert error_of(caught) == ("ValidationException", 400)
    assert service.requests == []
    assert service.outcomes() == [("error", 400, "ValidationException")]


@pytest.mark.parametrize("token", ["", "has space", "x" * 201, "semi;colon"])
def test_a_bad_client_token_is_a_validation_error(service, token):
    with pytest.raises(ClientError) as caught:
        service.put([service.item(1, token=token), service.item(2)])
    assert error_of(caught) == ("ValidationException", 400)
    assert service.requests == []


def test_the_longest_client_token_is_accepted(service):
    token = "a-Z_0.9" + "x" * 193
    assert created(service.put([service.item(1, token=token)])).keys() == {token}


def test_one_token_twice_in_a_call_is_a_validation_error(service):
    with pytest.raises(ClientError) as caught:
        service.put([service.item(1, token="same"), service.item(2, token="same")])
    assert error_of(caught) == ("ValidationException", 400)
    assert service.requests == []


@pytest.mark.parametrize(
    "channels",
    [
        pytest.param({}, id="none"),
        pytest.param(
            {
                "telephony": {"destinationPhoneNumber": phone(1), "attributes": {}},
                "sms": {"destinationPhoneNumber": phone(1), "templateParameters": {}},
            },
            id="two",
        ),
    ],
)
def test_v2_needs_exactly_one_channel(endpoint, channels):
    fake = FakeCampaigns.of()
    campaign_id = new_campaign("v2", endpoint, fake)
    # botocore would refuse to send these; without its validation they go out as they are.
    client = make_client("v2", endpoint, SINGLE.merge(Config(parameter_validation=False)))
    item = {
        "clientToken": "t",
        "expirationTime": datetime.datetime.now(datetime.timezone.utc)
        + datetime.timedelta(hours=1),
        "channelSubtypeParameters": channels,
    }
    with pytest.raises(ClientError) as caught:
        put(client, "v2", campaign_id, [item])
    assert error_of(caught) == ("ValidationException", 400)
    assert [r for r in fake.requests if r.campaign_id == campaign_id] == []


# Items the service takes in but does not create: failureCode InvalidInput.


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"phone": "555"}, id="not-e164"),
        pytest.param({"phone": "+0123456"}, id="leading-zero"),
        pytest.param({"attributes": {"first name": "x"}}, id="attribute-key"),
    ],
)
def test_items_the_service_will_not_create_fail_with_invalid_input(service, changes):
    answer = service.put([service.item(1, **changes), service.item(2)])
    assert answer["failedRequests"] == [{"clientToken": "token-1", "failureCode": "InvalidInput"}]
    assert created(answer).keys() == {"token-2"}
    assert [r.client_token for r in service.requests] == ["token-2"]


@pytest.mark.parametrize(
    ("expires_in", "code"),
    [
        (27, "InvalidInput"),
        (28, None),  # 30 s, less the 2 s of slack for transit
        (600, None),
        (902, None),
        (903, "InvalidInput"),
        (-5, "InvalidInput"),
    ],
)
def test_v1_expiration_must_be_30_to_900_seconds_ahead(endpoint, expires_in, code):
    fake = FakeCampaigns.of()
    fake.clock = NOW.timestamp
    try:
        service = Service(
            "v1", make_client("v1", endpoint), new_campaign("v1", endpoint, fake), fake, False
        )
        answer = service.put([service.item(1, expires_in=expires_in)])
        assert failed(answer) == ({"token-1": code} if code else {})
        assert len(service.requests) == (0 if code else 1)
    finally:
        fake.reset_faults()


@pytest.mark.parametrize(("expires_in", "code"), [(-3, "InvalidInput"), (-1, None), (10, None)])
def test_v2_expiration_must_not_be_past(endpoint, expires_in, code):
    fake = FakeCampaigns.of()
    fake.clock = NOW.timestamp
    try:
        service = Service("v2", make_client("v2", endpoint), fake.create_campaign_v2(), fake, False)
        answer = service.put([service.item(1, expires_in=expires_in)])
        assert failed(answer) == ({"token-1": code} if code else {})
    finally:
        fake.reset_faults()


def test_v2_channels_each_create_with_their_destination(endpoint):
    fake = FakeCampaigns.of()
    campaign_id = fake.create_campaign_v2()
    client = make_client("v2", endpoint)
    expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
    template = {"templateParameters": {"first_name": "Ada"}}
    channels = {
        "sms": {"destinationPhoneNumber": phone(1), **template},
        "email": {"destinationEmailAddress": "ada@example.com", **template},
        "whatsApp": {"destinationPhoneNumber": phone(3), **template},
        "telephony": {"destinationPhoneNumber": phone(4), "attributes": {"k": "v"}},
    }
    items = [
        {"clientToken": name, "expirationTime": expires, "channelSubtypeParameters": {name: p}}
        for name, p in channels.items()
    ]
    bad_email = {"destinationEmailAddress": "not-an-address", **template}
    items.append(
        {
            "clientToken": "bad-email",
            "expirationTime": expires,
            "channelSubtypeParameters": {"email": bad_email},
        }
    )
    answer = put(client, "v2", campaign_id, items)

    assert failed(answer) == {"bad-email": "InvalidInput"}
    ledger = {r.client_token: r for r in fake.requests if r.campaign_id == campaign_id}
    assert {t: (r.channel, r.destination) for t, r in ledger.items()} == {
        "sms": ("sms", phone(1)),
        "email": ("email", "ada@example.com"),
        "whatsApp": ("whatsapp", phone(3)),
        "telephony": ("telephony", phone(4)),
    }
    assert ledger["email"].parameters == {"first_name": "Ada"}


# Faults.


def test_a_planned_throttle_is_429_throttling_exception(service):
    service.fake.plan(Fault.throttle())
    with pytest.raises(ClientError) as caught:
        service.put([service.item(1)])
    assert error_of(caught) == ("ThrottlingException", 429)
    assert caught.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == (
        "ThrottlingException"
    )
    assert service.requests == []
    assert service.outcomes() == [("throttled", 429, "ThrottlingException")]


def test_the_throttle_knob_answers_429_beyond_the_burst(service):
    service.fake.throttle(rate=0.001, burst=1)
    service.put([service.item(1)])
    with pytest.raises(ClientError) as caught:
        service.put([service.item(2)])
    assert error_of(caught) == ("ThrottlingException", 429)
    assert [r.client_token for r in service.requests] == ["token-1"]


def test_500_before_commit_creates_nothing_and_forgets_the_tokens(service):
    service.fake.plan(Fault.error())
    with pytest.raises(ClientError) as caught:
        service.put([service.item(1)])
    assert error_of(caught) == ("InternalServerException", 500)
    assert service.requests == []

    answer = service.put([service.item(1)])
    assert len(created(answer)) == 1
    assert service.calls[-1].replayed == ()


@pytest.mark.parametrize("status", [500, 503])
def test_an_error_without_a_code_speaks_the_campaign_services_own(service, status):
    fault = Fault.error(status)
    assert fault.code is None  # a fault does not know which API it is planned on
    service.fake.plan(fault, Fault.error(status, "SomethingElse"))
    for expected in ("InternalServerException", "SomethingElse"):
        with pytest.raises(ClientError) as caught:
            service.put([service.item(1)])
        assert error_of(caught) == (expected, status)
    assert service.requests == []


def test_500_after_commit_creates_and_the_same_token_replays(service):
    service.fake.plan(Fault.error(after_commit=True))
    with pytest.raises(ClientError) as caught:
        service.put([service.item(1), service.item(2)])
    assert error_of(caught) == ("InternalServerException", 500)
    assert sorted(r.client_token for r in service.requests) == ["token-1", "token-2"]

    answer = service.put([service.item(1), service.item(2)])
    assert created(answer) == {r.client_token: r.id for r in service.requests}
    assert len(service.requests) == 2
    assert service.outcomes() == [
        ("error", 500, "InternalServerException"),
        ("answered", 200, None),
    ]
    assert service.calls[-1].replayed == ("token-1", "token-2")
    assert [k for k in service.fake.duplicates() if k.startswith(service.campaign_id)] == []


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (403, "AccessDeniedException"),
        (409, "ConflictException"),
        (429, "ThrottlingException"),
        (500, "SomethingElse"),
    ],
)
def test_other_codes_are_answered_as_given(service, status, code):
    service.fake.plan(Fault.error(status, code))
    with pytest.raises(ClientError) as caught:
        service.put([service.item(1)])
    assert error_of(caught) == (code, status)


def test_a_dropped_connection_creates_and_the_answer_is_lost(service):
    service.fake.plan(Fault.dropped())
    with pytest.raises(ConnectionClosedError):
        service.put([service.item(1)])
    assert [r.client_token for r in service.requests] == ["token-1"]
    assert service.outcomes() == [("dropped", 0, None)]

    answer = service.put([service.item(1)])
    assert created(answer) == {"token-1": service.requests[0].id}
    assert len(service.requests) == 1


def test_a_reset_connection_creates_nothing(service):
    service.fake.plan(Fault.reset())
    with pytest.raises(ConnectionClosedError):
        service.put([service.item(1)])
    assert service.requests == []
    assert service.outcomes() == [("reset", 0, None)]


def test_a_slow_answer_creates_and_arrives_late(service, endpoint):
    service.fake.plan(Fault.slow(0.3))
    if service.in_process:
        started = time.monotonic()
        answer = service.put([service.item(1)])
        assert time.monotonic() - started >= 0.3
        assert len(created(answer)) == 1
    else:
        client = make_client(service.api, endpoint, SINGLE.merge(Config(read_timeout=0.1)))
        with pytest.raises(ReadTimeoutError):
            put(client, service.api, service.campaign_id, [service.item(1)])
    assert [r.client_token for r in service.requests] == ["token-1"]
    assert service.outcomes() == [("late", 200, None)]


@pytest.mark.parametrize("fault", [Fault.garbled, Fault.truncated])
def test_a_mangled_200_creates_and_the_same_token_replays(service, fault):
    service.fake.plan(fault())
    mangled = service.put([service.item(1), service.item(2)])
    assert mangled["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert "successfulRequests" not in mangled
    assert "failedRequests" not in mangled
    assert len(service.requests) == 2

    answer = service.put([service.item(1), service.item(2)])
    assert created(answer) == {r.client_token: r.id for r in service.requests}
    assert [c.outcome for c in service.calls] == [fault().mangle, "answered"]


def test_latency_delays_every_answer(service):
    service.fake.latency = 0.1
    started = time.monotonic()
    service.put([service.item(1)])
    assert time.monotonic() - started >= 0.1


def test_fail_calls_fails_the_next_calls(service):
    service.fake.fail_calls(2)
    for _ in range(2):
        with pytest.raises(ClientError):
            service.put([service.item(1)])
    assert len(created(service.put([service.item(1)]))) == 1
    assert service.fake.attempts_by_token()["token-1"] >= 3


def test_fail_items_answers_their_code_and_creates_nothing(service):
    service.fake.fail_items({"token-1": "RequestThrottled", "token-2": "BufferLimitExceeded"})
    answer = service.put([service.item(1), service.item(2), service.item(3)])

    assert answer["failedRequests"] == [
        {"clientToken": "token-1", "failureCode": "RequestThrottled"},
        {"clientToken": "token-2", "failureCode": "BufferLimitExceeded"},
    ]
    assert [r.client_token for r in service.requests] == ["token-3"]

    again = service.put([service.item(1), service.item(2)])
    assert created(again).keys() == {"token-1", "token-2"}


def test_omit_items_creates_them_but_leaves_them_out_of_the_answer_once(service):
    service.fake.omit_items(["token-2"])
    answer = service.put([service.item(1), service.item(2)])

    assert created(answer).keys() == {"token-1"}
    assert answer["failedRequests"] == []
    assert sorted(r.client_token for r in service.requests) == ["token-1", "token-2"]

    again = service.put([service.item(2)])
    assert created(again) == {"token-2": service.created_for_token("token-2")[0].id}
    assert len(service.requests) == 2


def test_omissions_add_up(service):
    service.fake.omit_items(["token-1"], times=2)
    service.fake.omit_items(["token-1"])
    for _ in range(3):
        assert created(service.put([service.item(1)])) == {}
    assert created(service.put([service.item(1)])).keys() == {"token-1"}
    assert len(service.requests) == 1


def test_reset_faults_clears_every_knob(service):
    service.fake.plan(Fault.error())
    service.fake.throttle(rate=0, burst=0)
    service.fake.fail_items({"token-1": "UnknownError"})
    service.fake.omit_items(["token-1"])
    service.fake.latency = 5
    service.fake.reset_faults()
    service.fake.clock = NOW.timestamp
    assert created(service.put([service.item(1)])).keys() == {"token-1"}


# The double's plumbing.


def test_one_throttle_bucket_for_v1_and_v2(fake_connect):
    fake_connect.fake_campaigns.throttle(rate=0.001, burst=1)
    v1, v2 = make_client("v1", None), make_client("v2", None)
    expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=120)
    telephony = {"destinationPhoneNumber": phone(1), "attributes": {}}
    put(
        v2,
        "v2",
        fake_connect.campaign_id,
        [
            {
                "clientToken": "a",
                "expirationTime": expires,
                "channelSubtypeParameters": {"telephony": telephony},
            }
        ],
    )
    dial = {"clientToken": "b", "phoneNumber": phone(2), "expirationTime": expires}
    with pytest.raises(ClientError) as caught:
        put(v1, "v1", fake_connect.v1_campaign_id, [{**dial, "attributes": {}}])
    assert error_of(caught) == ("ThrottlingException", 429)


def test_fake_connect_yields_running_v1_and_v2_campaigns(fake_connect):
    expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=120)
    telephony = {"destinationPhoneNumber": phone(1), "attributes": {"k": "v"}}
    v2 = fake_connect.campaigns.put_outbound_request_batch(
        id=fake_connect.campaign_id,
        outboundRequests=[
            {
                "clientToken": "a",
                "expirationTime": expires,
                "channelSubtypeParameters": {"telephony": telephony},
            }
        ],
    )
    v1 = fake_connect.campaigns_v1.put_dial_request_batch(
        id=fake_connect.v1_campaign_id,
        dialRequests=[
            {
                "clientToken": "b",
                "phoneNumber": phone(2),
                "expirationTime": expires,
                "attributes": {"k": "v"},
            }
        ],
    )
    assert created(v2).keys() == {"a"}
    assert created(v1).keys() == {"b"}
    assert {(r.api, r.client_token) for r in fake_connect.requests} == {("v2", "a"), ("v1", "b")}
    assert fake_connect.fake_campaigns is FakeCampaigns.of()
    state = fake_connect.campaigns_v1.get_campaign_state(id=fake_connect.v1_campaign_id)
    assert state["state"] == "Running"
    described = fake_connect.campaigns_v1.describe_campaign(id=fake_connect.v1_campaign_id)
    assert described["campaign"]["connectInstanceId"] == fake_connect.instance_id
    assert fake_connect.fake_campaigns.campaign_state("v2", fake_connect.campaign_id) == "Running"


def test_the_double_builds_the_library_clients(fake_connect):
    outbound = fake_connect.outbound_client(max_attempts=2)
    dial = fake_connect.dial_client()
    assert type(outbound).__name__ == "OutboundRequestBatchClient"
    assert type(dial).__name__ == "DialRequestBatchClient"


def test_over_http_the_double_points_the_campaign_clients_at_the_server(http_connect, moto_server):
    assert http_connect.campaigns.meta.endpoint_url == moto_server
    assert http_connect.campaigns_v1.meta.endpoint_url == moto_server
    state = http_connect.campaigns_v1.get_campaign_state(id=http_connect.v1_campaign_id)
    assert state["state"] == "Running"


def test_the_ledger_resets_with_moto():
    with mock_connect():
        first = MockConnect.campaigns()
        first.create_campaign_v2()
        first.latency = 1
    with mock_connect():
        second = MockConnect.campaigns()
        assert second is not first
        assert second.latency == 0
        assert second.requests == []


def test_install_is_idempotent():
    install()
    install()
    assert campaigns_urls.url_paths[V1_ROUTE] == ConnectCampaignServiceResponse.dispatch
    assert V2_ROUTE in campaigns_urls.url_paths
    assert callable(ConnectCampaignServiceResponse.put_dial_request_batch)
