"""RedisRateLimiter against a real redis-server: the Lua scripts' arithmetic at its edges,
one round trip and one sleep per acquire, the shared adaptive pace, and the fallback."""

from __future__ import annotations

import logging
import threading
import uuid

import boto3
import pytest
import redis

from connect_batch import (
    ConfigurationError,
    OutboundRequestBatchClient,
    RedisRateLimiter,
    fleet_key,
)
from connect_batch._redis_limiter import ACQUIRE, FEEDBACK, IDLE_RESET_SECONDS, KEY_TTL_SECONDS

KEY = fleet_key("123456789012", "us-east-1", "BatchPutContact")
US = 1_000_000


@pytest.fixture
def client(redis_url):
    connection = redis.Redis.from_url(redis_url, socket_timeout=1)
    yield connection
    connection.close()


def acquire(client, *, rate=10.0, burst=1, max_wait_us=-1, max_rate=-1, initial=None,
            slots_ahead=65):
    """The ACQUIRE script: ``rate`` is the seed (the caller's last view of the pace)."""
    wait, epoch, shared, _stepped = client.register_script(ACQUIRE)(
        keys=[KEY], args=[repr(rate), repr(initial or rate), max_rate, burst, max_wait_us,
                          KEY_TTL_SECONDS, IDLE_RESET_SECONDS * US, slots_ahead],
    )
    return int(wait), int(epoch), float(shared)


def stepped_acquire(client, *, rate=10.0, slots_ahead=65):
    """The ACQUIRE script's answer whole: (wait_us, stepped_us)."""
    wait, _epoch, _shared, stepped = client.register_script(ACQUIRE)(
        keys=[KEY], args=[repr(rate), repr(rate), -1, 1, -1, KEY_TTL_SECONDS,
                          IDLE_RESET_SECONDS * US, slots_ahead],
    )
    return int(wait), int(stepped)


def feedback(client, epoch, *, throttled, max_rate=-1, initial=10.0, burst=1):
    return int(client.register_script(FEEDBACK)(
        keys=[KEY], args=[epoch, int(throttled), max_rate, 0.5, 0.85, 0.05, 0.01, initial,
                          KEY_TTL_SECONDS, burst],
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


# Found by review: the stored state must not override the caller's rate, outlive an idle
# spell, or let a stale epoch drop the pace again.
def test_a_stored_pace_above_the_rate_given_is_clamped(client):
    client.hset(KEY, mapping={"rate": "30", "tat": redis_now_us(client), "epoch": 0})
    _wait, _epoch, rate = acquire(client, rate=10, max_rate=10)
    assert rate == 10.0
    waits = [acquire(client, rate=10, max_rate=10)[0] for _ in range(3)]
    assert all(w >= 80_000 for w in waits[1:])  # 10/s, not 30/s


def test_a_key_idle_past_the_reset_forgets_old_throttles(client):
    client.hset(KEY, mapping={"rate": "0.5", "probed": "1", "epoch": 7,
                              "tat": redis_now_us(client) - (IDLE_RESET_SECONDS + 1) * US})
    _wait, epoch, rate = acquire(client, rate=0.5, initial=10)
    assert (epoch, rate) == (7, 10.0)
    assert client.hget(KEY, "probed") == b"0"


def test_a_throttle_from_before_the_key_was_reset_is_known(client):
    acquire(client, rate=10)
    for epoch in range(3):
        feedback(client, epoch, throttled=True)
    client.delete(KEY)  # a restarted Redis, an expired key, a DEL
    acquire(client, rate=6.14)  # the process's last view seeds the new key
    # Four calls sent under epoch 3 before the reset come back throttled: all known.
    assert [feedback(client, 3, throttled=True) for _ in range(4)] == [1, 1, 1, 1]
    assert float(client.hget(KEY, "rate")) == pytest.approx(6.14)
    assert feedback(client, 0, throttled=True) == 0  # a call of the new key's: news
    assert float(client.hget(KEY, "rate")) == pytest.approx(6.14 * 0.85)


def test_with_a_burst_a_throttle_still_spaces_the_next_call(client):
    for _ in range(20):  # saturate: the burst is spent
        acquire(client, rate=10, burst=15)
    epoch = int(client.hget(KEY, "epoch"))
    feedback(client, epoch, throttled=True, burst=15)
    wait, _epoch, rate = acquire(client, rate=10, burst=15)
    assert rate == pytest.approx(8.5)
    assert wait >= US / 8.5 - 5_000


def test_max_wait_of_zero_or_less_books_nothing_and_infinity_is_no_bound(redis_url):
    slept: list[float] = []
    limiter = RedisRateLimiter.from_url(redis_url, key=KEY, rate=10, sleep=slept.append)
    assert limiter.acquire(0) is None
    assert limiter.acquire(-0.001) is None
    assert limiter.acquire(float("inf")) == 0
    assert limiter.acquire(float("inf")) == 0
    assert len(slept) == 1  # the second call waited its interval


def test_throttles_during_an_outage_drop_the_fallback_once_per_epoch(
    redis_server, redis_url
):
    limiter = RedisRateLimiter.from_url(redis_url, key=KEY, rate=10, sleep=lambda _s: None)
    epochs = [limiter.acquire() for _ in range(4)]  # four calls in flight under epoch 0
    redis_server.stop()
    try:
        known = [limiter.feedback(e or 0, throttled=True) for e in epochs]
        assert known == [False, True, True, True]
        assert limiter.rate == pytest.approx(8.5)  # once, as Redis would have
    finally:
        redis_server.ensure_running()


def test_a_throttle_of_a_fallback_call_reaches_the_fleet_once_redis_is_back(
    redis_server, redis_url
):
    clock = [0.0]
    limiter = RedisRateLimiter.from_url(
        redis_url, key=KEY, rate=10, clock=lambda: clock[0],
        sleep=lambda s: clock.__setitem__(0, clock[0] + s),
    )
    limiter.acquire()
    redis_server.stop()
    local_epoch = limiter.acquire()
    assert local_epoch is not None
    assert local_epoch < 0
    redis_server.ensure_running()
    redis.Redis.from_url(redis_url).flushall()
    clock[0] += 5
    assert limiter.acquire() is not None
    assert limiter.shared
    assert limiter.feedback(local_epoch, throttled=True) is False  # news for the fleet
    assert float(redis.Redis.from_url(redis_url).hget(KEY, "rate")) == pytest.approx(8.5)


def test_the_clients_start_a_limiter_with_no_rate_at_their_operations_pace(redis_url):
    campaigns = boto3.client("connectcampaignsv2", region_name="us-east-1")
    campaign = str(uuid.uuid4())
    limiter = RedisRateLimiter.from_url(redis_url, key=KEY)
    OutboundRequestBatchClient(campaigns, campaign_id=campaign, rate_limiter=limiter)
    assert limiter.initial_rate == 2.0  # DEFAULT_CAMPAIGN_RATE, not BatchPutContact's 10
    given = RedisRateLimiter.from_url(redis_url, key=KEY, rate=7)
    OutboundRequestBatchClient(campaigns, campaign_id=campaign, rate_limiter=given)
    assert given.initial_rate == 7


def test_a_client_that_retries_failed_commands_is_warned_about(redis_url, caplog):
    caplog.set_level(logging.WARNING, logger="connect_batch")
    RedisRateLimiter.from_url(redis_url, key=KEY)
    assert not [r for r in caplog.records if "retries a failed command" in r.getMessage()]
    port = redis.Redis.from_url(redis_url).connection_pool.connection_kwargs["port"]
    default = redis.Redis(host="127.0.0.1", port=port)  # redis-py's constructor's defaults
    RedisRateLimiter(default, key=KEY)
    retrying = [r for r in caplog.records if "retries a failed command" in r.getMessage()]
    retry = default.get_retry()
    assert len(retrying) == (1 if retry is not None and retry._retries else 0)


# A clock step back (NTP, a failover to a replica whose clock is behind) -----------------


def _schedule_ahead(client, seconds: float, rate: float = 10.0) -> None:
    """The key's schedule ``seconds`` ahead of Redis's clock, as after a step back."""
    ahead = redis_now_us(client) + int(seconds * US)
    client.hset(KEY, mapping={"tat": ahead, "rate": repr(rate), "epoch": 3, "probed": "1"})


def test_a_schedule_an_hour_ahead_is_a_clock_step_and_is_reset(client):
    _schedule_ahead(client, 3600)
    wait, stepped = stepped_acquire(client)
    assert wait == 0
    assert 3599 * US < stepped <= 3600 * US
    assert int(float(client.hget(KEY, "tat"))) <= redis_now_us(client) + US // 10
    assert client.hget(KEY, "epoch") == b"3"  # the pace and its epoch are kept
    wait, stepped = stepped_acquire(client)  # the next slot, at most one interval on
    assert 0 < wait <= US // 10
    assert stepped == 0


def test_a_schedule_the_fleet_booked_is_never_taken_for_a_step(client):
    # 65 slots ahead: the burst (1) and 64 processes, each with one slot booked.
    for booked in range(65):
        wait, stepped = stepped_acquire(client)
        assert stepped == 0
        assert abs(wait - booked * US // 10) < US // 20
    # One more than the fleet can hold is a step: reset, and the wait is gone.
    _schedule_ahead(client, 6.6)
    assert stepped_acquire(client)[1] > 0


def test_the_limiter_waits_no_longer_after_a_step_and_warns_once(redis_url, client, caplog):
    waits: list[float] = []
    limiter = RedisRateLimiter.from_url(redis_url, key=KEY, rate=10.0, sleep=waits.append)
    caplog.set_level(logging.WARNING, logger="connect_batch")
    for _ in range(2):
        _schedule_ahead(client, 3600)
        assert limiter.acquire() is not None
    assert max(waits, default=0.0) < 0.2
    steps = [r for r in caplog.records if "ahead of Redis's clock" in r.getMessage()]
    assert len(steps) == 1
    assert "3600" in steps[0].getMessage() or "3599" in steps[0].getMessage()


def test_fleet_size_is_checked():
    with pytest.raises(ConfigurationError, match="fleet_size"):
        RedisRateLimiter(redis.Redis(), key=KEY, fleet_size=0)


def test_a_first_ctrl_c_cuts_a_wait_for_a_shared_slot_short(redis_url, fake_connect):
    import os  # noqa: PLC0415
    import signal  # noqa: PLC0415
    import time  # noqa: PLC0415

    from connect_batch import result_of  # noqa: PLC0415
    from tests.builders import outbounds  # noqa: PLC0415

    # One call every 30 s: the second batch waits for its slot in the real time.sleep's
    # place, and a first Ctrl-C must end that wait, not sit it out.
    limiter = RedisRateLimiter.from_url(redis_url, key=KEY, rate=1 / 30)
    client = fake_connect.outbound_client(rate_limiter=limiter, concurrency=1)
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    started = time.monotonic()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt) as caught:
            client.put_requests(outbounds(50))
    finally:
        timer.cancel()
    assert time.monotonic() - started < 5
    result = result_of(caught.value)
    assert result is not None
    assert len(result) == 50
    assert len(result.succeeded) == len(fake_connect.requests) == 25
    assert {f.code for f in result.failed} <= {"INTERRUPTED", "NOT_SENT"}
