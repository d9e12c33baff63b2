"""connect_batch.aws_lambda: SQS batches and Distributed Map batches, as Lambda runs them.

moto's SQS and the campaigns double on one moto server over HTTP; the event source mapping
is played by the test (it deletes what the handler did not report failed, and makes the
rest visible again, as a visibility timeout would). Assertions are on the double's ledger.
"""

from __future__ import annotations

import collections
import json
import logging
from typing import Any

import attrs
import boto3
import pytest

from connect_batch import ConfigurationError, ContactRequest, Endpoint, OutboundRequest
from connect_batch.aws_lambda import (
    BatchNotSettledError,
    InvalidBodyError,
    Report,
    handle_map_batch,
    handle_sqs_event,
    outbound_request_from,
    outbound_request_from_row,
    outbound_requests_from_body,
)
from connect_batch.testing import ConnectDouble, Fault

PHONES = [f"+1415{i:07d}" for i in range(1000)]


@attrs.define
class FakeContext:
    """Lambda's context: ``remaining`` seconds left, or a function of the fake clock."""

    remaining: float = 300.0
    clock: Any = None
    ends_at: float = 0.0

    def get_remaining_time_in_millis(self) -> int:
        left = self.remaining if self.clock is None else self.ends_at - self.clock()
        return int(left * 1000)


class ClockPerCall:
    """A fake clock: 10 s pass per campaigns call the double answers."""

    def __init__(self, double: ConnectDouble) -> None:
        self.double = double
        self.before = len(double.fake_campaigns.calls)  # the server's ledger is shared

    def __call__(self) -> float:
        return 1000.0 + 10 * (len(self.double.fake_campaigns.calls) - self.before)


class Queue:
    """A moto SQS queue, and the event source mapping's part: events out, deletes back."""

    def __init__(self, endpoint: str, name: str) -> None:
        self.sqs = boto3.client("sqs", region_name="us-east-1", endpoint_url=endpoint)
        self.url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        self.arn = self.sqs.get_queue_attributes(
            QueueUrl=self.url, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]

    def send(self, body: object) -> str:
        text = body if isinstance(body, str) else json.dumps(body)
        return str(self.sqs.send_message(QueueUrl=self.url, MessageBody=text)["MessageId"])

    def event(self) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """A Lambda SQS event of every visible message, as the service shapes it."""
        messages: list[dict[str, Any]] = []
        while batch := self.sqs.receive_message(
            QueueUrl=self.url, MaxNumberOfMessages=10, AttributeNames=["All"]
        ).get("Messages", []):
            messages.extend(batch)
        records = [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": self.arn,
                "awsRegion": "us-east-1",
            }
            for m in messages
        ]
        return {"Records": records}, messages

    def invoke(self, handler: Any) -> list[str]:
        """One invocation over what is visible: failed messages come back, others go."""
        event, messages = self.event()
        answer = handler(event)
        failed = [f["itemIdentifier"] for f in answer["batchItemFailures"]]
        for m in messages:
            if m["MessageId"] in failed:  # its visibility timeout, elapsed
                self.sqs.change_message_visibility(
                    QueueUrl=self.url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
                )
            else:
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=m["ReceiptHandle"])
        return failed

    def left(self) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"])


@pytest.fixture
def queue(http_connect: ConnectDouble, moto_server: str, request: pytest.FixtureRequest) -> Queue:
    return Queue(moto_server, f"calls-{abs(hash(request.node.name)) % 10**8}")


def body(start: int, count: int, **extra: Any) -> dict[str, Any]:
    return {"requests": [
        {"destination": PHONES[i], "attributes": {"name": f"P {i}"}, "key": f"crm-{i}", **extra}
        for i in range(start, start + count)
    ]}


def ledger(double: ConnectDouble) -> collections.Counter[str]:
    return collections.Counter(r.destination for r in double.requests)


def test_each_message_is_put_under_its_id_and_deleted(http_connect, queue):
    ids = [queue.send(body(m * 30, 30)) for m in range(3)]
    reports: list[Report[OutboundRequest]] = []
    client = http_connect.outbound_client()
    failed = queue.invoke(
        lambda e: handle_sqs_event(e, FakeContext(), client, record=reports.append)
    )
    assert failed == []
    assert queue.left() == 0
    assert ledger(http_connect) == collections.Counter(PHONES[:90])
    assert sorted(r.source for r in reports) == sorted(ids)
    assert all(r.settled and r.job_key == r.source for r in reports)
    created = {r.id for r in http_connect.requests}
    assert {o.id for r in reports for o in r.known()} == created


def test_a_redelivered_message_creates_nobody_twice(http_connect, queue):
    message_id = queue.send(body(0, 40))
    # The first delivery's calls act, and their answers never arrive: all unknown.
    http_connect.fake_campaigns.plan(*([Fault.dropped()] * 20))
    client = http_connect.outbound_client(max_attempts=1, max_item_retries=0)
    first: list[Report[OutboundRequest]] = []
    assert queue.invoke(
        lambda e: handle_sqs_event(e, FakeContext(), client, record=first.append)
    ) == [message_id]
    assert first[0].result.unknown()
    assert not first[0].settled
    assert len(http_connect.requests) == 40  # created, though nobody heard
    http_connect.fake_campaigns.reset_faults()
    second: list[Report[OutboundRequest]] = []
    assert queue.invoke(
        lambda e: handle_sqs_event(e, FakeContext(), client, record=second.append)
    ) == []
    assert [r.source for r in second] == [message_id]  # SQS kept the id: the same job
    assert ledger(http_connect) == collections.Counter(PHONES[:40])
    assert {s.id for s in second[0].result.succeeded} == {r.id for r in http_connect.requests}
    assert queue.left() == 0


def test_an_invalid_body_is_reported_failed_without_personal_data(http_connect, queue, caplog):
    secret_phone, secret_name = "+14155550199", "Ada Lovelace"
    bad = {
        queue.send("not json"): "not JSON",
        queue.send({"requests": [{"destination": "call me", "attributes": {}}]}): "request 0",
        queue.send({"requests": [{"destination": secret_phone, "phone": secret_name}]}):
            "unknown request field",
        queue.send({"requests": [{"destination": secret_phone, "channel": "sms",
                                  "attributes": {"name": secret_name}}]}): "template_parameters",
        queue.send([{"destination": secret_phone, "attributes": {"n": 5}}]): "request 0",
    }
    good = queue.send(body(0, 3))
    reports: list[Report[OutboundRequest]] = []
    client = http_connect.outbound_client()
    with caplog.at_level(logging.WARNING, logger="connect_batch"):
        failed = queue.invoke(
            lambda e: handle_sqs_event(e, FakeContext(), client, record=reports.append)
        )
    assert sorted(failed) == sorted(bad)
    by_id = {r.source: r for r in reports}
    for message_id, reason in bad.items():
        assert by_id[message_id].problem.startswith("unreadable")
        assert reason in by_id[message_id].problem
        assert len(by_id[message_id].result) == 0
    assert by_id[good].settled
    assert ledger(http_connect) == collections.Counter(PHONES[:3])  # nothing of the bad sent
    text = caplog.text + "".join(str(r.problem) for r in reports)
    for secret in (secret_phone, secret_name, "call me"):
        assert secret not in text
    assert all(m in caplog.text for m in bad)  # each named by its message id


def test_throttled_and_unknown_messages_are_redelivered_and_settle(http_connect, queue):
    throttled = queue.send(body(0, 10))
    client = http_connect.outbound_client(max_attempts=2)
    http_connect.fake_campaigns.throttle(rate=0, burst=0)
    assert queue.invoke(lambda e: handle_sqs_event(e, FakeContext(), client)) == [throttled]
    assert len(http_connect.requests) == 0
    http_connect.fake_campaigns.reset_faults()
    # Capacity refused for some items on the next delivery: known not created, retryable.
    http_connect.fake_campaigns.plan(Fault.items_failed("RequestThrottled"))
    client = http_connect.outbound_client(max_attempts=1, max_item_retries=0)
    reports: list[Report[OutboundRequest]] = []
    assert queue.invoke(
        lambda e: handle_sqs_event(e, FakeContext(), client, record=reports.append)
    ) == [throttled]
    assert "worth retrying" in reports[0].problem
    assert queue.invoke(lambda e: handle_sqs_event(e, FakeContext(), client)) == []
    assert ledger(http_connect) == collections.Counter(PHONES[:10])


def test_a_deadline_near_expiry_leaves_messages_failed_not_lost(http_connect, queue):
    first = queue.send(body(0, 60))
    second = queue.send(body(60, 5))
    clock = ClockPerCall(http_connect)
    client = http_connect.outbound_client()
    client.policy = attrs.evolve(client.policy, clock=clock)
    # 25 s left, 10 kept back: two 10 s calls fit in the first message, none after it.
    context = FakeContext(clock=clock, ends_at=1025.0)
    reports: list[Report[OutboundRequest]] = []
    failed = queue.invoke(
        lambda e: handle_sqs_event(e, context, client, margin=10, record=reports.append)
    )
    assert sorted(failed) == sorted([first, second])
    by_id = {r.source: r for r in reports}
    assert len(by_id[first].result.succeeded) == 50
    late = by_id[first].result.failed
    assert [f.code for f in late] == ["DEADLINE_EXCEEDED"] * 10
    assert all(f.outcome_unknown for f in late)  # under the message's job key
    assert "ran out" in by_id[second].problem
    assert len(http_connect.requests) == 50
    # Delivered again with time to spare: every request once, the first 50 replayed.
    context.ends_at = 10**6
    assert queue.invoke(lambda e: handle_sqs_event(e, context, client)) == []
    assert ledger(http_connect) == collections.Counter(PHONES[:65])


def test_a_paused_campaign_fails_every_message_and_sends_no_more(http_connect, queue):
    ids = [queue.send(body(m * 5, 5)) for m in range(3)]
    http_connect.fake_campaigns.set_campaign_state(http_connect.campaign_id, "Paused")
    calls = len(http_connect.fake_campaigns.calls)
    failed = queue.invoke(
        lambda e: handle_sqs_event(e, FakeContext(), http_connect.outbound_client())
    )
    assert sorted(failed) == sorted(ids)
    assert len(http_connect.fake_campaigns.calls) == calls + 1  # the first refusal stops the batch


def test_a_record_that_raises_fails_its_message(http_connect, queue):
    message_id = queue.send(body(0, 2))

    def record(report: Report[Any]) -> None:
        raise RuntimeError("the ledger table is down")

    client = http_connect.outbound_client()
    handler = lambda e: handle_sqs_event(e, FakeContext(), client, record=record)  # noqa: E731
    assert queue.invoke(handler) == [message_id]
    assert queue.invoke(lambda e: handle_sqs_event(e, FakeContext(), client)) == []
    assert ledger(http_connect) == collections.Counter(PHONES[:2])


def test_a_parser_is_required_for_other_apis_and_events_are_checked(http_connect):
    with pytest.raises(ConfigurationError, match="parse="):
        handle_sqs_event({"Records": []}, FakeContext(), http_connect.dial_client())
    with pytest.raises(ConfigurationError, match="SQS event"):
        handle_sqs_event({"Items": []}, FakeContext(), http_connect.outbound_client())
    with pytest.raises(ConfigurationError, match="sync client"):
        handle_sqs_event({"Records": []}, FakeContext(), object())  # type: ignore[arg-type]


def test_the_body_shape_reads_every_channel():
    requests = outbound_requests_from_body(json.dumps([
        {"destination": PHONES[1], "attributes": {"a": "b"}, "key": "k1", "ring_timeout": 30},
        {"channel": "sms", "destination": PHONES[2], "template_parameters": {"x": "y"}},
        {"channel": "email", "destination": "a@example.com", "template_parameters": {},
         "expires_in_seconds": 3600},
    ]))
    assert [r.channel.value for r in requests] == ["telephony", "sms", "email"]
    assert (requests[0].key, requests[0].ring_timeout) == ("k1", 30)
    assert dict(requests[1].parameters) == {"x": "y"}
    with pytest.raises(InvalidBodyError, match="expires_in_seconds"):
        outbound_request_from({"destination": PHONES[1], "expires_in_seconds": "soon"})
    with pytest.raises(InvalidBodyError, match="JSON list"):
        outbound_requests_from_body('{"requests": 5}')


# Step Functions Distributed Map: ItemReader over a CSV, ItemBatcher, a Lambda per batch.
def rows(count: int) -> list[dict[str, str]]:
    return [
        {"phone": PHONES[i], "customer_id": f"c-{i}", "first_name": f"Person {i}"}
        for i in range(count)
    ]


def map_run(client: Any, items: list[dict[str, str]], size: int, job: str) -> list[Any]:
    """One run of the map: the items cut into batches of ``size``, each child invoked."""
    outputs = []
    for start in range(0, len(items), size):
        event = {"Items": items[start:start + size], "BatchInput": {"job_key": job}}
        outputs.append(handle_map_batch(
            event, FakeContext(), client,
            parse_item=lambda row: outbound_request_from_row(row, key_column="customer_id"),
        ))
    return outputs


def test_a_map_rerun_batched_otherwise_replays_and_creates_nobody_twice(http_connect):
    client = http_connect.outbound_client()
    first = map_run(client, rows(60), 25, "reminders/2026-12-05")
    assert [o["created"] for o in first] == [25, 25, 10]
    ids = {r.destination: r.id for r in http_connect.requests}
    # The whole map again (a redrive), cut into batches of 10: the same tokens.
    again = map_run(client, rows(60), 10, "reminders/2026-12-05")
    assert sum(o["created"] for o in again) == 60
    assert ledger(http_connect) == collections.Counter(PHONES[:60])
    assert {r.destination: r.id for r in http_connect.requests} == ids
    # Another night's run is another job: new requests.
    map_run(client, rows(5), 25, "reminders/2026-12-06")
    assert len(http_connect.requests) == 65


def test_a_map_batch_lists_invalid_rows_and_raises_for_unknowns(http_connect):
    items = rows(5)
    items[2] = {"customer_id": "c-2", "first_name": "Grace Hopper"}  # no phone
    items[3] = {**items[3], "phone": "not a phone"}
    client = http_connect.outbound_client(max_attempts=1, max_item_retries=0)
    event = {"Items": items, "BatchInput": {"job_key": "j/1"}}

    def parse(row: Any) -> OutboundRequest:
        return outbound_request_from_row(row, key_column="customer_id")

    http_connect.fake_campaigns.plan(Fault.dropped())
    reports: list[Report[OutboundRequest]] = []
    with pytest.raises(BatchNotSettledError, match="unknown"):
        handle_map_batch(event, FakeContext(), client, parse_item=parse, record=reports.append)
    assert len(reports[0].result.unknown()) == 3
    # The state's Retry runs the same batch again: it settles, replaying what was created.
    output = handle_map_batch(event, FakeContext(), client, parse_item=parse,
                              record=reports.append)
    # Each outcome names its item in the batch, past the invalid ones (2 and 3).
    by_item = {reports[1].item(o): o.id for o in reports[1].known()}
    ids = {r.destination: r.id for r in http_connect.requests}
    assert by_item == {0: ids[PHONES[0]], 1: ids[PHONES[1]], 4: ids[PHONES[4]]}
    assert output["created"] == 3
    assert [i["item"] for i in output["invalid"]] == [2, 3]
    assert "Grace" not in json.dumps(output)
    assert "not a phone" not in json.dumps(output)
    assert ledger(http_connect) == collections.Counter([PHONES[0], PHONES[1], PHONES[4]])


def test_a_map_batch_for_a_per_call_api_keys_the_batch_by_its_items(http_connect):
    client = http_connect.batch_client()

    def parse(row: Any) -> ContactRequest:
        return ContactRequest(
            customer_endpoint=Endpoint.phone(row["phone"]), campaign_id="campaign-1",
            queue_id="queue-1", attributes={"first_name": row["first_name"]},
        )

    event = {"Items": rows(30), "BatchInput": {"job_key": "j/contacts"}}
    first = handle_map_batch(event, FakeContext(), client, parse_item=parse)
    again = handle_map_batch(event, FakeContext(), client, parse_item=parse)
    assert first == again
    assert first["job_key"].startswith("j/contacts/")
    assert first["created"] == 30
    assert len(http_connect.contacts) == 30
    assert http_connect.duplicates() == {}


def test_a_map_batch_needs_its_job_key_and_time(http_connect):
    client = http_connect.outbound_client()
    with pytest.raises(ConfigurationError, match=r"BatchInput\.job_key"):
        handle_map_batch({"Items": rows(1)}, FakeContext(), client,
                         parse_item=outbound_request_from_row)
    # A function whose timeout is no more than the margin could never send: said at once.
    for handler, event, options in (
        (handle_map_batch, {"Items": rows(1), "BatchInput": {"job_key": "j"}},
         {"parse_item": outbound_request_from_row}),
        (handle_sqs_event, {"Records": [{"messageId": "m-1", "body": "[]"}]}, {}),
    ):
        with pytest.raises(ConfigurationError, match="timeout well above the margin"):
            handler(event, FakeContext(remaining=3), client, **options)
    assert http_connect.requests == []
