"""Showing a run as it goes: a rich bar on a terminal, plain lines otherwise, and the
summary of outcomes at the end.

It counts outcome codes and reads the run's events; it never sees a row's values.
"""

from __future__ import annotations

import collections
import pathlib
import threading
import time
from collections.abc import Mapping
from typing import Any, TextIO

from connect_batch import MissingExtraError
from connect_batch.events import (
    BatchSettled,
    Event,
    ItemsResubmitted,
    PaceChanged,
    RetryScheduled,
)
from connect_batch.progress import bar_columns, status_line


class Progress:
    """Counts outcomes and shows them: a rich bar on a terminal, plain lines otherwise."""

    def __init__(self, total: int, *, quiet: bool, stream: TextIO) -> None:
        self.total, self.quiet, self.stream = total, quiet, stream
        self.counts: collections.Counter[str] = collections.Counter()
        # Rows in batches waiting to go again, by batch number (from the run's events).
        self._retrying: dict[int, int] = {}
        self.done = 0
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._last_line = 0.0
        self._pace: float | None = None  # the limiter's, as last told
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> Progress:
        if not self.quiet and self.stream.isatty():
            # Entered before anything is sent: without rich, the run stops here, unstarted.
            with MissingExtraError.guard("the progress bar (on a terminal)", "cli"):
                from rich.progress import Progress as Bar

                # The library's display (connect_batch.progress): the same columns.
                columns = bar_columns()
            self._bar = Bar(*columns, transient=False)
            self._task = self._bar.add_task("rows", total=self.total, status="")
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._refresh()
            self._bar.stop()
        elif not self.quiet:
            self._line()

    @property
    def retrying(self) -> int:
        """Rows whose call, or whose items, wait to go again."""
        with self._lock:
            return sum(self._retrying.values())

    def event(self, event: Event) -> None:
        """A subscriber to the run's events (connect_batch.events)."""
        with self._lock:
            if isinstance(event, RetryScheduled | ItemsResubmitted):
                self._retrying[event.batch] = event.items
            elif isinstance(event, BatchSettled):
                self._retrying.pop(event.batch, None)
            elif isinstance(event, PaceChanged):
                self._pace = event.rate
        if self._bar is not None:
            self._refresh()

    def record(self, code: str) -> None:
        with self._lock:
            self.counts[code] += 1
            self.done += 1
        if self._bar is not None:
            self._refresh()
        elif not self.quiet and time.monotonic() - self._last_line >= 2:  # noqa: PLR2004
            self._line()

    def _status(self) -> str:
        return status_line(
            self.counts, self.done, retrying=self.retrying,
            elapsed=time.monotonic() - self.started, pace=self._pace, unit="rows",
        )

    def _refresh(self) -> None:
        self._bar.update(self._task, completed=self.done, status=self._status())

    def _line(self) -> None:
        self._last_line = time.monotonic()
        print(f"{self.done}/{self.total} {self._status()}", file=self.stream, flush=True)

    def summary(
        self, stream: TextIO, source: pathlib.Path | None = None,
        counts: Mapping[str, int] | None = None,
    ) -> None:
        """Rows by outcome code: these ``counts`` (a whole outcomes file's), or this run's."""
        counted = self.counts if counts is None else counts
        rows = sorted(counted.items(), key=lambda item: (-item[1], item[0]))
        if not rows:
            print(f"no rows in {source}" if source is not None else "no rows", file=stream)
            return
        if not (stream.isatty() and _table(stream, rows)):
            for code, count in rows:
                print(f"{code}: {count}", file=stream)


def _table(stream: TextIO, rows: list[tuple[str, int]]) -> bool:
    """The summary as a rich table; False, printing nothing, if rich is not installed.

    The summary comes after the run: its outcomes are told whatever is installed (as plain
    lines) rather than replaced by an error naming the extra.
    """
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        return False
    table = Table(title="Outcomes")
    table.add_column("outcome")
    table.add_column("rows", justify="right")
    for code, count in rows:
        table.add_row(code, str(count))
    Console(file=stream).print(table)
    return True
