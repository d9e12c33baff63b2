"""RedisRateLimiter against a real redis-server: the Lua scripts' arithmetic at its edges,
one round trip and one sleep per acquire, the shared adaptive pace, and the fallback."""

from __future__ import annotations

import logging
import threading

import pytest
import redis

from connect_batch import ConfigurationError, RedisRateLimiter, fleet_key
from connect_batch._redis_limiter import ACQUIRE, FEEDBACK, KEY_TTL_SECONDS

KEY = fleet_key("123456789012", "us-east-1", "BatchPutContact")
US = 1_000_000


@pytest.fixture
def client(redis_url):
    connection = redis.Redis.from_url(redis_url, socket_timeout=1)
    yield connection
    connection.close()


def acquire(client, *, rate=10.0, burst=1, max_wait_us=-1):
    wait, epoch, shared = client.register_script(ACQUIRE)(
        keys=[KEY], args=[repr(rate), burst, max_wait_us, KEY_TTL_SECONDS]
    )
    return int(wait), int(epoch), float(shared)


def feedback(client, epoch, *, throttled, max_rate=-1, initial=10.0):
    return int(client.register_script(FEEDBACK)(
        keys=[KEY], args=[epoch, int(throttled), max_rate, 0.5, 0.85, 0.05, 0.01, initial,
                          KEY_TTL_SECONDS],
    ))


def redis_now_us(client) -> int:
    seconds, micros = client.time()
    return seconds * US + micros


# The scripts' arithmetic --------------------------------------------------------------------


def test_the_first_call_goes_at_once_and_books_one_interval(client):
    before = redis_now_us(client)
    wait, epoch, rate = acquire(client, rate=10)
    assert (wait, epoch, rate) == (0, 0, 10.0)
    tat = int(client.hget(KEY, "tat"))
    assert before + 100_000 <= tat <= redis_now_us(client) + 100_000
    assert 0 < client.ttl(KEY) <= KEY_TTL_SECONDS


def test_a_burst_goes_at_once_then_calls_are_spaced_by_the_interval(client):
    waits = [acquire(client, rate=10, burst=3)[0] for _ in range(6)]
    assert waits[:3] == [0, 0, 0]
    # Each later call waits one more interval (less the microseconds the calls took).
    for n, wait in enumerate(waits[3:], 1):
        assert n * 100_000 - 20_000 <= wait <= n * 100_000


def test_a_long_idle_gives_back_the_burst_and_no_more(client):
    for _ in range(5):
        acquire(client, rate=10, burst=3)
    client.hset(KEY, "tat", redis_now_us(client) - 3600 * US)  # an hour idle
    waits = [acquire(client, rate=10, burst=3)[0] for _ in range(4)]
    assert waits[:3] == [0, 0, 0]
    assert waits[3] > 50_000  # credit is never more than the burst


def test_a_wait_past_max_wait_books_nothing(client):
    acquire(client, rate=2)
    tat = client.hget(KEY, "tat")
    wait, _epoch, _rate = acquire(client, rate=2, max_wait_us=100_000)  # 0.5 s away
    assert wait == -1
    assert client.hget(KEY, "tat") == tat


def test_a_throttle_lowers_the_shared_pace_once_per_epoch(client):
    _wait, epoch, _rate = acquire(client, rate=10)
    assert feedback(client, epoch, throttled=True) == 0  # news
    assert float(client.hget(KEY, "rate")) == pytest.approx(8.5)
    assert int(client.hget(KEY, "epoch")) == epoch + 1
    # A throttle of a call sent before the drop is already known: no second drop.
    assert feedback(client, epoch, throttled=True) == 1
    assert float(client.hget(KEY, "rate")) == pytest.approx(8.5)
    # The next slot is at least one new interval away.
    assert int(client.hget(KEY, "tat")) >= redis_now_us(client) + US / 8.5 - 5_000


def test_successes_probe_upward_fast_then_slowly_and_never_past_max_rate(client):
    acquire(client, rate=10)
    feedback(client, 0, throttled=False)
    assert float(client.hget(KEY, "rate")) == pytest.approx(10.05)  # before any throttle
    feedback(client, 0, throttled=True)
    feedback(client, 1, throttled=False)
    assert float(client.hget(KEY, "rate")) == pytest.approx(10.05 * 0.85 + 0.01)  # after
    for _ in range(200):
        feedback(client, 1, throttled=False, max_rate=9.0)
    assert float(client.hget(KEY, "rate")) == 9.0


def test_the_pace_never_drops_below_the_floor(client):
    acquire(client, rate=1)
    for epoch in range(30):
        feedback(client, epoch, throttled=True, initial=1.0)
    assert float(client.hget(KEY, "rate")) == 0.5


# The limiter ---------------------------------------------------------------------------------


class CountingClient(redis.Redis):
    """A redis-py client that counts the commands it sends (round trips)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.commands: list[str] = []

    def execute_command(self, *args, **options):
        self.commands.append(str(args[0]))
        return super().execute_command(*args, **options)


def test_acquire_is_one_round_trip_and_sleeps_exactly_the_wait(redis_url):
    counting = CountingClient.from_url(redis_url)
    slept: list[float] = []
    limiter = RedisRateLimiter(counting, key=KEY, rate=20, sleep=slept.append)
    limiter.acquire()  # loads the script (EVALSHA, then SCRIPT LOAD on a fresh server)
    counting.commands.clear()
    for _ in range(10):
        limiter.acquire()
    assert counting.commands == ["EVALSHA"] * 10
    # No sleep clock moved, so each call waits one more interval than the last.
    assert len(slept) == 10
    for n, wait in enumerate(slept, 1):
        assert n / 20 - 0.02 <= wait <= n / 20


def test_two_processes_share_one_pace_and_one_throttle_slows_both(redis_url):
    first = RedisRateLimiter.from_url(redis_url, key=KEY, sleep=lambda _s: None)
    second = RedisRateLimiter.from_url(redis_url, key=KEY, sleep=lambda _s: None)
    epoch = first.acquire()
    assert epoch == 0
    assert first.feedback(epoch, throttled=True) is False
    second.acquire()
    assert second.rate == pytest.approx(8.5)  # told through Redis
    # The second's call left before the drop: its throttle is already known.
    assert second.feedback(0, throttled=True) is True


def test_options_are_checked():
    client = redis.Redis(port=1)
    with pytest.raises(ConfigurationError, match="rate"):
        RedisRateLimiter(client, key=KEY, rate=0)
    with pytest.raises(ConfigurationError, match="burst"):
        RedisRateLimiter(client, key=KEY, burst=0)
    with pytest.raises(ConfigurationError, match="key"):
        RedisRateLimiter(client, key="")
    with pytest.raises(ConfigurationError, match="region"):
        fleet_key("123", "", "BatchPutContact")


def test_unreachable_redis_paces_in_process_warns_once_and_comes_back(
    redis_server, redis_url, caplog
):
    redis_server.ensure_running()
    caplog.set_level(logging.INFO, logger="connect_batch")
    clock = [0.0]
    limiter = RedisRateLimiter.from_url(
        redis_server.url, key=KEY, rate=50, timeout=0.2, clock=lambda: clock[0],
        sleep=lambda s: clock.__setitem__(0, clock[0] + s),
    )
    assert limiter.acquire() == 0
    assert limiter.shared
    redis_server.stop()
    epochs = [limiter.acquire() for _ in range(20)]
    assert not limiter.shared
    assert all(e is not None and e < 0 for e in epochs)  # the fallback's, told apart
    assert limiter.feedback(epochs[0], throttled=True) is False  # the fallback slows down
    assert limiter.rate == pytest.approx(50 * 0.85)
    # While Redis is away the pace is the in-process limiter's, never faster.
    start = clock[0]
    for _ in range(10):
        limiter.acquire()
    assert clock[0] - start >= 9 / 50
    warnings = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(warnings) == 1
    redis_server.ensure_running()
    clock[0] += 2.0  # past the retry interval
    assert limiter.acquire() is not None
    assert limiter.shared
    assert any("answers again" in r.getMessage() for r in caplog.records)
    assert len([r for r in caplog.records if "unreachable" in r.getMessage()]) == 1


def test_a_limiter_is_shared_by_threads(redis_url):
    limiter = RedisRateLimiter.from_url(redis_url, key=KEY, rate=1000)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(50):
                limiter.feedback(limiter.acquire() or 0, throttled=False)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert limiter.shared
