"""Resumable runs: the public handle a resumer (the command line, or your own) drives.

``open_run(client, items, job_key=..., skip=..., skip_item=...)`` starts a run of a
synchronous client and returns a ``ResumableRun``: iterate it for outcomes, under
``run.guard()`` so that Ctrl-C lands only where no outcome is between the run and your
record of it; on an interrupt, ``close_interrupted(keep)`` hands every outcome settled and not
yet yielded to ``keep``. When the service stops the run, iteration raises a public
``RunAbortedError`` (``stopped_error`` is the one place the engine's reason becomes it).

``skip`` and ``skip_item`` see each input as a ``PendingInput``: its position in the input
and its key. With the same ``job_key`` as an earlier run, the inputs you do not skip are sent
under the same tokens, so the service replays what that run may have created.

Also here: the limits a resumer checks before it sends (``E164``, the expiry leads) and
``mask``, the only way a value is ever shown in a message.

This module wraps the engine's internals; it holds no API's field names and no policy of
its own beyond translating the engine's stop into a public error.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Generic, Protocol, TypeVar

from connect_batch._client_core import aborted_error
from connect_batch._engine import AbortRun
from connect_batch._errors import RunAbortedError
from connect_batch._outcomes import BatchResult, Outcome
from connect_batch._sync_client import BatchClient
from connect_batch._threads import Run
from connect_batch.operations._campaign import V2_MIN_LEAD
from connect_batch.operations._campaign_checks import (
    MAX_EXPIRES_DELTA,
    V1_MAX_LEAD,
    V1_MIN_SEND_LEAD,
)
from connect_batch.operations.contacts import E164, mask

__all__ = [
    "E164",
    "MAX_EXPIRES_DELTA",
    "V1_MAX_LEAD",
    "V1_MIN_SEND_LEAD",
    "V2_MIN_LEAD",
    "PendingInput",
    "ResumableRun",
    "mask",
    "open_run",
    "stopped_error",
]

RequestT = TypeVar("RequestT")

# Re-exported, the campaign APIs' expiry windows (datetime.timedelta):
# MAX_EXPIRES_DELTA  the furthest expiry any request may carry;
# V1_MAX_LEAD        v1: a request expires at most this long after it is sent;
# V1_MIN_SEND_LEAD   v1: the least time a request needs left when it is sent;
# V2_MIN_LEAD        v2: the least time a request needs left when it is sent.


class PendingInput(Protocol):
    """An input read and keyed, not yet settled, as ``skip`` and ``skip_item`` see it."""

    @property
    def position(self) -> int:
        """Its 0-based position in the run's input."""

    @property
    def key(self) -> str:
        """Its key within the job (the token, or the part of it, that names it)."""


def stopped_error(
    client: BatchClient[Any], error: BaseException, result: BatchResult[Any] | None = None
) -> RunAbortedError | None:
    """The public error for a run the service (or the input) stopped, or ``None`` when
    ``error`` is not such a stop. ``result`` is what the error carries (empty by default)."""
    if not isinstance(error, AbortRun):
        return None
    return aborted_error(client.operation, error, result if result is not None else BatchResult())


class ResumableRun(Generic[RequestT]):
    """One run of a client, as an iterator of outcomes, that the caller finishes.

    Hold ``guard()`` while iterating; end with ``close()`` (or ``close_interrupted`` when an
    exception is on its way). A stop the run cannot get past raises ``RunAbortedError``
    (or a subclass) from ``next()``; every outcome yielded before it stands.
    """

    def __init__(self, client: BatchClient[RequestT], run: Run[Outcome[RequestT]]) -> None:
        self._client = client
        self._run = run

    def __iter__(self) -> ResumableRun[RequestT]:
        return self

    def __next__(self) -> Outcome[RequestT]:
        try:
            return next(self._run)
        except AbortRun as abort:
            error = stopped_error(self._client, abort)
            assert error is not None  # noqa: S101 - an AbortRun always maps
            raise error from (abort.cause or abort.__cause__)

    @contextlib.contextmanager
    def guard(self) -> Iterator[None]:
        """Defer SIGINT and SIGTERM to the run's safe points for the block (main thread only):
        Ctrl-C is raised where no outcome is between the run and its caller."""
        with self._run.engine.interrupts.guard():
            yield

    def close(self) -> list[Outcome[RequestT]]:
        """Stop the run (calls in flight finish); return the outcomes not yet yielded."""
        return self._run.close()

    def close_interrupted(self, keep: Callable[[list[Outcome[RequestT]]], object]) -> None:
        """Close the run for an exception already on its way: a second signal stops the wait
        for calls in flight, and every outcome not yielded goes to ``keep``."""
        self._run.close_interrupted(keep)


def open_run(
    client: BatchClient[RequestT],
    items: Iterable[RequestT],
    *,
    job_key: str | None = None,
    skip: Callable[[Sequence[PendingInput]], bool] | None = None,
    skip_item: Callable[[PendingInput], bool] | None = None,
) -> ResumableRun[RequestT]:
    """Start a run of ``client`` over ``items`` under ``job_key``.

    ``skip`` is asked about each batch before it is sent; a batch it returns True for is
    neither sent nor answered (resume at batch boundaries: under a token per call a batch
    goes again whole). ``skip_item`` is asked about each input once it has its key; one it
    returns True for is neither sent nor answered. It needs a client with a token per item
    (the campaign clients); others raise ``ConfigurationError``.
    """
    run = client.open_run(items, job_key=job_key, skip=skip, skip_item=skip_item)
    return ResumableRun(client, run)
