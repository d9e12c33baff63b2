"""asyncio clients: the engine's batch steps, driven on an event loop.

Nothing here decides anything about tokens, retries or outcomes: ``Engine.settle_steps``
does, as a generator of effects (acquire a slot, make a call, sleep, tell the limiter).
``_Driver`` awaits each effect on the loop; ``Engine.settle`` carries out the same steps on
a thread. This module adds only what an event loop needs: tasks instead of threads, async
iterables, and task cancellation in the place of Ctrl-C.

Cancellation is the async Ctrl-C: when the task awaiting a run is cancelled, no new attempt
starts, the calls in flight finish and are answered, and ``CancelledError`` goes on with a
``result`` that answers every input consumed. A second cancellation while it waits stops
the wait: the calls still in flight are cancelled and their inputs reported unknown.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import logging
import time
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Sequence,
)
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypedDict, TypeVar

from connect_batch._campaign_models import DialRequest, OutboundRequest
from connect_batch._campaigns import (
    PutDialRequestBatchOperation,
    PutOutboundRequestBatchOperation,
    campaign_id_checked,
)
from connect_batch._client import (
    CHECK_CONTACT,
    ClientCore,
    aborted_error,
    attach_result,
    batcher_result,
    instance_id_checked,
    raise_stopped,
    start_at_operation_pace,
    type_check,
    warn_dropped,
)
from connect_batch._engine import (
    AbortRun,
    Acquire,
    Call,
    Cancelled,
    Effect,
    Engine,
    Feedback,
    Pending,
    RunKeys,
    Work,
    stopped_by,
)
from connect_batch._errors import ConfigurationError, ContactValidationError
from connect_batch._models import ContactRequest
from connect_batch._operation import BatchOperation, BatchPutContactOperation
from connect_batch._outcomes import BatchResult, Outcome
from connect_batch._pacing import AdaptiveRateLimiter, AsyncRateLimiter, NoLimit
from connect_batch._retry import Duration
from connect_batch._steps import drive_async
from connect_batch.events import Subscriber

if TYPE_CHECKING:
    from types_aiobotocore_connect import ConnectClient
    from types_aiobotocore_connectcampaigns import ConnectCampaignServiceClient
    from types_aiobotocore_connectcampaignsv2 import ConnectCampaignServiceV2Client
    from typing_extensions import Unpack

RequestT = TypeVar("RequestT")
ItemT = TypeVar("ItemT")
OutT = TypeVar("OutT")
AsyncSleep = Callable[[float], Awaitable[None]]
logger = logging.getLogger("connect_batch")


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


class _Driver:
    """Carries out one run's effects on the event loop."""

    def __init__(
        self,
        engine: Engine[Any, Any],
        client: Any,
        limiter: AsyncRateLimiter,
        sleep: AsyncSleep,
    ) -> None:
        self._engine = engine
        self._client = client
        self._limiter = limiter
        self._sleep_for = sleep
        self.stopping = asyncio.Event()  # set with engine.cancel(): backoffs end at once

    def cancel(self) -> None:
        """No new attempt starts; backoffs in progress end now."""
        self._engine.cancel()
        self.stopping.set()

    async def settle(self, batch: list[Pending[Any]], number: int, work: Work[Any, Any]) -> Any:
        """``Engine.settle_steps`` for one batch, each effect awaited."""
        return await drive_async(self._engine.settle_steps(batch, number, work), self._do)

    async def _do(self, effect: Effect) -> Any:
        if isinstance(effect, Call):
            return await getattr(self._client, effect.method)(**effect.params)
        if isinstance(effect, Acquire):
            max_wait = effect.max_wait
            return await self._unless_stopped(lambda: self._limiter.acquire_async(max_wait))
        if isinstance(effect, Feedback):
            return await self._limiter.feedback_async(effect.epoch, throttled=effect.throttled)
        await self._sleep(effect.seconds)
        return None

    async def _unless_stopped(self, waiting: Callable[[], Awaitable[Any]]) -> Any:
        """What ``waiting()`` comes to; ``Cancelled`` if the run stops first (a slot waited
        for is then given up, as no call will use it)."""
        if self.stopping.is_set():
            raise Cancelled
        wait = asyncio.ensure_future(waiting())
        stop = asyncio.ensure_future(self.stopping.wait())
        try:
            await asyncio.wait((wait, stop), return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            if not wait.done():
                wait.cancel()
        if not wait.cancelled() and wait.done():
            return wait.result()
        raise Cancelled

    async def _sleep(self, seconds: float) -> None:
        if self._sleep_for is asyncio.sleep:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), seconds)
        else:
            await self._sleep_for(seconds)
        if self._engine.cancelled:
            raise Cancelled


class _Source(Generic[ItemT]):
    """The run's input, keyed: a sequence (checked whole first), an iterable, or an async
    iterable, read a batch at a time."""

    def __init__(
        self, engine: Engine[ItemT, Any], items: Iterable[ItemT] | AsyncIterable[ItemT]
    ) -> None:
        self._engine = engine
        self.in_memory = isinstance(items, Sequence)
        self._items = items
        self._sync: Iterator[Pending[ItemT]] | None = None
        self._async: AsyncIterator[Pending[ItemT]] | None = None

    def open(self) -> None:
        """Start reading; a sequence is keyed (and checked) whole, before anything is sent."""
        items = self._items
        if isinstance(items, AsyncIterable):
            self._async = self._keyed(items)
        elif self.in_memory:
            self._sync = iter(list(self._engine.keyed(items)))
        else:
            self._sync = self._engine.keyed(items)

    async def _keyed(self, items: AsyncIterable[ItemT]) -> AsyncIterator[Pending[ItemT]]:
        seen, key, position = RunKeys(), self._engine.key, 0
        async for item in items:
            yield key(item, position, seen)
            position += 1

    async def after_deadline(
        self, ready: collections.deque[Any]
    ) -> tuple[list[Pending[ItemT]], BaseException | None]:
        """What is left to answer once the deadline passed: a sequence's rest, or one more
        input of an iterator (to tell whether any was left unread), or why reading failed."""
        if self.in_memory:
            return list(self.rest()), None
        try:
            return await self.take(1, ready), None
        except (ContactValidationError, AbortRun) as error:
            return [], error

    def rest(self) -> Iterator[Pending[ItemT]]:
        """What a sequence holds that was not read (nothing for other inputs)."""
        return self._sync if self.in_memory and self._sync is not None else iter(())

    async def take(self, count: int, ready: collections.deque[Any]) -> list[Pending[ItemT]]:
        """Read up to ``count`` inputs (``Engine.take``'s rules)."""
        engine = self._engine
        if self._sync is not None:
            return engine.take(self._sync, count, ready)
        batch: list[Pending[ItemT]] = []
        if self._async is None:
            return batch
        with engine.reading(batch, ready):
            async for pending in _upto(self._async, count, engine.past_deadline, batch):
                if pending.duplicate_of is not None:
                    ready.append(engine.duplicate(pending))  # answered now, never sent
                else:
                    batch.append(pending)
        return batch


async def _upto(
    source: AsyncIterator[Pending[Any]],
    count: int,
    past_deadline: Callable[[], bool],
    batch: list[Pending[Any]],
) -> AsyncIterator[Pending[Any]]:
    """Up to ``count`` more inputs of ``source`` (fewer once the deadline passed)."""
    while len(batch) < count:
        try:
            pending = await source.__anext__()
        except StopAsyncIteration:
            return
        yield pending
        if past_deadline():
            return


class AsyncRun(Generic[OutT]):
    """The outcomes of one async run, a batch at a time; see ``Run``."""

    def __init__(
        self,
        engine: Engine[Any, OutT],
        driver: _Driver,
        items: Iterable[Any] | AsyncIterable[Any],
    ) -> None:
        self.engine = engine
        self.leftover: list[OutT] = []
        self._driver = driver
        self._chunks = self._schedule(_Source(engine, items))

    def chunks(self) -> AsyncIterator[list[OutT]]:
        """The outcomes, a batch at a time."""
        return self._chunks

    async def close(self) -> list[OutT]:
        """Stop the run; return every outcome it settled that was not yielded.

        A cancellation while it waits for calls in flight stops the wait (closing is the
        first stop); the outcomes then stay in ``leftover`` (``take_leftover``).
        """
        await self._chunks.aclose()
        return self.take_leftover()

    def take_leftover(self) -> list[OutT]:
        """The outcomes settled and not yielded, once."""
        left = list(self.leftover)
        self.leftover.clear()
        return left

    async def _schedule(  # noqa: PLR0912, PLR0915 - read, start, settle, stop: one loop
        self, source: _Source[Any]
    ) -> AsyncGenerator[list[OutT], None]:
        engine, driver = self.engine, self._driver
        ready: collections.deque[OutT] = collections.deque()
        tasks: dict[asyncio.Future[AbortRun | None], Work[Any, OutT]] = {}
        late: list[Pending[Any]] = []
        numbers = itertools.count(1)
        stop: BaseException | None = None
        deadline_stop = False
        started = engine.begin_run()
        stopped: str | None = None
        try:
            source.open()
            engine.start_clock()
            reading = True
            while True:
                if ready:
                    yield engine.hand_over(ready)
                while reading and stop is None and len(tasks) < engine.concurrency:
                    if engine.past_deadline():
                        reading, deadline_stop = False, True
                        break
                    try:
                        batch = await source.take(engine.operation.max_items, ready)
                    except (ContactValidationError, AbortRun) as error:
                        stop = error
                        break
                    number = next(numbers)
                    if not batch:
                        reading = False
                    elif engine.past_deadline():
                        late, reading, deadline_stop = batch, False, True
                    else:
                        work: Work[Any, OutT] = Work(batch)
                        tasks[asyncio.ensure_future(driver.settle(batch, number, work))] = work
                if ready:
                    yield engine.hand_over(ready)
                if not tasks:
                    break
                done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    ready.extend(tasks.pop(task).outcomes)
                    abort = task.result()
                    if abort is not None and stop is None:
                        stop, reading = abort, False
            if stop is not None:
                engine.answer_unsent(late, ready)
                late = []
                if isinstance(stop, AbortRun):
                    engine.answer_unsent(source.rest(), ready)
            elif deadline_stop:
                answered_late, late = late, []
                more, read_error = await source.after_deadline(ready)
                stop = engine.past_deadline_answers(
                    answered_late, more, ready, read_error=read_error, in_memory=source.in_memory
                )
            if ready:
                yield engine.hand_over(ready)
        except BaseException as error:
            stopped = stopped_by(error)
            driver.cancel()
            self.leftover.extend(ready)
            ready.clear()
            try:
                await self._drain(tasks)
            finally:
                self.leftover.extend(engine.unsent(p) for p in late)
                self.leftover.extend(engine.unsent(p) for p in source.rest())
                engine.count(self.leftover)
            raise
        finally:
            stopped = engine.stop_reason(stopped, stop, deadline_stop=deadline_stop)
            engine.finished(started, stopped)
        if stop is not None:
            raise stop

    async def _drain(self, tasks: dict[asyncio.Future[AbortRun | None], Work[Any, OutT]]) -> None:
        """Answer every batch in ``tasks``, waiting for calls in flight; a second
        cancellation stops the wait and cancels them (their inputs are reported unknown)."""
        engine = self.engine
        started: dict[asyncio.Future[AbortRun | None], Work[Any, OutT]] = {}
        for task, work in tasks.items():
            if work.withdraw():  # never started: nothing of it was sent
                task.cancel()
                self.leftover.extend(work.abandon(engine.interrupted_unsent))
            else:
                started[task] = work
        try:
            if started:
                await asyncio.wait(started)
        finally:
            open_ = [t for t in started if not t.done()]
            for task in open_:
                task.cancel()
            if open_:
                logger.warning(
                    "%s: stopped waiting for %d call(s) in flight; their items are reported "
                    "with outcome_unknown=True", engine.operation.name, len(open_),
                )
            for work in started.values():
                self.leftover.extend(work.abandon(engine.interrupted_in_flight))


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

    def __init__(self, engine: Engine[RequestT, Outcome[RequestT]], driver: _Driver) -> None:
        self._engine = engine
        self._driver = driver
        self._size = engine.operation.max_items
        engine.start_clock()
        self._started = engine.begin_run()
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
                max_rate=max_rate, initial_rate=operation.default_rate, async_sleep=sleep
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

    def _driver(self, engine: Engine[RequestT, Outcome[RequestT]]) -> _Driver:
        return _Driver(engine, self._client, self.async_rate_limiter, self._async_sleep)

    async def _put(
        self, items: Iterable[RequestT] | AsyncIterable[RequestT], job_key: str | None
    ) -> BatchResult[RequestT]:
        engine = self.engine_for(job_key)
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
        self, items: Iterable[RequestT] | AsyncIterable[RequestT], job_key: str | None
    ) -> AsyncOutcomeStream[RequestT]:
        engine = self.engine_for(job_key)
        return AsyncOutcomeStream(AsyncRun(engine, self._driver(engine), items), self._operation)

    def batcher(self, *, job_key: str | None = None) -> AsyncBatcher[RequestT]:
        """A buffered writer for inputs produced one at a time.

        ``async with client.batcher() as b: await b.put(item)`` sends every 25 inputs, the
        call made by the task whose ``put`` filled the buffer. A clean exit sends the rest,
        and ``b.result`` holds the ``BatchResult``. If the block raises (a cancellation
        included), nothing more is sent: ``b.unsent`` keeps what was buffered and never
        handed to a call, and ``b.result`` answers everything that was.
        """
        engine = self.engine_for(job_key)
        return AsyncBatcher(engine, self._driver(engine))


class AsyncContactBatchClient(AsyncBatchClient[ContactRequest]):
    """``ContactBatchClient`` on asyncio: BatchPutContact over an aiobotocore ``connect``
    client. Options are ``AsyncOptions``."""

    def __init__(
        self,
        connect_client: ConnectClient | Any,
        *,
        instance_id: str,
        **options: Unpack[AsyncOptions],
    ) -> None:
        self._contacts = BatchPutContactOperation(instance_id_checked(instance_id))
        super().__init__(connect_client, self._contacts, CHECK_CONTACT, options)

    @property
    def instance_id(self) -> str:
        """The Connect instance contacts are put into."""
        return self._contacts.instance_id

    async def put_contacts(
        self,
        contacts: Iterable[ContactRequest] | AsyncIterable[ContactRequest],
        *,
        job_key: str | None = None,
    ) -> BatchResult[ContactRequest]:
        """``ContactBatchClient.put_contacts``, awaited; ``contacts`` may be async."""
        return await self._put(contacts, job_key)

    def iter_put_contacts(
        self,
        contacts: Iterable[ContactRequest] | AsyncIterable[ContactRequest],
        *,
        job_key: str | None = None,
    ) -> AsyncOutcomeStream[ContactRequest]:
        """``async for outcome in client.iter_put_contacts(contacts)``; see
        ``AsyncOutcomeStream``."""
        return self._iter(contacts, job_key)


class _AsyncCampaignClient(AsyncBatchClient[RequestT]):
    def __init__(
        self,
        client: Any,
        operation: PutOutboundRequestBatchOperation | PutDialRequestBatchOperation,
        request_type: type[RequestT],
        options: AsyncOptions,
    ) -> None:
        self._campaign = operation
        super().__init__(
            client, operation, type_check(request_type, "request"), options  # type: ignore[arg-type]
        )

    @property
    def campaign_id(self) -> str:
        """The campaign the requests go to."""
        return self._campaign.campaign_id

    async def put_requests(
        self,
        requests: Iterable[RequestT] | AsyncIterable[RequestT],
        *,
        job_key: str | None = None,
    ) -> BatchResult[RequestT]:
        """The sync client's ``put_requests``, awaited; ``requests`` may be async."""
        return await self._put(requests, job_key)

    def iter_put_requests(
        self,
        requests: Iterable[RequestT] | AsyncIterable[RequestT],
        *,
        job_key: str | None = None,
    ) -> AsyncOutcomeStream[RequestT]:
        """``async for outcome in client.iter_put_requests(requests)``; see
        ``AsyncOutcomeStream``."""
        return self._iter(requests, job_key)


class AsyncOutboundRequestBatchClient(_AsyncCampaignClient[OutboundRequest]):
    """``OutboundRequestBatchClient`` on asyncio: v2 ``PutOutboundRequestBatch`` over an
    aiobotocore ``connectcampaignsv2`` client. Options are ``AsyncOptions``."""

    def __init__(
        self,
        campaigns_client: ConnectCampaignServiceV2Client | Any,
        *,
        campaign_id: str,
        **options: Unpack[AsyncOptions],
    ) -> None:
        operation = PutOutboundRequestBatchOperation(campaign_id_checked(campaign_id, "v2"))
        super().__init__(campaigns_client, operation, OutboundRequest, options)


class AsyncDialRequestBatchClient(_AsyncCampaignClient[DialRequest]):
    """``DialRequestBatchClient`` on asyncio: v1 ``PutDialRequestBatch`` over an
    aiobotocore ``connectcampaigns`` client. Options are ``AsyncOptions``."""

    def __init__(
        self,
        campaigns_client: ConnectCampaignServiceClient | Any,
        *,
        campaign_id: str,
        **options: Unpack[AsyncOptions],
    ) -> None:
        operation = PutDialRequestBatchOperation(campaign_id_checked(campaign_id, "v1"))
        super().__init__(campaigns_client, operation, DialRequest, options)

