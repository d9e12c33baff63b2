"""Never twice, across runs: what ``retryable()`` may promise, checked against the ledger.

Each test follows a sequence of runs, reruns and resends that the docs recommend, over
real HTTP against the double, and asserts on what the double really created: nobody is
created twice, nothing created is reported as known not created, and ``retryable()``
never holds an input that may exist.
"""

from __future__ import annotations

import collections
import itertools
import threading
import time

import attrs
import boto3
import botocore.credentials
import botocore.session
import pytest
from botocore.config import Config

from connect_batch import (
    BatchResult,
    ContactBatchClient,
    ContactRequest,
    FailureCode,
    NotSentError,
)
from connect_batch.testing import ConnectDouble, Fault, no_sleep
from tests.builders import contact, contacts

JOB = "campaign-42/2026-11-27"


def client_for(double: ConnectDouble, **options) -> ContactBatchClient:
    options.setdefault("sleep", no_sleep)
    return ContactBatchClient(double.client, instance_id=double.instance_id, **options)


def assert_never_twice(double: ConnectDouble, result: BatchResult) -> None:
    """The ledger agrees with ``result``: no duplicate, nothing created reported as not."""
    assert double.duplicates() == {}
    ledger = {c.request_identifier: c.contact_id for c in double.contacts}
    for success in result.succeeded:
        assert ledger.get(success.request_identifier) == success.contact_id
    for failure in result.failed:
        if failure.request_identifier in ledger:
            assert failure.outcome_unknown, f"{failure.code}: created, reported not created"
    for failure in result.failed:
        if failure.retryable and not failure.outcome_unknown:  # what retryable() returns
            assert failure.request_identifier not in ledger, "retryable, yet created"


def committed_but_unseen(double: ConnectDouble, inputs: list[ContactRequest]) -> BatchResult:
    """Run 1 under the job: every call acts, and its answer never arrives (as if killed)."""
    double.fake.plan(*([Fault.dropped()] * 10))
    result = client_for(double, job_key=JOB, max_attempts=1).put_contacts(inputs)
    double.fake.reset_faults()
    return result


# 1. A rerun that is throttled out does not turn existing contacts into "safe to resend".
@pytest.mark.parametrize("obstacle", ["throttled", "deadline"])
def test_a_blocked_rerun_reports_existing_contacts_unknown_never_retryable(
    http_connect, obstacle
):
    inputs = contacts(50)
    first = committed_but_unseen(http_connect, inputs)
    assert len(http_connect.contacts) == 50
    assert first.retryable() == []
    if obstacle == "throttled":
        http_connect.fake.throttle(rate=0, burst=0)
        rerun = client_for(http_connect, job_key=JOB, max_attempts=3).put_contacts(inputs)
    else:
        rerun = client_for(
            http_connect, job_key=JOB, deadline=0.5, max_requests_per_second=0.5
        ).put_contacts(inputs)
    http_connect.fake.reset_faults()
    assert len(rerun) == 50
    assert rerun.failed
    assert all(f.outcome_unknown and f.retryable for f in rerun.failed)
    assert rerun.retryable() == []
    assert_never_twice(http_connect, rerun)
    # Resending what retryable() holds, as the docs once advised, sends nothing at all.
    calls = len(http_connect.calls)
    client_for(http_connect, job_key=f"{JOB}/retry-1").put_contacts(rerun.retryable())
    assert len(http_connect.calls) == calls
    # The documented recovery, the same job again, settles every input from the ledger.
    settled = client_for(http_connect, job_key=JOB).put_contacts(inputs)
    assert len(settled.succeeded) == 50
    assert len(http_connect.contacts) == 50
    assert_never_twice(http_connect, settled)


# 2. The retry-subset pattern, then a rerun of the job, creates nobody twice.
def test_resending_retryable_then_rerunning_the_job_creates_nobody_twice(http_connect):
    inputs = contacts(75)
    http_connect.fake.plan(None, *([Fault.throttle()] * 2))  # batch 2 throttled out
    first = client_for(http_connect, job_key=JOB, max_attempts=2).put_contacts(inputs)
    assert [f.position for f in first.failed] == list(range(25, 50))
    assert all(f.outcome_unknown for f in first.failed)  # an earlier run may have sent it
    assert first.retryable() == []  # the old rule resent these 25 under a new key
    rerun = client_for(http_connect, job_key=JOB).put_contacts(inputs)  # after a crash, say
    assert rerun.all_succeeded
    assert len(http_connect.contacts) == 75
    assert_never_twice(http_connect, rerun)


def test_items_the_service_refused_are_retryable_and_a_rerun_replays_the_refusal(
    http_connect,
):
    inputs = [contact(i, request_identifier=f"crm-{i}") for i in range(30)]
    http_connect.fake.fail_items({"crm-3": "REQUEST_THROTTLED"}, times=10)
    first = client_for(http_connect, job_key=JOB, max_item_retries=1).put_contacts(inputs)
    # Answered for under the last token that carried it: known not created.
    assert [r.request_identifier for r in first.retryable()] == ["crm-3"]
    http_connect.fake.reset_faults()
    client_for(http_connect, job_key=f"{JOB}/retry-1").put_contacts(first.retryable())
    rerun = client_for(http_connect, job_key=JOB, max_item_retries=1).put_contacts(inputs)
    # The same tokens replay the same answers: crm-3 is not created a second time.
    assert len(http_connect.contacts) == 30
    assert http_connect.duplicates() == {}
    assert [f.request_identifier for f in rerun.failed] == ["crm-3"]


# 3. An edited rerun: 409, and every item of that batch unknown, with what to do.
def test_an_edited_rerun_reports_the_conflicting_batch_unknown_and_says_why(http_connect):
    inputs = contacts(50)
    client_for(http_connect, job_key=JOB).put_contacts(inputs)
    edited = [*inputs]
    edited[30] = contact(999)
    rerun = client_for(http_connect, job_key=JOB).put_contacts(edited)
    assert len(rerun.succeeded) == 25  # batch 1, replayed
    assert {(f.code, f.retryable, f.outcome_unknown) for f in rerun.failed} == {
        ("IdempotencyException", False, True)
    }
    assert [f.position for f in rerun.failed] == list(range(25, 50))
    message = rerun.failed[0].message
    assert "input changed" in message
    assert "same job_key" in message
    assert rerun.retryable() == []
    assert len(http_connect.contacts) == 50
    assert_never_twice(http_connect, rerun)


# 4. A service that replays by token alone: changed content never reads as a success.
def test_a_token_only_replay_of_an_old_body_is_never_a_false_success(http_connect):
    inputs = contacts(25)
    client_for(http_connect, job_key=JOB).put_contacts(inputs)
    http_connect.fake.compare_bodies = False
    edited = [*inputs]
    edited[7] = contact(777)
    rerun = client_for(http_connect, job_key=JOB).put_contacts(edited)
    # The 24 unchanged inputs are the very contacts created; the edited one is unknown.
    assert [f.position for f in rerun.failed] == [7]
    assert rerun.failed[0].code == FailureCode.UNKNOWN_OUTCOME
    assert rerun.failed[0].outcome_unknown
    assert len(http_connect.contacts) == 25
    assert_never_twice(http_connect, rerun)
    created = {c.request_identifier for c in http_connect.contacts}
    assert rerun.failed[0].request_identifier not in created


# 6. The deadline: every consumed input answered, even when reading ahead raises.
class ClockAfterCalls:
    """A clock that moves 10 s per call the double answers: the deadline passes mid-run."""

    def __init__(self, double: ConnectDouble) -> None:
        self.double = double
        self.extra = 0.0

    def __call__(self) -> float:
        return 1000.0 + 10 * len(self.double.calls) + self.extra


def test_the_deadline_reads_no_input_past_the_one_that_found_it_passed(http_connect):
    clock = ClockAfterCalls(http_connect)

    def source():
        for i in range(31):
            if i == 30:
                clock.extra += 100  # the deadline passes while batch 2 is being read
            yield contact(i)
        raise RuntimeError("the export broke")  # never read: the run stops before it

    client = client_for(http_connect, deadline=15)  # met by batch 1, not by batch 2
    client.policy = attrs.evolve(client.policy, clock=clock)
    result = client.put_contacts(source())
    # Reading stopped at the input that found the deadline passed: 6 of batch 2 were read.
    assert sorted(o.position for o in (*result.succeeded, *result.failed)) == list(range(31))
    assert len(result.succeeded) == 25
    assert {f.code for f in result.failed} == {"DEADLINE_EXCEEDED"}
    assert len(http_connect.contacts) == 25
    assert_never_twice(http_connect, result)


# 7. A deadline that can no longer be met stops reading the iterator.
def test_a_deadline_that_cannot_be_met_stops_reading_the_iterator(http_connect):
    pulled = 0

    def endless():
        nonlocal pulled
        for i in itertools.count():
            pulled += 1
            yield contact(i)

    client = client_for(http_connect, max_requests_per_second=2, deadline=3, concurrency=2)
    started = time.monotonic()
    result = client.put_contacts(endless())
    assert time.monotonic() - started < 6
    sent = len(http_connect.calls)
    # What was read: the batches sent, and at most one batch per worker that found the
    # deadline could not be met; every input read is answered, the rest was never pulled.
    assert pulled <= (sent + 2) * 25
    assert len(result) == pulled
    assert len(result.succeeded) == len(http_connect.contacts)
    assert_never_twice(http_connect, result)


# 8. max_attempts is a hard cap on HTTP attempts per token, whatever the limiter knows.
def test_max_attempts_caps_attempts_per_token_under_concurrent_throttling(http_connect):
    http_connect.fake.throttle(rate=4, burst=4)
    result = client_for(http_connect, concurrency=8, max_attempts=1).put_contacts(
        contacts(1000)
    )
    attempts = collections.Counter(c.client_token for c in http_connect.calls)
    assert max(attempts.values()) == 1
    assert len(attempts) == 40
    assert_never_twice(http_connect, result)
    assert len(result) == 1000


# 9. Errors raised before anything is sent: NOT_SENT, known not created, what to fix.
def no_credentials_client(endpoint: str, monkeypatch: pytest.MonkeyPatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)
    monkeypatch.delenv("AWS_WEB_IDENTITY_TOKEN_FILE", raising=False)
    return boto3.Session(region_name="us-east-1").client("connect", endpoint_url=endpoint)


def failing_refresh_client(endpoint: str):
    def refresh():
        raise RuntimeError("the credential broker is down")

    credentials = botocore.credentials.RefreshableCredentials.create_from_metadata(
        metadata={"access_key": "a", "secret_key": "b", "token": "c",
                  "expiry_time": "2000-01-01T00:00:00Z"},
        refresh_using=refresh,
        method="test",
    )
    session = botocore.session.get_session()
    session._credentials = credentials
    return boto3.Session(botocore_session=session, region_name="us-east-1").client(
        "connect", endpoint_url=endpoint
    )


def bad_parameter_client(endpoint: str):
    client = boto3.client("connect", region_name="us-east-1", endpoint_url=endpoint)

    def spoil(params, **_):
        params["ClientToken"] = 12345  # not a string: botocore refuses before sending

    client.meta.events.register("provide-client-params.connect.BatchPutContact", spoil)
    return client


@pytest.mark.parametrize("job_key", [None, JOB])
@pytest.mark.parametrize("kind", ["no credentials", "refresh fails", "bad parameters"])
def test_errors_before_sending_stop_the_run_as_not_sent(
    http_connect, moto_server, monkeypatch, kind, job_key
):
    if kind == "no credentials":
        client = no_credentials_client(moto_server, monkeypatch)
    elif kind == "refresh fails":
        client = failing_refresh_client(moto_server)
    else:
        client = bad_parameter_client(moto_server)
    batch_client = ContactBatchClient(
        client, instance_id=http_connect.instance_id, job_key=job_key, sleep=no_sleep
    )
    with pytest.raises(NotSentError) as caught:
        batch_client.put_contacts(contacts(60))
    error = caught.value
    assert "the request was not sent" in str(error)
    result = error.result
    assert len(result) == 60
    assert {f.code for f in result.failed} == {"NOT_SENT"}
    assert all(f.retryable for f in result.failed)
    # Rule (b): no token left; only without a job key can no earlier run have sent one.
    assert {f.outcome_unknown for f in result.failed} == {job_key is not None}
    assert http_connect.calls == []
    if kind == "bad parameters":
        assert "12345" not in str(error)


# 10. Answers worth a replay are replayed under the same token, within max_attempts.
@pytest.mark.parametrize(
    "fault", [Fault.garbled(), Fault.truncated(), Fault.error(408, "RequestTimeout")],
    ids=["garbled 200", "truncated 200", "proxy 408"],
)
def test_damaged_answers_are_retried_under_the_same_token(http_connect, fault):
    inputs = contacts(30)
    http_connect.fake.plan(fault)
    result = client_for(http_connect, max_attempts=2).put_contacts(inputs)
    assert result.all_succeeded
    first_token = http_connect.calls[0].client_token
    assert [c.client_token for c in http_connect.calls[:2]] == [first_token] * 2
    assert len(http_connect.contacts) == 30
    assert_never_twice(http_connect, result)


def test_a_damaged_answer_that_stays_damaged_uses_exactly_max_attempts(http_connect):
    http_connect.fake.plan(Fault.garbled(), Fault.garbled(), Fault.garbled())
    result = client_for(http_connect, max_attempts=3).put_contacts(contacts(10))
    assert len(http_connect.calls) == 3
    assert {(f.code, f.retryable, f.outcome_unknown) for f in result.failed} == {
        ("UNREADABLE_ANSWER", True, True)
    }
    assert result.retryable() == []
    assert_never_twice(http_connect, result)


# 5 (threads). One client, one job per thread: the batcher shared, and plain runs.
def test_a_shared_batcher_answers_every_input_once_from_many_threads(http_connect):
    http_connect.fake.plan(Fault.throttle(), None, Fault.error(after_commit=True), None,
                           Fault.dropped())
    inputs = contacts(400)
    client = client_for(http_connect)
    with client.batcher() as batcher:
        threads = [
            threading.Thread(target=lambda part: [batcher.put(c) for c in part],
                             args=(inputs[i::8],))
            for i in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    result = batcher.result
    assert sorted(id(o.request) for o in (*result.succeeded, *result.failed)) == sorted(
        map(id, inputs)
    )
    assert batcher.unsent == []
    assert all(len(c.request_identifiers) <= 25 for c in http_connect.calls)
    assert_never_twice(http_connect, result)


def test_an_answer_later_than_read_timeout_is_retried_without_a_duplicate(
    moto_server, http_connect
):
    # A slow answer past read_timeout is a lost answer: retried under the same token.
    client = boto3.client(
        "connect", region_name="us-east-1", endpoint_url=moto_server,
        config=Config(read_timeout=0.3, connect_timeout=2),
    )
    http_connect.fake.plan(Fault.slow(0.8))
    result = ContactBatchClient(
        client, instance_id=http_connect.instance_id, job_key=JOB, sleep=no_sleep
    ).put_contacts(contacts(10))
    assert result.all_succeeded
    assert_never_twice(http_connect, result)
