"""The thread driver: a run's batches settled on daemon threads, its outcomes as an iterator.

Holds ``ThreadDriver`` (carries out one batch's effects, blocking: the call, the limiter's
slot, a back-off the run's stop cuts short), ``Run`` (the scheduling loop: read lazily, keep
up to ``concurrency`` batches in flight, hand outcomes over, drain on a stop) and the
daemon-thread pool it runs batches on. Every decision about tokens, retries and outcomes is
the engine's (``connect_batch._engine``); the reading rules are ``Schedule``'s, shared with
the asyncio driver. Must not know asyncio, or which API it runs.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextvars
import functools
import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
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
    Work,
    stopped_by,
)
from connect_batch._engine.pacing import tell
from connect_batch._engine.steps import drive
from connect_batch._errors import ContactValidationError

ItemT = TypeVar("ItemT")
OutT = TypeVar("OutT")
logger = logging.getLogger("connect_batch")
# How often a waiting run looks for a signal asking it to stop (seconds).
_POLL = 0.05


class ThreadDriver:
    """Carries out a run's effects on the calling thread, blocking."""

    def __init__(self, engine: Engine[Any, Any]) -> None:
        self._engine = engine
        self._client = engine.client
        self._limiter = engine.limiter
        self._policy = engine.policy

    def settle(
        self, batch: list[Pending[Any]], number: int, work: Work[Any, Any]
    ) -> AbortRun | None:
        """Settle one batch into ``work`` on this thread; a run-stopping error comes back
        as a value. The steps are ``Engine.settle_steps``; this drives them, blocking."""
        return drive(self._engine.settle_steps(batch, number, work), self._do)

    def _do(self, effect: Effect) -> Any:
        """Carry out one effect, blocking."""
        if isinstance(effect, Call):
            return getattr(self._client, effect.method)(**effect.params)
        if isinstance(effect, Acquire):
            booking = getattr(self._limiter, "booking", None)
            if callable(booking) and getattr(self._limiter, "sleep", None) is time.sleep:
                # The in-process limiter's own steps, with a wait the run's stop cuts short:
                # a slot no call will use is not waited for.
                return drive(booking(effect.max_wait), self._wait_for_slot)
            return self._limiter.acquire(effect.max_wait)
        if isinstance(effect, Feedback):
            known = tell(self._limiter, effect)
            self._engine.instrument.paced(self._limiter)  # the answer may have moved it
            return known
        self._sleep(effect.seconds)
        return None

    def _sleep(self, seconds: float) -> None:
        """The policy's sleep; the real one is cut short when the run is interrupted."""
        if self._policy.sleep is time.sleep:
            self._engine.wait_cancelled(seconds)
        else:
            self._policy.sleep(seconds)
        if self._engine.cancelled:
            raise Cancelled

    def _wait_for_slot(self, seconds: float) -> None:
        if self._engine.wait_cancelled(seconds):
            raise Cancelled


class _Workers:
    """Daemon threads that settle a run's batches.

    ``concurrent.futures.ThreadPoolExecutor`` joins its threads when the interpreter exits,
    so a process interrupted twice would still wait for calls the run stopped waiting for
    (up to botocore's read timeout). These threads are daemons; a run's own bookkeeping
    (``Work``) decides what their results mean.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._started = 0
        self._queue: queue.SimpleQueue[
            tuple[concurrent.futures.Future[Any], Callable[[], Any]] | None
        ] = queue.SimpleQueue()

    def submit(self, call: Callable[[], AbortRun | None]) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._queue.put((future, call))
        if self._started < self._size:
            self._started += 1
            threading.Thread(
                target=self._work, name=f"connect_batch_{self._started}", daemon=True
            ).start()
        return future

    def _work(self) -> None:
        while (job := self._queue.get()) is not None:
            future, call = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(call())
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
                future.set_exception(exc)

    def shutdown(self) -> None:
        for _ in range(self._started):
            self._queue.put(None)


class Run(Generic[OutT]):
    """The outcomes of one run, as an iterator.

    ``close()`` stops the run: no new attempt starts, calls in flight finish, and it
    returns the outcomes not yet yielded. When the run is interrupted while it is being
    read, those outcomes are in ``leftover``; ``close()`` returns them too.

    The engine hands outcomes over a batch at a time, under one interrupt guard; they wait
    in ``_pending`` until returned, so that a signal landing between two ``next()`` calls
    costs nothing and ``close()`` finds them.
    """

    def __init__(self, engine: Engine[Any, OutT], items: Iterable[Any]) -> None:
        self.leftover: list[OutT] = []
        self._pending: collections.deque[OutT] = collections.deque()
        self.engine = engine
        self._chunks = _schedule(engine, items, self.leftover)

    def __iter__(self) -> Run[OutT]:
        return self

    def chunks(self) -> Iterator[list[OutT]]:
        """The outcomes a batch at a time, for a caller that holds ``interrupts.guard()``."""
        return self._chunks

    def __next__(self) -> OutT:
        pending = self._pending
        if not pending:
            # Asked to stop while the engine ran: what it handed over waits in _pending.
            with self.engine.interrupts.guard():
                pending.extend(next(self._chunks))
        # No call between reading the outcome and returning it: no signal can land there.
        outcome = pending[0]
        del pending[0]
        return outcome

    def close(self, *, stopping: bool = False) -> list[OutT]:
        """Stop the run; return every outcome it settled that was not yielded.

        ``stopping``: an exception is already on its way (a signal now means "stop
        waiting"). If closing raises (a signal's handler of the application's own), the
        outcomes stay in ``leftover``: read them with ``take_leftover()``.
        """
        try:
            with self.engine.interrupts.guard(stopping=stopping):
                self._chunks.close()
        finally:
            self.leftover[:0] = self._pending
            self._pending.clear()
        return self.take_leftover()

    def close_interrupted(self, keep: Callable[[list[OutT]], object]) -> None:
        """Close the run for an exception already on its way: a signal now means "stop
        waiting", and every outcome not yielded goes to ``keep``, even if closing raises."""
        self.engine.interrupts.stop()
        left: list[OutT] = []
        try:
            left = self.close(stopping=True)
        finally:
            keep(left or self.take_leftover())

    def take_leftover(self) -> list[OutT]:
        """The outcomes settled and not yielded, once."""
        left = list(self.leftover)
        self.leftover.clear()
        return left


def _schedule(  # noqa: PLR0912, PLR0915 - read, submit, settle, stop: one loop reads best
    engine: Engine[ItemT, OutT], items: Iterable[ItemT], leftover: list[OutT]
) -> Generator[list[OutT], None, None]:
    """Yield one outcome per input, in chunks; on an interrupt, put the unyielded ones in
    ``leftover``.

    Safe points, where an interrupt a signal asked for is raised: before each read of
    the input, while waiting for a batch to finish, before each yield.
    """
    in_memory = isinstance(items, Sequence)
    ready: collections.deque[OutT] = collections.deque()
    works: dict[concurrent.futures.Future[AbortRun | None], Work[ItemT, OutT]] = {}
    late: list[Pending[ItemT]] = []
    keyed: Iterator[Pending[ItemT]] = iter(())
    numbers = itertools.count(1)
    stop: BaseException | None = None
    deadline_stop = False
    concurrency, interrupts, skip = engine.concurrency, engine.interrupts, engine.skip
    driver = ThreadDriver(engine)
    pool = _Workers(concurrency)
    started = engine.begin_run()
    stopped: str | None = None
    try:
        # A sequence is checked whole first, so that bad input stops the run before
        # anything at all is sent; an iterator is read one batch at a time.
        if in_memory:
            with interrupts.direct():
                keyed = iter(list(engine.keyed(items)))
        else:
            keyed = engine.keyed(items)
        if engine.skip_item is not None:
            skip_item = engine.skip_item
            keyed = (p for p in keyed if not skip_item(p))
        engine.start_clock()
        reading = True
        while True:
            if ready:  # what finished goes out before more input is read
                yield engine.hand_over(ready)
            while reading and stop is None and len(works) < concurrency:
                interrupts.check()
                if engine.past_deadline():
                    reading, deadline_stop = False, True
                    break
                try:
                    batch = engine.take(keyed, engine.operation.max_items, ready)
                except (ContactValidationError, AbortRun) as error:
                    stop = error  # settle what is in flight before raising it
                    break
                number = next(numbers)
                if not batch:
                    reading = False
                elif skip is not None and skip(batch):
                    continue  # settled in an earlier run; its number stays taken
                elif engine.past_deadline():
                    late, reading, deadline_stop = batch, False, True
                else:
                    work: Work[ItemT, OutT] = Work(batch)
                    context = contextvars.copy_context()
                    call = functools.partial(context.run, driver.settle, batch, number, work)
                    works[pool.submit(call)] = work
            if ready:
                yield engine.hand_over(ready)
            if not works:
                break
            done, _ = concurrent.futures.wait(
                works, timeout=_POLL, return_when=concurrent.futures.FIRST_COMPLETED
            )
            interrupts.check()
            for future in done:
                abort = future.result()
                ready.extend(works.pop(future).outcomes)
                if abort is not None and stop is None:
                    stop, reading = abort, False
        # Every batch sent is settled; answer what was read but not sent.
        if stop is not None:
            engine.answer_unsent(late, ready)
            late = []
            if in_memory and isinstance(stop, AbortRun):
                engine.answer_unsent(keyed, ready)
        elif deadline_stop:
            # A sequence's unread rest is answered; an iterator is read no further.
            answered_late, late = late, []
            rest: list[Pending[ItemT]] = list(keyed) if in_memory else []
            engine.past_deadline_answers(answered_late, rest, ready, in_memory=in_memory)
        if ready:
            yield engine.hand_over(ready)
    except BaseException as error:
        # Interrupted (KeyboardInterrupt, SystemExit) or closed early (GeneratorExit):
        # no attempt starts from now on; calls in flight finish and are answered.
        stopped = stopped_by(error)
        engine.cancel()
        leftover.extend(ready)
        ready.clear()
        try:
            _drain(engine, list(works.values()), leftover)
        finally:
            leftover.extend(engine.unsent(p) for p in late)
            if in_memory:
                leftover.extend(engine.unsent(p) for p in keyed)
            engine.count(leftover)
        raise
    finally:
        pool.shutdown()
        engine.finished(started, engine.stop_reason(stopped, stop, deadline_stop=deadline_stop))
    if stop is not None:
        raise stop


def _drain(
    engine: Engine[Any, OutT], works: list[Work[Any, OutT]], leftover: list[OutT]
) -> None:
    """Answer every batch in ``works`` into ``leftover``, waiting for calls in flight.

    A batch not yet started is withdrawn (nothing of it was sent). A second interrupt
    stops the wait: what is still in flight is answered as interrupted, unknown.
    """
    open_works = list(works)
    try:
        while open_works:
            work = open_works[0]
            if work.withdraw():
                leftover.extend(work.abandon(engine.interrupted_unsent))
            elif work.finished.wait(_POLL):
                leftover.extend(work.abandon(engine.interrupted_in_flight))
            else:
                engine.interrupts.run_deferred()  # an application handler may raise
                if engine.interrupts.stop_waiting:
                    break
                continue
            open_works.pop(0)
    finally:
        if open_works:
            logger.warning(
                "%s: stopped waiting for %d call(s) in flight; their items are reported "
                "with outcome_unknown=True", engine.operation.name, len(open_works),
            )
        for work in open_works:
            leftover.extend(work.abandon(engine.interrupted_in_flight))
