"""The outbound campaigns clients (v2 and v1) against the double's ledger, in-process.

Over real HTTP, the fault matrix and the kill-and-rerun tests are in ``tests/faults``.
"""

from __future__ import annotations

import datetime
import logging

import pytest

from connect_batch import (
    AccessDeniedError,
    AdaptiveRateLimiter,
    CampaignNotFoundError,
    CampaignStateError,
    ContactValidationError,
    DialRequest,
    DialRequestBatchClient,
    Failure,
    FailureCode,
    OutboundRequest,
    OutboundRequestBatchClient,
    Success,
)
from connect_batch._engine.retry import CAPACITY_BACKOFF
from connect_batch.operations.campaigns_v2 import PutOutboundRequestBatchOperation
from connect_batch.testing import Fault
from tests.builders import dial, dials, outbound, outbounds

UTC = datetime.timezone.utc


def _parse(stamp: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _ids(double):
    return {r.client_token: r.id for r in double.requests}


def test_template_messages_without_parameters_are_created(fake_connect):
    requests = [
        OutboundRequest.sms("+14155550101"),
        OutboundRequest.email("someone@example.com"),
        OutboundRequest.whatsapp("+14155550102"),
    ]
    result = fake_connect.outbound_client().put_requests(requests)
    assert result.all_succeeded
    assert sorted((r.channel, dict(r.parameters)) for r in fake_connect.requests) == [
        ("email", {}), ("sms", {}), ("whatsapp", {})
    ]


# What is created, and how it is reported.
def test_v2_puts_every_channel_and_reports_the_ids_the_service_created(fake_connect):
    requests = [
        OutboundRequest.telephony("+14155550100", attributes={"k": "v1"}, ring_timeout=30),
        OutboundRequest.sms("+14155550101", template_parameters={"name": "v2"}),
        OutboundRequest.email("someone@example.com", template_parameters={"name": "v3"}),
        OutboundRequest.whatsapp("+14155550102", template_parameters={"name": "v4"}),
    ]
    result = fake_connect.outbound_client().put_requests(requests)
    assert result.all_succeeded
    ledger = fake_connect.requests
    assert sorted(r.channel for r in ledger) == ["email", "sms", "telephony", "whatsapp"]
    ids = _ids(fake_connect)
    for success in result.succeeded:
        assert success.request is requests[success.position]
        assert success.client_token is not None
        assert ids[success.client_token] == success.id
        assert success.request_identifier is None


def test_v1_puts_dial_requests(fake_connect):
    inputs = dials(30)
    result = fake_connect.dial_client().put_requests(inputs)
    assert len(result.succeeded) == 30
    assert len(fake_connect.requests) == 30
    assert {r.api for r in fake_connect.requests} == {"v1"}
    ids = _ids(fake_connect)
    assert all(ids[s.client_token] == s.id for s in result.succeeded)


def test_tokens_are_the_callers_or_job_derived_or_random(fake_connect):
    client = fake_connect.outbound_client()
    given = client.put_requests([outbound(0, client_token="crm-row-0")])
    assert given.succeeded[0].client_token == "crm-row-0"
    first = client.put_requests(outbounds(3, start=10), job_key="job-a")
    again = client.put_requests(outbounds(3, start=10), job_key="job-a")
    assert [s.client_token for s in first.succeeded] == [s.client_token for s in again.succeeded]
    # The content is part of a job-derived token: an edited item gets a token of its own.
    edited = client.put_requests([outbound(99), *outbounds(2, start=11)], job_key="job-a")
    assert edited.succeeded[0].client_token != first.succeeded[0].client_token
    random_tokens = client.put_requests(outbounds(2, start=10))
    assert {s.client_token for s in random_tokens.succeeded}.isdisjoint(
        {s.client_token for s in first.succeeded}
    )


def test_rerunning_a_job_creates_nothing_and_reports_the_first_ids(fake_connect):
    client = fake_connect.outbound_client(job_key="campaign-7/2026-11-27")
    first = client.put_requests(outbounds(60))
    second = client.put_requests(outbounds(60))
    assert len(fake_connect.requests) == 60
    assert [s.id for s in first.succeeded] == [s.id for s in second.succeeded]


def test_a_repeated_caller_token_stops_the_run_before_anything_is_sent(fake_connect):
    inputs = [outbound(0, client_token="same"), outbound(1), outbound(2, client_token="same")]
    with pytest.raises(ContactValidationError) as caught:
        fake_connect.outbound_client().put_requests(inputs)
    assert caught.value.field == "client_token"
    assert caught.value.position == 2
    assert fake_connect.fake_campaigns.calls == []


def test_the_wrong_request_type_is_refused_naming_the_position(fake_connect):
    with pytest.raises(ContactValidationError) as caught:
        fake_connect.outbound_client().put_requests([outbound(0), dial(1)])
    assert caught.value.position == 1
    assert "OutboundRequest" in str(caught.value)


# Per-item idempotency: what is resent, under which token.
def test_items_left_out_of_an_answer_are_sent_again_under_their_own_tokens(fake_connect):
    inputs = [outbound(i, client_token=f"t-{i}") for i in range(5)]
    fake_connect.fake_campaigns.omit_items(["t-1", "t-3"])
    result = fake_connect.outbound_client().put_requests(inputs)
    assert result.all_succeeded
    assert len(fake_connect.requests) == 5
    ids = _ids(fake_connect)
    assert all(ids[s.client_token] == s.id for s in result.succeeded)
    # The second call carried only the two items whose answer never came.
    assert [sorted(c.client_tokens) for c in fake_connect.fake_campaigns.calls] == [
        [f"t-{i}" for i in range(5)],
        ["t-1", "t-3"],
    ]


def test_an_item_never_answered_is_reported_unknown_after_the_retries(fake_connect):
    inputs = [outbound(i, client_token=f"t-{i}") for i in range(3)]
    for _ in range(4):
        fake_connect.fake_campaigns.omit_items(["t-2"])
    result = fake_connect.outbound_client(max_item_retries=1).put_requests(inputs)
    assert len(result.succeeded) == 2
    (failure,) = result.failed
    assert failure.code == FailureCode.UNKNOWN_OUTCOME
    assert failure.outcome_unknown
    assert result.retryable() == []
    assert len(fake_connect.fake_campaigns.created_for_token("t-2")) == 1


@pytest.mark.parametrize(
    "fault",
    [Fault.error(after_commit=True), Fault.dropped(), Fault.garbled(), Fault.error()],
    ids=["500-after-commit", "dropped", "garbled", "500-before"],
)
def test_whole_call_faults_are_retried_without_creating_twice(fake_connect, fault):
    fake_connect.fake_campaigns.plan(fault, fault)
    result = fake_connect.outbound_client().put_requests(outbounds(30))
    assert result.all_succeeded
    assert len(fake_connect.requests) == 30
    assert fake_connect.fake_campaigns.duplicates(fake_connect.campaign_id) == {}
    ids = _ids(fake_connect)
    assert all(ids[s.client_token] == s.id for s in result.succeeded)


# Capacity: two per-item codes that pause the run (the backlog is full), the pace kept.
@pytest.mark.parametrize("code", ["RequestThrottled", "BufferLimitExceeded"])
def test_capacity_answers_pause_the_pacer_and_back_off_before_resending(fake_connect, code):
    waits: list[float] = []
    paused: list[float] = []
    limiter = AdaptiveRateLimiter(max_rate=50, sleep=paused.append)
    inputs = [outbound(i, client_token=f"t-{i}") for i in range(10)]
    fake_connect.fake_campaigns.fail_items({"t-4": code, "t-7": code}, times=2)
    result = fake_connect.outbound_client(rate_limiter=limiter, sleep=waits.append).put_requests(
        inputs
    )
    assert result.all_succeeded
    assert len(fake_connect.requests) == 10
    assert limiter.rate == pytest.approx(50 * 0.98)  # not cut: capacity is not the rate
    # The pacer paused (1 s, then 2 s: the refusals persisted) and was reset by the answer
    # that refused nothing.
    assert max(paused) >= 0.9
    assert limiter.paused_for == 0
    # Two resubmission rounds, each waiting at least half the capacity back-off.
    assert len(waits) == 2
    assert waits[0] >= CAPACITY_BACKOFF / 2
    assert waits[1] >= CAPACITY_BACKOFF


def test_capacity_that_never_comes_is_reported_retryable_and_known_not_created(fake_connect):
    inputs = [outbound(i, client_token=f"t-{i}") for i in range(3)]
    fake_connect.fake_campaigns.fail_items({"t-1": "RequestThrottled"}, times=10)
    result = fake_connect.outbound_client(max_item_retries=2).put_requests(inputs)
    (failure,) = result.failed
    assert failure.code == "RequestThrottled"
    assert failure.retryable
    assert not failure.outcome_unknown
    assert "capacity" in failure.message
    assert result.retryable() == [inputs[1]]
    assert fake_connect.fake_campaigns.created_for_token("t-1") == []


def test_unknown_error_that_persists_is_reported_unknown(fake_connect):
    inputs = [outbound(i, client_token=f"t-{i}") for i in range(2)]
    fake_connect.fake_campaigns.fail_items({"t-0": "UnknownError"}, times=10)
    result = fake_connect.outbound_client(max_item_retries=1).put_requests(inputs)
    (failure,) = result.failed
    assert (failure.code, failure.retryable, failure.outcome_unknown) == (
        "UnknownError", True, True,
    )


def test_invalid_input_is_final_and_known_not_created(fake_connect):
    inputs = [outbound(i, client_token=f"t-{i}") for i in range(2)]
    fake_connect.fake_campaigns.fail_items({"t-0": "InvalidInput"})
    result = fake_connect.outbound_client().put_requests(inputs)
    (failure,) = result.failed
    assert (failure.code, failure.retryable, failure.outcome_unknown) == (
        "InvalidInput", False, False,
    )
    assert len(fake_connect.fake_campaigns.calls) == 1


# Run-stopping errors.
@pytest.mark.parametrize("state", ["Paused", "Stopped", "Initialized"])
def test_a_campaign_not_running_stops_the_run_with_its_state(fake_connect, state):
    fake_connect.fake_campaigns.set_campaign_state(fake_connect.campaign_id, state)
    with pytest.raises(CampaignStateError) as caught:
        fake_connect.outbound_client().put_requests(outbounds(60))
    error = caught.value
    assert error.state == state
    assert "Running" in str(error)
    assert len(error.result) == 60
    assert all(not f.outcome_unknown for f in error.result.failed)
    assert fake_connect.requests == []


def test_a_v1_campaign_paused_through_moto_stops_the_run(fake_connect):
    fake_connect.campaigns_v1.pause_campaign(id=fake_connect.v1_campaign_id)
    with pytest.raises(CampaignStateError) as caught:
        fake_connect.dial_client().put_requests(dials(3))
    assert caught.value.state == "Paused"


def test_an_unknown_campaign_stops_the_run(fake_connect):
    client = OutboundRequestBatchClient(fake_connect.campaigns, campaign_id="no-such-campaign")
    with pytest.raises(CampaignNotFoundError) as caught:
        client.put_requests(outbounds(2))
    assert "no-such-campaign" in str(caught.value)
    assert len(caught.value.result.failed) == 2


@pytest.mark.parametrize(
    ("make", "action"),
    [
        (lambda d: d.outbound_client(), "connect-campaigns:PutOutboundRequestBatch"),
        (lambda d: d.dial_client(), "connect-campaigns:PutDialRequestBatch"),
    ],
)
def test_access_denied_names_the_iam_action(fake_connect, make, action):
    fake_connect.fake_campaigns.plan(Fault.error(403, "AccessDeniedException"))
    inputs = outbounds(2) if "Outbound" in action else dials(2)
    with pytest.raises(AccessDeniedError) as caught:
        make(fake_connect).put_requests(inputs)
    assert action in str(caught.value)


def test_a_validation_exception_fails_the_call_for_good(fake_connect):
    fake_connect.fake_campaigns.plan(Fault.error(400, "ValidationException"))
    result = fake_connect.outbound_client().put_requests(outbounds(30))
    assert [f.code for f in result.failed] == ["ValidationException"] * 25
    assert not any(f.outcome_unknown or f.retryable for f in result.failed)
    assert len(result.succeeded) == 5


def test_a_conflict_exception_is_reported_unknown(fake_connect):
    fake_connect.fake_campaigns.plan(Fault.error(409, "ConflictException"))
    result = fake_connect.outbound_client().put_requests(outbounds(3))
    assert all(f.outcome_unknown and f.code == "ConflictException" for f in result.failed)


# Expiration, checked when the call is sent.
def test_an_item_already_expired_is_answered_expired_and_never_sent(fake_connect):
    past = datetime.datetime.now(UTC) - datetime.timedelta(seconds=1)
    inputs = [outbound(0, expires=past), outbound(1, client_token="ok")]
    result = fake_connect.outbound_client().put_requests(inputs)
    (failure,) = result.failed
    assert (failure.code, failure.retryable, failure.outcome_unknown) == ("EXPIRED", False, False)
    assert [c.client_tokens for c in fake_connect.fake_campaigns.calls] == [("ok",)]


def test_v1_refuses_to_send_with_less_than_30_seconds_left(fake_connect):
    soon = datetime.datetime.now(UTC) + datetime.timedelta(seconds=20)
    result = fake_connect.dial_client().put_requests([dial(0, expires=soon)])
    assert [f.code for f in result.failed] == ["EXPIRED"]
    assert fake_connect.fake_campaigns.calls == []


def test_v1_sends_a_far_expiry_as_898_seconds_from_the_call(fake_connect):
    later = datetime.datetime.now(UTC) + datetime.timedelta(hours=2)
    client = fake_connect.dial_client()
    now = datetime.datetime.now(UTC)
    client.wall_clock = lambda: now
    result = client.put_requests([dial(0, expires=later)])
    assert result.all_succeeded
    sent = _parse(fake_connect.requests[0].expiration_time)
    assert sent == now + datetime.timedelta(seconds=898)


def test_a_timedelta_counts_from_the_call_not_from_the_build(fake_connect):
    request = outbound(0, expires=datetime.timedelta(seconds=40))
    # The request is built, then waits (in a queue, say) longer than its own lifetime.
    waited = datetime.timedelta(minutes=5)
    client = fake_connect.outbound_client()
    later = datetime.datetime.now(UTC) + waited
    client.wall_clock = lambda: later
    result = client.put_requests([request])
    assert result.all_succeeded
    assert _parse(fake_connect.requests[0].expiration_time) == later + datetime.timedelta(
        seconds=40
    )


def test_expired_under_a_job_key_may_have_been_sent_by_an_earlier_run(fake_connect):
    past = datetime.datetime.now(UTC) - datetime.timedelta(seconds=1)
    result = fake_connect.outbound_client(job_key="j").put_requests([outbound(0, expires=past)])
    (failure,) = result.failed
    assert failure.code == "EXPIRED"
    assert failure.outcome_unknown


# Pacing defaults.
def test_campaign_clients_start_at_the_documented_default_rate(fake_connect):
    from connect_batch import DEFAULT_CAMPAIGN_RATE  # noqa: PLC0415

    assert fake_connect.outbound_client().rate_limiter.rate == DEFAULT_CAMPAIGN_RATE
    # A rate given is paced a hair under (headroom, 0.98), so jitter never drains the bucket.
    given = fake_connect.dial_client(max_requests_per_second=7).rate_limiter
    assert given.rate == pytest.approx(7 * 0.98)


# Streaming and the batcher.
def test_iter_put_requests_and_the_batcher_answer_every_input(fake_connect):
    client = fake_connect.outbound_client()
    with client.iter_put_requests(outbounds(40)) as stream:
        streamed = list(stream)
    assert sorted(o.position for o in streamed) == list(range(40))
    with client.batcher() as batcher:
        for request in outbounds(30, start=100):
            batcher.put(request)
    assert len(batcher.result.succeeded) == 30
    assert len(fake_connect.requests) == 70


# Personal data.
def test_no_phone_email_or_parameter_value_in_logs_reprs_or_errors(fake_connect, caplog):
    # botocore's own DEBUG logging prints request bodies (documented); the library's must not.
    caplog.set_level(logging.DEBUG, logger="connect_batch")
    secret_phone, secret_email, secret_value = "+14155550199", "private@example.com", "s3cr3t"
    inputs = [
        OutboundRequest.telephony(secret_phone, attributes={"k": secret_value}),
        OutboundRequest.email(secret_email, template_parameters={"k": secret_value}),
    ]
    fake_connect.fake_campaigns.plan(Fault.error(after_commit=True), Fault.throttle())
    fake_connect.fake_campaigns.fail_items({}, times=1)
    result = fake_connect.outbound_client().put_requests(inputs)
    own_logs = [r.getMessage() for r in caplog.records if r.name.startswith("connect_batch")]
    assert own_logs
    texts = [*own_logs, repr(result), *map(repr, inputs), *map(str, result.succeeded)]
    for text in texts:
        for secret in (secret_phone, secret_email, secret_value):
            assert secret not in text
    fake_connect.fake_campaigns.set_campaign_state(fake_connect.campaign_id, "Paused")
    with pytest.raises(CampaignStateError) as caught:
        fake_connect.outbound_client().put_requests(inputs)
    assert secret_phone not in str(caught.value)
    assert secret_phone not in repr(caught.value.result)


def test_outcome_types_are_generic_over_the_request(fake_connect):
    result = fake_connect.dial_client().put_requests([dial(0)])
    success = result.succeeded[0]
    assert isinstance(success, Success)
    assert isinstance(success.request, DialRequest)
    assert not isinstance(success, Failure)
    assert isinstance(DialRequestBatchClient, type)


# Reruns of a job: tokens follow the person, not the position (found in review).
def _rerun(double, first, second, **options):
    client = double.outbound_client(job_key="job-r", **options)
    first_result = client.put_requests(first)
    created = len(double.requests)
    second_result = client.put_requests(second)
    return first_result, second_result, created


def test_a_rerun_with_a_row_removed_or_reordered_calls_nobody_twice(fake_connect):
    inputs = outbounds(40)
    _, removed, created = _rerun(fake_connect, inputs, inputs[1:])
    assert created == len(fake_connect.requests) == 40
    reordered = fake_connect.outbound_client(job_key="job-r").put_requests(inputs[::-1])
    assert len(fake_connect.requests) == 40
    ids = _ids(fake_connect)
    assert all(ids[s.client_token] == s.id for s in (*removed.succeeded, *reordered.succeeded))


def test_a_rerun_rebuilt_with_a_new_absolute_expiry_calls_nobody_twice(fake_connect):
    def build():
        soon = datetime.datetime.now(UTC) + datetime.timedelta(minutes=10)
        return [outbound(i, expires=soon) for i in range(10)]

    _, again, created = _rerun(fake_connect, build(), build())
    assert created == len(fake_connect.requests) == 10
    assert again.all_succeeded


def test_an_edited_request_without_a_key_is_a_new_request(fake_connect):
    # Documented: what a request says is its identity when it has no key=; an edit is a
    # new request, and the service is asked to create it (the rest replay).
    edited = [outbound(0, attributes={"customer_name": "changed"}), *outbounds(3, start=1)]
    first, second, created = _rerun(fake_connect, outbounds(4), edited)
    assert created == 4
    assert len(fake_connect.requests) == 5
    assert second.succeeded[0].id != first.succeeded[0].id
    assert [s.id for s in second.succeeded[1:]] == [s.id for s in first.succeeded[1:]]


def test_an_edited_request_with_a_key_replays_the_first_one(fake_connect):
    def build(name_of_first: str) -> list[OutboundRequest]:
        return [
            outbound(i, key=f"crm-{i}", attributes={"customer_name": name_of_first if i == 0
                                                     else f"Person {i}"})
            for i in range(4)
        ]

    first, second, created = _rerun(fake_connect, build("Person 0"), build("changed"))
    assert created == len(fake_connect.requests) == 4
    assert [s.id for s in second.succeeded] == [s.id for s in first.succeeded]
    ledger = {r.client_token: r for r in fake_connect.requests}
    assert second.succeeded[0].client_token in ledger


def test_two_requests_to_one_person_in_a_job_are_both_sent_and_both_replayed(fake_connect):
    twice = [
        OutboundRequest.sms("+14155550100", template_parameters={"step": "1"}),
        OutboundRequest.sms("+14155550100", template_parameters={"step": "2"}),
        OutboundRequest.telephony("+14155550100", attributes={}),
    ]
    _, again, created = _rerun(fake_connect, twice, twice)
    assert created == len(fake_connect.requests) == 3
    assert again.all_succeeded


def test_a_batcher_shared_by_threads_reruns_without_calling_anyone_twice(fake_connect):
    import threading  # noqa: PLC0415

    client = fake_connect.outbound_client(job_key="job-threads")

    def run_once():
        with client.batcher() as batcher:
            threads = [
                threading.Thread(
                    target=lambda k=k: [batcher.put(outbound(i)) for i in range(k, 200, 8)]
                )
                for k in range(8)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        return batcher.result

    run_once()
    assert len(fake_connect.requests) == 200
    again = run_once()
    assert len(fake_connect.requests) == 200
    assert len(again.succeeded) == 200


def test_a_callers_own_token_never_answered_is_unknown(fake_connect):
    # Without a job key, a caller's token may still have been sent by an earlier run.
    past = datetime.datetime.now(UTC) - datetime.timedelta(seconds=1)
    result = fake_connect.outbound_client().put_requests(
        [outbound(0, client_token="crm-1", expires=past), outbound(1, expires=past)]
    )
    by_position = {f.position: f for f in result.failed}
    assert by_position[0].outcome_unknown
    assert not by_position[1].outcome_unknown


def test_an_item_expiring_after_an_attempt_that_may_have_acted_is_unknown(fake_connect):
    client = fake_connect.outbound_client()
    start = datetime.datetime.now(UTC)
    # The first attempt is answered 500 after the service created the request; by the
    # second attempt the item has expired.
    times = iter([start, start + datetime.timedelta(minutes=5)])
    client.wall_clock = lambda: next(times)
    fake_connect.fake_campaigns.plan(Fault.error(after_commit=True))
    expires = start + datetime.timedelta(seconds=60)
    result = client.put_requests([outbound(0, expires=expires)])
    assert len(fake_connect.requests) == 1
    (failure,) = result.failed
    assert failure.code == "EXPIRED"
    assert failure.outcome_unknown
    assert "not sent" not in failure.message


def test_a_campaign_paused_mid_run_leaves_the_refused_items_retryable(fake_connect):
    fake = fake_connect.fake_campaigns
    inputs = outbounds(100)
    client = fake_connect.outbound_client()
    first = client.put_requests(inputs[:50])
    assert first.all_succeeded
    fake.set_campaign_state(fake_connect.campaign_id, "Paused")
    with pytest.raises(CampaignStateError) as caught:
        client.put_requests(inputs[50:])
    result = caught.value.result
    assert len(result.retryable()) == 50
    assert "retryable()" in str(caught.value)


def test_two_codes_for_one_token_are_not_taken_for_an_answer(fake_connect):
    answer = PutOutboundRequestBatchOperation("c").read(
        {
            "successfulRequests": [],
            "failedRequests": [
                {"clientToken": "a", "failureCode": "InvalidInput"},
                {"clientToken": "a", "failureCode": "RequestThrottled"},
            ],
        },
        ["a"],
    )
    assert "a" not in answer.items
    assert "a" in answer.unclear
