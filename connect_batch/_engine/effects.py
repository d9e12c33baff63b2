"""Effects: what one batch's steps (``settle.Settler.steps``) ask their driver to do.

The thread driver (``connect_batch._threads``) carries them out blocking; the asyncio
driver (``connect_batch._asyncio``) awaits them. Either sends back the result, or throws in
the exception it raised. These are plain values: this module knows no driver, no API, no
thread and no event loop.
"""

from __future__ import annotations

from typing import Any

import attrs


@attrs.frozen
class Acquire:
    """Wait for the rate limiter; the result is its epoch, or ``None`` past ``max_wait``."""

    max_wait: float | None


@attrs.frozen
class Feedback:
    """Tell the rate limiter how a call went; the result says if a throttle was known.

    ``capacity``: the answer refused items for capacity (the backlog is full), a signal of
    its own (``pacing.tell``).
    """

    epoch: int
    throttled: bool
    capacity: bool = False


@attrs.frozen
class Sleep:
    """Back off for ``seconds``; raise ``Cancelled`` if the run is told to stop meanwhile."""

    seconds: float


@attrs.frozen
class Call:
    """Make one HTTP attempt: the boto3 client's ``method`` with ``params``; the result is
    its response."""

    method: str
    params: dict[str, Any]


Effect = Acquire | Feedback | Sleep | Call
