"""The double's answers that are not answers: garbled, truncated, 408, replay by token alone.

Over real HTTP unless said otherwise, one attempt per call, so what botocore makes of each
answer is seen as it is, without its own retries in the way.
"""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from connect_batch.testing import Fault
from connect_batch.testing._fake import TRUNCATED_AT
from tests.builders import contact

MANGLED = [pytest.param(Fault.garbled, id="garbled"), pytest.param(Fault.truncated, id="truncated")]


@pytest.fixture
def client(moto_server, http_connect):
    """A client of the moto server that makes one attempt per call."""
    return boto3.client(
        "connect",
        region_name="us-east-1",
        endpoint_url=moto_server,
        config=Config(retries={"total_max_attempts": 1}),
    )


def items(*numbers: int) -> list[dict[str, object]]:
    return [dict(contact(i).to_api(f"rid-{i}")) for i in numbers]


def put(client, double, batch, token="token-1"):
    return client.batch_put_contact(
        InstanceId=double.instance_id, ClientToken=token, ContactDataRequestList=batch
    )


def created(answer) -> dict[str, str]:
    return {s["RequestIdentifier"]: s["ContactId"] for s in answer["SuccessfulRequestList"]}


@pytest.mark.parametrize("fault", MANGLED)
def test_a_mangled_200_creates_the_contacts_and_the_same_token_replays_them(
    client, http_connect, fault
):
    http_connect.fake.plan(fault())
    mangled = put(client, http_connect, items(1, 2, 3))

    assert mangled["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert "SuccessfulRequestList" not in mangled
    assert "FailedRequestList" not in mangled
    assert sorted(c.request_identifier for c in http_connect.contacts) == [
        "rid-1",
        "rid-2",
        "rid-3",
    ]

    replayed = put(client, http_connect, items(1, 2, 3))
    assert created(replayed) == {c.request_identifier: c.contact_id for c in http_connect.contacts}
    assert replayed["FailedRequestList"] == []
    assert len(http_connect.contacts) == 3
    assert http_connect.duplicates() == {}
    outcome = fault().mangle
    assert [(c.outcome, c.status) for c in http_connect.calls] == [
        (outcome, 200),
        ("replayed", 200),
    ]


def test_a_garbled_answer_is_html(client, http_connect):
    http_connect.fake.plan(Fault.garbled())
    headers = put(client, http_connect, items(1))["ResponseMetadata"]["HTTPHeaders"]
    assert headers["content-type"] == "text/html"


def test_a_truncated_answer_promises_more_than_it_sends(client, http_connect):
    http_connect.fake.plan(Fault.truncated())
    headers = put(client, http_connect, items(1))["ResponseMetadata"]["HTTPHeaders"]
    assert headers["content-type"] == "application/json"
    assert int(headers["content-length"]) > TRUNCATED_AT  # the whole answer's length
    answer = put(client, http_connect, items(1))
    assert len(created(answer)) == 1


def test_a_408_is_a_whole_call_error_that_creates_nothing(client, http_connect):
    http_connect.fake.plan(Fault.error(408, "RequestTimeout"))
    with pytest.raises(ClientError) as caught:
        put(client, http_connect, items(1, 2))

    error = caught.value.response
    assert error["Error"]["Code"] == "RequestTimeout"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 408
    assert http_connect.contacts == []
    assert [(c.outcome, c.status, c.error_code) for c in http_connect.calls] == [
        ("error", 408, "RequestTimeout")
    ]

    # Nothing was remembered either: the same token now creates them, once.
    answer = put(client, http_connect, items(1, 2))
    assert set(created(answer)) == {"rid-1", "rid-2"}
    assert http_connect.calls[-1].outcome == "answered"
    assert len(http_connect.contacts) == 2


def test_without_body_comparison_a_known_token_replays_whatever_the_body(client, http_connect):
    first = put(client, http_connect, items(1, 2))
    http_connect.fake.compare_bodies = False

    second = put(client, http_connect, items(3, 4, 5))
    assert created(second) == created(first)
    assert second["FailedRequestList"] == first["FailedRequestList"]
    assert sorted(c.request_identifier for c in http_connect.contacts) == ["rid-1", "rid-2"]
    assert [c.outcome for c in http_connect.calls] == ["answered", "replayed"]
    assert http_connect.calls[-1].request_identifiers == ("rid-3", "rid-4", "rid-5")

    # A token not seen before still creates what it carries.
    third = put(client, http_connect, items(3), token="token-2")
    assert set(created(third)) == {"rid-3"}
    assert len(http_connect.contacts) == 3


def test_reset_faults_turns_body_comparison_back_on(client, http_connect):
    put(client, http_connect, items(1))
    http_connect.fake.compare_bodies = False
    http_connect.fake.reset_faults()
    assert http_connect.fake.compare_bodies is True

    with pytest.raises(ClientError) as caught:
        put(client, http_connect, items(2))
    assert caught.value.response["Error"]["Code"] == "IdempotencyException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    assert [c.request_identifier for c in http_connect.contacts] == ["rid-1"]


@pytest.mark.parametrize("fault", MANGLED)
def test_in_process_a_mangled_200_creates_the_contacts_and_replays_them(fake_connect, fault):
    fake_connect.fake.plan(fault())
    batch = items(1, 2)
    mangled = fake_connect.client.batch_put_contact(
        InstanceId=fake_connect.instance_id, ClientToken="token-1", ContactDataRequestList=batch
    )
    assert mangled["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert "SuccessfulRequestList" not in mangled
    assert "FailedRequestList" not in mangled
    assert len(fake_connect.contacts) == 2

    replayed = fake_connect.client.batch_put_contact(
        InstanceId=fake_connect.instance_id, ClientToken="token-1", ContactDataRequestList=batch
    )
    assert created(replayed) == {c.request_identifier: c.contact_id for c in fake_connect.contacts}
    assert fake_connect.duplicates() == {}
    assert [c.outcome for c in fake_connect.calls] == [fault().mangle, "replayed"]
