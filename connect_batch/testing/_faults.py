"""The double's fault model, shared by every API it serves: ``Fault`` and how a fault is felt.

Holds ``Fault`` (what ``plan(...)`` takes), the two ways a call ends without a plain answer
(``ConnectionCut``, ``MangledAnswer``) and how each reaches a client in-process or over HTTP,
a token bucket for throttling, and ``InFlight``. It must not know any API's field names nor
any ledger.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Literal, NoReturn

import attrs
import flask
from botocore.exceptions import ConnectionClosedError

GARBLED_BODY = "<html>gateway</html>"
TRUNCATED_AT = 20  # bytes of the real answer a truncated answer carries


@attrs.frozen(kw_only=True)
class Fault:
    """A whole-call fault the fake applies to one call.

    ``Fault.error(500, after_commit=True)`` creates the contacts
    and remembers the token, then answers 500: the case where only reusing the same token
    avoids creating them twice. ``Fault.dropped()`` creates them and cuts the connection
    instead of answering; ``Fault.reset()`` cuts it before doing anything; ``Fault.slow(s)``
    creates them and answers ``s`` seconds late (a read timeout for a client that waits less).
    ``Fault.garbled()`` creates them and answers 200 with an HTML page instead of JSON (a
    proxy or gateway in the way); ``Fault.truncated()`` creates them and answers 200 with only
    the first bytes of the JSON answer (over HTTP, with a ``Content-Length`` promising the
    whole body, then the connection shut). botocore parses either into a response without
    ``SuccessfulRequestList`` or ``FailedRequestList``. In every case where the contacts are
    created, the token is remembered: a later call with the same token and body gets the real
    answer. ``Fault.items_failed(code)`` (the campaign APIs only) answers 200 with every item
    of the call failed with that per-item ``failureCode`` (``RequestThrottled``,
    ``BufferLimitExceeded``, ...) and creates nothing; an item whose token was created before
    is answered with its id, as AWS documents.
    """

    status: int
    # None: the serving API's own error code (``code_for``), as a fault does not know which
    # API it will be planned on.
    code: str | None
    after_commit: bool = False
    cut: bool = False
    delay: float = 0.0
    mangle: Literal["garbled", "truncated"] | None = None
    every_item: str | None = None

    @classmethod
    def throttle(cls) -> Fault:
        """429 LimitExceededException; nothing created."""
        return cls(status=429, code="LimitExceededException")

    @classmethod
    def error(
        cls,
        status: int = 500,
        code: str | None = None,
        *,
        after_commit: bool = False,
    ) -> Fault:
        """A whole-call error, before or after the contacts are created.

        Without ``code``, the API that answers gives its own 500 code, whatever the status:
        ``InternalServiceException`` for BatchPutContact, ``InternalServerException`` for
        the campaign APIs, a ``Route``'s ``error_code``.
        """
        return cls(status=status, code=code, after_commit=after_commit)

    def code_for(self, own_error: str) -> str:
        """The code answered: the fault's, or else ``own_error``, the serving API's."""
        return own_error if self.code is None else self.code

    @classmethod
    def dropped(cls) -> Fault:
        """Contacts created, then the connection cut: the answer is lost."""
        return cls(status=0, code="dropped", after_commit=True, cut=True)

    @classmethod
    def reset(cls) -> Fault:
        """The connection cut before the request is acted on: nothing created."""
        return cls(status=0, code="reset", cut=True)

    @classmethod
    def slow(cls, seconds: float) -> Fault:
        """Contacts created, the answer sent ``seconds`` late."""
        return cls(status=200, code="slow", after_commit=True, delay=seconds)

    @classmethod
    def garbled(cls) -> Fault:
        """Contacts created, then a 200 whose body is HTML, not JSON."""
        return cls(status=200, code="garbled", after_commit=True, mangle="garbled")

    @classmethod
    def items_failed(cls, code: str = "RequestThrottled") -> Fault:
        """The campaign APIs: every item answered failed with ``code``; nothing created."""
        return cls(status=200, code=code, every_item=code)

    @classmethod
    def truncated(cls) -> Fault:
        """Contacts created, then a 200 whose JSON body is cut off after a few bytes."""
        return cls(status=200, code="truncated", after_commit=True, mangle="truncated")


class ConnectionCut(Exception):  # noqa: N818 - names what happened, not an error
    """The fake will not answer this call; ``acted`` says whether it created contacts."""

    def __init__(self, *, acted: bool) -> None:
        super().__init__("connection cut by the fake")
        self.acted = acted


class MangledAnswer(Exception):  # noqa: N818 - names what happened, not an error
    """The fake acted, and answers 200 with ``answer`` garbled or truncated (``kind``)."""

    def __init__(self, kind: Literal["garbled", "truncated"], answer: str) -> None:
        super().__init__(f"answer {kind} by the fake")
        self.kind = kind
        self.answer = answer


class _TokenBucket:
    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self.tokens = float(burst)
        self.stamp = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class InFlight:
    """How many calls a fake is answering right now, so that a test can wait until none is
    (a call a test stopped waiting for may still reach the fake, and take the next test's
    planned faults)."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = threading.Condition()

    def __enter__(self) -> None:
        with self._idle:
            self._count += 1

    def __exit__(self, *exc: object) -> None:
        with self._idle:
            self._count -= 1
            if not self._count:
                self._idle.notify_all()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until no call is being answered; False if ``timeout`` passed first."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._count, timeout)


def _cut_connection(cut: ConnectionCut, endpoint_url: str) -> NoReturn:
    """Make ``cut`` what a client sees: a dropped connection, over HTTP or in-process."""
    if flask.has_request_context():
        # Server mode: cut the TCP connection so the client sees it drop at once.
        connection = flask.request.environ.get("werkzeug.socket")
        if connection is not None:
            connection.shutdown(socket.SHUT_RDWR)
        raise ConnectionResetError("connection cut by the fake") from None
    # In-process: the error botocore raises when a connection drops mid-call.
    raise ConnectionClosedError(endpoint_url=endpoint_url) from (cut if cut.acted else None)


def _mangled_answer(mangled: MangledAnswer) -> tuple[int, dict[str, str], str]:
    if mangled.kind == "garbled":
        return 200, {"Content-Type": "text/html"}, GARBLED_BODY
    whole = mangled.answer.encode()
    head = whole[: min(TRUNCATED_AT, len(whole) - 1)]
    connection = (
        flask.request.environ.get("werkzeug.socket") if flask.has_request_context() else None
    )
    if connection is None:
        # In-process there is no connection to cut: answer the head alone, which is what
        # botocore makes of a truncated body anyway (not JSON).
        return 200, {"Content-Type": "application/json"}, head.decode("utf-8", "replace")
    # Server mode: promise the whole body, send its head, and shut the connection.
    connection.sendall(
        b"HTTP/1.1 200 OK\r\n"
        b"Content-Type: application/json\r\n"
        b"Content-Length: " + str(len(whole)).encode() + b"\r\n"
        b"\r\n" + head
    )
    connection.shutdown(socket.SHUT_RDWR)
    raise ConnectionResetError("answer truncated by the fake")
