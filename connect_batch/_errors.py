"""Every exception connect_batch raises, and the one place botocore's errors are read.

    ConnectBatchError
    ├── ContactValidationError (also ValueError)  bad input, found before it is sent
    ├── ConfigurationError (also ValueError)      bad client settings
    └── RunAbortedError                           the run stopped; carries ``result``
        ├── AccessDeniedError                     403 AccessDeniedException
        ├── InstanceNotFoundError                 404 ResourceNotFoundException
        ├── DeadlineExceededError                 deadline passed, iterator left unread
        ├── NotSentError                          botocore raised before sending (credentials)
        └── InputError                            the caller's iterable raised

Partial failure is not an exception: it is data in ``BatchResult``. An exception that stops a
run carries the ``BatchResult`` so far, which answers every input the run consumed.
Messages never contain phone numbers or attribute values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
)
from botocore.exceptions import (
    ConnectionError as BotocoreConnectionError,
)

if TYPE_CHECKING:
    from connect_batch._outcomes import BatchResult


class ConnectBatchError(Exception):
    """The root of every error connect_batch raises."""


class ContactValidationError(ConnectBatchError, ValueError):
    """An input breaks one of the API's rules; raised before anything is sent.

    ``field`` names the offending field, ``position`` the 0-based index of the input in the
    ``put_contacts`` call (``None`` when raised while building a single request). When it
    stops a run that had already sent earlier batches, ``result`` answers every input consumed.
    """

    def __init__(
        self,
        message: str,
        *,
        field: str,
        position: int | None = None,
        result: BatchResult | None = None,
    ) -> None:
        self.reason = message
        self.field = field
        self.position = position
        self.result = result
        where = f"contact at position {position}: " if position is not None else ""
        super().__init__(where + message)

    def at(self, position: int, result: BatchResult | None = None) -> ContactValidationError:
        """The same error, placed at ``position`` in a run (and carrying its result)."""
        return ContactValidationError(
            self.reason, field=self.field, position=position, result=result
        )


class ConfigurationError(ConnectBatchError, ValueError):
    """A client setting is invalid (for example an InstanceId over 100 characters)."""


class RunAbortedError(ConnectBatchError):
    """The service refused in a way no retry can fix; the run stopped.

    ``result`` answers every input consumed before the stop, contacts already created
    included. ``code`` is the service's error code.
    """

    def __init__(self, message: str, *, code: str, result: BatchResult) -> None:
        super().__init__(message)
        self.code = code
        self.result = result


class AccessDeniedError(RunAbortedError):
    """403: the caller may not call BatchPutContact (only outbound campaigns may)."""


class InstanceNotFoundError(RunAbortedError):
    """404: the Connect instance does not exist in this account and Region."""


class DeadlineExceededError(RunAbortedError):
    """The run's deadline passed with input left unread (an iterator, not a sequence)."""


class NotSentError(RunAbortedError):
    """botocore raised before the request left (no credentials, no Region, parameters).

    Nothing of the batch that met it was sent; the message says what to fix. The original
    error is the ``__cause__``.
    """


class InputError(RunAbortedError):
    """Reading the caller's iterable raised; the original error is the ``__cause__``."""


@attrs.frozen(kw_only=True)
class CallFault:
    """What went wrong with one HTTP attempt, read from botocore's exception.

    ``may_have_acted`` is True when the service could have created contacts although the
    call failed: no answer arrived (a read timeout, a dropped connection), it answered 5xx,
    or a proxy answered 408 in its place.
    Such a batch may only ever be retried under the same ClientToken.
    """

    code: str
    message: str
    status: int | None
    may_have_acted: bool


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
        return CallFault(
            code=str(error.get("Code") or "Unknown"),
            message=str(error.get("Message") or ""),
            status=status,
            may_have_acted=status is None or status >= _SERVER_ERROR or status == _REQUEST_TIMEOUT,
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
