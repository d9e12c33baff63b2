"""Retries: what is retried, how often, under which token, and what is reported at the end."""

from __future__ import annotations

import datetime

import attrs
import boto3
import pytest
from botocore.config import Config

from connect_batch import (
    AccessDeniedError,
    AdaptiveRateLimiter,
    ConfigurationError,
    ContactBatchClient,
    FailureCode,
    InputError,
    InstanceNotFoundError,
    NoLimit,
    RunAbortedError,
)
from connect_batch.testing import Fault, no_sleep
from tests.builders import contact, contacts


def test_permanent_throttling_makes_exactly_max_attempts_attempts(fake_connect):
    fake_connect.fake.throttle(rate=0, burst=0)
    result = fake_connect.batch_client(max_attempts=3).put_contacts(contacts(5))
    assert len(fake_connect.calls) == 3
    assert {c.outcome for c in fake_connect.calls} == {"throttled"}
    assert len({c.client_token for c in fake_connect.calls}) == 1
    assert [f.code for f in result.failed] == [FailureCode.LIMIT_EXCEEDED] * 5
    assert all(f.retryable and not f.outcome_unknown for f in result.failed)
    assert fake_connect.contacts == []


@pytest.mark.parametrize("mode", ["legacy", "standard", "adaptive"])
def test_botocore_retries_do_not_multiply_attempts_in_any_mode(fake_connect, mode):
    client = boto3.client("connect", region_name="us-east-1", config=Config(retries={"mode": mode}))
    fake_connect.fake.throttle(rate=0, burst=0)
    ContactBatchClient(
        client, instance_id=fake_connect.instance_id, max_attempts=2, sleep=no_sleep
    ).put_contacts(contacts(1))
    assert len(fake_connect.calls) == 2


def test_the_callers_own_calls_keep_botocores_retries(fake_connect):
    fake_connect.batch_client()  # installs the library's handler on this client
    fake_connect.fake.fail_calls(2)
    fake_connect.client.batch_put_contact(
        InstanceId=fake_connect.instance_id,
        ContactDataRequestList=[contact(0).to_api("own-call")],
    )
    # botocore (legacy mode) retried the caller's own call twice: three attempts in all.
    assert [c.outcome for c in fake_connect.calls] == ["error", "error", "answered"]


@pytest.mark.parametrize(
    "fault",
    [Fault.throttle(), Fault.error(), Fault.error(503, "ServiceUnavailableException")],
    ids=["429", "500", "503"],
)
def test_transient_call_errors_are_retried_under_the_same_token(fake_connect, fault):
    fake_connect.fake.plan(fault, fault)
    result = fake_connect.batch_client().put_contacts(contacts(3))
    assert result.all_succeeded
    assert len(fake_connect.calls) == 3
    assert len({c.client_token for c in fake_connect.calls}) == 1
    assert len(fake_connect.contacts) == 3


def test_a_500_after_the_service_acted_is_replayed_not_duplicated(fake_connect):
    fake_connect.fake.plan(Fault.error(after_commit=True))
    result = fake_connect.batch_client().put_contacts(contacts(10))
    assert [c.outcome for c in fake_connect.calls] == ["error", "replayed"]
    assert fake_connect.duplicates() == {}
    assert {s.contact_id for s in result.succeeded} == {c.contact_id for c in fake_connect.contacts}


def test_a_lost_answer_is_retried_under_the_same_token(fake_connect):
    fake_connect.fake.plan(Fault.dropped())
    result = fake_connect.batch_client().put_contacts(contacts(10))
    assert [c.outcome for c in fake_connect.calls] == ["dropped", "replayed"]
    assert len({c.client_token for c in fake_connect.calls}) == 1
    assert len(result.succeeded) == 10
    assert len(fake_connect.contacts) == 10


def test_exhausted_after_a_lost_answer_reports_the_outcome_unknown(fake_connect):
    fake_connect.fake.plan(Fault.dropped(), Fault.throttle())
    result = fake_connect.batch_client(max_attempts=2).put_contacts(contacts(2))
    # The last error was a throttle, but the first attempt may have created them: it did.
    assert [f.code for f in result.failed] == ["LimitExceededException"] * 2
    assert all(f.retryable and f.outcome_unknown for f in result.failed)
    assert len(fake_connect.contacts) == 2


def test_invalid_request_fails_that_batch_only_and_the_run_goes_on(fake_connect):
    fake_connect.fake.plan(None, Fault.error(400, "InvalidRequestException"))
    result = fake_connect.batch_client().put_contacts(contacts(60))
    assert len(result.succeeded) == 35
    assert [f.position for f in result.failed] == list(range(25, 50))
    assert {(f.code, f.retryable) for f in result.failed} == {("InvalidRequestException", False)}
    assert len(fake_connect.calls) == 3
    assert len(fake_connect.contacts) == 35


def test_idempotency_conflict_fails_that_batch_without_retry(fake_connect):
    fake_connect.fake.plan(Fault.error(409, "IdempotencyException"))
    result = fake_connect.batch_client().put_contacts(contacts(3))
    assert {(f.code, f.retryable) for f in result.failed} == {("IdempotencyException", False)}
    assert len(fake_connect.calls) == 1


def test_access_denied_stops_the_run_and_carries_what_was_created(fake_connect):
    fake_connect.fake.plan(None, Fault.error(403, "AccessDeniedException"))
    with pytest.raises(AccessDeniedError) as caught:
        fake_connect.batch_client().put_contacts(contacts(100))
    error = caught.value
    assert isinstance(error, RunAbortedError)
    assert "outbound campaigns" in str(error)
    assert "service principal" in str(error)
    assert error.code == "AccessDeniedException"
    assert len(error.result.succeeded) == 25
    assert {s.contact_id for s in error.result.succeeded} == {
        c.contact_id for c in fake_connect.contacts
    }
    # The refused batch fails with the service's code; the rest of the list, already read,
    # is answered as not sent.
    assert [f.position for f in error.result.failed] == list(range(25, 100))
    assert {f.code for f in error.result.failed[:25]} == {"AccessDeniedException"}
    assert {(f.code, f.retryable) for f in error.result.failed[25:]} == {("NOT_SENT", True)}
    assert len(fake_connect.calls) == 2


def test_unknown_instance_stops_the_run_with_instance_not_found(fake_connect):
    client = ContactBatchClient(fake_connect.client, instance_id="missing", sleep=no_sleep)
    with pytest.raises(InstanceNotFoundError, match="missing") as caught:
        client.put_contacts(iter(contacts(30)))
    # An iterator is read one batch at a time: only the refused batch was consumed.
    assert len(caught.value.result) == 25
    assert len(fake_connect.fake.calls) == 1


def test_an_unexpected_error_stops_the_run_carrying_the_result(fake_connect):
    class BrokenError(Exception):
        pass

    calls = 0
    original = fake_connect.client.batch_put_contact

    def flaky(**kwargs):
        nonlocal calls
        calls += 1
        answer = original(**kwargs)
        if calls == 2:
            raise BrokenError  # after the request went out: its outcome is unknown
        return answer

    fake_connect.client.batch_put_contact = flaky
    with pytest.raises(RunAbortedError) as caught:
        fake_connect.batch_client().put_contacts(contacts(60))
    assert isinstance(caught.value.__cause__, BrokenError)
    assert len(caught.value.result.succeeded) == 25
    failed = caught.value.result.failed
    assert all(f.outcome_unknown for f in failed[:25])  # the call in flight may have acted
    assert {f.code for f in failed[25:]} == {"NOT_SENT"}
    assert len(caught.value.result) == 60


def test_backoff_is_full_jitter_exponential_and_capped(fake_connect):
    fake_connect.fake.throttle(rate=0, burst=0)
    draws: list[list[float]] = []
    for _ in range(30):
        sleeps: list[float] = []
        ContactBatchClient(
            fake_connect.client,
            instance_id=fake_connect.instance_id,
            max_attempts=6,
            initial_backoff=0.5,
            max_backoff=datetime.timedelta(seconds=3),
            rate_limiter=NoLimit(),  # only the backoff's waits, not the pacing's
            sleep=sleeps.append,
        ).put_contacts(contacts(1))
        draws.append(sleeps)
    ceilings = [0.5, 1.0, 2.0, 3.0, 3.0]
    by_retry = list(zip(*draws, strict=True))
    assert len(by_retry) == 5
    for retry, (values, ceiling) in enumerate(zip(by_retry, ceilings, strict=True)):
        assert all(0 <= v <= ceiling for v in values)
        assert len(set(values)) > 1, "no jitter"
        if retry:  # the range grows: some draw exceeds the previous ceiling
            assert max(values) > ceilings[retry - 1] or ceiling == ceilings[retry - 1]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_deadline_bounds_the_waits_of_a_throttled_run(fake_connect):
    clock = FakeClock()
    fake_connect.fake.throttle(rate=0, burst=0)
    client = fake_connect.batch_client(
        max_attempts=100,
        deadline=5.0,
        initial_backoff=1.0,
        max_backoff=2.0,
        sleep=clock.sleep,
        rate_limiter=AdaptiveRateLimiter(clock=clock, sleep=clock.sleep),  # paces on it too
    )
    client.policy = attrs.evolve(client.policy, clock=clock)
    result = client.put_contacts(contacts(60))
    assert clock.now < 1005.0
    assert len(result.failed) == 60
    assert all(f.retryable for f in result.failed)
    assert fake_connect.contacts == []


def client_with_slow_calls(fake_connect, *, deadline):
    """A client on a fake clock where every call takes 10 s, twice a 5 s deadline."""
    clock = FakeClock()
    client = fake_connect.batch_client(deadline=deadline)
    client.policy = attrs.evolve(client.policy, clock=clock)
    original = fake_connect.client.batch_put_contact

    def slow(**kwargs):
        clock.now += 10
        return original(**kwargs)

    fake_connect.client.batch_put_contact = slow
    return client


def test_batches_after_the_deadline_are_answered_without_being_sent(fake_connect):
    client = client_with_slow_calls(fake_connect, deadline=datetime.timedelta(seconds=5))
    result = client.put_contacts(contacts(60))
    assert len(result.succeeded) == 25
    assert [f.position for f in result.failed] == list(range(25, 60))
    assert {(f.code, f.retryable) for f in result.failed} == {("DEADLINE_EXCEEDED", True)}
    assert len(fake_connect.calls) == 1


def test_an_iterable_that_raises_stops_the_run_carrying_what_was_created(fake_connect):
    def source():
        yield from contacts(30)
        raise OSError("database cursor closed")

    with pytest.raises(InputError) as caught:
        fake_connect.batch_client().put_contacts(source())
    error = caught.value
    assert isinstance(error.__cause__, OSError)
    assert error.code == "OSError"
    assert len(error.result.succeeded) == 25
    assert {s.contact_id for s in error.result.succeeded} == {
        c.contact_id for c in fake_connect.contacts
    }
    assert [(f.position, f.code) for f in error.result.failed] == [
        (p, "NOT_SENT") for p in range(25, 30)
    ]


def test_a_deadline_stops_reading_an_iterator_and_leaves_the_rest_in_it(fake_connect, caplog):
    client = client_with_slow_calls(fake_connect, deadline=5)
    source = iter(contacts(100))
    # The deadline passes during batch 1's call: the call returns, it does not raise.
    result = client.put_contacts(source)
    assert len(result.succeeded) == 25
    assert result.failed == ()
    # Nothing was read past what the run sent: the rest is the caller's, in order.
    assert next(source) == contact(25)
    assert len(list(source)) == 74
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1
    assert "stays in it" in warnings[0].getMessage()


def test_a_deadline_answers_a_list_and_an_iterator_alike_up_to_what_was_read(fake_connect):
    """One behaviour for any input type: the call returns; a list's unread items are
    answered DEADLINE_EXCEEDED (the library holds them), an iterator's are left in it."""
    as_list = client_with_slow_calls(fake_connect, deadline=15).put_contacts(contacts(100))
    assert len(as_list.succeeded) == 50
    assert [f.position for f in as_list.failed] == list(range(50, 100))
    assert {f.code for f in as_list.failed} == {"DEADLINE_EXCEEDED"}
    source = iter(contacts(100))
    as_iterator = client_with_slow_calls(fake_connect, deadline=15).put_contacts(source)
    assert len(as_iterator.succeeded) == 50
    assert as_iterator.failed == ()
    assert next(source) == contact(50)


def test_a_call_deadline_overrides_the_clients(fake_connect):
    client = client_with_slow_calls(fake_connect, deadline=1000)
    result = client.put_contacts(contacts(60), deadline=datetime.timedelta(seconds=5))
    assert len(result.succeeded) == 25
    assert {f.code for f in result.failed} == {"DEADLINE_EXCEEDED"}
    # The client's own deadline is untouched: the next call has its 1000 s.
    assert len(client.put_contacts(contacts(60)).succeeded) == 60


def test_a_call_deadline_applies_without_a_client_deadline(fake_connect):
    client = client_with_slow_calls(fake_connect, deadline=None)
    source = iter(contacts(60))
    result = client.put_contacts(source, deadline=15)
    assert len(result.succeeded) == 50
    assert next(source) == contact(50)


@pytest.mark.parametrize("spent", [0, -3.5, datetime.timedelta(seconds=-1)])
def test_a_spent_call_deadline_sends_nothing(fake_connect, spent):
    client = client_with_slow_calls(fake_connect, deadline=None)
    result = client.put_contacts(contacts(30), deadline=spent)
    assert [f.code for f in result.failed] == ["DEADLINE_EXCEEDED"] * 30
    source = iter(contacts(30))
    assert len(client.put_contacts(source, deadline=spent)) == 0
    assert len(list(source)) == 30
    assert fake_connect.calls == []


@pytest.mark.parametrize("bad", [True, "5", float("nan"), [5]])
def test_a_call_deadline_that_is_no_duration_is_refused_before_sending(fake_connect, bad):
    with pytest.raises(ConfigurationError, match="deadline"):
        fake_connect.batch_client().put_contacts(contacts(3), deadline=bad)
    assert fake_connect.calls == []


def test_a_call_deadline_bounds_a_stream_and_a_batcher(fake_connect):
    client = client_with_slow_calls(fake_connect, deadline=None)
    with client.iter_put_contacts(contacts(60), deadline=5) as stream:
        outcomes = list(stream)
    assert sorted(o.position for o in outcomes) == list(range(60))
    assert sum(o.code == "DEADLINE_EXCEEDED" for o in outcomes if hasattr(o, "code")) == 35
    with client.batcher(deadline=5) as batcher:
        for c in contacts(50):
            batcher.put(c)
    assert len(batcher.result.succeeded) == 25
    assert {f.code for f in batcher.result.failed} == {"DEADLINE_EXCEEDED"}
