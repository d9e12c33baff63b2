"""The async clients' common part: ``AsyncBatchClient``, and the ``AsyncOutcomeStream`` and
``AsyncBatcher`` it hands out, on the asyncio driver.

``AsyncBatchClient`` takes the sync clients' options as ``AsyncOptions``; runs, outcomes,
tokens, retries, deadlines and pacing are the sync clients', because the same engine settles
every batch. A client for one API adds its operation's description and the names of its
methods. Options and the error mapping are ``connect_batch._client_core``'s. Must not know
threads (beyond the sync options it shares), or which API it runs.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Sequence
from types import TracebackType
from typing import Any, Generic, TypedDict, TypeVar

from connect_batch._asyncio import AsyncRun, AsyncSleep, LoopDriver
from connect_batch._client_core import (
    ClientCore,
    aborted_error,
    attach_result,
    batcher_result,
    raise_stopped,
    start_at_operation_pace,
    warn_dropped,
)
from connect_batch._engine import AbortRun, Engine, Pending, RunKeys, Work, stopped_by
from connect_batch._engine.pacing import AdaptiveRateLimiter, AsyncRateLimiter, NoLimit
from connect_batch._engine.retry import Duration
from connect_batch._errors import ConfigurationError, ContactValidationError
from connect_batch._outcomes import BatchResult, Outcome
from connect_batch.events import Subscriber
from connect_batch.operations.base import BatchOperation

RequestT = TypeVar("RequestT")


class AsyncOptions(TypedDict, total=False):
    """The options every async client takes, with the sync clients' meanings and defaults.

    ``rate_limiter`` is an ``AsyncRateLimiter`` (``AdaptiveRateLimiter`` is one; for a
    fleet, ``AsyncRedisRateLimiter``); ``sleep`` is a coroutine function (default
    ``asyncio.sleep``), for tests that fake time.
    """

    max_attempts: int
    deadline: Duration | None
    initial_backoff: Duration
    max_backoff: Duration
    max_item_retries: int
    job_key: str | None
    concurrency: int
    max_requests_per_second: float | None
    rate_limiter: AsyncRateLimiter | None
    on_retry: Callable[[str], None] | None
    sleep: AsyncSleep
    subscribers: Sequence[Subscriber]


def one_attempt_per_send(aio_client: Any) -> bool:
    """Stop aiohttp from sending a request twice, unasked; True if it was stopped.

    aiohttp resends a PUT (every call these APIs make is one) once, by itself, when the
    connection breaks under it, after the request may have reached the service. It does
    so beneath botocore, where no handler sees it: one attempt the library counts would be
    two on the wire, and ``max_attempts`` would not hold. The resend carries the same
    token, so nothing is created twice; but it is an attempt the caller did not allow.
    This turns that off for the client's aiohttp sessions (aiobotocore makes them as it
    needs them). Other calls made with the same client are then retried by botocore's own
    retry handler alone, as with boto3, which handles a broken connection the same way.
    """
    http_session = getattr(getattr(aio_client, "_endpoint", None), "http_session", None)
    get_session = getattr(http_session, "_get_session", None)
    if get_session is None:
        return False  # not aiohttp (httpx, a stub): nothing to turn off that we know of
    if getattr(get_session, "connect_batch", False):
        return True
    # Sessions made before the client was handed over (it was used already), then new ones.
    for made in (getattr(http_session, "_sessions", None) or {}).values():
        if hasattr(made, "_retry_connection"):
            made._retry_connection = False  # noqa: SLF001 - no public switch exists

    async def session_without_resends(*args: Any, **kwargs: Any) -> Any:
        session = await get_session(*args, **kwargs)
        if hasattr(session, "_retry_connection"):
            session._retry_connection = False  # noqa: SLF001 - no public switch exists
        return session

    session_without_resends.connect_batch = True  # type: ignore[attr-defined]
    http_session._get_session = session_without_resends  # type: ignore[union-attr]  # noqa: SLF001
    return True


class AsyncOutcomeStream(AsyncIterator[Outcome[RequestT]]):
    """The outcomes of ``iter_put_*``, one per input, as their batches complete.

    ``async for outcome in stream`` reads them; ``await stream.aclose()`` (or leaving an
    ``async with`` block) stops the run: no new attempt starts, the calls in flight finish,
    and the outcomes not yet yielded are returned and kept in ``rest``. An exception leaving
    the block, task cancellation included, carries ``result`` = ``rest``.
    """

    def __init__(self, run: AsyncRun[Outcome[RequestT]], operation: BatchOperation[Any]) -> None:
        self._run = run
        self._operation = operation
        self._chunk: collections.deque[Outcome[RequestT]] = collections.deque()
        self._done = False
        self.rest: BatchResult[RequestT] = BatchResult()

    def __del__(self) -> None:
        if not self._done:
            warn_dropped(
                "an AsyncOutcomeStream", self._operation.name, "aclose()", "an async with block"
            )

    def __aiter__(self) -> AsyncOutcomeStream[RequestT]:
        return self

    async def __anext__(self) -> Outcome[RequestT]:
        chunk = self._chunk
        while not chunk:
            if self._done:
                raise StopAsyncIteration
            try:
                chunk.extend(await self._run.chunks().__anext__())
            except StopAsyncIteration:
                self._done = True
                raise
            except (ContactValidationError, AbortRun) as error:
                self._done = True
                raise_stopped(self._operation, error, None)
            except BaseException as interrupt:
                await self._finish(interrupt)
                raise
        return chunk.popleft()

    async def _finish(self, error: BaseException | None) -> None:
        """Close the run and keep what it had not yielded in ``rest``; give ``error`` (and
        any exception closing raised, a cancellation say) that ``rest`` as its ``result``."""
        self._done = True
        again: BaseException | None = None
        try:
            left = await self._run.close()
        except BaseException as raised:  # noqa: BLE001 - raised again, with rest, below
            again, left = raised, self._run.take_leftover()
        left = [*self._chunk, *left]
        self._chunk.clear()
        if left:
            self.rest = BatchResult.from_outcomes([*self.rest.succeeded, *self.rest.failed, *left])
        for exc in (error, again):
            if exc is not None and getattr(exc, "result", None) is None:
                attach_result(exc, self.rest)
        if again is not None:
            raise again

    async def aclose(self) -> BatchResult[RequestT]:
        """Stop the run; return (and keep in ``rest``) the outcomes not yet yielded."""
        await self._finish(None)
        return self.rest

    async def __aenter__(self) -> AsyncOutcomeStream[RequestT]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._finish(exc)


class AsyncBatcher(Generic[RequestT]):
    """Sends inputs given one at a time, 25 per call; see ``AsyncBatchClient.batcher``."""

    def __init__(self, engine: Engine[RequestT, Outcome[RequestT]], driver: LoopDriver) -> None:
        self._engine = engine
        self._driver = driver
        self._size = engine.operation.max_items
        engine.start_clock()
        self._started = driver.begin_run()
        self._buffer: list[Pending[RequestT]] = []
        self._seen = RunKeys()
        self._calls: dict[asyncio.Future[AbortRun | None], Work[RequestT, Outcome[RequestT]]] = {}
        self._positions = itertools.count()
        self._numbers = itertools.count(1)
        self._closed = False
        self.unsent: list[RequestT] = []
        self.result: BatchResult[RequestT] = BatchResult()

    async def __aenter__(self) -> AsyncBatcher[RequestT]:
        return self

    async def put(self, item: RequestT) -> None:
        """Buffer ``item``; when the buffer holds 25, send it and wait for the answer."""
        if self._closed:
            raise ConfigurationError("this batcher is closed; start another")
        pending = self._engine.key(item, next(self._positions), self._seen)
        if pending.duplicate_of is not None:
            # The same request as an earlier input: answered now, never sent.
            answered = asyncio.get_running_loop().create_future()
            answered.set_result(None)
            self._calls[answered] = self._engine.answered_now(pending)
            return
        self._buffer.append(pending)
        if len(self._buffer) >= self._size:
            await self._send()

    async def _send(self) -> None:
        batch, self._buffer = self._buffer, []
        work: Work[RequestT, Outcome[RequestT]] = Work(batch)
        call = asyncio.ensure_future(self._driver.settle(batch, next(self._numbers), work))
        self._calls[call] = work
        try:
            # Shielded: cancelling the task that put lets its call finish (and be answered).
            abort = await asyncio.shield(call)
        except BaseException:
            self._closed = True
            self._driver.cancel()
            raise
        if abort is not None:
            self._closed = True
            self._driver.cancel()
            # Other tasks' calls in flight finish first, and their answers count (a
            # cancellation meanwhile stops the wait).
            await self._wait_for_calls()
            self.result = self._result()
            raise aborted_error(self._engine.operation, abort, self.result) from (
                abort.cause or abort.__cause__
            )

    def _result(self) -> BatchResult[RequestT]:
        return batcher_result(self._engine, self._calls.values())

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        engine = self._engine
        if exc is not None:
            self._driver.cancel()  # nothing new starts: calls in flight finish
        send_rest = exc is None and self._buffer and not self._closed
        self._closed = True
        try:
            if send_rest:
                await self._send()
            self.unsent = [p.item for p in self._buffer]
            await self._wait_for_calls()
        finally:
            self.result = self._result()
            outcomes: list[Outcome[RequestT]] = [*self.result.succeeded, *self.result.failed]
            engine.finish_run(outcomes, self._started, stopped_by(exc) if exc else None)

    async def _wait_for_calls(self) -> None:
        """Wait for other tasks' calls; a second cancellation stops the wait."""
        calls = self._calls
        try:
            if calls:
                await asyncio.wait(calls)
        except BaseException:
            self._driver.cancel()
            for call in calls:
                call.cancel()
            raise


class AsyncBatchClient(ClientCore[RequestT]):
    """What every async client does; see ``AsyncContactBatchClient``,
    ``AsyncOutboundRequestBatchClient`` and ``AsyncDialRequestBatchClient``.

    It takes an aiobotocore client (``session.create_client(...)`` entered as an async
    context manager) and the options of the sync clients (``AsyncOptions``). Runs,
    outcomes, tokens, retries, deadlines and pacing are those of the sync clients: the
    same engine settles every batch. A run started by a sync client under a ``job_key``
    can be finished by an async one, and the other way round.
    """

    def __init__(
        self,
        aio_client: Any,
        operation: BatchOperation[RequestT],
        check_item: Callable[[object], None],
        options: AsyncOptions,
    ) -> None:
        unknown = set(options) - set(AsyncOptions.__annotations__)
        if unknown:
            raise ConfigurationError(f"unknown option(s): {', '.join(sorted(unknown))}")
        sleep = options.get("sleep", asyncio.sleep)
        max_rate = options.get("max_requests_per_second")
        limiter = options.get("rate_limiter")
        if limiter is None:
            limiter = AdaptiveRateLimiter(
                max_rate=max_rate, initial_rate=operation.default_rate, async_sleep=sleep,
                slow_start=not getattr(operation, "rate_documented", False),
            )
        else:
            start_at_operation_pace(limiter, operation)
        super().__init__(
            aio_client,
            operation,
            check_item,
            max_attempts=options.get("max_attempts", 5),
            deadline=options.get("deadline"),
            initial_backoff=options.get("initial_backoff", 0.2),
            max_backoff=options.get("max_backoff", 20.0),
            max_item_retries=options.get("max_item_retries", 3),
            job_key=options.get("job_key"),
            concurrency=options.get("concurrency", 1),
            max_requests_per_second=max_rate,
            rate_limiter=NoLimit(),  # the engine's own is for threads; see async_rate_limiter
            on_retry=options.get("on_retry"),
            sleep=time.sleep,
            subscribers=options.get("subscribers", ()),
        )
        self.async_rate_limiter: AsyncRateLimiter = limiter
        self._async_sleep = sleep
        one_attempt_per_send(aio_client)

    def _driver(self, engine: Engine[RequestT, Outcome[RequestT]]) -> LoopDriver:
        return LoopDriver(engine, self._client, self.async_rate_limiter, self._async_sleep)

    async def _put(
        self,
        items: Iterable[RequestT] | AsyncIterable[RequestT],
        job_key: str | None,
        deadline: Duration | None = None,
    ) -> BatchResult[RequestT]:
        engine = self.engine_for(job_key, deadline=deadline)
        run = AsyncRun(engine, self._driver(engine), items)
        outcomes: list[Outcome[RequestT]] = []
        try:
            async for chunk in run.chunks():
                outcomes.extend(chunk)
        except (ContactValidationError, AbortRun) as error:
            raise_stopped(self._operation, error, outcomes)
        except BaseException as error:
            # Cancelled (or interrupted): the run answered what it consumed into leftover.
            outcomes.extend(run.leftover)
            run.leftover.clear()
            attach_result(error, BatchResult.from_outcomes(outcomes))
            raise
        return BatchResult.from_outcomes(outcomes)

    def _iter(
        self,
        items: Iterable[RequestT] | AsyncIterable[RequestT],
        job_key: str | None,
        deadline: Duration | None = None,
    ) -> AsyncOutcomeStream[RequestT]:
        engine = self.engine_for(job_key, deadline=deadline)
        return AsyncOutcomeStream(AsyncRun(engine, self._driver(engine), items), self._operation)

    def batcher(
        self, *, job_key: str | None = None, deadline: Duration | None = None
    ) -> AsyncBatcher[RequestT]:
        """A buffered writer for inputs produced one at a time.

        ``async with client.batcher() as b: await b.put(item)`` sends every 25 inputs, the
        call made by the task whose ``put`` filled the buffer. A clean exit sends the rest,
        and ``b.result`` holds the ``BatchResult``. If the block raises (a cancellation
        included), nothing more is sent: ``b.unsent`` keeps what was buffered and never
        handed to a call, and ``b.result`` answers everything that was. ``deadline``
        (default the client's) counts from the batcher's creation.
        """
        engine = self.engine_for(job_key, deadline=deadline)
        return AsyncBatcher(engine, self._driver(engine))
