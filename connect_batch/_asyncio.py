"""The asyncio driver: a run's batches settled as tasks on an event loop.

Nothing here decides anything about tokens, retries or outcomes: ``Engine.settle_steps``
does, as a generator of effects (acquire a slot, make a call, sleep, tell the limiter).
``LoopDriver`` awaits each effect on the loop; ``connect_batch._threads`` carries out the
same steps on a thread. ``AsyncRun`` is the scheduling loop (the reading rules are the
engine's ``Schedule``, shared with the thread driver); ``_Source`` reads a sequence, an
iterable or an async iterable a batch at a time. This module adds only what an event loop
needs: tasks instead of threads, async iterables, and task cancellation in the place of
Ctrl-C. Must not know threads (beyond the engine's stop flag), or which API it runs.

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
from typing import Any, Generic, TypeVar

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
from connect_batch._engine.pacing import AsyncRateLimiter, tell_async
from connect_batch._engine.steps import drive_async
from connect_batch._errors import ContactValidationError

ItemT = TypeVar("ItemT")
OutT = TypeVar("OutT")
AsyncSleep = Callable[[float], Awaitable[None]]
logger = logging.getLogger("connect_batch")


class LoopDriver:
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

    def begin_run(self) -> float:
        """``Engine.begin_run``, with the pace of this driver's limiter (the engine's own is
        for threads)."""
        started = self._engine.begin_run()
        self._engine.instrument.paced(self._limiter)
        return started

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
            known = await tell_async(self._limiter, effect)
            self._engine.instrument.paced(self._limiter)  # the answer may have moved it
            return known
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
        driver: LoopDriver,
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
        started = driver.begin_run()
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
                # A sequence's unread rest is answered; an iterator is read no further.
                answered_late, late = late, []
                engine.past_deadline_answers(
                    answered_late, list(source.rest()), ready, in_memory=source.in_memory
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
