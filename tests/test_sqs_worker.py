"""The example SQS worker, against moto's SQS and the outbound campaigns double."""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys

import boto3
import pytest
import redis

from connect_batch import OutboundRequest, fleet_key
from connect_batch.testing import Fault
from examples.sqs_worker import process_message, request_from, request_to, run
from tests.builders import outbound as contact
from tests.faults.campaign_harness import campaign
from tests.faults.harness import ROOT


@pytest.fixture
def queue(fake_connect):
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="contacts")["QueueUrl"]
    return sqs, url


def send(sqs, url, contacts, extra=()):
    body = {"requests": [request_to(c) for c in contacts] + list(extra)}
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body))


def receive_all(sqs, url):
    return sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
        "Messages", []
    )


def test_each_message_is_put_and_deleted_once_every_contact_has_an_outcome(fake_connect, queue):
    sqs, url = queue
    for m in range(3):
        send(sqs, url, [contact(m * 100 + i, client_token=f"m{m}-{i}") for i in range(30)])
    messages_seen = iter([True, False])
    reports = run(sqs, url, fake_connect.outbound_client(), wait_seconds=0,
                  keep_going=lambda: next(messages_seen))
    assert [r.created for r in reports] == [30, 30, 30]
    assert len(fake_connect.requests) == 90
    assert fake_connect.fake_campaigns.duplicates(fake_connect.campaign_id) == {}
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages",
                                      "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    assert attributes == {
        "ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"
    }


def test_retryable_failures_go_back_delayed_and_invalid_ones_do_not(fake_connect, queue):
    sqs, url = queue
    inputs = [contact(i, client_token=f"r{i}") for i in range(10)]
    fake_connect.fake_campaigns.fail_items(
        {"r3": "RequestThrottled", "r7": "BufferLimitExceeded"}, times=100
    )
    send(sqs, url, inputs, extra=[{"destination": "not a phone"}])
    [message] = receive_all(sqs, url)
    report = process_message(sqs, url, fake_connect.outbound_client(), message)
    assert (report.created, report.invalid, report.requeued, report.unknown) == (8, 1, 2, 0)
    # The requeued message is delayed: not receivable yet, and it holds exactly the two.
    assert receive_all(sqs, url) == []
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessagesDelayed"] == "1"
    assert sorted(c.client_token for c in fake_connect.requests) == sorted(
        f"r{i}" for i in range(10) if i not in (3, 7)
    )


def test_a_redelivered_message_replays_instead_of_calling_twice(fake_connect, queue):
    sqs, url = queue
    send(sqs, url, [contact(i) for i in range(40)])
    [message] = receive_all(sqs, url)
    client = fake_connect.outbound_client()
    # The worker crashed after putting but before deleting: SQS hands the message out again.
    first = client.put_requests(
        [contact(i) for i in range(40)], job_key=message["MessageId"]
    )
    report = process_message(sqs, url, client, message)
    assert report.created == 40
    assert len(fake_connect.requests) == 40
    assert {c.id for c in fake_connect.requests} == {s.id for s in first.succeeded}


def test_a_crash_after_requeueing_does_not_call_anyone_twice(fake_connect, queue):
    sqs, url = queue
    inputs = [contact(i, client_token=f"r{i}") for i in range(5)]
    # The campaign lacks capacity for r1 on both deliveries of the original message.
    fake_connect.fake_campaigns.fail_items({"r1": "RequestThrottled"}, times=2)
    send(sqs, url, inputs)
    [message] = receive_all(sqs, url)
    requeued: list[str] = []
    original_send = sqs.send_message

    def spy(**kwargs):
        requeued.append(kwargs["MessageBody"])
        return original_send(**kwargs)

    sqs.send_message = spy
    client = fake_connect.outbound_client(max_item_retries=0)
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
    assert len(fake_connect.fake_campaigns.created_for_token("r1")) == 1
    assert fake_connect.fake_campaigns.duplicates(fake_connect.campaign_id) == {}
    assert len(fake_connect.requests) == 5


def test_an_unreadable_message_is_left_and_the_rest_go_on(fake_connect, queue, caplog):
    sqs, url = queue
    sqs.send_message(QueueUrl=url, MessageBody="not json")
    send(sqs, url, [contact(1, client_token="d"), contact(2, client_token="d")])
    send(sqs, url, [contact(3)])
    rounds = iter([True, False])
    reports = run(sqs, url, fake_connect.outbound_client(), wait_seconds=0,
                  keep_going=lambda: next(rounds))
    assert [r.created for r in reports] == [1]
    assert len(fake_connect.requests) == 1
    assert sum("dead-letter" in r.getMessage() for r in caplog.records) == 2


def test_a_redelivered_message_while_throttled_leaves_the_message_and_calls_nobody_twice(
    fake_connect, queue
):
    sqs, url = queue
    inputs = [contact(i) for i in range(50)]
    send(sqs, url, inputs)
    [message] = receive_all(sqs, url)
    client = fake_connect.outbound_client(max_attempts=2)
    # The first delivery's worker put the contacts, then died before deleting the message.
    client.put_requests(inputs, job_key=message["MessageId"])
    assert len(fake_connect.requests) == 50
    # Redelivered while the service throttles every call: the outcome of all 50 is unknown
    # under this job key, so nothing is requeued and the message is not deleted.
    fake_connect.fake_campaigns.throttle(rate=0, burst=0)
    sent: list[str] = []
    original_send = sqs.send_message
    sqs.send_message = lambda **kwargs: sent.append(kwargs["MessageBody"])
    report = process_message(sqs, url, client, message)
    assert (report.created, report.requeued, report.unknown) == (0, 0, 50)
    assert sent == []
    # The next delivery, unthrottled, settles everything from the ledger and deletes it.
    fake_connect.fake_campaigns.reset_faults()
    sqs.send_message = original_send
    report = process_message(sqs, url, client, message)
    assert (report.created, report.unknown) == (50, 0)
    assert len(fake_connect.requests) == 50
    assert fake_connect.fake_campaigns.duplicates(fake_connect.campaign_id) == {}


def test_over_http_a_redelivered_message_while_throttled_calls_nobody_twice(
    http_connect, moto_server
):
    sqs = boto3.client("sqs", region_name="us-east-1", endpoint_url=moto_server)
    url = sqs.create_queue(QueueName="contacts-http")["QueueUrl"]
    inputs = [contact(i) for i in range(60)]
    send(sqs, url, inputs)
    [message] = receive_all(sqs, url)
    client = http_connect.outbound_client(max_attempts=2)
    # The first delivery's calls all acted, and their answers were lost: a worker killed
    # mid-call. Its contacts exist; the worker never saw them.
    # 3 batches, 2 attempts per round; omitted items go again in up to 3 more rounds.
    http_connect.fake_campaigns.plan(*([Fault.dropped()] * 6))
    first = process_message(sqs, url, client, message)
    assert (first.created, first.unknown) == (0, 60)
    assert len(http_connect.requests) == 60
    # Redelivered while every call is throttled: still unknown, nothing requeued.
    http_connect.fake_campaigns.reset_faults()
    http_connect.fake_campaigns.throttle(rate=0, burst=0)
    second = process_message(sqs, url, client, message)
    assert (second.created, second.requeued, second.unknown) == (0, 0, 60)
    # Redelivered again, unthrottled: settled from the ledger, and deleted.
    http_connect.fake_campaigns.reset_faults()
    third = process_message(sqs, url, client, message)
    assert (third.created, third.unknown) == (60, 0)
    assert len(http_connect.requests) == 60
    assert http_connect.fake_campaigns.duplicates(http_connect.campaign_id) == {}
    sqs.delete_queue(QueueUrl=url)


@pytest.mark.parametrize(
    "request_",
    [
        OutboundRequest.telephony("+14155550100", attributes={"a": "1"}, client_token="t1"),
        OutboundRequest.sms("+14155550101", template_parameters={"b": "2"}),
        OutboundRequest.email("someone@example.com", template_parameters={"c": "3"}),
        OutboundRequest.whatsapp("+14155550102", template_parameters={}),
    ],
    ids=lambda r: r.channel.value,
)
def test_requests_survive_the_trip_through_a_message(request_):
    assert request_from(json.loads(json.dumps(request_to(request_)))) == request_


@pytest.mark.slow  # worker processes and a Redis server
def test_a_fleet_of_worker_processes_shares_one_limiter_and_calls_nobody_twice(
    moto_server, redis_url
):
    target = campaign("v2", moto_server)
    sqs = boto3.client("sqs", region_name="us-east-1", endpoint_url=moto_server)
    url = sqs.create_queue(QueueName="fleet")["QueueUrl"]
    for n in range(6):
        send(sqs, url, [contact(n * 25 + i) for i in range(25)])
    env = {**os.environ, "PYTHONPATH": str(ROOT), "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    done = subprocess.run(  # noqa: S603 - our own interpreter and example
        [sys.executable, "examples/sqs_worker.py", "--queue-url", url, "--campaign-id",
         target.campaign_id, "--endpoint-url", moto_server, "--redis-url", redis_url,
         "--max-rps", "20", "--workers", "3", "--until-empty", "--wait-seconds", "1"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    per_person = collections.Counter(r.destination for r in target.requests)
    assert len(per_person) == 150
    assert set(per_person.values()) == {1}
    assert receive_all(sqs, url) == []  # every message deleted
    key = fleet_key("123456789012", "us-east-1", "PutOutboundRequestBatch")
    # One pace for the fleet: the --max-rps given, less the limiter's 2% headroom.
    assert float(redis.Redis.from_url(redis_url).hget(key, "rate")) == pytest.approx(19.6)
    sqs.delete_queue(QueueUrl=url)
