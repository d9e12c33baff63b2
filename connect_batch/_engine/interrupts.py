"""Ctrl-C during a run, handled where it cannot cost an answer.

A ``KeyboardInterrupt`` raised at an arbitrary bytecode can land between "an answer was
taken from one list" and "put in the next", and lose it. So while a run is driven from the
main thread, and a signal's handler is Python's default (``signal.default_int_handler``, as
SIGINT's is, and as SIGTERM's is once you set it so), the handler is swapped for one that
*asks* the run to stop: the first signal cancels the run (no new attempt starts; calls in
flight finish) and the ``KeyboardInterrupt`` is raised at the run's next safe point, where
every answer is in one place. A second signal stops the waiting: the calls still in flight
are reported unknown. Where the main thread is inside code that cannot poll (reading the
caller's iterable, or a batcher's call made on that thread), the second signal raises
there at once.

Where no handler can be installed (another thread, or a handler of the application's own),
nothing is swapped and exceptions take their usual path.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

_SIGNALS = tuple(
    s for s in (getattr(signal, "SIGINT", None), getattr(signal, "SIGTERM", None)) if s
)


Handler = Callable[[int, Any], Any]


class Interrupts:
    """The interrupt state of one run, and the guard that defers signals to safe points."""

    def __init__(self, cancel: Callable[[], None]) -> None:
        self._cancel = cancel
        self.pending = False  # an interrupt to raise at the next safe point
        self.stop_waiting = False  # stop waiting for calls in flight
        self._direct = 0  # > 0: the main thread is in code that cannot poll
        self._stopping = False  # the run is stopping for an exception: a signal means stop waiting
        self._asked = False  # a signal has asked this run to stop
        self._guarded = False
        self._handlers: dict[int, Handler] = {}  # the application's, while swapped
        self._deferred: list[tuple[int, FrameType | None]] = []

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        handler = self._handlers.get(signum)
        if handler is not signal.default_int_handler:
            # The application's own handler: run it as it is, but where it cannot cost an
            # answer (at once where the main thread cannot poll).
            if self._direct and handler is not None:
                handler(signum, frame)
            else:
                self._deferred.append((signum, frame))
            return
        if not self._asked and not self._stopping:
            self._asked = True
            self.pending = True
            self._cancel()
            return
        self.stop_waiting = True
        if self._direct:
            raise KeyboardInterrupt
        if not self._stopping:
            self.pending = True

    def stop(self) -> None:
        """The run is being stopped for an exception already on its way: from now on a
        signal with Python's default handler means "stop waiting", and is not raised."""
        self._stopping = True

    def run_deferred(self) -> None:
        """Run the application's handlers for signals that came. One that raises stops the
        run, as an interrupt does, and its exception goes on; a handler that only returns
        (sets a flag, say) changes nothing."""
        while self._deferred:
            signum, frame = self._deferred.pop(0)
            handler = self._handlers.get(signum) or signal.getsignal(signum)
            if not callable(handler):
                continue
            try:
                handler(signum, frame)
            except BaseException:
                # The first such exception stops the run (calls in flight finish); one
                # while it stops, or after, stops the waiting too.
                if self._asked or self._stopping:
                    self.stop_waiting = True
                self._asked = True
                self._cancel()
                raise

    def check(self) -> None:
        """A safe point: run the application's handlers for signals that came (they may
        raise), then raise the interrupt a signal asked for."""
        self.run_deferred()
        if self.pending:
            self.pending = False
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def guard(self, *, stopping: bool = False) -> Iterator[None]:
        """Defer SIGINT and SIGTERM to safe points for the block (main thread only).

        A signal whose handler is Python's default asks the run to stop; one with a handler
        of the application's own has that handler run at the next safe point instead of
        wherever the signal landed. ``stopping``: the run is stopping for an exception
        already on its way (see ``stop``). When the block ends, what a signal left to do is
        done: the application's handlers run, and a pending interrupt is raised unless the
        run was stopping (it stopped, as the signal asked).
        """
        if self._guarded or threading.current_thread() is not threading.main_thread():
            yield
            return
        handlers = {s: signal.getsignal(s) for s in _SIGNALS}
        swapped: dict[int, Handler] = {
            s: h for s, h in handlers.items() if callable(h)  # not SIG_DFL, SIG_IGN
        }
        for s in swapped:
            signal.signal(s, self._handle)
        self._handlers = swapped
        self._guarded, was_stopping = True, self._stopping
        self._stopping = self._stopping or stopping
        try:
            yield
        finally:
            for s, handler in swapped.items():
                signal.signal(s, handler)
            stopped = self._stopping
            self._guarded, self._stopping = False, was_stopping
            if stopped:
                self.pending = False
        if swapped:
            self.check()

    @contextlib.contextmanager
    def direct(self) -> Iterator[None]:
        """The main thread runs code that cannot poll: a second signal raises in it."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        self._direct += 1
        try:
            yield
        finally:
            self._direct -= 1
