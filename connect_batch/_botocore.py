"""The only module that talks to botocore's machinery: one attempt per call, and what was sent.

botocore retries on its own (``legacy`` mode: 5 attempts) and would multiply the library's
attempts. Changing the client's retry config would change every other operation the caller
uses it for, so instead one handler is registered on ``needs-retry.<service>.<Operation>``,
ahead of botocore's own. While a library call is in progress in this context it ends
botocore's loop after the first attempt by raising what botocore would have raised after
its last. Calls the caller makes themselves, and every other operation, are untouched.

``fault_from`` translates botocore's exceptions into the engine's ``CallFault``.

A second handler, on ``before-send.<service>.<Operation>``, marks the moment the request is
handed to the HTTP layer. An exception raised before that mark (no credentials, a
credential refresh that failed, parameters botocore refused) proves that the request was
not sent.

At DEBUG, botocore logs every request's parameters (``botocore.endpoint``) and every
response body (``botocore.parsers``): for these operations, phone numbers, email
addresses and attribute values. ``RedactBodies``, a filter on those two loggers, replaces
the bodies in the records emitted during the library's own calls, and nothing else.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Iterator
from typing import Any

import attrs
import botocore.exceptions
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    NoRegionError,
    ParamValidationError,
)
from botocore.exceptions import (
    ConnectionError as BotocoreConnectionError,
)

from connect_batch._errors import CallFault

_FIRST_ERROR_STATUS = 300


@attrs.define
class CallMark:
    """One library call in progress; ``sent`` turns True when the request leaves for HTTP."""

    sent: bool = False


_current: contextvars.ContextVar[CallMark | None] = contextvars.ContextVar(
    "connect_batch_call", default=None
)


REDACTED_LOGGERS = ("botocore.endpoint", "botocore.parsers")


def _redacted(body: object) -> str:
    size = len(body) if isinstance(body, bytes | str) else 0
    return f"<{size} bytes redacted by connect_batch: they hold personal data>"


class RedactBodies(logging.Filter):
    """Hides request and response bodies in botocore's DEBUG records of the library's calls.

    A record is changed only when it is emitted while a library call is in progress in
    its context (the thread making the call), so other operations, and calls you make
    yourself, are logged as botocore logs them. Turn it off with
    ``connect_batch.redact_botocore_logs(enabled=False)``.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if _current.get() is None or not isinstance(record.args, tuple) or not record.args:
            return True
        args = record.args
        if record.name == "botocore.endpoint" and len(args) == 2 and isinstance(args[1], dict):  # noqa: PLR2004
            params = {k: v for k, v in args[1].items() if k != "body"}
            params["body"] = _redacted(args[1].get("body"))
            record.args = (args[0], params)
        elif record.name == "botocore.parsers" and "body" in str(record.msg):
            record.args = tuple(_redacted(a) for a in args)
        return True


_FILTER = RedactBodies()


def redact_botocore_logs(*, enabled: bool = True) -> None:
    """Redact (the default) or not the bodies of the library's calls in botocore's DEBUG logs.

    botocore logs every request's parameters and every response body at DEBUG; for these
    operations they hold phone numbers, email addresses and attribute values. Redaction is
    on from the first client made; turn it off only where such logs may hold personal data.
    """
    global _redaction_chosen  # noqa: PLW0603 - one choice per process
    _redaction_chosen = True
    for name in REDACTED_LOGGERS:
        logger = logging.getLogger(name)
        if enabled:
            logger.addFilter(_FILTER)  # adding it twice keeps one
        else:
            logger.removeFilter(_FILTER)


_redaction_chosen = False  # set by the first client, or by the application


def _end_after_first_attempt(
    response: tuple[Any, dict[str, Any]] | None,
    caught_exception: BaseException | None,
    operation: Any,
    **_: Any,
) -> None:
    if _current.get() is None:
        return
    if caught_exception is not None:
        raise caught_exception
    if response is not None and response[0].status_code >= _FIRST_ERROR_STATUS:
        raise ClientError(response[1], operation.name)  # type: ignore[arg-type]


def _mark_sent(**_: Any) -> None:
    mark = _current.get()
    if mark is not None:
        mark.sent = True


def install(client: Any, operation_name: str) -> None:
    """Register the single-attempt and sent-mark handlers on ``client`` (idempotent), and
    redact the bodies of its calls in botocore's DEBUG logs (once per process, so that
    ``redact_botocore_logs(enabled=False)`` stays off)."""
    if not _redaction_chosen:
        redact_botocore_logs(enabled=True)
    service_id = client.meta.service_model.service_id.hyphenize()
    events = client.meta.events
    events.register_first(
        f"needs-retry.{service_id}.{operation_name}",
        _end_after_first_attempt,
        unique_id=f"connect_batch.single-attempt.{service_id}.{operation_name}",
    )
    # First, so that it runs before any handler that answers in place of HTTP (moto's).
    events.register_first(
        f"before-send.{service_id}.{operation_name}",
        _mark_sent,
        unique_id=f"connect_batch.sent-mark.{service_id}.{operation_name}",
    )


@contextlib.contextmanager
def single_attempt() -> Iterator[CallMark]:
    """Within this block, installed operations make exactly one HTTP attempt per call.

    The ``CallMark`` yielded says whether the request was handed to the HTTP layer.
    """
    mark = CallMark()
    token = _current.set(mark)
    try:
        yield mark
    finally:
        _current.reset(token)


_CREDENTIAL_ERRORS = tuple(
    error
    for error in (
        getattr(botocore.exceptions, name, None)
        for name in (
            "NoCredentialsError",
            "PartialCredentialsError",
            "CredentialRetrievalError",
            "TokenRetrievalError",
            "SSOError",
            "SSOTokenLoadError",
            "UnauthorizedSSOTokenError",
            "RefreshWithMFAUnsupportedError",
            "MetadataRetrievalError",
            "NoAuthTokenError",
        )
    )
    if isinstance(error, type)
)


def unsent_reason(exc: BaseException) -> str:
    """What to fix when botocore raised ``exc`` before sending (no personal data in it).

    botocore's own message is left out on purpose: ``ParamValidationError`` quotes values.
    """
    name = type(exc).__name__
    if isinstance(exc, _CREDENTIAL_ERRORS):
        return (
            f"botocore found no usable AWS credentials ({name}), so the request was not "
            "sent. Configure credentials for the boto3 session (environment, profile, role "
            "or SSO login), then run again"
        )
    if isinstance(exc, NoRegionError):
        return (
            f"no AWS Region is configured ({name}), so the request was not sent. Pass "
            "region_name to the boto3 client or set AWS_DEFAULT_REGION, then run again"
        )
    if isinstance(exc, ParamValidationError):
        return (
            f"botocore refused the request's parameters ({name}), so the request was not "
            "sent. The library validates every field first, so this points to a botocore "
            "model newer or older than the library expects: upgrade connect-batch and botocore"
        )
    return (
        f"the boto3 client raised {name} before sending, so the request was not sent. Fix "
        "the client's configuration (credentials, Region, event handlers), then run again"
    )


# The request never reached the service: it cannot have acted.
_NOT_SENT = (EndpointConnectionError, ConnectTimeoutError)
# The request may have reached the service and no answer came back.
_NO_ANSWER = (HTTPClientError, BotocoreConnectionError)
_SERVER_ERROR = 500
_REQUEST_TIMEOUT = 408


def fault_from(exc: BaseException) -> CallFault | None:
    """Translate a botocore exception into a ``CallFault``; ``None`` if it is not one.

    This is the only function that reads botocore's exception types.
    """
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        state = exc.response.get("state")  # modelled members of the error, at the top
        return CallFault(
            code=str(error.get("Code") or "Unknown"),
            message=str(error.get("Message") or ""),
            status=status,
            may_have_acted=status is None or status >= _SERVER_ERROR or status == _REQUEST_TIMEOUT,
            state=state if isinstance(state, str) else None,
        )
    if isinstance(exc, _NOT_SENT):
        return CallFault(
            code=type(exc).__name__, message=str(exc), status=None, may_have_acted=False
        )
    if isinstance(exc, _NO_ANSWER):
        return CallFault(
            code=type(exc).__name__, message=str(exc), status=None, may_have_acted=True
        )
    return None
