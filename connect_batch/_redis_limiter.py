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
import math
import threading
import time
from collections.abc import Callable, Generator
from typing import Any

from connect_batch._engine.pacing import CATCH_UP, DEFAULT_QUOTA, AdaptiveRateLimiter, CapacityPause
from connect_batch._engine.steps import Steps, drive
from connect_batch._errors import ConfigurationError, MissingExtraError
from connect_batch._redis_scripts import (
    _GENERATION,
    _UNBOUNDED,
    ACQUIRE,
    FEEDBACK,
    IDLE_RESET_SECONDS,
    KEY_PREFIX,
    KEY_TTL_SECONDS,
    _Book,
    _Run,
    _Step,
    fleet_key,
)

__all__ = [
    "ACQUIRE",
    "FEEDBACK",
    "IDLE_RESET_SECONDS",
    "KEY_PREFIX",
    "KEY_TTL_SECONDS",
    "RedisRateLimiter",
    "fleet_key",
]

logger = logging.getLogger("connect_batch")


class RedisRateLimiter:
    """Paces every process that names the same ``key`` as one, through Redis.

    ``redis_client`` is a redis-py ``Redis``. Build it with a ``socket_timeout`` and
    ``socket_connect_timeout`` (0.25 s, say) and ``retry=Retry(NoBackoff(), 0)``: a slower
    answer then counts as Redis unreachable at once (redis-py 6+ retries a failed command
    10 times by default, which would hold every call for seconds); ``from_url`` does all
    this. ``key`` names the shared state; use ``fleet_key(account, region, operation)``.

    With ``rate`` (calls/s) the fleet never exceeds ``headroom`` of it (0.98: a hair under,
    so that jitter between the fleet's clocks and the service's bucket never drains the
    bucket) and starts there, slowing down only when throttled. With none it starts at
    ``initial_rate`` (by default the pace of the operation of the client it is given to)
    and adapts as ``AdaptiveRateLimiter`` does, but once for the whole fleet: it slow-starts
    (``slow_start_step`` a success, the pace doubling about every second) until the key's
    first throttle, which cuts it by ``slow_start_decrease``, once for the fleet; then a
    throttle seen by any process lowers the shared pace once per epoch, and successes probe
    upward, back quickly to near the pace of the last throttle (the key's ``ceiling``) and
    slowly beyond it. A capacity answer (``capacity_refused``) pauses this process's sending
    (as ``AdaptiveRateLimiter``'s does) without touching the shared pace. ``burst`` is how
    many calls may go at once after an idle spell (default 1: evenly spaced, which never
    drains the service's bucket).

    ``fleet_size`` (default 64) is the most limiters expected to share the key at once
    (one per process, or per event loop for ``AsyncRedisRateLimiter``). Each holds at most
    one booked slot, so the fleet never books more than ``burst + fleet_size`` intervals
    ahead; a stored schedule more than ``burst + 2 * fleet_size`` intervals ahead of Redis's
    clock (counted at the slowest pace booked since the schedule last caught up) cannot be
    the fleet's. It is taken for a clock step back (NTP, a failover to a replica whose clock
    is behind), re-seeded to now keeping the pace, and logged once per limiter (a WARNING):
    a step then costs a wait of at most about ``(burst + 2 * fleet_size) / rate`` seconds.

    Pass it as ``rate_limiter=`` to any client; one instance may be shared by threads. A
    client's run cuts a wait for a slot short when it is stopped (a first Ctrl-C).
    """

    def __init__(
        self,
        redis_client: Any,
        *,
        key: str,
        rate: float | None = None,
        burst: int | None = None,
        initial_rate: float | None = None,
        min_rate: float = 0.5,
        decrease: float = 0.85,
        probe_step: float = 0.05,
        cruise_step: float = 0.01,
        slow_start: bool = True,
        slow_start_step: float = 0.7,
        slow_start_decrease: float = 0.5,
        headroom: float = 0.98,
        retry_interval: float = 1.0,
        fleet_size: int = 64,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not isinstance(key, str) or not key:
            raise ConfigurationError("key must be a non-empty str (see fleet_key)")
        if rate is not None and not 0 < rate < math.inf:
            raise ConfigurationError("rate must be > 0 calls per second")
        if burst is not None and (isinstance(burst, bool) or not isinstance(burst, int)
                                  or burst < 1):
            raise ConfigurationError("burst must be an int >= 1")
        if initial_rate is not None and not 0 < initial_rate < math.inf:
            raise ConfigurationError("initial_rate must be > 0")
        if isinstance(fleet_size, bool) or not isinstance(fleet_size, int) or fleet_size < 1:
            raise ConfigurationError("fleet_size must be an int >= 1")
        if not 0 < headroom <= 1:
            raise ConfigurationError("headroom must be in (0, 1]")
        self.key = key
        self.fleet_size = fleet_size
        self.max_rate = rate
        self.headroom = headroom
        # The pace never exceeded: a hair under the rate given (see AdaptiveRateLimiter).
        self._cap = None if rate is None else rate * headroom
        self.burst = 1 if burst is None else burst
        # How many intervals ahead of Redis's clock the schedule may lie before it is taken
        # for a clock step (see ACQUIRE): the burst, and twice the fleet's one slot each.
        self._slots = self.burst + 2 * fleet_size
        self._chosen_start = rate is not None or initial_rate is not None
        self.initial_rate: float = self._cap or initial_rate or DEFAULT_QUOTA
        # Slow start (no rate given), once for the fleet: the key's ``probed`` says it is over.
        self.slow_start = slow_start and rate is None
        self.slow_start_step = slow_start_step
        self.slow_start_decrease = slow_start_decrease
        self.min_rate = min_rate
        self.decrease = decrease
        self.probe_step = probe_step
        self.cruise_step = cruise_step
        self.retry_interval = retry_interval
        # What ``acquire`` sleeps with. The clients look at it: with the real time.sleep (the
        # default), a run drives ``booking`` itself and cuts the wait short when stopped;
        # with another (a test's fake), they call ``acquire``, which sleeps with it.
        self.sleep = sleep
        self._clock = clock
        self._warned_step = False
        self._redis = redis_client
        self._acquire = redis_client.register_script(ACQUIRE)
        self._feedback = redis_client.register_script(FEEDBACK)
        _warn_if_retrying(redis_client, key)
        self._preload()
        self._lock = threading.Lock()
        self._booking = threading.Lock()
        self._fallback: AdaptiveRateLimiter | None = None
        self._generation = 0
        self._dropped_for: int | None = None  # the Redis epoch the fallback dropped for
        self._down_since: float | None = None
        self._last_try = 0.0
        self._warned = False
        self._rate = self.initial_rate
        self._epoch = 0  # the last shared epoch seen
        # The last slot this process handed out, through Redis or not: with no burst
        # allowed, no two of its calls go closer than one interval, even at a switch
        # between Redis and the fallback (whose schedules know nothing of each other).
        self._last_slot = float("-inf")
        self._capacity = CapacityPause(clock)  # this process's, after capacity answers

    def _preload(self) -> None:
        """Connect and load the scripts now, so that the first call's slot is not spent on
        three round trips (a late first call lands next to the following slot)."""
        with contextlib.suppress(Exception):
            for script in (ACQUIRE, FEEDBACK):
                self._redis.script_load(script)

    @classmethod
    def from_url(
        cls, url: str, *, key: str, timeout: float = 0.25, **options: Any
    ) -> RedisRateLimiter:
        """A limiter on a new redis-py client for ``url`` (``redis://host:6379/0``): connect
        and command timeouts of ``timeout`` seconds, and no retry of a failed command (the
        limiter falls back to pacing in-process instead)."""
        with MissingExtraError.guard("RedisRateLimiter.from_url", "redis"):
            import redis  # noqa: PLC0415 - the optional extra
            from redis.backoff import NoBackoff  # noqa: PLC0415
            from redis.retry import Retry  # noqa: PLC0415

        client = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0), retry_on_timeout=False,
        )
        return cls(client, key=key, **options)

    def set_default_rate(self, rate: float, *, documented: bool = False) -> None:
        """The pace to start from when neither ``rate`` nor ``initial_rate`` was given: the
        clients call this with their operation's (``DEFAULT_CAMPAIGN_RATE`` for the
        campaign APIs). A ``documented`` quota (BatchPutContact's) is no guess to grow
        from fast: no slow start then."""
        if not self._chosen_start and 0 < rate < math.inf:
            self.initial_rate = self._rate = rate
            if documented:
                self.slow_start = False

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
        ``max_wait`` seconds or more (the slot is then given up)."""
        return drive(self.booking(max_wait), self.sleep)

    def booking(self, max_wait: float | None) -> Generator[float, Any, int | None]:
        """``acquire``'s steps with the waits left to the caller: each value yielded is a
        wait in seconds (send back ``None``); the return value is ``acquire``'s. A caller
        that stops waiting throws into it: the steps end at once, releasing this process's
        turn to book, and a slot already booked is given up (it costs the fleet one
        interval). A wait of ``0.0`` comes after waiting for another thread's turn, before
        booking: a caller stopped meanwhile books nothing. The clients drive this (with the
        real ``time.sleep`` as ``sleep``) to cut a wait short when a run is stopped."""
        held: list[threading.Lock] = []
        runner: Steps[_Step, int | None] = Steps(self._acquiring(max_wait))
        try:
            step = runner.start()
            while step is not None:
                if isinstance(step, _Run):
                    step = runner.answer(self._run, step)  # type: ignore[arg-type]
                    continue
                answer: bool | None = None
                if isinstance(step, float):
                    wait = step
                else:
                    got, contended = self._take_booking_turn(step.timeout)
                    if got:
                        held.append(self._booking)
                    if not (got and contended):
                        step = runner.resume(got, None)
                        continue
                    # This thread waited for another's slot to come: the run may have been
                    # stopped meanwhile. A wait of nothing lets the caller say so before a
                    # slot is booked that no call would use.
                    wait, answer = 0.0, True
                try:
                    yield wait
                except BaseException as exc:  # noqa: BLE001 - thrown into the steps, which decide
                    step = runner.resume(None, exc)
                else:
                    step = runner.resume(answer, None)
            return runner.result
        finally:
            for lock in held:
                lock.release()

    def _take_booking_turn(self, timeout: float | None) -> tuple[bool, bool]:
        """Take this process's booking lock, waiting at most ``timeout``: whether it was
        taken, and whether another thread held it first."""
        if self._booking.acquire(blocking=False):
            return True, False
        return self._booking.acquire(timeout=-1 if timeout is None else timeout), True

    def feedback(self, epoch: int, *, throttled: bool) -> bool:
        """Tell the fleet how the call went; True if its throttle was already known."""
        return drive(self._feedbacking(epoch, throttled), self._run)

    def capacity_refused(self, epoch: int) -> None:  # noqa: ARG002 - the protocol's
        """A call's answer refused items for capacity: pause this process's sending
        (``CapacityPause``); the shared pace is kept (the service's rate, not the backlog's)."""
        self._capacity.refused()

    async def capacity_refused_async(self, epoch: int) -> None:  # noqa: ARG002
        """``capacity_refused`` (it never waits, and does not talk to Redis)."""
        self._capacity.refused()

    @property
    def paused_for(self) -> float:
        """This process's current capacity pause (seconds); 0 when none."""
        return self._capacity.length

    def _run(self, run: _Run) -> Any:
        """Run one script on the key."""
        script = self._acquire if run.script == "acquire" else self._feedback
        return script(keys=[self.key], args=run.args)

    # The steps, written once for this driver and AsyncRedisRateLimiter's.
    def _acquiring(  # noqa: PLR0911 - each way out is a reason not to send yet
        self, max_wait: float | None
    ) -> Generator[_Step, Any, int | None]:
        if max_wait is not None:
            if max_wait <= 0:
                return None
            if max_wait >= _UNBOUNDED:
                max_wait = None
        go, max_wait = yield from self._paused(max_wait)
        if not go:
            return None
        fallback = self._fallback
        if fallback is not None and not self._time_to_try():
            return (yield from self._local(fallback, max_wait))
        # One booking at a time per process: a caller books its slot only once the last
        # one booked here has come. The fleet then holds at most one slot per process
        # booked ahead, so after a slow-down at most that many calls go at the old pace.
        started = self._clock()
        if not (yield _Book(max_wait)):
            return None
        left = None if max_wait is None else max_wait - (self._clock() - started)
        if left is not None and left <= 0:
            return None
        try:
            wait_us, epoch, rate, stepped = yield _Run("acquire", [
                repr(float(self._rate)), repr(float(self.initial_rate)),
                -1 if self._cap is None else repr(float(self._cap)),
                self.burst, -1 if left is None else int(left * 1_000_000),
                KEY_TTL_SECONDS, IDLE_RESET_SECONDS * 1_000_000, self._slots, CATCH_UP,
            ])
        except Exception as error:  # noqa: BLE001 - any Redis failure: pace in-process
            return (yield from self._local(self._go_local(error), left))
        if int(stepped) > 0:
            self._clock_stepped(int(stepped) / 1_000_000)
        self._back_on_redis()
        self._rate, self._epoch = float(rate), int(epoch)
        if int(wait_us) < 0:
            return None
        ready = self._clock() + int(wait_us) / 1_000_000
        if not (yield from self._gate(ready, self._rate, left)):
            return None
        return int(epoch)

    def _paused(self, max_wait: float | None) -> Generator[_Step, Any, tuple[bool, float | None]]:
        """Wait out a capacity pause: whether to go on, and what is left of ``max_wait``."""
        paused = self._capacity.left()
        if paused <= 0:
            return True, max_wait
        if max_wait is not None and paused >= max_wait:
            return False, max_wait
        yield paused
        return True, None if max_wait is None else max_wait - paused

    def _clock_stepped(self, ahead: float) -> None:
        """Log, once per limiter, that the shared schedule was found ahead of Redis's clock."""
        with self._lock:
            if self._warned_step:
                return
            self._warned_step = True
        logger.warning(
            "Redis rate limiter %s: the key's schedule was %.1f s ahead of Redis's clock, "
            "further than the fleet can book (a clock step back, or a failover to a server "
            "whose clock is behind); it was reset to now. Logged once", self.key, ahead,
        )

    def _local(
        self, fallback: AdaptiveRateLimiter, max_wait: float | None
    ) -> Generator[_Step, Any, int | None]:
        started = self._clock()
        epoch = yield from fallback.booking(max_wait)
        if epoch is None:
            return None
        left = None if max_wait is None else max_wait - (self._clock() - started)
        if not (yield from self._gate(self._clock(), fallback.rate, left)):
            return None
        return -(self._generation * _GENERATION + epoch) - 1

    def _gate(
        self, ready: float, rate: float, max_wait: float | None
    ) -> Generator[_Step, Any, bool]:
        """Wait until ``ready``, and (with no burst) at least one interval after this
        process's last slot; False, without waiting, if that would take ``max_wait``."""
        with self._lock:
            slot = ready if self.burst > 1 else max(ready, self._last_slot + 1.0 / rate)
            wait = slot - self._clock()
            if max_wait is not None and wait >= max_wait:
                return False
            self._last_slot = max(self._last_slot, slot)
        if wait > 0:
            yield wait
        return True

    def _feedbacking(self, epoch: int, throttled: bool) -> Generator[_Run, Any, bool]:  # noqa: FBT001
        if not throttled:
            self._capacity.answered()
        if epoch < 0:  # a call paced by a fallback
            generation, local_epoch = divmod(-epoch - 1, _GENERATION)
            fallback = self._fallback
            if fallback is not None and generation == self._generation:
                return fallback.feedback(local_epoch, throttled=throttled)
            if not throttled:
                return False
            # Its fallback is gone (Redis is back): a throttle is news for the fleet.
            epoch = self._epoch
        try:
            known, stepped = yield _Run("feedback", [
                epoch, 1 if throttled else 0,
                -1 if self._cap is None else repr(float(self._cap)),
                repr(float(self.min_rate)), repr(float(self.decrease)),
                repr(float(self.probe_step)), repr(float(self.cruise_step)),
                repr(float(self._rate)), KEY_TTL_SECONDS, self.burst, self._slots,
                *self._first_steps(),
            ])
        except Exception as error:  # noqa: BLE001 - any Redis failure: pace in-process
            local = self._go_local(error)
            with self._lock:
                news = throttled and self._dropped_for != epoch
                if news:
                    self._dropped_for = epoch  # once per shared epoch, as Redis would
            if news:
                local.feedback(local.epoch, throttled=True)
            return throttled and not news
        if int(stepped) > 0:
            self._clock_stepped(int(stepped) / 1_000_000)
        return bool(int(known))

    def _first_steps(self) -> tuple[str, str]:
        """FEEDBACK's step and cut until the key's first throttle: slow start's, or (with a
        rate given, or slow start off) the probe step and the usual decrease."""
        if self.slow_start:
            return repr(float(self.slow_start_step)), repr(float(self.slow_start_decrease))
        return repr(float(self.probe_step)), repr(float(self.decrease))

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
                self._generation += 1
                self._dropped_for = None
                self._fallback = AdaptiveRateLimiter(
                    max_rate=self._cap,
                    headroom=1.0,  # _cap has it
                    # From the fleet's last pace: no slow start from there.
                    slow_start=False,
                    initial_rate=self._rate,
                    min_rate=self.min_rate,
                    decrease=self.decrease,
                    probe_step=self.probe_step,
                    cruise_step=self.cruise_step,
                    clock=self._clock,
                    sleep=self.sleep,
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


def _warn_if_retrying(client: Any, key: str) -> None:
    """Warn once if the client retries failed commands: each would hold a call for the
    whole of its retries before the limiter could fall back."""
    get_retry = getattr(client, "get_retry", None)
    retry = get_retry() if callable(get_retry) else None
    retries = getattr(retry, "_retries", 0)
    if isinstance(retries, int) and retries > 0:
        logger.warning(
            "the Redis client of rate limiter %s retries a failed command %d times: while "
            "Redis is away each call waits for all of them before pacing in-process. Build "
            "it with retry=Retry(NoBackoff(), 0), or use RedisRateLimiter.from_url",
            key, retries,
        )
