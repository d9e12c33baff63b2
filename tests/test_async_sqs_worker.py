"""The async SQS worker example, against moto's SQS and the campaigns double, over HTTP."""

from __future__ import annotations

import asyncio
import collections
import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

import boto3
import pytest
from aiobotocore.session import get_session

from connect_batch import AsyncOutboundRequestBatchClient
from connect_batch.testing import async_no_sleep
from examples.async_sqs_worker import run
from examples.sqs_worker import request_to
from tests.builders import outbound
from tests.faults.campaign_harness import campaign
from tests.faults.harness import ROOT


def queue(endpoint: str, name: str, messages: int, per_message: int) -> tuple[Any, str]:
    sqs = boto3.client("sqs", region_name="us-east-1", endpoint_url=endpoint)
    url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "2"})["QueueUrl"]
    for n in range(messages):
        requests = [outbound(n * per_message + i) for i in range(per_message)]
        sqs.send_message(
            QueueUrl=url, MessageBody=json.dumps({"requests": [request_to(r) for r in requests]})
        )
    return sqs, url


def left_on(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def test_messages_are_put_side_by_side_on_one_loop_and_deleted(moto_server):
    target = campaign("v2", moto_server)
    target.fake.latency = 0.05
    sqs, url = queue(moto_server, "async-worker", messages=6, per_message=30)
    most_at_once = 0
    in_progress = 0

    def watch(event: object) -> None:
        nonlocal in_progress, most_at_once
        name = type(event).__name__
        in_progress += name == "CallSent"
        in_progress -= name == "CallAnswered"
        most_at_once = max(most_at_once, in_progress)

    async def work() -> Any:
        session = get_session()
        async with (
            session.create_client("sqs", region_name="us-east-1", endpoint_url=moto_server) as s,
            session.create_client(
                "connectcampaignsv2", region_name="us-east-1", endpoint_url=moto_server
            ) as c,
        ):
            client = AsyncOutboundRequestBatchClient(
                c, campaign_id=target.campaign_id, max_requests_per_second=1000,
                sleep=async_no_sleep, subscribers=[watch],
            )
            return await run(s, url, client, messages_in_flight=3, wait_seconds=0,
                             until_empty=True)

    reports = asyncio.run(work())
    assert sorted(r.created for r in reports) == [30] * 6
    per_person = collections.Counter(r.destination for r in target.requests)
    assert len(per_person) == 180
    assert set(per_person.values()) == {1}
    assert left_on(sqs, url) == 0
    assert most_at_once > 1  # messages went side by side (concurrency=1 for each)


def _worker(endpoint: str, url: str, campaign_id: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    return subprocess.Popen(  # noqa: S603 - our own interpreter and example
        [sys.executable, "examples/async_sqs_worker.py", "--queue-url", url, "--campaign-id",
         campaign_id, "--endpoint-url", endpoint, "--max-rps", "1000", "--until-empty",
         "--wait-seconds", "1", "--messages-in-flight", "3"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _until(done: Any, timeout: float = 60.0) -> None:
    """Wait until ``done()``: the worker is under way (its start-up time varies)."""
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "the worker made no progress"
        time.sleep(0.02)


@pytest.mark.slow  # real worker processes, SIGTERM and SIGKILL
def test_a_worker_stopped_by_sigterm_or_killed_then_run_again_calls_nobody_twice(moto_server):
    target = campaign("v2", moto_server)
    target.fake.latency = 0.15
    sqs, url = queue(moto_server, "async-worker-killed", messages=8, per_message=50)
    # Stopped gracefully mid-run: its messages stay on the queue.
    stopped = _worker(moto_server, url, target.campaign_id)
    _until(lambda: len(target.requests) >= 50)
    stopped.send_signal(signal.SIGTERM)
    _, err = stopped.communicate(timeout=60)
    assert stopped.returncode == 130, err[-2000:]
    assert "SQS delivers them again" in err
    created_before = len(target.requests)
    assert 0 < created_before < 400
    # Killed outright mid-run: nothing of its own is cleaned up.
    killed = _worker(moto_server, url, target.campaign_id)
    _until(lambda: len(target.requests) >= created_before + 50)
    killed.send_signal(signal.SIGKILL)
    killed.communicate(timeout=60)
    time.sleep(2.5)  # the visibility timeout: its messages come back
    target.fake.latency = 0.0
    final = _worker(moto_server, url, target.campaign_id)
    out, err = final.communicate(timeout=120)
    assert final.returncode == 0, err[-2000:]
    summary = json.loads(out.splitlines()[-1])
    assert summary["messages"] >= 1  # what the first two left, settled and deleted
    per_person = collections.Counter(r.destination for r in target.requests)
    assert len(per_person) == 400
    assert set(per_person.values()) == {1}, "someone was called twice"
    assert left_on(sqs, url) == 0
