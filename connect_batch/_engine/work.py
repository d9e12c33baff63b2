"""One batch's shared bookkeeping: ``Work``, its outcomes so far, by position.

``Work`` is the one object a batch's steps and the code that waits for them share, so it
is safe to share between threads (a lock, and a ``threading.Event`` that says the steps are
done); an asyncio driver uses it the same way from one thread. It decides nothing: whoever
settles, withdraws or abandons the batch says what each input's outcome is. Knows no API.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from connect_batch._engine.intake import Pending

ItemT = TypeVar("ItemT")
OutT = TypeVar("OutT")


class Work(Generic[ItemT, OutT]):
    """One batch handed to a call: its outcomes so far, safe to share between threads.

    A batch is *started* once the thread that settles it takes it up; ``finished`` is set
    when that thread is done with it. ``abandon`` answers what is still open and ignores
    whatever the settling thread finds out afterwards, so that no input is answered twice.
    Outcomes are stored by position in one dict, so that "settled" and "answered" are one
    step that an exception cannot split.
    """

    def __init__(self, batch: list[Pending[ItemT]]) -> None:
        self.batch = batch
        self.finished = threading.Event()
        self._by_position: dict[int, OutT] = {}
        self._started = False
        self._abandoned = False
        self._lock = threading.Lock()

    @property
    def outcomes(self) -> list[OutT]:
        """The batch's outcomes so far."""
        with self._lock:
            return list(self._by_position.values())

    def start(self) -> bool:
        """Take the batch up; False if it was abandoned before it started."""
        with self._lock:
            self._started = not self._abandoned
            return self._started

    def withdraw(self) -> bool:
        """Abandon the batch if it has not started (nothing of it was sent); True if so."""
        with self._lock:
            if self._started:
                return False
            self._abandoned = True
            return True

    def add(self, pending: Pending[ItemT], outcome: OutT) -> None:
        with self._lock:
            if not self._abandoned:
                self._by_position.setdefault(pending.position, outcome)

    def add_all(self, settled: list[tuple[Pending[ItemT], OutT]]) -> None:
        """``add`` for many inputs at once (one lock for a whole answer)."""
        with self._lock:
            if self._abandoned:
                return
            for pending, outcome in settled:
                self._by_position.setdefault(pending.position, outcome)

    def abandon(self, answer: Callable[[Pending[ItemT]], OutT]) -> list[OutT]:
        """Answer every open input with ``answer``; return all the batch's outcomes."""
        with self._lock:
            for p in self.batch:
                if p.position not in self._by_position:
                    self._by_position[p.position] = answer(p)
            self._abandoned = True
            return list(self._by_position.values())
