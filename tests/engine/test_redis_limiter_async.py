"""AsyncRedisRateLimiter against a real redis-server: one pace with the sync limiter."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import pytest
import redis.asyncio
from aiobotocore.session import get_session

from connect_batch import (
    AsyncOutboundRequestBatchClient,
    AsyncRedisRateLimiter,
    ConfigurationError,
    RedisRateLimiter,
    fleet_key,
)
from connect_batch._redis_limiter import KEY_PREFIX
from tests.builders import outbounds

KEY = fleet_key("123456789012", "us-east-1", "PutOutboundRequestBatch")
# These tests are of sharing, falling back and clock steps at exact paces: the pace a
# hair under a rate given (headroom) and slow start have tests of their own.
CLASSIC = {"headroom": 1.0, "slow_start": False}
US = 1_000_000


@pytest.fixture(autouse=True)
def _leave_redis_as_found(request):
    """Each test that used the server deletes the keys it wrote."""
    uses_redis = {"redis_url", "redis_server"} & set(request.fixturenames)
    server = request.getfixturevalue("redis_server") if uses_redis else None
    yield
    if server is not None and server.running():
        with server.client(socket_timeout=1) as connection:
            keys = list(connection.scan_iter(f"{KEY_PREFIX}:*"))
            if keys:
                connection.delete(*keys)


def test_sync_and_async_limiters_on_one_key_book_one_schedule(redis_url):
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    sync = RedisRateLimiter.from_url(redis_url, key=KEY, **CLASSIC, rate=20, sleep=waits.append)

    async def book() -> list[int | None]:
        limiter = AsyncRedisRateLimiter.from_url(redis_url, key=KEY, **CLASSIC,
                                                 rate=20, sleep=record)
        epochs = []
        for _ in range(5):
            epochs.append(await limiter.acquire_async())
            epochs.append(sync.acquire())
        await limiter.aclose()
        return epochs

    assert asyncio.run(book()) == [0] * 10
    # Ten slots of one schedule, taken in turn by the two: each waits one interval more
    # than the last (no clock moved in between but Redis's own).
    assert len(waits) == 9
    for n, wait in enumerate(waits, 1):
        assert n / 20 - 0.03 <= wait <= n / 20 + 0.001


def test_a_throttle_told_async_slows_the_sync_limiter(redis_url):
    sync = RedisRateLimiter.from_url(redis_url, key=KEY, **CLASSIC, sleep=lambda _s: None)

    async def throttle() -> bool:
        limiter = AsyncRedisRateLimiter.from_url(redis_url, key=KEY, **CLASSIC, sleep=_no_wait)
        epoch = await limiter.acquire_async()
        assert epoch == 0
        known = await limiter.feedback_async(epoch, throttled=True)
        await limiter.aclose()
        return known

    assert asyncio.run(throttle()) is False
    sync.acquire()
    assert sync.rate == pytest.approx(8.5)
    assert sync.feedback(0, throttled=True) is True  # that epoch's throttle is known


def test_unreachable_redis_paces_the_loop_in_process_and_warns_once(redis_server, caplog):
    caplog.set_level(logging.WARNING, logger="connect_batch")
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    async def book() -> list[int | None]:
        limiter = AsyncRedisRateLimiter.from_url(
            "redis://127.0.0.1:1/0", key=KEY, **CLASSIC, rate=50, timeout=0.1, sleep=record
        )
        epochs = [await limiter.acquire_async() for _ in range(10)]
        assert not limiter.shared
        assert await limiter.feedback_async(epochs[0], throttled=True) is False
        assert limiter.rate == pytest.approx(50 * 0.85)
        return epochs

    epochs = asyncio.run(book())
    assert all(e is not None and e < 0 for e in epochs)
    assert sum(waits) >= 9 / 50 - 1e-9  # paced in-process, never faster than the rate
    assert len([r for r in caplog.records if "unreachable" in r.getMessage()]) == 1


def test_an_async_limiter_refuses_sync_use():
    limiter = AsyncRedisRateLimiter(_NoRedis(), key=KEY, **CLASSIC)
    with pytest.raises(ConfigurationError, match="RedisRateLimiter"):
        limiter.acquire()
    with pytest.raises(ConfigurationError, match="RedisRateLimiter"):
        limiter.booking(None)  # what a sync client's run would call first
    with pytest.raises(ConfigurationError, match="RedisRateLimiter"):
        limiter.feedback(0, throttled=False)


def test_an_async_client_paces_through_redis(http_connect, moto_server, redis_url):
    async def put() -> Any:
        limiter = AsyncRedisRateLimiter.from_url(redis_url, key=KEY, **CLASSIC)
        async with get_session().create_client(
            "connectcampaignsv2", region_name="us-east-1", endpoint_url=moto_server
        ) as aio:
            client = AsyncOutboundRequestBatchClient(
                aio, campaign_id=http_connect.campaign_id, concurrency=4, rate_limiter=limiter,
            )
            result = await client.put_requests(outbounds(75))
        state = await limiter._redis.hgetall(KEY)
        await limiter.aclose()
        return result, state, limiter

    result, state, limiter = asyncio.run(put())
    assert len(result.succeeded) == 75
    assert len(http_connect.requests) == 75
    assert limiter.shared
    # Given no rate, it started at the campaign APIs' pace, and probed up from there.
    assert 2.0 < float(state[b"rate"]) < 3.0


async def _no_wait(_seconds: float) -> None:
    return None


class _NoRedis:
    """Enough of a redis.asyncio client to build a limiter that is never used."""

    def register_script(self, _script: str) -> object:
        return object()


def test_a_limiter_from_url_serves_one_event_loop_after_another(redis_url):
    """A redis.asyncio client belongs to its loop: from_url makes one for each loop, so a
    second asyncio.run paces through Redis too instead of falling back."""
    limiter = AsyncRedisRateLimiter.from_url(redis_url, key=KEY, **CLASSIC, rate=1000)

    async def book() -> tuple[list[int | None], bool]:
        epochs = [await limiter.acquire_async() for _ in range(3)]
        await limiter.aclose()
        return epochs, limiter.shared

    for _ in range(3):
        assert asyncio.run(book()) == ([0, 0, 0], True)


def test_a_client_of_your_own_used_on_a_second_loop_is_refused_in_words(redis_url):
    client = redis.asyncio.Redis.from_url(redis_url)
    limiter = AsyncRedisRateLimiter(client, key=KEY, **CLASSIC, rate=1000)

    async def book() -> int | None:
        try:
            return await limiter.acquire_async()
        finally:
            await client.aclose()

    assert asyncio.run(book()) == 0
    with pytest.raises(ConfigurationError, match="one limiter per event loop"):
        asyncio.run(book())


def test_a_limiter_from_url_serves_loops_running_at_once_on_threads(redis_url):
    limiter = AsyncRedisRateLimiter.from_url(redis_url, key=KEY, **CLASSIC, rate=1000)
    seen: list[tuple[list[int | None], bool]] = []

    async def book() -> None:
        epochs = [await limiter.acquire_async() for _ in range(20)]
        seen.append((epochs, limiter.shared))
        await limiter.aclose()

    threads = [threading.Thread(target=asyncio.run, args=(book(),)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == [([0] * 20, True)] * 3


def _schedule_ahead(redis_url: str, seconds: float) -> None:
    """The key's schedule ``seconds`` ahead of Redis's clock, as after a step back."""
    plain = redis.Redis.from_url(redis_url)
    now, micros = plain.time()
    plain.hset(KEY, mapping={"tat": (now + seconds) * US + micros, "rate": "20",
                             "epoch": 1, "probed": "1"})
    plain.close()


def _ahead(redis_url: str) -> float:
    plain = redis.Redis.from_url(redis_url)
    now, micros = plain.time()
    ahead = (int(float(plain.hget(KEY, "tat"))) - now * US - micros) / US
    plain.close()
    return ahead


def _step_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.levelname == "WARNING" and "ahead of Redis's clock" in r.getMessage()]


def test_the_async_limiter_resets_a_schedule_a_clock_step_left_ahead(redis_url, caplog):
    caplog.set_level(logging.WARNING, logger="connect_batch")
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    async def book() -> list[int | None]:
        limiter = AsyncRedisRateLimiter.from_url(redis_url, key=KEY, **CLASSIC,
                                                 rate=20, sleep=record)
        try:
            _schedule_ahead(redis_url, 3600)
            epochs = [await limiter.acquire_async()]
            assert _ahead(redis_url) <= 0.05  # re-seeded to now: the next slot is next
            _schedule_ahead(redis_url, 3600)  # another step, met by a throttle's feedback
            assert await limiter.feedback_async(1, throttled=True) is False
            assert _ahead(redis_url) <= 1 / 17
            epochs.append(await limiter.acquire_async())
            return epochs
        finally:
            await limiter.aclose()

    assert asyncio.run(book()) == [1, 2]  # the epoch is kept; the throttle moved it on
    assert max(waits, default=0.0) < 0.1
    steps = _step_warnings(caplog)
    assert len(steps) == 1  # once per limiter
    assert "3600.0 s ahead" in steps[0] or "3599.9 s ahead" in steps[0]


def test_async_limiters_booked_up_to_the_bound_are_not_taken_for_a_step(redis_url, caplog):
    # Ten limiters (a fleet of event loops) of fleet_size 4 on one key each hold one slot:
    # the last books 9 intervals ahead, the most a schedule may lie (1 + 2 * 4): no reset.
    caplog.set_level(logging.WARNING, logger="connect_batch")
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    async def book() -> None:
        fleet = [AsyncRedisRateLimiter.from_url(redis_url, key=KEY, **CLASSIC,
                                                rate=1.0, fleet_size=4,
                                                sleep=record) for _ in range(10)]
        for limiter in fleet:
            assert await limiter.acquire_async() == 0
            await limiter.aclose()

    asyncio.run(book())
    assert len(waits) == 9
    assert all(n - 0.5 < wait <= n for n, wait in enumerate(waits, 1))
    assert 9.5 < _ahead(redis_url) <= 10
    assert _step_warnings(caplog) == []
