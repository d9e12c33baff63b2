"""The example SQS worker, against moto's SQS and the Connect double."""

from __future__ import annotations

import json

import boto3
import pytest

from connect_batch.testing import Fault
from examples.sqs_worker import contact_to, process_message, run
from tests.builders import contact


@pytest.fixture
def queue(fake_connect):
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="contacts")["QueueUrl"]
    return sqs, url


def send(sqs, url, contacts, extra=()):
    body = {"contacts": [contact_to(c) for c in contacts] + list(extra)}
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body))


def receive_all(sqs, url):
    return sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
        "Messages", []
    )


def test_each_message_is_put_and_deleted_once_every_contact_has_an_outcome(fake_connect, queue):
    sqs, url = queue
    for m in range(3):
        send(sqs, url, [contact(m * 100 + i, request_identifier=f"m{m}-{i}") for i in range(30)])
    messages_seen = iter([True, False])
    reports = run(sqs, url, fake_connect.batch_client(), wait_seconds=0,
                  keep_going=lambda: next(messages_seen))
    assert [r.created for r in reports] == [30, 30, 30]
    assert len(fake_connect.contacts) == 90
    assert fake_connect.duplicates() == {}
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages",
                                      "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    assert attributes == {
        "ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"
    }


def test_retryable_failures_go_back_delayed_and_invalid_ones_do_not(fake_connect, queue):
    sqs, url = queue
    inputs = [contact(i, request_identifier=f"r{i}") for i in range(10)]
    fake_connect.fake.fail_items({"r3": "REQUEST_THROTTLED", "r7": "INTERNAL_ERROR"}, times=100)
    send(sqs, url, inputs, extra=[{"phone": "not a phone"}])
    [message] = receive_all(sqs, url)
    report = process_message(sqs, url, fake_connect.batch_client(), message)
    assert (report.created, report.invalid, report.requeued, report.unknown) == (8, 1, 2, 0)
    # The requeued message is delayed: not receivable yet, and it holds exactly the two.
    assert receive_all(sqs, url) == []
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessagesDelayed"] == "1"
    assert sorted(c.request_identifier for c in fake_connect.contacts) == sorted(
        f"r{i}" for i in range(10) if i not in (3, 7)
    )


def test_a_redelivered_message_replays_instead_of_calling_twice(fake_connect, queue):
    sqs, url = queue
    send(sqs, url, [contact(i) for i in range(40)])
    [message] = receive_all(sqs, url)
    client = fake_connect.batch_client()
    # The worker crashed after putting but before deleting: SQS hands the message out again.
    first = client.put_contacts(
        [contact(i) for i in range(40)], job_key=message["MessageId"]
    )
    report = process_message(sqs, url, client, message)
    assert report.created == 40
    assert len(fake_connect.contacts) == 40
    assert {c.contact_id for c in fake_connect.contacts} == {s.contact_id for s in first.succeeded}


def test_a_crash_after_requeueing_does_not_call_anyone_twice(fake_connect, queue):
    sqs, url = queue
    inputs = [contact(i, request_identifier=f"r{i}") for i in range(5)]
    fake_connect.fake.fail_items({"r1": "REQUEST_THROTTLED"}, times=1)
    send(sqs, url, inputs)
    [message] = receive_all(sqs, url)
    requeued: list[str] = []
    original_send = sqs.send_message

    def spy(**kwargs):
        requeued.append(kwargs["MessageBody"])
        return original_send(**kwargs)

    sqs.send_message = spy
    client = fake_connect.batch_client(max_item_retries=0)
    process_message(sqs, url, client, message)
    # The worker died before its delete landed: SQS hands the original out again.
    process_message(sqs, url, client, message)
    assert len(requeued) == 2
    assert requeued[0] == requeued[1]  # the same contacts under the same derived job key
    # Both copies are delivered (without their delay, for the test), and both processed.
    for body in requeued:
        original_send(QueueUrl=url, MessageBody=body)
    copies = receive_all(sqs, url)
    assert len(copies) == 2
    for copy in copies:
        process_message(sqs, url, client, copy)
    assert len(fake_connect.fake.created_for("r1")) == 1
    assert fake_connect.duplicates() == {}
    assert len(fake_connect.contacts) == 5


def test_an_unreadable_message_is_left_and_the_rest_go_on(fake_connect, queue, caplog):
    sqs, url = queue
    sqs.send_message(QueueUrl=url, MessageBody="not json")
    send(sqs, url, [contact(1, request_identifier="d"), contact(2, request_identifier="d")])
    send(sqs, url, [contact(3)])
    rounds = iter([True, False])
    reports = run(sqs, url, fake_connect.batch_client(), wait_seconds=0,
                  keep_going=lambda: next(rounds))
    assert [r.created for r in reports] == [1]
    assert len(fake_connect.contacts) == 1
    assert sum("dead-letter" in r.getMessage() for r in caplog.records) == 2


def test_a_redelivered_message_while_throttled_leaves_the_message_and_calls_nobody_twice(
    fake_connect, queue
):
    sqs, url = queue
    inputs = [contact(i) for i in range(50)]
    send(sqs, url, inputs)
    [message] = receive_all(sqs, url)
    client = fake_connect.batch_client(max_attempts=2)
    # The first delivery's worker put the contacts, then died before deleting the message.
    client.put_contacts(inputs, job_key=message["MessageId"])
    assert len(fake_connect.contacts) == 50
    # Redelivered while the service throttles every call: the outcome of all 50 is unknown
    # under this job key, so nothing is requeued and the message is not deleted.
    fake_connect.fake.throttle(rate=0, burst=0)
    sent: list[str] = []
    original_send = sqs.send_message
    sqs.send_message = lambda **kwargs: sent.append(kwargs["MessageBody"])
    report = process_message(sqs, url, client, message)
    assert (report.created, report.requeued, report.unknown) == (0, 0, 50)
    assert sent == []
    # The next delivery, unthrottled, settles everything from the ledger and deletes it.
    fake_connect.fake.reset_faults()
    sqs.send_message = original_send
    report = process_message(sqs, url, client, message)
    assert (report.created, report.unknown) == (50, 0)
    assert len(fake_connect.contacts) == 50
    assert fake_connect.duplicates() == {}


def test_over_http_a_redelivered_message_while_throttled_calls_nobody_twice(
    http_connect, moto_server
):
    sqs = boto3.client("sqs", region_name="us-east-1", endpoint_url=moto_server)
    url = sqs.create_queue(QueueName="contacts-http")["QueueUrl"]
    inputs = [contact(i) for i in range(60)]
    send(sqs, url, inputs)
    [message] = receive_all(sqs, url)
    client = http_connect.batch_client(max_attempts=2)
    # The first delivery's calls all acted, and their answers were lost: a worker killed
    # mid-call. Its contacts exist; the worker never saw them.
    http_connect.fake.plan(*([Fault.dropped()] * 6))  # 3 batches, 2 attempts each
    first = process_message(sqs, url, client, message)
    assert (first.created, first.unknown) == (0, 60)
    assert len(http_connect.contacts) == 60
    # Redelivered while every call is throttled: still unknown, nothing requeued.
    http_connect.fake.reset_faults()
    http_connect.fake.throttle(rate=0, burst=0)
    second = process_message(sqs, url, client, message)
    assert (second.created, second.requeued, second.unknown) == (0, 0, 60)
    # Redelivered again, unthrottled: settled from the ledger, and deleted.
    http_connect.fake.reset_faults()
    third = process_message(sqs, url, client, message)
    assert (third.created, third.unknown) == (60, 0)
    assert len(http_connect.contacts) == 60
    assert http_connect.duplicates() == {}
    sqs.delete_queue(QueueUrl=url)
