"""Steps: code written once as a generator of what it needs done, driven sync or async.

The engine's batch settlement and the Redis limiter decide everything in a generator that
yields the I/O it needs (a call, a sleep, a script on Redis) and is sent what came of it,
or has the exception thrown in. ``drive`` carries the steps out blocking, ``drive_async``
awaiting them; neither decides anything, so the sync and async paths cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from typing import Any, Generic, TypeVar

StepT = TypeVar("StepT")
ResultT = TypeVar("ResultT")


class Steps(Generic[StepT, ResultT]):
    """A driver's handle on a generator of steps: start it, then answer each step."""

    def __init__(self, steps: Generator[StepT, Any, ResultT]) -> None:
        self._steps = steps
        self.result: ResultT | None = None

    def start(self) -> StepT | None:
        """The first step, or ``None`` if the steps ended at once (``result`` is set)."""
        return self.resume(None, None)

    def answer(self, do: Callable[[StepT], Any], step: StepT) -> StepT | None:
        """Carry ``step`` out with ``do``; the next step, or ``None`` once done."""
        try:
            value = do(step)
        except BaseException as exc:  # noqa: BLE001 - thrown into the steps, which decide
            return self.resume(None, exc)
        return self.resume(value, None)

    def resume(self, value: Any, error: BaseException | None) -> StepT | None:
        """Send ``value`` (or throw ``error``) in; the next step, or ``None`` once done."""
        try:
            if error is not None:
                return self._steps.throw(error)
            return self._steps.send(value)
        except StopIteration as done:
            self.result = done.value
            return None


def drive(steps: Generator[StepT, Any, ResultT], do: Callable[[StepT], Any]) -> ResultT:
    """Carry ``steps`` out with ``do``, blocking; their result."""
    runner = Steps(steps)
    step = runner.start()
    while step is not None:
        step = runner.answer(do, step)
    return runner.result  # type: ignore[return-value]


async def drive_async(
    steps: Generator[StepT, Any, ResultT], do: Callable[[StepT], Awaitable[Any]]
) -> ResultT:
    """Carry ``steps`` out with ``do``, awaiting each; their result."""
    runner = Steps(steps)
    step = runner.start()
    while step is not None:
        try:
            value = await do(step)
        except BaseException as exc:  # noqa: BLE001 - thrown into the steps, which decide
            step = runner.resume(None, exc)
        else:
            step = runner.resume(value, None)
    return runner.result  # type: ignore[return-value]
