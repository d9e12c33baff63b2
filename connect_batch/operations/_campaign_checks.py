"""What the two outbound campaigns APIs share in their request builders: limits and checks.

Holds the limits of the ``connectcampaignsv2`` and ``connectcampaigns`` service models, the
checks that raise ``ContactValidationError`` (naming the field, never the value), the
read-only dict, ``Channel``, and the expiry arithmetic. It must not know either request
class (``campaigns_v2``, ``campaigns_v1``), the engine, nor botocore.

Every limit here comes from botocore's service models (``connectcampaignsv2`` 2024-04-23 and
``connectcampaigns`` 2021-01-30), which botocore itself enforces only in part (minimums, ranges
and required members, never maxima or patterns). Building a request never reads the clock: a
relative ``expires`` becomes a time only when ``expiration(now)`` is asked, at send time.
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, NoReturn

from connect_batch._errors import ContactValidationError
from connect_batch.operations.contacts import E164

if TYPE_CHECKING:
    pass


#: How long a request lives when it says nothing: inside v1's 30-900 s window, and v2's.
DEFAULT_EXPIRES = timedelta(minutes=10)
#: v1 requires ``expirationTime`` at least 30 s and at most 900 s after the call.
V1_MIN_LEAD = timedelta(seconds=30)
V1_MAX_LEAD = timedelta(seconds=900)
#: The least a v1 request may have left when its call is sent: 30 s, and 2 s for transit
#: (the service measures from when the call arrives).
V1_MIN_SEND_LEAD = V1_MIN_LEAD + timedelta(seconds=2)
#: v2 sets no maximum; a relative ``expires`` is held to this so that ``now + expires`` is
#: always a datetime (the year 9999 ends them) and a unit slip is caught when built.
MAX_EXPIRES_DELTA = timedelta(days=36525)

# Limits from the service models. ClientToken is 0-200 in the model; an empty token is
# refused here because it names nothing (leave it None and the client generates one).
MAX_TOKEN_LENGTH = 200
TOKEN = re.compile(r"[a-zA-Z0-9_\-.]*")
#: ``key=`` is hashed into a job-derived token, so any characters do; this only catches a
#: whole record passed by mistake.
MAX_KEY_LENGTH = 1024
MAX_PARAMETER_LENGTH = 32767
PARAMETER_KEY = re.compile(r"[a-zA-Z0-9\-_]+")
MIN_RING_TIMEOUT = 15
MAX_RING_TIMEOUT = 60
MAX_SOURCE_PHONE_LENGTH = 100
MIN_ARN_LENGTH = 20
MAX_ARN_LENGTH = 500
MAX_EMAIL_LENGTH = 255
# The model's EmailAddress pattern, matched whole.
EMAIL = re.compile(r".*[^\s@]+@[^\s@]+\.[^\s@]+.*")
# The model's Arn pattern (MODEL_ARN_PATTERN) ends
#   [^:]+(?:/[^:]+)*(?:/[^:]+)?(?:\:[^:]+)?
# whose resource part backtracks exponentially in Python's engine on a near miss (seconds for
# a 300-character ARN). Since [^:] already matches "/", ``[^:]+(?:/[^:]+)*(?:/[^:]+)?`` is
# exactly ``[^:]+``: this is the same language, in linear time (tests check the two agree).
MODEL_ARN_PATTERN = (
    r"arn:[a-zA-Z0-9-]+:[a-zA-Z0-9-]+:[a-z]{2}-[a-z]+-\d{1,2}:[a-zA-Z0-9-]+:"
    r"[^:]+(?:/[^:]+)*(?:/[^:]+)?(?:\:[^:]+)?"
)
ARN = re.compile(
    r"arn:[a-zA-Z0-9-]+:[a-zA-Z0-9-]+:[a-z]{2}-[a-z]+-[0-9]{1,2}:[a-zA-Z0-9-]+:[^:]+(?::[^:]+)?"
)
# Line terminators that the model's "." (ECMAScript) does not match, though Python's does.
_LINE_BREAKS = frozenset("\n\r\u2028\u2029")


class Channel(str, enum.Enum):
    """How a v2 outbound request reaches its customer."""

    TELEPHONY = "telephony"
    SMS = "sms"
    EMAIL = "email"
    WHATSAPP = "whatsapp"

    def __str__(self) -> str:
        return self.value


# Enum members looked up on the class cost ~150 ns each (EnumType.__getattr__): hot paths use these.
_TELEPHONY = Channel.TELEPHONY
_SMS = Channel.SMS
_EMAIL = Channel.EMAIL
_WHATSAPP = Channel.WHATSAPP


def _read_only(*args: object, **kwargs: object) -> NoReturn:  # noqa: ARG001
    raise TypeError(
        "this dict is part of a frozen request and shared by every to_api() of it: "
        "copy it (dict(...)) to change it"
    )


class _ReadOnlyDict(dict[str, Any]):
    """A dict botocore accepts (its validator wants ``isinstance(x, dict)``) that none may change.

    ``to_api()`` shares these between calls instead of copying them per item, and a request's
    ``parameters`` is one. Unlike a ``MappingProxyType`` it can be pickled and deep-copied.
    """

    __slots__ = ()
    __setitem__ = __delitem__ = __ior__ = _read_only
    clear = pop = popitem = setdefault = update = _read_only

    def __reduce__(self) -> tuple[type[_ReadOnlyDict], tuple[dict[str, Any]]]:
        # dict's own pickling would rebuild it through __setitem__.
        return (type(self), (dict(self),))


_EMPTY = _ReadOnlyDict()


def _invalid(field: str, reason: str) -> ContactValidationError:
    return ContactValidationError(f"{field}: {reason}", field=field)


def _type_error(field: str, value: object, expected: str) -> ContactValidationError:
    return _invalid(field, f"must be {expected}, not {type(value).__name__}")


def _check_phone(field: str, value: object) -> None:
    if value.__class__ is str and E164.fullmatch(value):
        return
    if not isinstance(value, str):
        raise _type_error(field, value, "a str")
    if E164.fullmatch(value):
        return  # a subclass of str
    raise _invalid(
        field,
        "must be an E.164 phone number: '+', then 2-15 digits, the first not 0, like "
        "+14155550100 (no spaces, dashes or brackets)",
    )


def _check_email(field: str, value: object) -> None:
    if not isinstance(value, str):
        raise _type_error(field, value, "a str")
    if not 1 <= len(value) <= MAX_EMAIL_LENGTH:
        raise _invalid(field, f"length {len(value)} is outside 1-{MAX_EMAIL_LENGTH} characters")
    if value != value.strip() or not _LINE_BREAKS.isdisjoint(value):
        raise _invalid(field, "has whitespace at an end or a line break: strip it")
    if not EMAIL.fullmatch(value):
        raise _invalid(field, "must be an email address, like name@example.com")


def _check_arn(field: str, value: object) -> None:
    if not isinstance(value, str):
        raise _type_error(field, value, "a str (an ARN)")
    if not MIN_ARN_LENGTH <= len(value) <= MAX_ARN_LENGTH:
        raise _invalid(
            field, f"length {len(value)} is outside {MIN_ARN_LENGTH}-{MAX_ARN_LENGTH} characters"
        )
    if not ARN.fullmatch(value):
        raise _invalid(
            field,
            "must be a full ARN, like arn:aws:connect:us-east-1:111122223333:instance/...",
        )


def _check_source_phone(field: str, value: object) -> None:
    if value.__class__ is str and 0 < len(value) <= MAX_SOURCE_PHONE_LENGTH:
        return
    if not isinstance(value, str):
        raise _type_error(field, value, "a str")
    if 0 < len(value) <= MAX_SOURCE_PHONE_LENGTH:
        return  # a subclass of str
    raise _invalid(
        field,
        f"length {len(value)} is outside 1-{MAX_SOURCE_PHONE_LENGTH} characters "
        "(leave it None to use the campaign's)",
    )


def _check_token(field: str, value: object) -> None:
    if value is None:
        return
    if value.__class__ is str and 0 < len(value) <= MAX_TOKEN_LENGTH and TOKEN.fullmatch(value):
        return
    if not isinstance(value, str):
        raise _type_error(field, value, "a str or None")
    if not value:
        raise _invalid(field, "is empty: leave it None to have one generated")
    if len(value) > MAX_TOKEN_LENGTH:
        raise _invalid(field, f"length {len(value)} is over {MAX_TOKEN_LENGTH} characters")
    if not TOKEN.fullmatch(value):
        raise _invalid(field, "may contain only letters, digits, '_', '-' and '.'")


def _check_key(value: object, client_token: object) -> None:
    """``key=``: any non-empty text up to ``MAX_KEY_LENGTH`` characters, never beside a token."""
    if value is None:
        return
    if not isinstance(value, str):
        raise _type_error("key", value, "a str or None")
    if not value:
        raise _invalid("key", "is empty: give a stable id (a CRM row id, say) or leave it None")
    if len(value) > MAX_KEY_LENGTH:
        raise _invalid("key", f"length {len(value)} is over {MAX_KEY_LENGTH} characters")
    if client_token is not None:
        raise _invalid(
            "key",
            "is given beside client_token: client_token is the token itself, key= names the "
            "request so that a job_key can derive its token; give one of them",
        )


def _says_digest(payload: dict[str, Any]) -> str:
    """A digest of what a request says, for job-derived tokens: no personal data in it."""
    return hashlib.blake2b(_json_text(payload).encode(), digest_size=16).hexdigest()


def _check_ring_timeout(value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise _type_error("ring_timeout", value, "an int (seconds) or None")
    if not MIN_RING_TIMEOUT <= value <= MAX_RING_TIMEOUT:
        raise _invalid(
            "ring_timeout", f"must be {MIN_RING_TIMEOUT}-{MAX_RING_TIMEOUT} seconds, not {value}"
        )


def _shown_key(key: str) -> str:
    # Keys are names, not personal data, but a long one need not fill the message.
    return repr(key if len(key) <= 40 else key[:37] + "...")  # noqa: PLR2004


def _check_parameter(field: str, key: object, value: object) -> None:
    if not isinstance(key, str):
        raise _invalid(field, f"keys must be str, not {type(key).__name__}")
    if not 1 <= len(key) <= MAX_PARAMETER_LENGTH:
        raise _invalid(
            field, f"a key of length {len(key)} is outside 1-{MAX_PARAMETER_LENGTH} characters"
        )
    if not PARAMETER_KEY.fullmatch(key):
        # A key refused here is one holding '@', '+', a space...: often a mistake that put
        # data where a name goes (an address, a number). So it is never shown: the message
        # names the characters that are not allowed.
        bad = sorted({c for c in key if not PARAMETER_KEY.fullmatch(c)})
        shown = ", ".join(repr(c) for c in bad[:5])
        raise _invalid(
            field,
            f"a key of {len(key)} characters holds {shown}; a key may contain only letters, "
            "digits, '-' and '_' (the key is not shown: it may be personal data)",
        )
    named = f"{field}[{_shown_key(key)}]"
    # The key is named, never the value: values are personal data.
    if not isinstance(value, str):
        raise _type_error(named, value, "a str")
    if len(value) > MAX_PARAMETER_LENGTH:
        raise _invalid(
            named, f"value length {len(value)} is over {MAX_PARAMETER_LENGTH} characters"
        )


def _to_parameters(field: str, value: object) -> _ReadOnlyDict:
    if value.__class__ is not dict and not isinstance(value, Mapping):
        if value is None:
            raise _invalid(field, "is required: a mapping of str to str ({} if none)")
        raise _type_error(field, value, "a mapping of str to str")
    if not value:
        return _EMPTY
    match = PARAMETER_KEY.fullmatch
    for key, item in value.items():
        # The fast test first; the slow one only to name what is wrong.
        if not (
            key.__class__ is str
            and item.__class__ is str
            and len(key) <= MAX_PARAMETER_LENGTH
            and len(item) <= MAX_PARAMETER_LENGTH
            and match(key)
        ):
            _check_parameter(field, key, item)
    return _ReadOnlyDict(value)


def _check_expires(field: str, value: object, window: tuple[timedelta, timedelta] | None) -> None:
    if value is None:
        return
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise _invalid(
                field,
                "is a naive datetime: give it a timezone, like "
                "datetime.now(timezone.utc) + timedelta(minutes=10), or pass a timedelta",
            )
        return
    if isinstance(value, timedelta):
        if value <= timedelta(0):
            raise _invalid(field, "a timedelta must be positive: how long after sending")
        if value > MAX_EXPIRES_DELTA:
            raise _invalid(field, "a timedelta must be at most 100 years (36525 days)")
        if window is not None and not window[0] <= value <= window[1]:
            low, high = (int(w.total_seconds()) for w in window)
            raise _invalid(
                field,
                f"a timedelta must be {low}-{high} seconds: PutDialRequestBatch takes an "
                f"expirationTime 30-{high} s after the call arrives ({low} s leaves time "
                "for transit)",
            )
        return
    raise _type_error(field, value, "None, an aware datetime or a timedelta")


def _expiration(expires: datetime | timedelta | None, now: datetime) -> datetime:
    if expires is None:
        return now + DEFAULT_EXPIRES
    if isinstance(expires, timedelta):
        return now + expires
    return expires


def _expires_text(expires: datetime | timedelta | None) -> str:
    if expires is None:
        return ""
    if isinstance(expires, timedelta):
        # Exact, unlike total_seconds() (a float) for very long spans.
        seconds = expires.days * 86400 + expires.seconds
        if not expires.microseconds:
            return str(seconds)
        return f"{seconds}.{expires.microseconds:06d}".rstrip("0")
    # In UTC, so that two equal instants (equal datetimes) give the same text.
    return expires.astimezone(timezone.utc).isoformat()


def _json_text(payload: dict[str, Any]) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"))
