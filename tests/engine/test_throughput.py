"""Concurrency, pacing, streaming and the batcher, against the double's ledger."""

from __future__ import annotations

import gc
import itertools
import threading
import time

import pytest

from connect_batch import (
    AccessDeniedError,
    AdaptiveRateLimiter,
    CampaignStateError,
    ConnectBatchError,
    ContactValidationError,
    Failure,
    NoLimit,
    Success,
)
from connect_batch.testing import Fault
from tests.builders import contact, contacts, outbound


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


# Concurrency ---------------------------------------------------------------------------


def test_concurrent_batches_over_http_answer_every_input_once(http_connect):
    http_connect.fake.latency = 0.02
    http_connect.fake.plan(
        *([Fault.throttle(), None, Fault.dropped(), Fault.error(after_commit=True), None] * 4)
    )
    inputs = contacts(500)
    try:
        result = http_connect.batch_client(concurrency=8, max_attempts=6).put_contacts(inputs)
    finally:
        http_connect.fake.reset_faults()
    assert [s.request for s in result.succeeded] == inputs
    assert http_connect.duplicates() == {}
    assert {s.contact_id for s in result.succeeded} == {c.contact_id for c in http_connect.contacts}


def test_concurrency_really_overlaps_calls(http_connect):
    http_connect.fake.latency = 0.2
    in_flight = peak = 0
    lock = threading.Lock()
    original = http_connect.client.batch_put_contact

    def counting(**kwargs):
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        try:
            return original(**kwargs)
        finally:
            with lock:
                in_flight -= 1

    http_connect.client.batch_put_contact = counting
    try:
        http_connect.batch_client(concurrency=4).put_contacts(contacts(200))
    finally:
        http_connect.fake.reset_faults()
    assert peak == 4


def test_a_stop_under_concurrency_still_answers_everything_read(fake_connect):
    fake_connect.fake.plan(None, None, Fault.error(403, "AccessDeniedException"))
    inputs = contacts(300)
    with pytest.raises(AccessDeniedError) as caught:
        fake_connect.batch_client(concurrency=3).put_contacts(inputs)
    result = caught.value.result
    assert sorted(o.position for o in (*result.succeeded, *result.failed)) == list(range(300))
    assert {s.contact_id for s in result.succeeded} == {c.contact_id for c in fake_connect.contacts}


def test_concurrency_must_be_positive(fake_connect):
    with pytest.raises(ConnectBatchError, match="concurrency"):
        fake_connect.batch_client(concurrency=0)


# Pacing ---------------------------------------------------------------------------------


def test_a_given_rate_spaces_calls_evenly_a_hair_under_it():
    clock = FakeClock()
    limiter = AdaptiveRateLimiter(max_rate=10, clock=clock, sleep=clock.sleep)
    starts = []
    for _ in range(20):
        limiter.acquire()
        starts.append(clock.now)
        limiter.feedback(0, throttled=False)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    # The headroom (0.98 of the rate given): jitter never drains the service's bucket.
    assert all(gap == pytest.approx(1 / 9.8) for gap in gaps)
    assert limiter.rate == pytest.approx(9.8)  # never above it


def test_headroom_one_paces_at_exactly_the_rate_given():
    clock = FakeClock()
    limiter = AdaptiveRateLimiter(max_rate=10, headroom=1, clock=clock, sleep=clock.sleep)
    starts = []
    for _ in range(5):
        limiter.feedback(limiter.acquire() or 0, throttled=False)
        starts.append(clock.now)
    assert [b - a for a, b in itertools.pairwise(starts)] == pytest.approx([0.1] * 4)


@pytest.mark.parametrize("headroom", [0, 1.01])
def test_headroom_must_be_a_share(headroom):
    with pytest.raises(ConnectBatchError, match="headroom"):
        AdaptiveRateLimiter(max_rate=10, headroom=headroom)


def test_a_throttle_slows_the_pace_once_per_epoch():
    clock = FakeClock()
    limiter = AdaptiveRateLimiter(max_rate=10, clock=clock, sleep=clock.sleep)
    epochs = [limiter.acquire() for _ in range(5)]  # five calls in flight together
    start = limiter.rate
    assert limiter.feedback(epochs[0], throttled=True) is False  # news: slow down
    slowed = limiter.rate
    assert slowed == pytest.approx(start * 0.85)
    # The other four were sent before the slow-down: already known, no further drop.
    assert [limiter.feedback(e, throttled=True) for e in epochs[1:]] == [True] * 4
    assert limiter.rate == slowed


def test_without_slow_start_the_pace_probes_upward_and_follows_the_ceiling():
    clock = FakeClock()
    limiter = AdaptiveRateLimiter(slow_start=False, clock=clock, sleep=clock.sleep)
    for _ in range(101):
        limiter.feedback(limiter.acquire() or 0, throttled=False)
    # 0.05 a success; the first call went at once (the pace held nothing back yet).
    assert limiter.rate == pytest.approx(15)
    epoch = limiter.acquire() or 0
    limiter.feedback(epoch, throttled=True)
    assert limiter.rate < 15 * 0.86


@pytest.mark.parametrize("slow_start", [True, False])
def test_a_pace_that_holds_no_call_back_does_not_grow(slow_start):
    """Calls too few (or a service too slow) to meet the pace: successes prove nothing
    about a faster one, so the pace stays put instead of growing without bound, and a
    second client sharing the limiter later is paced at once."""
    clock = FakeClock()
    limiter = AdaptiveRateLimiter(initial_rate=2.0, slow_start=slow_start, clock=clock,
                                  sleep=clock.sleep)
    for _ in range(50):  # demand outruns the pace: every call waits, the pace grows
        limiter.feedback(limiter.acquire() or 0, throttled=False)
    grown = limiter.rate
    assert grown > 2.0
    for _ in range(600):  # then one call every 2 s: the pace holds nothing back
        clock.now += 2.0
        limiter.feedback(limiter.acquire() or 0, throttled=False)
    assert limiter.rate == grown
    for _ in range(5):  # demand returns: growth resumes
        limiter.feedback(limiter.acquire() or 0, throttled=False)
    assert limiter.rate > grown


def test_the_limiter_is_shared_by_every_thread_of_a_client(fake_connect):
    client = fake_connect.batch_client(concurrency=4, max_requests_per_second=10)
    assert isinstance(client.rate_limiter, AdaptiveRateLimiter)
    assert client.engine_for(None)._limiter is client.rate_limiter


def test_known_throttles_wait_only_for_the_pace_but_still_count_as_attempts(fake_connect):
    clock = FakeClock()
    limiter = AdaptiveRateLimiter(clock=clock, sleep=clock.sleep)
    stale = limiter.acquire() or 0
    limiter.feedback(stale, throttled=True)  # another call's throttle: the limiter slowed

    class StaleEpochs:
        """Hands out the stale epoch: every throttle looks like one already known."""

        def acquire(self, max_wait=None):
            limiter.acquire(max_wait)
            return stale

        def feedback(self, epoch, *, throttled):
            return limiter.feedback(epoch, throttled=throttled)

    backoffs: list[float] = []
    fake_connect.fake.plan(Fault.throttle(), Fault.throttle(), Fault.throttle())
    client = fake_connect.batch_client(
        max_attempts=3, rate_limiter=StaleEpochs(), sleep=backoffs.append
    )
    result = client.put_contacts(contacts(3))
    # max_attempts is a hard cap: three known throttles use up three attempts.
    assert [c.outcome for c in fake_connect.calls] == ["throttled"] * 3
    assert {f.code for f in result.failed} == {"LimitExceededException"}
    # Known throttles add no backoff of their own: the limiter's pace is the wait.
    assert backoffs == [0.0, 0.0]


def test_permanent_throttling_still_ends_at_max_attempts_with_the_limiter(fake_connect):
    fake_connect.fake.throttle(rate=0, burst=0)
    client = fake_connect.batch_client(max_attempts=3, rate_limiter=AdaptiveRateLimiter(
        sleep=lambda _s: None
    ))
    client.put_contacts(contacts(2))
    assert len(fake_connect.calls) == 3


# Streaming ------------------------------------------------------------------------------


def test_iter_put_contacts_yields_outcomes_as_batches_complete(fake_connect):
    client = fake_connect.batch_client()
    calls_when_yielded = []
    for outcome in client.iter_put_contacts(contacts(60)):
        assert isinstance(outcome, Success | Failure)
        calls_when_yielded.append(len(fake_connect.calls))
    # The first batch's outcomes come out before the second call is made.
    assert calls_when_yielded[:25] == [1] * 25
    assert calls_when_yielded[-1] == 3


def test_iter_put_contacts_reads_ahead_at_most_concurrency_batches(fake_connect):
    read = 0

    def source():
        nonlocal read
        for i in range(10_000):
            read += 1
            yield contact(i)

    client = fake_connect.batch_client(concurrency=2)
    outcomes = client.iter_put_contacts(source())
    first = next(outcomes)
    assert isinstance(first, Success)
    assert read <= 3 * 25 + 1
    outcomes.close()


def test_iter_put_contacts_yields_every_outcome_before_a_stop(fake_connect):
    fake_connect.fake.plan(None, Fault.error(403, "AccessDeniedException"))
    seen = []
    with pytest.raises(AccessDeniedError):
        seen.extend(fake_connect.batch_client().iter_put_contacts(contacts(80)))
    assert sorted(o.position for o in seen) == list(range(80))


# The batcher ----------------------------------------------------------------------------


def put_all(batcher, items):
    with batcher:
        for item in items:
            batcher.put(item)


def test_the_batcher_sends_every_25_and_the_rest_on_a_clean_exit(fake_connect):
    client = fake_connect.batch_client()
    with client.batcher() as batcher:
        for i in range(60):
            batcher.put(contact(i))
            assert len(fake_connect.calls) == (i + 1) // 25
    assert [len(c.request_identifiers) for c in fake_connect.calls] == [25, 25, 10]
    assert len(batcher.result.succeeded) == 60
    assert batcher.unsent == []


def test_the_batcher_sends_nothing_more_after_the_block_raises(fake_connect):
    client = fake_connect.batch_client()
    inputs = contacts(30)
    batcher = client.batcher()

    def produce_then_break():
        with batcher:
            for item in inputs:
                batcher.put(item)
            raise RuntimeError("producer broke")

    with pytest.raises(RuntimeError, match="producer broke"):
        produce_then_break()
    assert len(fake_connect.calls) == 1
    assert batcher.unsent == inputs[25:]
    assert [s.request for s in batcher.result.succeeded] == inputs[:25]


def test_a_failing_call_in_the_batcher_keeps_its_contacts(fake_connect):
    fake_connect.fake.plan(Fault.error(403, "AccessDeniedException"))
    client = fake_connect.batch_client()
    inputs = contacts(30)
    batcher = client.batcher()
    with pytest.raises(AccessDeniedError):
        put_all(batcher, inputs)
    # The refused 25 are answered in the result; nothing after them was buffered or sent.
    assert [f.request for f in batcher.result.failed] == inputs[:25]
    assert batcher.unsent == []
    assert len(fake_connect.calls) == 1


def test_the_batcher_refuses_a_bad_contact_at_put(fake_connect):
    client = fake_connect.batch_client(rate_limiter=NoLimit())
    batcher = client.batcher()
    with pytest.raises(ContactValidationError):
        put_all(batcher, [contact(0, request_identifier="x"), contact(1, request_identifier="x")])
    assert fake_connect.calls == []
    assert [c.request_identifier for c in batcher.unsent] == ["x"]


def test_the_batcher_with_a_job_key_replays_on_rerun(fake_connect):
    client = fake_connect.batch_client()
    for _ in range(2):
        with client.batcher(job_key="stream-7") as batcher:
            for item in contacts(40):
                batcher.put(item)
    assert len(fake_connect.contacts) == 40
    assert [c.outcome for c in fake_connect.calls] == ["answered"] * 2 + ["replayed"] * 2


# Review fixes --------------------------------------------------------------------------


def test_a_hook_that_raises_under_concurrency_still_answers_everything(fake_connect):
    fake_connect.fake.plan(*([Fault.throttle()] * 3))

    def broken_hook(_code):
        raise RuntimeError("progress display broke")

    client = fake_connect.batch_client(concurrency=3, on_retry=broken_hook)
    with pytest.raises(ConnectBatchError) as caught:
        client.put_contacts(contacts(150))
    result = caught.value.result
    assert sorted(o.position for o in (*result.succeeded, *result.failed)) == list(range(150))
    assert {s.contact_id for s in result.succeeded} <= {c.contact_id for c in fake_connect.contacts}
    created = {c.request_identifier for c in fake_connect.contacts}
    reported = {s.request_identifier for s in result.succeeded} | {
        f.request_identifier for f in result.failed if f.outcome_unknown
    }
    assert created <= reported


def test_closing_the_stream_early_starts_no_more_attempts(fake_connect):
    fake_connect.fake.latency = 0.05
    client = fake_connect.batch_client(concurrency=2)
    outcomes = client.iter_put_contacts(contacts(1000))
    next(outcomes)
    outcomes.close()
    calls = len(fake_connect.calls)
    assert calls <= 4  # the two first batches and at most the two in flight at close
    time.sleep(0.2)
    assert len(fake_connect.calls) == calls


def test_a_call_queued_before_a_slow_down_takes_a_new_slot_and_epoch():
    clock = FakeClock()
    limiter = AdaptiveRateLimiter(max_rate=10, clock=clock, sleep=clock.sleep)
    first = limiter.acquire()
    waiting_epochs = []

    def sleep_and_slow_down(seconds):
        # While the second call sleeps for its slot, a throttle slows the pace.
        clock.sleep(seconds)
        if not waiting_epochs:
            waiting_epochs.append(limiter.feedback(first, throttled=True))

    limiter.sleep = sleep_and_slow_down
    second = limiter.acquire()
    assert second == first + 1  # it left under the new epoch, so its throttle would count
    assert limiter.feedback(second, throttled=True) is False


def test_an_interrupted_batchers_batch_is_answered_not_left_unsent(fake_connect):
    client = fake_connect.batch_client(sleep=lambda _s: (_ for _ in ()).throw(KeyboardInterrupt))
    fake_connect.fake.plan(Fault.throttle())
    inputs = contacts(30)
    batcher = client.batcher()
    with pytest.raises(KeyboardInterrupt):
        put_all(batcher, inputs)
    # The first 25 were handed to a call: they are answered, never "unsent". The call was
    # throttled (nothing created) and no token carries a job key: known not created.
    assert batcher.unsent == []
    assert [f.position for f in batcher.result.failed] == list(range(25))
    assert {(f.code, f.retryable, f.outcome_unknown) for f in batcher.result.failed} == {
        ("INTERRUPTED", True, False)
    }
    assert fake_connect.contacts == []


def test_a_stream_dropped_unfinished_says_so(fake_connect, caplog):
    client = fake_connect.batch_client(concurrency=2)
    stream = client.iter_put_contacts(contacts(100))
    next(stream)
    del stream  # no with, no close(): what was settled and not yielded is lost
    gc.collect()
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("dropped before it ended" in w for w in warnings)


def test_a_stream_read_to_the_end_or_closed_says_nothing(fake_connect, caplog):
    client = fake_connect.batch_client(concurrency=2)
    list(client.iter_put_contacts(contacts(30)))
    stream = client.iter_put_contacts(contacts(30))
    next(stream)
    stream.close()
    del stream
    gc.collect()
    assert not [r for r in caplog.records if "dropped before it ended" in r.getMessage()]


def test_a_slow_down_gives_up_the_slots_booked_at_the_old_pace():
    # Five calls book slots 0.0-0.4 s at 10/s and wait; a throttle slows the pace. They all
    # queue again at the new pace, so the next slot is one new interval away, not after the
    # five old bookings nobody will use (which left the pace idle for 0.5 s).
    clock = FakeClock()
    waits: list[float] = []
    limiter = AdaptiveRateLimiter(max_rate=10, headroom=1, clock=clock, sleep=waits.append)
    epochs = [limiter.acquire() for _ in range(5)]
    assert waits == pytest.approx([0.1, 0.2, 0.3, 0.4])
    limiter.feedback(epochs[0] or 0, throttled=True)
    waits.clear()
    limiter.acquire()
    assert waits == pytest.approx([1 / limiter.rate])


def test_closing_a_run_does_not_wait_for_rate_slots_no_call_will_use(http_connect):
    """Eight batches queue for slots at one call a second; closing the run after the first
    answers the rest at once (nothing of them was sent), not one slot a second."""
    client = http_connect.outbound_client(
        concurrency=8, max_requests_per_second=1, sleep=time.sleep
    )
    stream = client.iter_put_requests([outbound(i) for i in range(200)])
    first = next(stream)
    started = time.monotonic()
    rest = stream.close()
    assert time.monotonic() - started < 1.0
    outcomes = [first, *rest.succeeded, *rest.failed]
    assert sorted(o.position for o in outcomes) == list(range(200))
    assert len(http_connect.requests) == len(rest.succeeded) + 1 == 25
    assert all(not f.outcome_unknown for f in rest.failed)


def test_a_batcher_stopped_by_the_service_counts_other_threads_answers(http_connect):
    """Found by review (the async batcher's twin): the block's last call is refused while
    another thread's call is in flight, its answer late; the block waits for it and its
    answer counts, instead of reporting those inputs unknown."""
    http_connect.fake_campaigns.plan(Fault.slow(1.0))  # the first call: created, late
    client = http_connect.outbound_client()
    b = client.batcher()
    producer = threading.Thread(target=lambda: [b.put(outbound(i)) for i in range(25)])

    def block() -> None:
        with b:
            producer.start()
            while not http_connect.requests:
                time.sleep(0.01)  # its call reached the service
            http_connect.fake_campaigns.set_campaign_state(http_connect.campaign_id, "Paused")
            for i in range(100, 105):
                b.put(outbound(i))

    with pytest.raises(CampaignStateError):
        block()
    producer.join()
    assert len(b.result.succeeded) == 25
    assert [f.code for f in b.result.failed] == ["InvalidCampaignStateException"] * 5
    assert len(http_connect.requests) == 25
