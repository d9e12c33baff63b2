"""The pacer's slow start, its ceiling, and its capacity pause, on a fake clock.

``pacer_sim`` drives the limiter against a simulated service (a token bucket answering
30 ms late, eight callers): no wall time passes, and every run is the same.
"""

from __future__ import annotations

import asyncio
import itertools

import pytest

from connect_batch import AdaptiveRateLimiter
from connect_batch._engine.effects import Feedback
from connect_batch._engine.pacing import tell, tell_async
from tests.engine.pacer_sim import Clock, limiter_on, simulate

CEILING = 20.0
CALLS = 500  # 12,500 requests of 25: 25 s at the ceiling


def campaign_run(**options):
    clock = Clock()
    limiter = limiter_on(clock, initial_rate=2.0)  # DEFAULT_CAMPAIGN_RATE
    run = simulate(limiter, clock, calls=CALLS, rate=CEILING, burst=20, **options)
    return limiter, run


def test_slow_start_finds_an_unknown_ceiling_within_five_seconds():
    limiter, run = campaign_run()
    found = run.first_pace_at(0.9 * CEILING)
    assert found is not None
    assert found <= 5.0
    assert CALLS / CEILING / run.finished_at >= 0.80  # the run, as a share of the ideal
    assert run.throttled <= 0.05
    assert limiter.ceiling == pytest.approx(CEILING, rel=0.15)  # remembered


def test_after_the_first_throttle_it_never_slow_starts_again_and_stays_near_the_ceiling():
    limiter, run = campaign_run()
    first = next(t for t, outcome in run.calls if outcome == "throttled")
    assert not limiter.slow_starting
    # Once the overshoot of slow start is paid for (within a few seconds of the first
    # throttle), the pace stays near the ceiling: neither doubling nor collapsing.
    settled = [rate for t, rate in run.paces if t > first + 3]
    assert min(settled) >= 0.8 * CEILING
    assert max(settled) <= 1.15 * CEILING
    late_throttles = [t for t, outcome in run.calls if outcome == "throttled" and t > first + 3]
    assert len(late_throttles) <= 3


def test_slow_start_doubles_the_pace_about_every_second():
    clock = Clock()
    limiter = limiter_on(clock, initial_rate=2.0)
    run = simulate(limiter, clock, calls=60, rate=1000, burst=1000)  # no ceiling in reach
    assert run.first_pace_at(4.0) <= 1.5
    assert run.first_pace_at(16.0) <= 3.5
    assert limiter.slow_starting


def test_the_first_throttle_halves_the_pace_and_later_ones_cut_it_by_decrease():
    clock = Clock()
    limiter = limiter_on(clock, initial_rate=8.0)
    limiter.feedback(limiter.acquire() or 0, throttled=True)
    assert limiter.rate == pytest.approx(4.0)
    assert limiter.ceiling == pytest.approx(8.0)
    # Well below the ceiling found it probes back at probe_step a success, never doubling.
    limiter.feedback(limiter.acquire() or 0, throttled=False)
    assert limiter.rate == pytest.approx(4.0 + limiter.probe_step)
    limiter.feedback(limiter.acquire() or 0, throttled=True)
    assert limiter.rate == pytest.approx(4.05 * 0.85)
    assert limiter.ceiling == pytest.approx(4.05)
    # Near the ceiling (within ``decrease`` of it), beyond it slowly: cruise_step.
    limiter.feedback(limiter.acquire() or 0, throttled=False)
    assert limiter.rate == pytest.approx(4.05 * 0.85 + limiter.cruise_step)


def test_a_rate_given_never_slow_starts():
    limiter = AdaptiveRateLimiter(max_rate=10)
    assert not limiter.slow_starting
    assert limiter.rate == pytest.approx(9.8)


# Capacity: the backlog is full; pause, keep the pace.


def test_a_capacity_answer_pauses_sending_and_keeps_the_pace():
    clock = Clock()
    limiter = limiter_on(clock, max_rate=20, headroom=1)
    epoch = limiter.acquire() or 0
    limiter.capacity_refused(epoch)
    assert limiter.rate == 20
    assert limiter.paused_for == 1.0
    steps = limiter.booking(None)
    assert next(steps) == pytest.approx(1.0)  # the next call waits out the pause


def test_the_pause_grows_while_capacity_answers_persist_and_resets_when_they_stop():
    clock = Clock()
    limiter = limiter_on(clock, max_rate=20, headroom=1)
    stale = limiter.acquire() or 0
    pauses = []
    for _ in range(4):
        clock.now += 10
        limiter.capacity_refused(limiter.acquire() or 0)
        pauses.append(limiter.paused_for)
    assert pauses == [1.0, 2.0, 4.0, 8.0]
    # A refusal of a call sent before the pause is old news: the pause does not grow.
    limiter.capacity_refused(stale)
    assert limiter.paused_for == 8.0
    limiter.feedback(stale, throttled=False)  # sent before the pause: proves nothing
    assert limiter.paused_for == 8.0
    clock.now += 10
    limiter.feedback(limiter.acquire() or 0, throttled=False)
    assert limiter.paused_for == 0
    assert limiter.rate == 20


def test_the_pause_never_exceeds_its_maximum():
    clock = Clock()
    limiter = limiter_on(clock, max_rate=20, max_capacity_pause=3.0)
    for _ in range(5):
        clock.now += 10
        limiter.capacity_refused(limiter.acquire() or 0)
    assert limiter.paused_for == 3.0


def test_a_capacity_answer_ends_slow_start_without_a_cut():
    clock = Clock()
    limiter = limiter_on(clock, initial_rate=8.0)
    limiter.capacity_refused(limiter.acquire() or 0)
    assert not limiter.slow_starting
    assert limiter.rate == 8.0
    assert limiter.ceiling is None  # capacity says nothing of the service's rate


def test_a_capacity_window_costs_about_its_length_plus_one_back_off_step():
    _, clear = campaign_run()
    _limiter, run = campaign_run(capacity_windows=((10.0, 15.0),))
    refusals = [t for t, outcome in run.calls if outcome == "refused"]
    # Once per back-off step (1 s, 2 s, 4 s), not once per call in flight.
    assert len(refusals) <= 4
    assert all(b - a >= 1.0 for a, b in itertools.pairwise(refusals))
    # 5 s of refusals and at most the step that straddles their end (4 s).
    assert run.finished_at - clear.finished_at <= 5.0 + 4.0
    # The pace found by throttles is kept: no collapse, no second slow start.
    after = [rate for t, rate in run.paces if t > 15.0]
    assert min(after) >= 0.8 * CEILING
    assert run.throttled <= 0.05
    assert len(run.calls) - sum(o != "ok" for _, o in run.calls) == CALLS  # each went once


class OldLimiter:
    """A caller's own limiter, written before capacity had a signal of its own."""

    def __init__(self) -> None:
        self.told: list[tuple[int, bool]] = []

    def acquire(self, max_wait: float | None = None) -> int | None:  # noqa: ARG002
        return 0

    def feedback(self, epoch: int, *, throttled: bool) -> bool:
        self.told.append((epoch, throttled))
        return False


def test_a_limiter_without_capacity_refused_is_told_capacity_as_a_throttle():
    old = OldLimiter()
    tell(old, Feedback(3, throttled=False, capacity=True))
    tell(old, Feedback(4, throttled=False))
    assert old.told == [(3, True), (4, False)]


# Catching up: slots lost because no call was ready are made up, within bounds.


def test_slots_no_call_was_ready_for_are_made_up_by_at_most_two_calls():
    clock = Clock()
    limiter = limiter_on(clock, max_rate=10, headroom=1)
    limiter.acquire()
    limiter.acquire()  # at 0.1: on time
    assert clock.now == pytest.approx(0.1)
    clock.now += 1.0  # nobody was ready for the slots 0.2 .. 1.0
    steps = []
    for _ in range(5):
        before = clock.now
        limiter.acquire()
        steps.append(round(clock.now - before, 6))
    # Three go at once (the late one and two slots made up), then one an interval apart.
    assert steps == pytest.approx([0.0, 0.0, 0.0, 0.1, 0.1])


def test_the_first_call_starts_the_schedule_with_nothing_to_make_up():
    clock = Clock()
    clock.now = 1000.0
    limiter = limiter_on(clock, max_rate=10, headroom=1)
    limiter.acquire()
    limiter.acquire()
    assert clock.now == pytest.approx(1000.1)  # no burst at the start


def test_the_async_clients_tell_capacity_to_capacity_refused_async():
    clock = Clock()
    limiter = limiter_on(clock, max_rate=20)
    epoch = limiter.acquire() or 0
    known = asyncio.run(tell_async(limiter, Feedback(epoch, throttled=False, capacity=True)))
    assert known is False
    assert limiter.paused_for == 1.0
    assert limiter.rate == pytest.approx(19.6)  # the pace kept
