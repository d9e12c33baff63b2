"""RedisRateLimiter against a real redis-server: the Lua scripts' arithmetic at its edges,
one round trip and one sleep per acquire, the shared adaptive pace, and the fallback."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
import uuid

import boto3
import pytest
import redis

from connect_batch import (
    ConfigurationError,
    OutboundRequestBatchClient,
    RedisRateLimiter,
    fleet_key,
    result_of,
)
from connect_batch._engine import Cancelled
from connect_batch._engine.steps import drive
from connect_batch._redis_limiter import (
    ACQUIRE,
    FEEDBACK,
    IDLE_RESET_SECONDS,
    KEY_PREFIX,
    KEY_TTL_SECONDS,
)
from tests.builders import outbounds

KEY = fleet_key("123456789012", "us-east-1", "BatchPutContact")
# These tests are of sharing, falling back and clock steps at exact paces: the pace a
# hair under a rate given (headroom) and slow start have tests of their own.
CLASSIC = {"headroom": 1.0, "slow_start": False}
US = 1_000_000
SLOTS = 1 + 2 * 64  # what a limiter with the defaults sends: burst + 2 * fleet_size


@pytest.fixture(autouse=True)
def _leave_redis_as_found(request):
    """Each test that used the server deletes the keys it wrote."""
    uses_redis = {"redis_url", "redis_server", "client"} & set(request.fixturenames)
    server = request.getfixturevalue("redis_server") if uses_redis else None
    yield
    if server is not None and server.running():
        with server.client(socket_timeout=1) as connection:
            keys = list(connection.scan_iter(f"{KEY_PREFIX}:*"))
            if keys:
                connection.delete(*keys)


@pytest.fixture
def client(redis_url):
    connection = redis.Redis.from_url(redis_url, socket_timeout=1)
    yield connection
    connection.close()


def acquire(client, *, rate=10.0, burst=1, max_wait_us=-1, max_rate=-1, initial=None,
            slots=SLOTS):
    """The ACQUIRE script: ``rate`` is the seed (the caller's last view of the pace)."""
    wait, epoch, shared, _stepped = client.register_script(ACQUIRE)(
        keys=[KEY], args=[repr(rate), repr(initial or rate), max_rate, burst, max_wait_us,
                          KEY_TTL_SECONDS, IDLE_RESET_SECONDS * US, slots],
    )
    return int(wait), int(epoch), float(shared)


def stepped_acquire(client, *, rate=10.0, slots=SLOTS, max_wait_us=-1):
    """The ACQUIRE script's answer whole: (wait_us, stepped_us)."""
    wait, _epoch, _shared, stepped = client.register_script(ACQUIRE)(
        keys=[KEY], args=[repr(rate), repr(rate), -1, 1, max_wait_us, KEY_TTL_SECONDS,
                          IDLE_RESET_SECONDS * US, slots],
    )
    return int(wait), int(stepped)


def stepped_feedback(client, epoch, *, throttled, max_rate=-1, initial=10.0, burst=1,
                     slots=SLOTS):
    """The FEEDBACK script's answer whole: (known, stepped_us)."""
    known, stepped = client.register_script(FEEDBACK)(
        keys=[KEY], args=[epoch, int(throttled), max_rate, 0.5, 0.85, 0.05, 0.01, initial,
                          KEY_TTL_SECONDS, burst, slots],
    )
    return int(known), int(stepped)


def feedback(client, epoch, *, throttled, max_rate=-1, initial=10.0, burst=1):
    return stepped_feedback(client, epoch, throttled=throttled, max_rate=max_rate,
                            initial=initial, burst=burst)[0]


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
    before = redis_now_us(client)
    assert feedback(client, epoch, throttled=True) == 0  # news
    assert float(client.hget(KEY, "rate")) == pytest.approx(8.5)
    assert int(client.hget(KEY, "epoch")) == epoch + 1
    # A throttle of a call sent before the drop is already known: no second drop.
    assert feedback(client, epoch, throttled=True) == 1
    assert float(client.hget(KEY, "rate")) == pytest.approx(8.5)
    # The next slot is at least one new interval after the throttle was told (Redis's clock
    # read before, so that a slow machine between the calls cannot fail it).
    assert int(client.hget(KEY, "tat")) >= before + US / 8.5


def test_successes_probe_upward_fast_then_slowly_and_never_past_max_rate(client):
    acquire(client, rate=10)
    acquire(client, rate=10)  # the second waits: the pace is what holds calls back
    feedback(client, 0, throttled=False)
    assert float(client.hget(KEY, "rate")) == pytest.approx(10.05)  # before any throttle
    feedback(client, 0, throttled=True)
    feedback(client, 1, throttled=False)
    assert float(client.hget(KEY, "rate")) == pytest.approx(10.05 * 0.85 + 0.01)  # after
    for _ in range(200):
        feedback(client, 1, throttled=False, max_rate=9.0)
    assert float(client.hget(KEY, "rate")) == 9.0


def test_a_pace_that_held_no_call_back_lately_does_not_grow(client):
    acquire(client, rate=10)  # the first call goes at once: nothing held back
    feedback(client, 0, throttled=False)
    assert float(client.hget(KEY, "rate")) == 10.0
    acquire(client, rate=10)  # held back an interval: the pace limits the fleet
    feedback(client, 0, throttled=False)
    assert float(client.hget(KEY, "rate")) == pytest.approx(10.05)
    # Two seconds later with no call held back since, successes grow nothing.
    client.hset(KEY, "held", redis_now_us(client) - 2 * US)
    for _ in range(20):
        feedback(client, 0, throttled=False)
    assert float(client.hget(KEY, "rate")) == pytest.approx(10.05)


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
    limiter = RedisRateLimiter(counting, key=KEY, **CLASSIC, rate=20, sleep=slept.append)
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
    first = RedisRateLimiter.from_url(redis_url, key=KEY, **CLASSIC, sleep=lambda _s: None)
    second = RedisRateLimiter.from_url(redis_url, key=KEY, **CLASSIC, sleep=lambda _s: None)
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
        RedisRateLimiter(client, key=KEY, **CLASSIC, rate=0)
    with pytest.raises(ConfigurationError, match="burst"):
        RedisRateLimiter(client, key=KEY, **CLASSIC, burst=0)
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
        redis_server.url, key=KEY, **CLASSIC, rate=50, timeout=0.2, clock=lambda: clock[0],
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
    limiter = RedisRateLimiter.from_url(redis_url, key=KEY, **CLASSIC, rate=1000)
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
    limiter = RedisRateLimiter.from_url(redis_url, key=KEY, **CLASSIC, rate=10, sleep=slept.append)
    assert limiter.acquire(0) is None
    assert limiter.acquire(-0.001) is None
    assert limiter.acquire(float("inf")) == 0
    assert limiter.acquire(float("inf")) == 0
    assert len(slept) == 1  # the second call waited its interval


def test_throttles_during_an_outage_drop_the_fallback_once_per_epoch(
    redis_server, redis_url
):
    limiter = RedisRateLimiter.from_url(redis_url, key=KEY, **CLASSIC,
                                        rate=10, sleep=lambda _s: None)
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
        redis_url, key=KEY, **CLASSIC, rate=10, clock=lambda: clock[0],
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
    limiter = RedisRateLimiter.from_url(redis_url, key=KEY, **CLASSIC)
    OutboundRequestBatchClient(campaigns, campaign_id=campaign, rate_limiter=limiter)
    assert limiter.initial_rate == 2.0  # DEFAULT_CAMPAIGN_RATE, not BatchPutContact's 10
    given = RedisRateLimiter.from_url(redis_url, key=KEY, **CLASSIC, rate=7)
    OutboundRequestBatchClient(campaigns, campaign_id=campaign, rate_limiter=given)
    assert given.initial_rate == 7


def test_a_client_that_retries_failed_commands_is_warned_about(redis_url, caplog):
    caplog.set_level(logging.WARNING, logger="connect_batch")
    RedisRateLimiter.from_url(redis_url, key=KEY, **CLASSIC)
    assert not [r for r in caplog.records if "retries a failed command" in r.getMessage()]
    port = redis.Redis.from_url(redis_url).connection_pool.connection_kwargs["port"]
    default = redis.Redis(host="127.0.0.1", port=port)  # redis-py's constructor's defaults
    RedisRateLimiter(default, key=KEY, **CLASSIC)
    retrying = [r for r in caplog.records if "retries a failed command" in r.getMessage()]
    retry = default.get_retry()
    assert len(retrying) == (1 if retry is not None and retry._retries else 0)


# A clock step back (NTP, a failover to a replica whose clock is behind) -----------------


def _schedule_ahead(client, seconds: float, rate: float = 10.0) -> None:
    """The key's schedule ``seconds`` ahead of Redis's clock, as after a step back."""
    ahead = redis_now_us(client) + int(seconds * US)
    client.hset(KEY, mapping={"tat": ahead, "rate": repr(rate), "epoch": 3, "probed": "1"})


def _ahead(client) -> float:
    """How far the key's schedule lies ahead of Redis's clock, in seconds."""
    return (int(float(client.hget(KEY, "tat"))) - redis_now_us(client)) / US


def _step_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.levelname == "WARNING" and "ahead of Redis's clock" in r.getMessage()]


def test_a_schedule_an_hour_ahead_is_a_clock_step_and_is_reset(client):
    _schedule_ahead(client, 3600)
    wait, stepped = stepped_acquire(client)
    assert wait == 0
    assert 3599 * US < stepped <= 3600 * US
    assert _ahead(client) <= 0.1
    assert client.hmget(KEY, "epoch", "rate", "probed") == [b"3", b"10", b"1"]  # kept
    wait, stepped = stepped_acquire(client)  # the next slot, one interval on
    assert 0 < wait <= US // 10
    assert stepped == 0


def test_a_step_is_reset_even_when_the_wait_is_refused(client):
    # A max wait too short for any slot: nothing is booked, but the step is still undone.
    _schedule_ahead(client, 3600)
    wait, stepped = stepped_acquire(client, max_wait_us=0)
    assert wait == -1
    assert stepped > 3599 * US
    assert _ahead(client) <= 0


def test_a_throttle_resets_a_schedule_a_clock_step_left_ahead(client):
    _schedule_ahead(client, 3600)
    assert stepped_feedback(client, 3, throttled=True)[1] > 3599 * US
    # The throttle's own next slot, one new interval away, and no hour.
    assert 0 < _ahead(client) <= 1 / 8.5
    assert int(client.hget(KEY, "epoch")) == 4
    # A success does not read the schedule; an old epoch's throttle is known.
    _schedule_ahead(client, 3600)
    assert stepped_feedback(client, 3, throttled=False) == (0, 0)
    assert stepped_feedback(client, 2, throttled=True) == (1, 0)


def test_the_limiter_waits_no_longer_after_a_step_and_warns_once(redis_url, client, caplog):
    waits: list[float] = []
    limiter = RedisRateLimiter.from_url(redis_url, key=KEY, **CLASSIC,
                                        rate=10.0, sleep=waits.append)
    caplog.set_level(logging.WARNING, logger="connect_batch")
    _schedule_ahead(client, 3600)
    assert limiter.acquire() == 3  # the epoch is kept
    assert waits == []  # re-seeded to now: no wait at all
    assert 0 < _ahead(client) <= 0.1
    for _ in range(2):  # further steps, seen by acquire and by a throttle's feedback
        _schedule_ahead(client, 3600)
        assert limiter.feedback(3, throttled=True) is False
        _schedule_ahead(client, 3600)
        assert limiter.acquire() is not None
    assert max(waits) < 0.2
    steps = _step_warnings(caplog)
    assert len(steps) == 1  # once per limiter
    assert KEY in steps[0]
    assert "3600.0 s ahead" in steps[0] or "3599.9 s ahead" in steps[0]
    assert "reset" in steps[0]


def test_a_fleet_booked_up_to_the_bound_is_never_taken_for_a_step(redis_url, client, caplog):
    # fleet_size 4 and burst 1: a step is a schedule more than 1 + 2 * 4 = 9 intervals
    # ahead. Ten limiters (processes) each book one slot and hold it: the tenth books at
    # 9 intervals ahead, and nothing is reset. One slot more is past the bound.
    caplog.set_level(logging.WARNING, logger="connect_batch")
    waits: list[float] = []
    fleet = [RedisRateLimiter.from_url(redis_url, key=KEY, **CLASSIC, rate=1.0, fleet_size=4,
                                       sleep=waits.append) for _ in range(11)]
    for limiter in fleet[:10]:
        assert limiter.acquire() == 0
    assert len(waits) == 9  # the first goes at once; the others wait 1 s, 2 s, ... 9 s
    assert all(n - 0.5 < wait <= n for n, wait in enumerate(waits, 1))
    assert 9.5 < _ahead(client) <= 10
    assert _step_warnings(caplog) == []
    assert fleet[10].acquire() == 0  # 10 intervals ahead: more than this fleet can book
    assert len(waits) == 9
    assert len(_step_warnings(caplog)) == 1
    for limiter in fleet:
        limiter._redis.close()


def test_a_busy_schedule_is_not_reset_when_the_pace_rises(redis_url, client, caplog):
    # Six processes book a slot each at 2 calls/s (3 s of schedule); then a run of
    # successes lifts the pace to 12 calls/s. At the new pace 3 s is 36 intervals, far more
    # than the 9 a fleet of 4 may book: the bound is counted at the slowest pace booked.
    caplog.set_level(logging.WARNING, logger="connect_batch")
    waits: list[float] = []
    fleet = [RedisRateLimiter.from_url(redis_url, key=KEY, **CLASSIC,
                                       initial_rate=2.0, fleet_size=4,
                                       sleep=waits.append) for _ in range(7)]
    for limiter in fleet[:6]:
        limiter.acquire()
    for _ in range(200):
        fleet[0].feedback(0, throttled=False)
    assert float(client.hget(KEY, "rate")) == pytest.approx(12.0)
    del waits[:]
    assert fleet[6].acquire() == 0
    assert len(waits) == 1
    assert 2.5 < waits[0] <= 3.0  # its slot is after the six booked, not reset to now
    assert _step_warnings(caplog) == []
    for limiter in fleet:
        limiter._redis.close()


def test_fleet_size_is_checked():
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ConfigurationError, match="fleet_size"):
            RedisRateLimiter(redis.Redis(), key=KEY, **CLASSIC, fleet_size=bad)


# A wait for a slot is cut short when the run stops ------------------------------------------


def _wait_for(condition, timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_a_stopped_wait_gives_its_turn_back_and_books_nothing_more(redis_url, client):
    # Two threads of one process drive the limiter's booking steps as a client's run does,
    # with a wait the run's stop cuts short. One waits for its slot; the other waits for
    # its turn to book. The stop ends both at once, the second before it books anything.
    limiter = RedisRateLimiter.from_url(redis_url, key=KEY, **CLASSIC, rate=0.5)  # a slot every 2 s
    assert limiter.acquire() == 0  # the first slot, now
    stop = threading.Event()
    errors: list[BaseException] = []

    def wait_for_slot(seconds: float) -> None:
        if stop.wait(seconds):
            raise Cancelled  # as the engine's wait for a slot does

    def book() -> None:
        try:
            drive(limiter.booking(None), wait_for_slot)
        except BaseException as error:  # noqa: BLE001 - checked below
            errors.append(error)

    first = threading.Thread(target=book)
    first.start()
    _wait_for(lambda: _ahead(client) > 3)  # it booked the slot 2 s on, and waits
    second = threading.Thread(target=book)
    second.start()
    _wait_for(lambda: limiter._booking.locked() and second.is_alive())
    time.sleep(0.05)  # the second waits for its turn
    started = time.monotonic()
    stop.set()
    first.join(2)
    second.join(2)
    assert time.monotonic() - started < 0.5
    assert [type(e) for e in errors] == [Cancelled, Cancelled]
    assert not limiter._booking.locked()
    assert 3 < _ahead(client) <= 4  # the first's slot stays booked (given up); no other
    waits: list[float] = []
    limiter.sleep = waits.append
    assert limiter.acquire() == 0  # the turn was given back: the next slot, after those
    assert len(waits) == 1
    assert 3 < waits[0] <= 4
    limiter._redis.close()


def _after_the_second_booking(client, then) -> threading.Thread:
    """Run ``then`` once the key's second slot, 30 s on, is booked (a batch waits for it);
    give up after 5 s."""

    def watch() -> None:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            tat = client.hget(KEY, "tat")
            if tat is not None and int(float(tat)) - redis_now_us(client) > 45 * US:
                then()
                return
            time.sleep(0.01)

    watcher = threading.Thread(target=watch)
    watcher.start()
    return watcher


def test_closing_a_run_cuts_a_wait_for_a_shared_slot_short(redis_url, client, fake_connect):
    # One call every 30 s: of two batches sent together, the second waits for its slot
    # with the real time.sleep as the limiter's sleep. Closing the stream stops the run,
    # and ends that wait at once, not 30 s later.
    limiter = RedisRateLimiter.from_url(redis_url, key=KEY, **CLASSIC, rate=1 / 30)
    batch_client = fake_connect.outbound_client(rate_limiter=limiter, concurrency=2)
    stream = batch_client.iter_put_requests(outbounds(50))
    first = next(stream)
    booked = threading.Event()
    _after_the_second_booking(client, booked.set).join()
    assert booked.is_set(), "the second batch never booked its slot"
    started = time.monotonic()
    rest = stream.close()
    assert time.monotonic() - started < 2
    outcomes = [first, *rest.succeeded, *rest.failed]
    assert sorted(o.position for o in outcomes) == list(range(50))
    assert len(fake_connect.requests) == 1 + len(rest.succeeded) == 25
    assert all(not f.outcome_unknown for f in rest.failed)
    limiter._redis.close()


@pytest.mark.slow  # a real signal to this test process
def test_a_first_ctrl_c_cuts_a_wait_for_a_shared_slot_short(redis_url, client, fake_connect):
    # As above, stopped by a first Ctrl-C: a real SIGINT once the second batch has booked
    # its slot, 30 s away. The run returns at once with every input answered.
    limiter = RedisRateLimiter.from_url(redis_url, key=KEY, **CLASSIC, rate=1 / 30)
    batch_client = fake_connect.outbound_client(rate_limiter=limiter, concurrency=1)
    sent_at: list[float] = []

    def interrupt() -> None:
        sent_at.append(time.monotonic())
        os.kill(os.getpid(), signal.SIGINT)

    watcher = _after_the_second_booking(client, interrupt)
    try:
        with pytest.raises(KeyboardInterrupt) as caught:
            batch_client.put_requests(outbounds(50))
    finally:
        watcher.join()
    assert sent_at, "the second batch never booked its slot"
    assert time.monotonic() - sent_at[0] < 2
    result = result_of(caught.value)
    assert result is not None
    assert len(result) == 50
    assert len(result.succeeded) == len(fake_connect.requests) == 25
    assert {f.code for f in result.failed} <= {"INTERRUPTED", "NOT_SENT"}
    limiter._redis.close()
