"""Who a request is, under a job key: sequences of runs checked on the double's ledger.

Each test runs one job several times over real HTTP (the moto server, the campaign double),
filtered, reordered or split, sync and async, and asserts on what the double created: no
request created twice, and every ``Success`` carries the id the service gave *that*
request (its destination and content, not another's). A request's identity is its
campaign, channel, destination, and its ``key=`` or else what it says; nothing else in
the input may change the token it is sent under.
"""

from __future__ import annotations

import asyncio
import collections
import random
import time
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connect_batch import (
    AsyncOutboundRequestBatchClient,
    BatchResult,
    CampaignStateError,
    FailureCode,
    result_of,
)
from connect_batch.events import CallAnswered, RetryScheduled
from connect_batch.testing import Fault, async_no_sleep
from tests.aio_runner import run_async
from tests.faults.campaign_harness import Campaign, batch_client, campaign
from tests.faults.identity_sequences import (
    FAULTS,
    JOB,
    JOB_SEQUENCES,
    PERSON,
    job_of_26,
    put,
    request,
    run_job_sequence,
    run_random,
    says,
)


def created(target: Campaign) -> collections.Counter[tuple[str, str]]:
    """How many requests the double created for each (destination, message)."""
    return collections.Counter(
        (r.destination, r.parameters.get("message", "")) for r in target.requests
    )


def assert_sound(target: Campaign, inputs: Sequence[Any], result: BatchResult[Any]) -> None:
    """Nothing created twice; each success names its own request; each input answered once;
    nothing created is reported known not created."""
    ledger = created(target)
    assert [n for n in ledger.values() if n > 1] == [], "a request was created twice"
    by_id = {r.id: (r.destination, r.parameters.get("message", "")) for r in target.requests}
    for success in result.succeeded:
        assert by_id.get(success.id) == says(success.request), "a success carries another's id"
    outcomes = sorted(o.position for o in (*result.succeeded, *result.failed))
    assert outcomes == list(range(len(inputs)))
    assert all(o.request is inputs[o.position] for o in (*result.succeeded, *result.failed))
    for failure in result.failed:
        if failure.code == FailureCode.DUPLICATE_IN_JOB:
            assert failure.duplicate_of is not None
            assert says(inputs[failure.duplicate_of]) == says(failure.request)
            continue
        if says(failure.request) in ledger:
            assert failure.outcome_unknown, f"{failure.code}: created, reported not created"
    for retry in result.retryable():
        assert says(retry) not in ledger, "retryable(), yet created"


MODES = ("sync", "async")
APIS = ("v2", "v1")


# Case 1: a filtered rerun of unknowns must not send "payment-due" under another's token.
@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("mode", MODES)
def test_a_rerun_filtered_to_the_unknowns_creates_nothing_twice(moto_server, api, mode):
    target = campaign(api, moto_server)
    inputs = job_of_26(api)
    # The 25-item call is refused for capacity (known not created); the 1-item call is
    # created and its answer lost (unknown).
    target.fake.plan(Fault.items_failed("RequestThrottled"), Fault.dropped())
    first = put(mode, target, moto_server, inputs, max_attempts=1, max_item_retries=0)
    target.fake.reset_faults()
    assert_sound(target, inputs, first)
    assert [says(f.request) for f in first.unknown()] == [(PERSON, "payment-due")]
    assert len(first.retryable()) == 25
    assert created(target) == {(PERSON, "payment-due"): 1}

    unknown = [f.request for f in first.unknown()]
    rerun = put(mode, target, moto_server, unknown)
    assert_sound(target, unknown, rerun)
    assert rerun.all_succeeded
    assert created(target) == {(PERSON, "payment-due"): 1}

    # The whole job again: what is missing is created, what exists replays.
    whole = put(mode, target, moto_server, inputs)
    assert_sound(target, inputs, whole)
    assert whole.all_succeeded
    assert sum(created(target).values()) == 26


# Case 2: a request never created must never be reported created with another's id.
@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("mode", MODES)
def test_a_filtered_rerun_never_reports_another_requests_id(moto_server, api, mode):
    target = campaign(api, moto_server)
    inputs = job_of_26(api)
    # The reminder's call is created and its answer lost; "payment-due" fails with a 500
    # before anything is created.
    target.fake.plan(Fault.dropped(), Fault.error(500))
    first = put(mode, target, moto_server, inputs, max_attempts=1, max_item_retries=0)
    target.fake.reset_faults()
    assert_sound(target, inputs, first)
    assert created(target)[(PERSON, "appointment-reminder")] == 1
    assert (PERSON, "payment-due") not in created(target)

    payment = [inputs[-1]]
    rerun = put(mode, target, moto_server, payment)
    assert_sound(target, payment, rerun)
    assert rerun.all_succeeded
    assert created(target)[(PERSON, "payment-due")] == 1


# Case 3: a reordered rerun must not swap ids between two requests to one person.
@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("mode", MODES)
def test_a_reordered_rerun_gives_each_request_its_own_id(moto_server, api, mode):
    target = campaign(api, moto_server)
    inputs = [request(api, PERSON, "appointment-reminder"), request(api, PERSON, "payment-due")]
    first = put(mode, target, moto_server, inputs)
    assert first.all_succeeded
    swapped = inputs[::-1]
    again = put(mode, target, moto_server, swapped)
    assert_sound(target, swapped, again)
    assert again.all_succeeded
    assert {says(s.request): s.id for s in again.succeeded} == {
        says(s.request): s.id for s in first.succeeded
    }
    assert sum(created(target).values()) == 2


def test_a_job_split_across_processes_modes_and_orders_creates_each_request_once(moto_server):
    # The job in three slices, each run by another client (sync, async), shuffled, then
    # the whole job reversed: every request created once, every id its own.
    target = campaign("v2", moto_server)
    inputs = [*job_of_26("v2"), request("v2", PERSON, "survey")]
    rng = random.Random(7)
    slices = [inputs[0:9], inputs[9:18], inputs[18:]]
    for number, in_order in enumerate(slices):
        part = rng.sample(in_order, len(in_order))
        target.fake.plan(Fault.dropped(), Fault.items_failed("BufferLimitExceeded"))
        result = put("sync" if number % 2 else "async", target, moto_server, part,
                     max_attempts=1, max_item_retries=0)
        target.fake.reset_faults()
        assert_sound(target, part, result)
    whole = put("sync", target, moto_server, inputs[::-1])
    assert_sound(target, inputs[::-1], whole)
    assert whole.all_succeeded
    assert sum(created(target).values()) == len(inputs)


# The same request twice in one job is one request.
@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("mode", MODES)
def test_the_same_request_twice_in_a_job_is_sent_once(moto_server, api, mode):
    target = campaign(api, moto_server)
    inputs = [
        request(api, PERSON, "payment-due"),
        request(api, "+14155550111", "payment-due"),
        request(api, PERSON, "payment-due"),  # the same as position 0
        request(api, PERSON, "payment-due", key="invoice-2"),  # its own request
    ]
    result = put(mode, target, moto_server, inputs)
    # Positions 0 and 3 say the same to one person: the key makes them two requests.
    by_token = {r.client_token: r.id for r in target.requests}
    assert [by_token[s.client_token] for s in result.succeeded] == [s.id for s in result.succeeded]
    [duplicate] = result.failed
    assert duplicate.position == 2
    assert duplicate.code == FailureCode.DUPLICATE_IN_JOB
    assert duplicate.duplicate_of == 0
    assert not duplicate.retryable
    assert not duplicate.outcome_unknown
    assert "input 0" in duplicate.message
    assert len(target.requests) == 3
    sent_tokens = [t for call in target.calls for t in call.client_tokens]
    assert len(sent_tokens) == len(set(sent_tokens)) == 3  # never twice in a call, never sent


def test_a_duplicate_is_answered_at_once_in_batchers_and_streams(moto_server):
    target = campaign("v2", moto_server)
    inputs = [request("v2", PERSON, "payment-due")] * 3 + [request("v2", PERSON, "survey")]
    client = batch_client(target, job_key=JOB)
    with client.batcher() as batcher:
        for item in inputs:
            batcher.put(item)
    assert_sound(target, inputs, batcher.result)
    assert [f.duplicate_of for f in batcher.result.failed] == [0, 0]
    streamed = list(client.iter_put_requests(iter(inputs)))
    assert sorted(o.position for o in streamed) == [0, 1, 2, 3]
    assert_sound(target, inputs, BatchResult.from_outcomes(streamed))

    async def use(aio: Any) -> tuple[BatchResult[Any], BatchResult[Any]]:
        async_client = AsyncOutboundRequestBatchClient(
            aio, campaign_id=target.campaign_id, job_key=JOB, sleep=async_no_sleep
        )
        async with async_client.batcher() as async_batcher:
            for item in inputs:
                await async_batcher.put(item)

        async def feed() -> Any:
            for item in inputs:
                yield item

        return async_batcher.result, await async_client.put_requests(feed())

    from_batcher, from_async_iterable = run_async("connectcampaignsv2", moto_server, use)
    for result in (from_batcher, from_async_iterable):
        assert_sound(target, inputs, result)
        assert [f.duplicate_of for f in result.failed] == [0, 0]
    assert len(target.requests) == 2


def test_without_a_job_key_each_input_is_its_own_request(moto_server):
    target = campaign("v2", moto_server)
    inputs = [request("v2", PERSON, "payment-due")] * 2
    result = batch_client(target).put_requests(inputs)
    assert result.all_succeeded
    assert len(target.requests) == 2


# Case 4: a caller's own token may have been sent by an earlier run.
def _created_earlier(moto_server: str, count: int = 60) -> tuple[Campaign, list[Any]]:
    target = campaign("v2", moto_server)
    inputs = [
        request("v2", f"+1415556{i:04d}", "hello", client_token=f"crm-{i}") for i in range(count)
    ]
    assert batch_client(target).put_requests(inputs).all_succeeded
    assert len(target.requests) == count
    return target, inputs


def _assert_nothing_known_not_created(target: Campaign, inputs: list[Any], result: Any) -> None:
    assert_sound(target, inputs, result)
    assert result.failed
    assert all(f.outcome_unknown for f in result.failed)
    assert result.retryable() == []


@pytest.mark.parametrize("job_key", [None, JOB])
def test_caller_tokens_a_paused_campaign_never_saw_are_unknown(moto_server, job_key):
    target, inputs = _created_earlier(moto_server)
    target.fake.set_campaign_state(target.campaign_id, "Paused")
    with pytest.raises(CampaignStateError) as caught:
        batch_client(target, job_key=job_key).put_requests(inputs)
    result = caught.value.result
    _assert_nothing_known_not_created(target, inputs, result)
    assert {f.code for f in result.failed} >= {FailureCode.NOT_SENT.value}
    assert all("earlier run" in f.message for f in result.failed if f.code == "NOT_SENT")


def test_caller_tokens_a_deadline_never_sent_are_unknown(moto_server):
    target, inputs = _created_earlier(moto_server)
    target.fake.throttle(rate=0, burst=0)  # nothing gets through: the deadline passes
    client = batch_client(target, deadline=0.3, sleep=time.sleep, max_attempts=50)
    result = client.put_requests(inputs)
    target.fake.reset_faults()
    _assert_nothing_known_not_created(target, inputs, result)
    assert FailureCode.DEADLINE_EXCEEDED.value in {f.code for f in result.failed}


def test_caller_tokens_an_async_cancellation_never_sent_are_unknown(moto_server):
    target, inputs = _created_earlier(moto_server)

    async def use(aio: Any) -> BatchResult[Any]:
        gate = asyncio.Event()

        def on_retry(event: object) -> None:
            if isinstance(event, RetryScheduled):
                gate.set()  # the first call was throttled: its back-off has begun

        # The real asyncio.sleep, which a cancellation cuts short; a long back-off.
        client = AsyncOutboundRequestBatchClient(
            aio, campaign_id=target.campaign_id, concurrency=1, initial_backoff=30,
            max_backoff=60, subscribers=[on_retry],
        )
        target.fake.plan(Fault.throttle())
        task = asyncio.ensure_future(client.put_requests(inputs))
        await gate.wait()
        task.cancel()
        try:
            await task
        except asyncio.CancelledError as cancelled:
            settled = result_of(cancelled)
            assert settled is not None
            return settled
        raise AssertionError("not cancelled")

    result = run_async("connectcampaignsv2", moto_server, use)
    target.fake.reset_faults()
    _assert_nothing_known_not_created(target, inputs, result)


# Case 5: one job key on two campaigns, where the service remembers tokens per account.
@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("mode", MODES)
def test_one_job_key_on_two_campaigns_creates_in_each(moto_server, api, mode):
    first, second = campaign(api, moto_server), campaign(api, moto_server)
    first.fake.tokens_remembered_per = "account"
    try:
        inputs = [request(api, f"+1415557{i:04d}", "hello") for i in range(5)]
        assert put(mode, first, moto_server, inputs).all_succeeded
        again = put(mode, second, moto_server, inputs)
    finally:
        first.fake.reset_faults()
    assert again.all_succeeded
    assert len(first.requests) == len(second.requests) == 5
    assert {s.id for s in again.succeeded} == {r.id for r in second.requests}


def test_a_subscriber_interrupt_does_not_lose_the_answer_in_hand(moto_server):
    target = campaign("v2", moto_server)
    inputs = [request("v2", f"+1415558{i:04d}", "hello") for i in range(30)]

    def interrupt(event: object) -> None:
        if isinstance(event, CallAnswered) and event.status == 200:
            raise KeyboardInterrupt

    client = batch_client(target, job_key=JOB, subscribers=[interrupt], concurrency=1)
    with pytest.raises(KeyboardInterrupt) as caught:
        client.put_requests(inputs)
    result = result_of(caught.value)
    assert result is not None
    assert_sound(target, inputs, result)
    assert len(result.succeeded) == len(target.requests) == 25


@pytest.mark.parametrize("sequence", JOB_SEQUENCES, ids=lambda s: s.name)
@pytest.mark.parametrize("seed", [0, 1])
def test_sequence_of_runs_keeps_every_invariant(moto_server, sequence, seed):
    run_job_sequence(sequence, moto_server, seed).check()


# Property: random jobs with repeated people, random faults, random reruns.
requests_ = st.tuples(
    st.sampled_from([PERSON, "+14155550101", "+14155550102"]),
    st.sampled_from(["reminder", "payment-due", "survey"]),
    st.sampled_from([None, "k1", "k2"]),
)
runs = st.lists(
    st.tuples(
        st.lists(st.integers(0, len(FAULTS) - 1), max_size=4),  # faults for the run's calls
        st.randoms(use_true_random=False),  # which inputs the run keeps, in which order
        st.sampled_from(["sync", "async"]),
        st.sampled_from([1, 4]),  # calls in flight at once
    ),
    min_size=1,
    max_size=3,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(job=st.lists(requests_, min_size=1, max_size=40), reruns=runs)
def test_any_sequence_of_runs_creates_nothing_twice_and_no_false_id(moto_server, job, reruns):
    inputs = [request("v2", phone, message, key=key) for phone, message, key in job]
    run_random(moto_server, inputs, reruns).check()
