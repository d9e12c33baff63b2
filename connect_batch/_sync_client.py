"""The sync clients' common part: ``BatchClient``, and the ``OutcomeStream`` and ``Batcher``
it hands out, on the thread driver.

``BatchClient`` is the public face of the engine for any operation: runs, streams and
batchers. A client for one API (``ContactBatchClient``, ``OutboundRequestBatchClient``,
``DialRequestBatchClient``) adds its operation's description and the names of its methods; it
decides nothing else. Options and the error mapping are ``connect_batch._client_core``'s.
Must not know asyncio, or which API it runs.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import Generic, TypeVar

from connect_batch._client_core import (
    ClientCore,
    aborted_error,
    attach_result,
    batcher_result,
    raise_stopped,
    warn_dropped,
)
from connect_batch._engine import AbortRun, Engine, Pending, RunKeys, Work
from connect_batch._engine.retry import Duration
from connect_batch._errors import ConfigurationError, ContactValidationError
from connect_batch._outcomes import BatchResult, Outcome
from connect_batch._threads import Run, ThreadDriver
from connect_batch.operations.base import BatchOperation, Idempotency

RequestT = TypeVar("RequestT")


class BatchClient(ClientCore[RequestT]):
    """What every client does, whichever API it speaks: see ``ContactBatchClient``,
    ``OutboundRequestBatchClient`` and ``DialRequestBatchClient`` for their methods.

    The boto3 client is used as it is, except that the library's own calls of the
    operation make one HTTP attempt each (botocore's retries would multiply
    ``max_attempts``), which a handler scoped to those calls arranges. Its other operations,
    and calls of the same operation you make yourself, keep botocore's retry behaviour.

    One client may be shared by threads: each run keeps its own state. ``on_retry`` is
    called with the error code of every attempt about to be retried (for progress displays;
    it must be quick and thread-safe). ``subscribers`` get the run's instrumentation events
    (``connect_batch.events``); the list is ``client.subscribers``, read when a run starts.
    """

    def open_run(
        self,
        items: Iterable[RequestT],
        *,
        job_key: str | None = None,
        skip: Callable[[list[Pending[RequestT]]], bool] | None = None,
        skip_item: Callable[[Pending[RequestT]], bool] | None = None,
    ) -> Run[Outcome[RequestT]]:
        """The low-level run behind every method: an iterator of outcomes.

        ``skip`` is asked about each batch before it is sent; a batch it returns True for is
        neither sent nor answered (the command line resumes at batch boundaries with it).
        ``skip_item`` is asked about each input once it has its key: one it returns True
        for is neither sent nor answered, but still counted in the run's keys. It needs
        per-item idempotency: under a per-call token a batch must be sent again whole.
        Drive it under ``run.engine.interrupts.guard()`` and finish it with ``close()``;
        prefer ``put_*``, ``iter_put_*`` and ``batcher()``, which do both.
        """
        if skip_item is not None and self._operation.idempotency is not Idempotency.PER_ITEM:
            raise ConfigurationError(
                f"skip_item needs per-item idempotency; {self._operation.name} has a token "
                "per call, so resume it whole batches at a time (skip)"
            )
        return Run(self.engine_for(job_key, skip, skip_item), items)

    def _put(
        self, items: Iterable[RequestT], job_key: str | None, deadline: Duration | None = None
    ) -> BatchResult[RequestT]:
        engine = self.engine_for(job_key, deadline=deadline)
        run = Run(engine, items)
        outcomes: list[Outcome[RequestT]] = []
        result: BatchResult[RequestT] | None = None
        try:
            # Signals wait for safe points until the result is built and attached.
            with engine.interrupts.guard():
                try:
                    for chunk in run.chunks():
                        outcomes.extend(chunk)
                    result = BatchResult.from_outcomes(outcomes)
                except (ContactValidationError, AbortRun) as error:
                    raise_stopped(self._operation, error, outcomes)
                except BaseException:
                    try:
                        run.close_interrupted(outcomes.extend)
                    finally:
                        result = BatchResult.from_outcomes(outcomes)
                    raise
        except BaseException as error:
            # An interrupt (or an application handler's exception) carries the result.
            if result is not None and getattr(error, "result", None) is None:
                attach_result(error, result)
            raise
        return result

    def _iter(
        self, items: Iterable[RequestT], job_key: str | None, deadline: Duration | None = None
    ) -> OutcomeStream[RequestT]:
        engine = self.engine_for(job_key, deadline=deadline)
        return OutcomeStream(Run(engine, items), self._operation)

    def batcher(
        self, *, job_key: str | None = None, deadline: Duration | None = None
    ) -> Batcher[RequestT]:
        """A buffered writer for inputs produced one at a time.

        ``with client.batcher() as b: b.put(item)`` sends every 25 inputs. A clean exit
        sends the rest, and ``b.result`` holds the ``BatchResult``. If the block raises,
        nothing more is sent: ``b.unsent`` keeps what was buffered and never handed to a
        call, ``b.result`` answers everything that was. One batcher may be shared by threads.
        ``deadline`` (default the client's) counts from the batcher's creation.
        """
        return Batcher(self.engine_for(job_key, deadline=deadline), self._operation.max_items)


class OutcomeStream(Iterator[Outcome[RequestT]]):
    """The outcomes of ``iter_put_contacts``, one per input, as their batches complete.

    An iterator that can be stopped without losing an answer. ``close()`` stops the run:
    no new attempt starts, the calls in flight finish, and it returns a ``BatchResult`` of
    every outcome settled but not yielded (the in-flight batches, inputs read but not sent),
    also kept in ``rest``. Use it as a context manager so that a ``break`` or an exception
    in the loop closes it; an exception leaving the block carries ``result`` = ``rest``.
    """

    def __init__(
        self, run: Run[Outcome[RequestT]], operation: BatchOperation[RequestT]
    ) -> None:
        self._run = run
        self._operation = operation
        self._done = False
        self.rest: BatchResult[RequestT] = BatchResult()

    def __del__(self) -> None:
        if not self._done:
            warn_dropped("an OutcomeStream", self._operation.name, "close()", "a with block")

    def __iter__(self) -> OutcomeStream[RequestT]:
        return self

    def __next__(self) -> Outcome[RequestT]:
        try:
            return next(self._run)
        except (ContactValidationError, AbortRun) as error:
            self._done = True
            raise_stopped(self._operation, error, None)
        except StopIteration:
            self._done = True
            raise
        except BaseException as interrupt:
            self._finish(interrupt)
            raise

    def _finish(self, error: BaseException | None) -> None:
        """Close the run and keep what it had not yielded in ``rest``; give ``error`` (and
        any exception closing raised) that ``rest`` as its ``result``."""
        self._done = True
        interrupts = self._run.engine.interrupts
        again: BaseException | None = None
        with interrupts.guard(stopping=error is not None):
            if error is not None:
                interrupts.stop()
            try:
                left = self._run.close(stopping=error is not None)
            except BaseException as raised:  # noqa: BLE001 - raised again, with rest, below
                again, left = raised, self._run.take_leftover()
            if left:
                self.rest = BatchResult.from_outcomes(
                    [*self.rest.succeeded, *self.rest.failed, *left]
                )
            for exc in (error, again):
                if exc is not None and getattr(exc, "result", None) is None:
                    attach_result(exc, self.rest)
        if again is not None:
            raise again

    def close(self) -> BatchResult[RequestT]:
        """Stop the run; return (and keep in ``rest``) the outcomes not yet yielded.

        A Ctrl-C while it waits for calls in flight is raised once they finish, carrying
        ``result`` (= ``rest``); a second one stops the wait.
        """
        try:
            self._finish(None)
        except BaseException as error:
            if getattr(error, "result", None) is None:
                attach_result(error, self.rest)
            raise
        return self.rest

    def __enter__(self) -> OutcomeStream[RequestT]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._finish(exc)


def _stopped_by(error: BaseException | None) -> str | None:
    """Why a batcher's block ended early, for ``RunFinished``."""
    if error is None:
        return None
    if isinstance(error, KeyboardInterrupt | SystemExit):
        return "INTERRUPTED"
    return "ERROR"


class Batcher(Generic[RequestT]):
    """Sends inputs given one at a time, 25 per call; see ``BatchClient.batcher``.

    Unlike boto3's DynamoDB ``batch_writer``, it sends nothing more once the block has
    raised, and a call that fails never loses the buffer: every contact handed to a call is
    answered in ``result``, even when the call is interrupted; ``unsent`` holds only
    contacts never handed to one.

    It may be shared by threads: ``put`` is safe to call from several at once, each full
    batch is sent by the thread whose ``put`` filled it (so up to one call per producer
    thread is in flight), and leaving the block waits for the calls in flight. An
    exception leaving the block (Ctrl-C included) stops new attempts at once; a second
    Ctrl-C while the block waits for calls in flight stops the wait, and those calls'
    contacts are reported unknown.
    """

    def __init__(self, engine: Engine[RequestT, Outcome[RequestT]], size: int) -> None:
        self._engine = engine
        self._driver = ThreadDriver(engine)
        self._size = size
        engine.start_clock()
        self._lock = threading.Lock()
        self._buffer: list[Pending[RequestT]] = []
        self._seen = RunKeys()
        self._works: list[Work[RequestT, Outcome[RequestT]]] = []
        self._positions = itertools.count()
        self._numbers = itertools.count(1)
        self._closed = False
        self._started = time.monotonic()
        self.unsent: list[RequestT] = []
        self.result: BatchResult[RequestT] = BatchResult()

    def __enter__(self) -> Batcher[RequestT]:
        return self

    def put(self, contact: RequestT) -> None:
        """Buffer ``contact`` (any input); send the buffer when it holds 25."""
        with self._lock:
            if self._closed:
                raise ConfigurationError("this batcher is closed; start another")
            pending = self._engine.key(contact, next(self._positions), self._seen)
            if pending.duplicate_of is not None:
                # The same request as an earlier input: answered now, never sent.
                self._works.append(self._engine.answered_now(pending))
                return
            self._buffer.append(pending)
            if len(self._buffer) < self._size:
                return
            work, number = self._hand_over()
        self._send(work, number)

    def _hand_over(self) -> tuple[Work[RequestT, Outcome[RequestT]], int]:
        """The buffer becomes a batch for a call; called with the lock held."""
        work: Work[RequestT, Outcome[RequestT]] = Work(self._buffer)
        self._buffer = []
        self._works.append(work)
        return work, next(self._numbers)

    def _send(self, work: Work[RequestT, Outcome[RequestT]], number: int) -> None:
        engine = self._engine
        try:
            # The call is made on this thread: Ctrl-C lets it finish, then stops the run.
            with engine.interrupts.guard(), engine.interrupts.direct():
                abort = self._driver.settle(work.batch, number, work)
        except BaseException:
            engine.cancel()
            with self._lock:
                self._closed = True
            raise
        finally:
            work.finished.set()  # also when settle never started (an interrupt before it)
        if abort is not None:
            engine.cancel()
            with self._lock:
                self._closed = True
            # Other threads' calls in flight finish first, and their answers count: the
            # run stops as it does on Ctrl-C (a second one stops the wait).
            with engine.interrupts.guard(stopping=True):
                self._wait_for_calls(stopping=True)
            with self._lock:
                self.result = self._result()
            raise aborted_error(engine.operation, abort, self.result) from (
                abort.cause or abort.__cause__
            )

    def _result(self) -> BatchResult[RequestT]:
        return batcher_result(self._engine, self._works)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        engine = self._engine
        if exc is not None:
            engine.cancel()  # nothing new starts: calls in flight finish
        with self._lock:
            rest = self._hand_over() if exc is None and self._buffer and not self._closed else None
            self._closed = True
            self.unsent = [p.item for p in self._buffer]
        with engine.interrupts.guard(stopping=exc is not None):
            try:
                if rest is not None:
                    self._send(*rest)
                self._wait_for_calls(stopping=exc is not None)
            except BaseException:
                engine.interrupts.stop()
                raise
            finally:
                with self._lock:
                    self.result = self._result()
                outcomes: list[Outcome[RequestT]] = [*self.result.succeeded, *self.result.failed]
                engine.finish_run(outcomes, self._started, _stopped_by(exc))

    def _wait_for_calls(self, *, stopping: bool) -> None:
        """Wait for other threads' calls; a second interrupt stops the wait."""
        engine = self._engine
        try:
            for work in list(self._works):
                if stopping and work.withdraw():
                    # Handed over but never started: nothing of it was sent.
                    work.abandon(engine.interrupted_unsent)
                    continue
                while not work.finished.wait(0.05):
                    engine.interrupts.run_deferred()  # an application handler may raise
                    if engine.interrupts.stop_waiting:
                        raise KeyboardInterrupt  # noqa: TRY301 - the wait ends as Ctrl-C does
        except BaseException:
            engine.cancel()
            for work in self._works:
                work.abandon(engine.interrupted_in_flight)
            raise
