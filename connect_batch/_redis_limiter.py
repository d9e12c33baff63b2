"""A rate limiter shared by every process that names the same Redis key.

A fleet of workers (ECS tasks, Lambda invocations, hosts) draws on one account-and-Region
quota per operation. Each paces itself alone with ``AdaptiveRateLimiter``; with
``RedisRateLimiter`` they share one schedule instead.

The schedule is GCRA (the generic cell rate algorithm): one *theoretical arrival time*
(TAT) per key. Each ``acquire`` is one Lua script, one round trip: it reads Redis's clock
(``TIME``, so that hosts with skewed clocks still share one schedule), books the next slot,
and returns how long to wait for it; the caller sleeps exactly that, and never polls. The
script keeps the shared pace as well: ``feedback`` is a second script that lowers it once
per epoch on a throttle (or a capacity answer) and raises it a little on a success.

If Redis cannot be reached, or answers slower than the client's socket timeout, the
limiter paces this process with an in-process ``AdaptiveRateLimiter`` (a WARNING, logged
once), and tries Redis again every ``retry_interval`` seconds; it goes back to it as soon
as it answers. A run never stops, and never waits without bound, because Redis failed.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from connect_batch._errors import ConfigurationError
from connect_batch._pacing import DEFAULT_QUOTA, AdaptiveRateLimiter

logger = logging.getLogger("connect_batch")

KEY_PREFIX = "connect-batch"
# Idle keys vanish: a fleet that stops for this long starts afresh.
KEY_TTL_SECONDS = 3600

# KEYS[1]: the limiter's hash (fields tat, rate, epoch, probed).
# ARGV: initial rate (calls/s), burst (calls), max wait (us, or -1), key TTL (s).
# Returns {wait_us, epoch, rate}: wait_us is -1 when the wait would reach max wait (nothing
# is booked then). Times are microseconds of Redis's clock, kept in Lua doubles (exact
# below 2**53 us, which is the year 2255).
ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local state = redis.call('HMGET', KEYS[1], 'tat', 'rate', 'epoch')
local rate = tonumber(state[2]) or tonumber(ARGV[1])
local epoch = tonumber(state[3]) or 0
local interval = 1000000 / rate
local tat = tonumber(state[1]) or now
if tat < now then tat = now end
local wait = tat - (tonumber(ARGV[2]) - 1) * interval - now
if wait < 0 then wait = 0 end
local max_wait = tonumber(ARGV[3])
if max_wait >= 0 and wait >= max_wait then
  return {-1, epoch, tostring(rate)}
end
redis.call('HSET', KEYS[1], 'tat', string.format('%.0f', tat + interval),
           'rate', tostring(rate), 'epoch', epoch)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
return {math.floor(wait), epoch, tostring(rate)}
"""

# KEYS[1]: the limiter's hash. ARGV: the call's epoch, throttled (1/0), max rate (or -1),
# min rate, decrease, probe step, cruise step, initial rate, key TTL (s).
# Returns 1 when a throttle was already known (the call's epoch is behind), else 0.
FEEDBACK = """
local state = redis.call('HMGET', KEYS[1], 'rate', 'epoch', 'probed', 'tat')
local rate = tonumber(state[1]) or tonumber(ARGV[8])
local epoch = tonumber(state[2]) or 0
local max_rate = tonumber(ARGV[3])
if ARGV[2] == '0' then
  local step = tonumber(ARGV[6])
  if state[3] == '1' then step = tonumber(ARGV[7]) end
  rate = rate + step
  if max_rate > 0 and rate > max_rate then rate = max_rate end
  redis.call('HSET', KEYS[1], 'rate', tostring(rate))
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[9]))
  return 0
end
if tonumber(ARGV[1]) < epoch then return 1 end
local floor = tonumber(ARGV[4])
if max_rate > 0 and max_rate < floor then floor = max_rate end
rate = rate * tonumber(ARGV[5])
if rate < floor then rate = floor end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(state[4]) or now
local next_slot = now + 1000000 / rate
if tat < next_slot then tat = next_slot end
redis.call('HSET', KEYS[1], 'rate', tostring(rate), 'epoch', epoch + 1, 'probed', '1',
           'tat', string.format('%.0f', tat))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[9]))
return 0
"""


def fleet_key(account: str, region: str, operation: str) -> str:
    """The documented key for one quota: ``connect-batch:<account>:<region>:<operation>``.

    The quota of each operation is per account and Region, so every worker that shares it
    should name the same key, and no other quota's.
    """
    for name, value in (("account", account), ("region", region), ("operation", operation)):
        if not value or ":" in value:
            raise ConfigurationError(f"fleet_key: {name} must be non-empty, without ':'")
    return f"{KEY_PREFIX}:{account}:{region}:{operation}"


class RedisRateLimiter:
    """Paces every process that names the same ``key`` as one, through Redis.

    ``redis_client`` is a redis-py ``Redis`` (give it a ``socket_timeout``, such as 0.25
    s: a slower answer counts as Redis unreachable). ``key`` names the shared state; use
    ``fleet_key(account, region, operation)``. With ``rate`` (calls/s) the fleet starts
    there and never exceeds it, slowing down only when throttled; with none it starts at
    ``initial_rate`` and adapts as ``AdaptiveRateLimiter`` does, but once for the whole
    fleet: a throttle seen by any process lowers the shared pace once per epoch, and
    successes probe upward. ``burst`` is how many calls may go at once after an idle spell
    (default 1: evenly spaced, which never drains the service's bucket).

    Pass it as ``rate_limiter=`` to any client; one instance may be shared by threads.
    """

    def __init__(
        self,
        redis_client: Any,
        *,
        key: str,
        rate: float | None = None,
        burst: int | None = None,
        initial_rate: float = DEFAULT_QUOTA,
        min_rate: float = 0.5,
        decrease: float = 0.85,
        probe_step: float = 0.05,
        cruise_step: float = 0.01,
        retry_interval: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not isinstance(key, str) or not key:
            raise ConfigurationError("key must be a non-empty str (see fleet_key)")
        if rate is not None and not rate > 0:
            raise ConfigurationError("rate must be > 0 calls per second")
        if burst is not None and (isinstance(burst, bool) or not isinstance(burst, int)
                                  or burst < 1):
            raise ConfigurationError("burst must be an int >= 1")
        if not initial_rate > 0:
            raise ConfigurationError("initial_rate must be > 0")
        self.key = key
        self.max_rate = rate
        self.burst = 1 if burst is None else burst
        self.initial_rate = rate if rate is not None else initial_rate
        self.min_rate = min_rate
        self.decrease = decrease
        self.probe_step = probe_step
        self.cruise_step = cruise_step
        self.retry_interval = retry_interval
        self._sleep = sleep
        self._clock = clock
        self._redis = redis_client
        self._acquire = redis_client.register_script(ACQUIRE)
        self._feedback = redis_client.register_script(FEEDBACK)
        # Connect and load the scripts now, so that the first call's slot is not spent on
        # three round trips (a late first call lands next to the following slot).
        with contextlib.suppress(Exception):
            for script in (ACQUIRE, FEEDBACK):
                redis_client.script_load(script)
        self._lock = threading.Lock()
        self._booking = threading.Lock()
        self._fallback: AdaptiveRateLimiter | None = None
        self._down_since: float | None = None
        self._last_try = 0.0
        self._warned = False
        self._rate = self.initial_rate
        # The last slot this process handed out, through Redis or not: with no burst
        # allowed, no two of its calls go closer than one interval, even at a switch
        # between Redis and the fallback (whose schedules know nothing of each other).
        self._last_slot = float("-inf")

    @classmethod
    def from_url(
        cls, url: str, *, key: str, timeout: float = 0.25, **options: Any
    ) -> RedisRateLimiter:
        """A limiter on a new redis-py client for ``url`` (``redis://host:6379/0``), whose
        connect and socket timeouts are ``timeout`` seconds."""
        import redis  # noqa: PLC0415 - the optional extra

        client = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        return cls(client, key=key, **options)

    @property
    def rate(self) -> float:
        """The last shared pace seen (calls/s), or the fallback's while Redis is away."""
        fallback = self._fallback
        return fallback.rate if fallback is not None else self._rate

    @property
    def shared(self) -> bool:
        """True while pacing through Redis; False while on the in-process fallback."""
        return self._fallback is None

    def acquire(self, max_wait: float | None = None) -> int | None:
        """Book the next shared slot and sleep until it; ``None`` if that would take
        ``max_wait`` seconds or more (nothing is booked then)."""
        fallback = self._fallback
        if fallback is not None and not self._time_to_try():
            return self._local(fallback, max_wait)
        # One booking at a time per process: a thread books its slot only once the last
        # one booked here has come. The fleet then holds at most one slot per process
        # booked ahead, so after a slow-down at most that many calls go at the old pace.
        started = self._clock()
        if not self._booking.acquire(timeout=-1 if max_wait is None else max(max_wait, 0)):
            return None
        try:
            left = None if max_wait is None else max_wait - (self._clock() - started)
            if left is not None and left <= 0:
                return None
            return self._book(left)
        finally:
            self._booking.release()

    def _book(self, max_wait: float | None) -> int | None:
        try:
            wait_us, epoch, rate = self._acquire(
                keys=[self.key],
                args=[
                    repr(float(self.initial_rate)), self.burst,
                    -1 if max_wait is None else int(max_wait * 1_000_000), KEY_TTL_SECONDS,
                ],
            )
        except Exception as error:  # noqa: BLE001 - any Redis failure: pace in-process
            return self._local(self._go_local(error), max_wait)
        self._back_on_redis()
        self._rate = float(rate)
        if int(wait_us) < 0:
            return None
        self._gate(self._clock() + int(wait_us) / 1_000_000, self._rate)
        return int(epoch)

    def _local(self, fallback: AdaptiveRateLimiter, max_wait: float | None) -> int | None:
        epoch = fallback.acquire(max_wait)
        if epoch is None:
            return None
        self._gate(self._clock(), fallback.rate)
        return -epoch - 1  # the fallback's epochs are negative: feedback tells them apart

    def _gate(self, ready: float, rate: float) -> None:
        """Sleep until ``ready``, and (with no burst) at least one interval after this
        process's last slot."""
        with self._lock:
            slot = ready if self.burst > 1 else max(ready, self._last_slot + 1.0 / rate)
            self._last_slot = max(self._last_slot, slot)
        wait = slot - self._clock()
        if wait > 0:
            self._sleep(wait)

    def feedback(self, epoch: int, *, throttled: bool) -> bool:
        """Tell the fleet how the call went; True if its throttle was already known."""
        if epoch < 0:  # a call paced by the fallback
            fallback = self._fallback
            return fallback.feedback(-epoch - 1, throttled=throttled) if fallback else False
        try:
            known = self._feedback(
                keys=[self.key],
                args=[
                    epoch, 1 if throttled else 0,
                    -1 if self.max_rate is None else repr(float(self.max_rate)),
                    repr(float(self.min_rate)), repr(float(self.decrease)),
                    repr(float(self.probe_step)), repr(float(self.cruise_step)),
                    repr(float(self.initial_rate)), KEY_TTL_SECONDS,
                ],
            )
        except Exception as error:  # noqa: BLE001 - any Redis failure: pace in-process
            local = self._go_local(error)
            if throttled:
                local.feedback(local.epoch, throttled=True)
            return False
        return bool(known)

    # Falling back, and coming back.
    def _time_to_try(self) -> bool:
        with self._lock:
            now = self._clock()
            if now - self._last_try < self.retry_interval:
                return False
            self._last_try = now
            return True

    def _go_local(self, error: BaseException) -> AdaptiveRateLimiter:
        with self._lock:
            if self._fallback is None:
                self._fallback = AdaptiveRateLimiter(
                    max_rate=self.max_rate,
                    initial_rate=self._rate,
                    min_rate=self.min_rate,
                    decrease=self.decrease,
                    probe_step=self.probe_step,
                    cruise_step=self.cruise_step,
                    clock=self._clock,
                    sleep=self._sleep,
                )
                self._down_since = self._last_try = self._clock()
                if not self._warned:
                    self._warned = True
                    logger.warning(
                        "Redis rate limiter %s unreachable (%s); pacing this process on its "
                        "own until Redis answers (tried every %.1f s). Logged once",
                        self.key, type(error).__name__, self.retry_interval,
                    )
            return self._fallback

    def _back_on_redis(self) -> None:
        if self._fallback is None:
            return
        with self._lock:
            if self._fallback is not None:
                down = self._clock() - (self._down_since or self._clock())
                self._fallback = None
                self._down_since = None
                logger.info(
                    "Redis rate limiter %s answers again after %.1f s; pacing with the fleet",
                    self.key, down,
                )

