"""``AsyncRedisRateLimiter``: the Redis limiter for the async clients, on ``redis.asyncio``.

The same scripts, key, shared pace and fallback as ``RedisRateLimiter`` (whose steps it
drives on the running event loop). This module must not block a thread on Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Awaitable, Callable, Generator
from typing import Any

from connect_batch._engine.steps import drive_async
from connect_batch._errors import ConfigurationError, MissingExtraError
from connect_batch._redis_limiter import RedisRateLimiter
from connect_batch._redis_scripts import ACQUIRE, FEEDBACK, _Book, _Run, _Step


class AsyncRedisRateLimiter(RedisRateLimiter):
    """``RedisRateLimiter`` for the async clients, on a ``redis.asyncio`` client.

    The same Lua scripts, key, shared pace and in-process fallback, awaited: sync and async
    workers of one fleet may name the same key. Build the client as for
    ``RedisRateLimiter`` (socket timeouts, no command retries), or use ``from_url``.
    ``sleep`` is a coroutine function (default ``asyncio.sleep``). The scripts are loaded
    on first use. A ``redis.asyncio`` client belongs to the event loop it first ran on:
    ``from_url`` makes one per loop; a client of your own serves one loop only. Close it
    with ``await limiter.aclose()`` before its loop ends. Waiting for this process's
    booking turn is not bounded by ``max_wait`` (asyncio has no safe timed lock before
    Python 3.12); a slot found too late is given up.
    """

    def __init__(
        self,
        redis_client: Any,
        *,
        key: str,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        **options: Any,
    ) -> None:
        self._async_sleep = sleep
        # A redis.asyncio client belongs to the loop it runs on: each loop has its own, with
        # its scripts and booking lock. The client given is the first loop's; from_url
        # makes one for each other loop (several may run at once, on threads).
        self._on_loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _OnLoop] = (
            weakref.WeakKeyDictionary()
        )
        self._given_used = False
        self._new_client: Callable[[], Any] | None = None  # from_url's
        super().__init__(redis_client, key=key, **options)

    def _preload(self) -> None:
        """Nothing yet: the scripts are loaded on the first call, on the event loop."""

    @classmethod
    def from_url(
        cls, url: str, *, key: str, timeout: float = 0.25, **options: Any
    ) -> AsyncRedisRateLimiter:
        """A limiter on a new ``redis.asyncio`` client for ``url``, built as
        ``RedisRateLimiter.from_url`` builds its own."""
        with MissingExtraError.guard("AsyncRedisRateLimiter.from_url", "redis"):
            import redis.asyncio  # noqa: PLC0415 - the optional extra
            from redis.asyncio.retry import Retry  # noqa: PLC0415
            from redis.backoff import NoBackoff  # noqa: PLC0415

        def new_client() -> Any:
            return redis.asyncio.Redis.from_url(
                url, socket_timeout=timeout, socket_connect_timeout=timeout,
                retry=Retry(NoBackoff(), 0), retry_on_timeout=False,
            )

        limiter = cls(new_client(), key=key, **options)
        limiter._new_client = new_client
        return limiter

    def acquire(self, max_wait: float | None = None) -> int | None:  # noqa: ARG002
        """Not for sync clients: give those a ``RedisRateLimiter`` on the same key."""
        raise ConfigurationError(_SYNC_USE)

    def booking(self, max_wait: float | None) -> Generator[float, Any, int | None]:  # noqa: ARG002
        """Not for sync clients: give those a ``RedisRateLimiter`` on the same key."""
        raise ConfigurationError(_SYNC_USE)

    def feedback(self, epoch: int, *, throttled: bool) -> bool:  # noqa: ARG002
        """Not for sync clients: give those a ``RedisRateLimiter`` on the same key."""
        raise ConfigurationError(_SYNC_USE)

    async def acquire_async(self, max_wait: float | None = None) -> int | None:
        """Book the next shared slot and wait for it; see ``RedisRateLimiter.acquire``."""
        here = await self._here()
        booking = here.booking
        held = False

        async def do(step: _Step) -> Any:
            nonlocal held
            if isinstance(step, float):
                await self._async_sleep(step)
                return None
            if isinstance(step, _Book):
                await booking.acquire()
                held = True
                return True
            return await here.run(self.key, step)

        try:
            return await drive_async(self._acquiring(max_wait), do)
        finally:
            if held:
                booking.release()

    async def feedback_async(self, epoch: int, *, throttled: bool) -> bool:
        """Tell the fleet how the call went; see ``RedisRateLimiter.feedback``."""
        here = await self._here()

        async def run(step: _Run) -> Any:
            return await here.run(self.key, step)

        return await drive_async(self._feedbacking(epoch, throttled), run)

    async def aclose(self) -> None:
        """Close this event loop's ``redis.asyncio`` client (its connections belong to the
        loop): call it before the loop ends, as for any client of the loop's."""
        here = self._on_loops.get(asyncio.get_running_loop())
        if here is not None:
            await here.client.aclose()  # used again on this loop, it connects again

    async def _here(self) -> _OnLoop:
        """The running loop's client, scripts and booking lock (the scripts loaded)."""
        loop = asyncio.get_running_loop()
        here = self._on_loops.get(loop)
        if here is not None:
            return here
        with self._lock:
            if not self._given_used:
                self._given_used, client = True, self._redis
            elif self._new_client is not None:
                client = self._new_client()
            else:
                raise ConfigurationError(
                    f"AsyncRedisRateLimiter {self.key}: its redis.asyncio client already "
                    "serves another event loop, and cannot serve this one. Build one limiter "
                    "per event loop, or use AsyncRedisRateLimiter.from_url, which makes a "
                    "client for each loop"
                )
            here = self._on_loops[loop] = _OnLoop(client)
        # Once per loop, even if Redis is away: the scripts load themselves later.
        with contextlib.suppress(Exception):
            for script in (ACQUIRE, FEEDBACK):
                await client.script_load(script)
        return here


class _OnLoop:
    """An ``AsyncRedisRateLimiter``'s part on one event loop."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.scripts = {
            "acquire": client.register_script(ACQUIRE),
            "feedback": client.register_script(FEEDBACK),
        }
        self.booking = asyncio.Lock()

    async def run(self, key: str, run: _Run) -> Any:
        return await self.scripts[run.script](keys=[key], args=run.args)


_SYNC_USE = (
    "AsyncRedisRateLimiter paces async clients only; give a sync client a RedisRateLimiter "
    "on a redis-py client, with the same key"
)
