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
"""

from __future__ import annotations

import contextlib
import contextvars
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
    """Register the single-attempt and sent-mark handlers on ``client`` (idempotent)."""
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
