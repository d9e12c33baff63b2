"""RedisRateLimiter against a real redis-server: a fleet slow-starts once, a rate given is
paced a hair under, and a capacity answer pauses one process without touching the pace."""

from __future__ import annotations

import pytest
import redis

from connect_batch import RedisRateLimiter, fleet_key
from connect_batch._redis_limiter import KEY_PREFIX

KEY = fleet_key("123456789012", "us-east-1", "PutOutboundRequestBatch")


@pytest.fixture(autouse=True)
def _leave_redis_as_found(redis_server):
    yield
    if redis_server.running():
        with redis_server.client(socket_timeout=1) as connection:
            keys = list(connection.scan_iter(f"{KEY_PREFIX}:*"))
            if keys:
                connection.delete(*keys)


def shared(redis_url: str) -> tuple[float, str | None, str | None]:
    """The key's pace, its ``probed`` flag and its ceiling, as the fleet sees them."""
    connection = redis.Redis.from_url(redis_url, decode_responses=True)
    rate, probed, ceiling = connection.hmget(KEY, "rate", "probed", "ceiling")
    return float(rate), probed, ceiling


def test_a_fleet_slow_starts_once_and_shares_the_ceiling(redis_url):
    fleet = [
        RedisRateLimiter.from_url(redis_url, key=KEY, initial_rate=2.0, sleep=lambda _s: None)
        for _ in range(4)
    ]
    epochs = [limiter.acquire() or 0 for limiter in fleet]
    for limiter, epoch in zip(fleet, epochs, strict=True):
        limiter.feedback(epoch, throttled=False)
    # Each success of any process adds slow start's step to the one shared pace.
    assert shared(redis_url)[0] == pytest.approx(2.0 + 4 * 0.7)
    first = fleet[0].acquire() or 0
    fleet[0].feedback(first, throttled=True)
    rate, probed, ceiling = shared(redis_url)
    assert rate == pytest.approx(4.8 * 0.5)  # slow start's overshoot halved, once
    assert probed == "1"
    assert float(ceiling or 0) == pytest.approx(4.8)
    # Every other process is past slow start too: its successes probe, they do not double.
    other = fleet[3].acquire() or 0
    fleet[3].feedback(other, throttled=False)
    assert shared(redis_url)[0] == pytest.approx(2.4 + 0.05)  # well below the ceiling
    # The next throttle (a new epoch) is a plain decrease, not slow start's halving.
    fleet[2].feedback(fleet[2].acquire() or 0, throttled=True)
    assert shared(redis_url)[0] == pytest.approx(2.45 * 0.85)


def test_a_rate_given_is_paced_a_hair_under_it_and_never_slow_starts(redis_url):
    limiter = RedisRateLimiter.from_url(redis_url, key=KEY, rate=10, sleep=lambda _s: None)
    limiter.acquire()
    assert limiter.rate == pytest.approx(9.8)
    for _ in range(50):
        limiter.feedback(limiter.acquire() or 0, throttled=False)
    assert shared(redis_url)[0] == pytest.approx(9.8)
    assert limiter.max_rate == 10  # the rate given, as given


def test_a_documented_quota_is_not_slow_started_from(redis_url):
    limiter = RedisRateLimiter.from_url(redis_url, key=KEY, sleep=lambda _s: None)
    limiter.set_default_rate(10.0, documented=True)
    limiter.acquire()  # at once; the next waits, so the pace is what holds calls back
    limiter.feedback(limiter.acquire() or 0, throttled=False)
    assert shared(redis_url)[0] == pytest.approx(10.05)


def test_headroom_must_be_a_share(redis_url):
    from connect_batch import ConfigurationError  # noqa: PLC0415

    with pytest.raises(ConfigurationError, match="headroom"):
        RedisRateLimiter.from_url(redis_url, key=KEY, headroom=0)


def test_a_capacity_answer_pauses_this_process_and_keeps_the_shared_pace(redis_url):
    clock = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock[0] += seconds

    limiter = RedisRateLimiter.from_url(
        redis_url, key=KEY, rate=100, clock=lambda: clock[0], sleep=sleep
    )
    epoch = limiter.acquire() or 0
    limiter.capacity_refused(epoch)
    assert limiter.paused_for == 1.0
    waits.clear()
    limiter.acquire()
    assert waits[0] == pytest.approx(1.0)  # the pause, before any booking
    limiter.capacity_refused(epoch)  # refused again, after the pause: twice as long
    assert limiter.paused_for == 2.0
    limiter.capacity_refused(epoch)  # during the pause: a call from before it
    assert limiter.paused_for == 2.0
    clock[0] += 5
    limiter.feedback(limiter.acquire() or 0, throttled=False)
    assert limiter.paused_for == 0
    assert shared(redis_url)[0] == pytest.approx(98.0)  # never cut


def test_a_schedule_a_little_behind_is_made_up_one_idle_for_long_starts_afresh(redis_url):
    from connect_batch._redis_limiter import (  # noqa: PLC0415
        ACQUIRE,
        IDLE_RESET_SECONDS,
        KEY_TTL_SECONDS,
    )

    connection = redis.Redis.from_url(redis_url)
    script = connection.register_script(ACQUIRE)

    def book() -> int:
        wait, *_ = script(keys=[KEY], args=["10.0", "10.0", -1, 1, -1, KEY_TTL_SECONDS,
                                             IDLE_RESET_SECONDS * 1_000_000, 129, 2])
        return int(wait)

    def now_us() -> int:
        seconds, micros = connection.time()
        return seconds * 1_000_000 + micros

    book()
    behind = now_us() - 150_000  # 1.5 intervals: a late wake, not an idle spell
    connection.hset(KEY, "tat", behind)
    assert book() == 0
    # Booked from where the schedule was, so the next call goes sooner than an interval.
    assert int(connection.hget(KEY, "tat")) == behind + 100_000
    connection.hset(KEY, "tat", now_us() - 500_000)  # 5 intervals: idle
    assert book() == 0
    assert int(connection.hget(KEY, "tat")) >= now_us() + 100_000 - 5_000


def test_in_slow_start_a_success_pulls_the_schedule_in_to_the_new_pace(redis_url):
    connection = redis.Redis.from_url(redis_url)
    fleet = [
        RedisRateLimiter.from_url(redis_url, key=KEY, initial_rate=2.0, sleep=lambda _s: None)
        for _ in range(4)
    ]
    for limiter in fleet:
        limiter.acquire()  # four slots booked at 2 calls/s: 2 s of schedule

    def ahead() -> float:
        seconds, micros = connection.time()
        return int(connection.hget(KEY, "tat")) / 1e6 - (seconds + micros / 1e6)

    before = ahead()
    assert before > 1.8
    fleet[0].feedback(0, throttled=False)  # 2 -> 2.7 calls/s
    assert ahead() == pytest.approx(before * 2.0 / 2.7, abs=0.02)
