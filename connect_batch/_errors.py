"""Every exception connect_batch raises (botocore's errors are read in ``_botocore``).

    ConnectBatchError
    ├── ContactValidationError (also ValueError)  bad input, found before it is sent
    ├── ConfigurationError (also ValueError)      bad client settings
    ├── MissingExtraError (also ModuleNotFoundError) a feature's optional extra is absent
    ├── PhoneNumberError (also ValueError)        ``to_e164`` could not read a number
    └── RunAbortedError                           the run stopped; carries ``result``
        ├── AccessDeniedError                     403 AccessDeniedException
        ├── InstanceNotFoundError                 404 ResourceNotFoundException (instance)
        ├── CampaignNotFoundError                 404 ResourceNotFoundException (campaign)
        ├── CampaignStateError                    409 InvalidCampaignStateException; ``state``
        ├── NotSentError                          botocore raised before sending (credentials)
        └── InputError                            the caller's iterable raised

Partial failure is not an exception: it is data in ``BatchResult``; so is a deadline that
passed (``DEADLINE_EXCEEDED`` failures). An exception that stops a
run carries the ``BatchResult`` so far, which answers every input the run consumed.
Messages never contain phone numbers or attribute values.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from connect_batch._outcomes import BatchResult

# Each extra of pyproject.toml's [project.optional-dependencies] that a feature of the
# library needs at run time, and the top-level modules it brings (the names an import fails
# on). tests/test_extras.py checks it against pyproject.toml.
EXTRA_MODULES: dict[str, tuple[str, ...]] = {
    "testing": ("moto",),
    "cli": ("phonenumbers", "rich"),
    "redis": ("redis",),
    "otel": ("opentelemetry",),
}


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
        result: BatchResult[Any] | None = None,
    ) -> None:
        self.reason = message
        self.field = field
        self.position = position
        self.result = result
        where = f"input at position {position}: " if position is not None else ""
        super().__init__(where + message)

    def at(self, position: int, result: BatchResult[Any] | None = None) -> ContactValidationError:
        """The same error, placed at ``position`` in a run (and carrying its result)."""
        return ContactValidationError(
            self.reason, field=self.field, position=position, result=result
        )


class ConfigurationError(ConnectBatchError, ValueError):
    """A client setting is invalid (for example an InstanceId over 100 characters)."""


class MissingExtraError(ConnectBatchError, ModuleNotFoundError):
    """A feature needs an optional extra that is not installed; the message says which
    (``<feature> needs the 'redis' extra: pip install 'connect-batch[redis]'``).

    A ``ModuleNotFoundError`` too, so that ``except ImportError`` keeps catching it. ``feature``
    and ``extra`` are what the message names; ``name`` the module that failed to import.
    """

    def __init__(self, feature: str, extra: str, *, name: str | None = None) -> None:
        super().__init__(
            f"{feature} needs the '{extra}' extra: pip install 'connect-batch[{extra}]'",
            name=name,
        )
        self.feature = feature
        self.extra = extra

    @classmethod
    @contextlib.contextmanager
    def guard(cls, feature: str, extra: str) -> Iterator[None]:
        """Imports of ``extra``'s modules inside this block raise ``MissingExtraError``
        naming ``feature`` and ``extra`` when one of them is not installed:

            with MissingExtraError.guard("RedisRateLimiter.from_url", "redis"):
                import redis

        A missing module that the extra does not bring (a broken install of something else)
        is left as it was raised.
        """
        try:
            yield
        except ModuleNotFoundError as missing:
            top = (missing.name or "").partition(".")[0]
            if top not in EXTRA_MODULES[extra]:
                raise
            raise cls(feature, extra, name=missing.name) from None
class PhoneNumberError(ConnectBatchError, ValueError):
    """``to_e164`` could not make a phone number E.164; the message says why and what to do.

    ``field`` is ``"number"`` (the text is no number of the plan it was read in) or
    ``"region"`` (the region given is no region code). The message never holds the number,
    nor any digit.
    """

    def __init__(self, message: str, *, field: str = "number") -> None:
        super().__init__(message)
        self.field = field


class RunAbortedError(ConnectBatchError):
    """The service refused in a way no retry can fix; the run stopped.

    ``result`` answers every input consumed before the stop, contacts already created
    included. ``code`` is the service's error code.
    """

    def __init__(self, message: str, *, code: str, result: BatchResult[Any]) -> None:
        super().__init__(message)
        self.code = code
        self.result = result


class AccessDeniedError(RunAbortedError):
    """403: the caller's role may not make this call (see the message for the action)."""


class InstanceNotFoundError(RunAbortedError):
    """404: the Connect instance does not exist in this account and Region."""


class CampaignNotFoundError(RunAbortedError):
    """404: the outbound campaign does not exist in this account and Region."""


class CampaignStateError(RunAbortedError):
    """409 InvalidCampaignStateException: the campaign is not running.

    ``state`` is the state the service reported (``Initialized``, ``Paused``, ``Stopped``,
    ``Failed``, ``Completed``), or ``None`` if it named none.
    """

    def __init__(
        self, message: str, *, code: str, result: BatchResult[Any], state: str | None = None
    ) -> None:
        super().__init__(message, code=code, result=result)
        self.state = state


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
    # The campaign's state, from an InvalidCampaignStateException.
    state: str | None = None
