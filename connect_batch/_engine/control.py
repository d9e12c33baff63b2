"""Why a run stops, and the control-flow signals a batch's steps raise inside themselves.

Holds ``Stop`` and ``AbortRun`` (a run that cannot go on, and why), ``stopped_by`` (the
reason ``RunFinished`` gives), ``Cancelled`` (the run was told to start nothing new) and the
signals the retry loop acts on (``Retry``, ``Final``, ``DeadlinePassed``). These are values,
not public errors: the clients map them to the public exception tree in one place
(``connect_batch._clients.aborted_error``). Knows no API, no thread, no event loop.
"""

from __future__ import annotations

import enum

from connect_batch._errors import CallFault, ContactValidationError


class Stop(str, enum.Enum):
    """Why a run stopped before its input ran out."""

    REFUSED = "REFUSED"  # the service refused in a way no other batch can get past
    NOT_SENT = "NOT_SENT"  # botocore raised before sending (credentials, parameters)
    UNEXPECTED = "UNEXPECTED"  # the client raised something the library does not know
    INPUT_FAILED = "INPUT_FAILED"  # the caller's iterable raised
    # The deadline could no longer be met: what was read is answered, the run ends without
    # an error (only ``RunFinished.stopped`` names it; no ``AbortRun`` carries it).
    DEADLINE = "DEADLINE"


def stopped_by(error: BaseException) -> str:
    """Why a run ended early, for ``RunFinished.stopped``."""
    if isinstance(error, AbortRun):
        return error.reason.value
    if isinstance(error, GeneratorExit):
        return "CLOSED"
    if isinstance(error, KeyboardInterrupt | SystemExit):
        return "INTERRUPTED"
    if isinstance(error, ContactValidationError):
        return "INVALID_INPUT"
    return "ERROR"


def stop_reason(
    stopped: str | None, stop: BaseException | None, *, deadline_stop: bool
) -> str | None:
    """Why a run ended early (``RunFinished.stopped``), ``None`` if it did not."""
    if stopped is None and stop is not None:
        stopped = stopped_by(stop)
    if stopped is None and deadline_stop:
        stopped = Stop.DEADLINE.value
    return stopped


class AbortRun(Exception):  # noqa: N818 - a control-flow signal, not an error users see
    """The run must stop, for ``reason``; ``fault`` or ``cause`` says what happened."""

    def __init__(
        self,
        reason: Stop,
        *,
        fault: CallFault | None = None,
        cause: BaseException | None = None,
    ) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.fault = fault
        self.cause = cause

    @property
    def code(self) -> str:
        """The code the run's failures carry."""
        if self.fault is not None:
            return self.fault.code
        return type(self.cause).__name__


class Retry(Exception):  # noqa: N818 - a control-flow signal for tenacity
    """An attempt failed in a way another attempt under the same token may get past."""

    def __init__(self, fault: CallFault, *, known_throttle: bool = False) -> None:
        super().__init__(fault.code)
        self.fault = fault
        # A throttle the limiter had already slowed down for: its pace is the wait.
        self.known_throttle = known_throttle


class Final(Exception):  # noqa: N818 - a control-flow signal
    """A whole-call error no retry of this call can fix (400, 409, ...)."""

    def __init__(self, fault: CallFault) -> None:
        super().__init__(fault.code)
        self.fault = fault


class DeadlinePassed(Exception):  # noqa: N818 - a control-flow signal
    """The run's deadline passed (or a slot could not be had before it) before a call."""


class Cancelled(Exception):  # noqa: N818 - a control-flow signal
    """Raised into a batch's steps when the run was told to start nothing new."""
