"""The test double answers BatchPutContact the way the service does, ledger and all."""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from connect_batch.testing import ConnectDouble, Fault, mock_connect


def item(rid: str, **changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "RequestIdentifier": rid,
        "CustomerEndpoint": {"Type": "TELEPHONE_NUMBER", "Address": "+14155550100"},
        "Campaign": {"CampaignId": "campaign-1"},
        "QueueId": "queue-1",
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def put(double, items, token="token-1", instance_id=None):
    return double.client.batch_put_contact(
        InstanceId=instance_id or double.instance_id,
        ClientToken=token,
        ContactDataRequestList=items,
    )


def error_code(caught: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = caught.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_creates_a_contact_per_valid_item_and_records_it(fake_connect):
    answer = put(fake_connect, [item("a"), item("b")])
    created = {s["RequestIdentifier"]: s["ContactId"] for s in answer["SuccessfulRequestList"]}
    assert set(created) == {"a", "b"}
    assert {(c.request_identifier, c.contact_id) for c in fake_connect.contacts} == set(
        created.items()
    )
    assert answer["FailedRequestList"] == []


def test_unknown_instance_is_resource_not_found(fake_connect):
    with pytest.raises(ClientError) as caught:
        put(fake_connect, [item("a")], instance_id="no-such-instance")
    assert error_code(caught) == ("ResourceNotFoundException", 404)
    assert fake_connect.fake.contacts == []


def test_same_token_and_body_replays_the_first_answer(fake_connect):
    first = put(fake_connect, [item("a")])
    second = put(fake_connect, [item("a")])
    assert second["SuccessfulRequestList"] == first["SuccessfulRequestList"]
    assert len(fake_connect.contacts) == 1
    assert [c.outcome for c in fake_connect.calls] == ["answered", "replayed"]


def test_same_token_with_another_body_is_an_idempotency_error(fake_connect):
    put(fake_connect, [item("a")])
    with pytest.raises(ClientError) as caught:
        put(fake_connect, [item("b")])
    assert error_code(caught) == ("IdempotencyException", 409)
    assert [c.request_identifier for c in fake_connect.contacts] == ["a"]


def test_more_than_25_items_is_an_invalid_request(fake_connect):
    with pytest.raises(ClientError) as caught:
        put(fake_connect, [item(str(i)) for i in range(26)])
    assert error_code(caught) == ("InvalidRequestException", 400)
    assert fake_connect.contacts == []


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"Campaign": None}, "MISSING_CAMPAIGN"),
        ({"CustomerEndpoint": None}, "MISSING_CUSTOMER_ENDPOINT"),
        ({"QueueId": None}, "MISSING_QUEUE_ID_AND_SYSTEM_ENDPOINT"),
        (
            {"CustomerEndpoint": {"Type": "TELEPHONE_NUMBER", "Address": "555"}},
            "INVALID_CUSTOMER_ENDPOINT",
        ),
        ({"Attributes": {"first name": "x"}}, "INVALID_ATTRIBUTE_KEY"),
    ],
)
def test_items_lacking_what_the_api_needs_fail_with_their_code(fake_connect, changes, code):
    answer = put(fake_connect, [item("bad", **changes), item("good")])
    assert [f["FailureReasonCode"] for f in answer["FailedRequestList"]] == [code]
    assert answer["FailedRequestList"][0]["RequestIdentifier"] == "bad"
    assert [c.request_identifier for c in fake_connect.contacts] == ["good"]


def test_system_endpoint_stands_in_for_the_queue(fake_connect):
    system = {"Type": "TELEPHONE_NUMBER", "Address": "+14155550199"}
    answer = put(fake_connect, [item("a", QueueId=None, SystemEndpoint=system)])
    assert len(answer["SuccessfulRequestList"]) == 1


def test_throttle_knob_answers_429_beyond_the_burst(fake_connect):
    fake_connect.fake.throttle(rate=0.001, burst=2)
    put(fake_connect, [item("a")], token="t1")
    put(fake_connect, [item("b")], token="t2")
    # botocore would retry the 429 with real back-offs (about 10 s); one attempt shows it.
    once = boto3.client(
        "connect", region_name="us-east-1", config=Config(retries={"total_max_attempts": 1})
    )
    with pytest.raises(ClientError) as caught:
        once.batch_put_contact(
            InstanceId=fake_connect.instance_id, ClientToken="t3",
            ContactDataRequestList=[item("c")],
        )
    assert error_code(caught) == ("LimitExceededException", 429)
    assert [c.request_identifier for c in fake_connect.contacts] == ["a", "b"]


def test_error_after_commit_creates_and_remembers_the_token(fake_connect):
    fake_connect.fake.plan(Fault.error(after_commit=True))
    # botocore's own retry resends the same ClientToken, so the second attempt replays.
    answer = put(fake_connect, [item("a")])
    assert [(c.outcome, c.status) for c in fake_connect.calls] == [
        ("error", 500),
        ("replayed", 200),
    ]
    assert len(fake_connect.contacts) == 1
    assert answer["SuccessfulRequestList"][0]["ContactId"] == fake_connect.contacts[0].contact_id


def test_item_fault_knob_fails_the_named_item_the_given_times(fake_connect):
    fake_connect.fake.fail_items({"a": "REQUEST_THROTTLED"}, times=1)
    first = put(fake_connect, [item("a")], token="t1")
    second = put(fake_connect, [item("a")], token="t2")
    assert first["FailedRequestList"][0]["FailureReasonCode"] == "REQUEST_THROTTLED"
    assert len(second["SuccessfulRequestList"]) == 1
    assert len(fake_connect.contacts) == 1


def test_mock_connect_works_as_a_decorator(monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")

    @mock_connect()
    def run() -> int:
        double = ConnectDouble.create(boto3.client("connect", region_name="us-east-1"))
        put(double, [item("a")])
        return len(double.contacts)

    assert run() == 1


@pytest.mark.parametrize("status", [500, 503])
def test_an_error_without_a_code_speaks_batchputcontacts_own(fake_connect, status):
    fake_connect.fake.plan(Fault.error(status))
    once = boto3.client(  # one attempt: botocore would retry the 5xx
        "connect", region_name="us-east-1", config=Config(retries={"total_max_attempts": 1})
    )
    with pytest.raises(ClientError) as caught:
        once.batch_put_contact(InstanceId=fake_connect.instance_id, ClientToken="t1",
                               ContactDataRequestList=[item("a")])
    assert error_code(caught) == ("InternalServiceException", status)
    assert fake_connect.contacts == []
