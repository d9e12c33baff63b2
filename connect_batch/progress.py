"""A run's progress on a terminal, for library users: ``RichProgress``, the command line's
rich display as an event subscriber (the ``cli`` extra brings rich; this module imports
without it, and ``RichProgress()`` says which extra to install).

    from connect_batch.progress import RichProgress

    with RichProgress(total=len(requests)) as progress:
        client = OutboundRequestBatchClient(campaigns, campaign_id=..., subscribers=[progress])
        result = client.put_requests(requests)

It reads only the run's events (``connect_batch.events``): counts, codes and the pace, never
an input's values. The bar's columns and status line are shared with the command line
(``connect_batch.cli.progress``), so both show a run the same way.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from connect_batch._errors import MissingExtraError
from connect_batch._outcomes import CREATED
from connect_batch.events import (
    BatchSettled,
    Event,
    ItemsResubmitted,
    PaceChanged,
    RetryScheduled,
    RunFinished,
)

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import ProgressColumn

VALID = "VALID"  # a dry run's count of inputs that would be sent (the command line's)


def bar_columns() -> tuple[ProgressColumn, ...]:
    """The display's columns: what, the bar, done of total, the status line, time left."""
    with MissingExtraError.guard("connect_batch.progress.bar_columns", "cli"):
        from rich.progress import (  # noqa: PLC0415 - the optional extra
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeRemainingColumn,
        )
    return (
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"), TimeRemainingColumn(),
    )


def status_line(
    counts: Mapping[str, int], done: int, *, retrying: int, elapsed: float,
    pace: float | None, unit: str,
) -> str:
    """``created N  failed N  retrying N  R unit/s`` and the limiter's pace, when known."""
    created = counts.get(CREATED, 0)
    failed = done - created - counts.get(VALID, 0)
    line = (
        f"created {created}  failed {failed}  retrying {retrying}  "
        f"{created / max(elapsed, 1e-9):.1f} {unit}/s"
    )
    return line if pace is None else f"{line}  pace {pace:g} calls/s"


class RichProgress:
    """A subscriber that shows runs on a terminal as their batches settle: inputs answered
    (of ``total``, if given), created, failed, waiting to go again, created per second and
    the rate limiter's pace.

    Use it as a context manager around the runs to show (the display starts and stops with
    the block), or call ``start()`` and ``stop()``. ``console`` defaults to a rich console
    on stderr; ``transient=True`` removes the bar when it stops. Safe to share between the
    threads of a run. Several runs add up in one display; their batch numbers are told
    apart only per run, so show runs of one client one after another.

    ``counts`` (by outcome: ``CREATED`` or a failure code) and ``done`` are the figures
    shown, for a summary after the run.
    """

    def __init__(
        self,
        total: int | None = None,
        *,
        console: Console | None = None,
        description: str = "inputs",
        transient: bool = False,
    ) -> None:
        with MissingExtraError.guard("RichProgress", "cli"):
            from rich.console import Console  # noqa: PLC0415 - the optional extra
            from rich.progress import Progress  # noqa: PLC0415

        self.total = total
        self.done = 0
        self._counts: collections.Counter[str] = collections.Counter()
        self._retrying: dict[tuple[str, int], int] = {}
        self._pace: float | None = None
        self._started = time.monotonic()
        self._lock = threading.Lock()
        self._bar = Progress(
            *bar_columns(), console=console or Console(stderr=True), transient=transient
        )
        self._task = self._bar.add_task(description, total=total, status="")

    @property
    def counts(self) -> dict[str, int]:
        """Inputs answered so far, by outcome."""
        with self._lock:
            return dict(self._counts)

    def start(self) -> None:
        self._started = time.monotonic()
        self._bar.start()

    def stop(self) -> None:
        self._refresh()
        self._bar.stop()

    def __enter__(self) -> RichProgress:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __call__(self, event: Event) -> None:
        """A subscriber to the runs' events."""
        with self._lock:
            if isinstance(event, BatchSettled):
                self._retrying.pop((event.operation, event.batch), None)
                self._add(event.codes)
            elif isinstance(event, RunFinished):
                # Inputs never sent (or abandoned in flight): no BatchSettled told them.
                self._add(event.unbatched)
                self._retrying = {
                    k: v for k, v in self._retrying.items() if k[0] != event.operation
                }
            elif isinstance(event, RetryScheduled | ItemsResubmitted):
                self._retrying[(event.operation, event.batch)] = event.items
            elif isinstance(event, PaceChanged):
                self._pace = event.rate
            else:
                return
        self._refresh()

    def _add(self, codes: Mapping[str, int]) -> None:
        self._counts.update(codes)
        self.done += sum(codes.values())

    def status(self) -> str:
        """The status line shown beside the bar."""
        with self._lock:
            return status_line(
                self._counts, self.done, retrying=sum(self._retrying.values()),
                elapsed=time.monotonic() - self._started, pace=self._pace, unit="inputs",
            )

    def _refresh(self) -> None:
        status = self.status()
        self._bar.update(self._task, completed=self.done, status=status)


__all__ = ["RichProgress"]
