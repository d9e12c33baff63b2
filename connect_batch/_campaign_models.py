"""Request builders for campaigns v2 ``PutOutboundRequestBatch`` and v1 ``PutDialRequestBatch``.

Every limit here comes from botocore's service models (``connectcampaignsv2`` 2024-04-23 and
``connectcampaigns`` 2021-01-30), which botocore itself enforces only in part (minimums, ranges
and required members, never maxima or patterns). A bad value raises ``ContactValidationError``
at the line that built it, naming the field; the value itself never appears in the message,
``repr()`` or ``str()``, because phone numbers, email addresses and parameter values belong to
real people. Building a request never reads the clock: a relative ``expires`` becomes a time
only when ``expiration(now)`` is asked, at send time.
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, NamedTuple, NoReturn

import attrs

from connect_batch._errors import ContactValidationError
from connect_batch._models import E164, mask

if TYPE_CHECKING:
    from mypy_boto3_connectcampaigns.type_defs import DialRequestTypeDef
    from mypy_boto3_connectcampaignsv2.type_defs import (
        ChannelSubtypeParametersTypeDef,
        OutboundRequestTypeDef,
    )

__all__ = [
    "DEFAULT_EXPIRES",
    "MAX_TOKEN_LENGTH",
    "TOKEN",
    "V1_MAX_LEAD",
    "V1_MIN_LEAD",
    "V1_MIN_SEND_LEAD",
    "AnswerMachineDetection",
    "Channel",
    "DialRequest",
    "OutboundRequest",
]

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
    named = f"{field}[{_shown_key(key)}]"
    if not PARAMETER_KEY.fullmatch(key):
        raise _invalid(named, "a key may contain only letters, digits, '-' and '_'")
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


@attrs.frozen
class AnswerMachineDetection:
    """The v2 telephony ``answerMachineDetectionConfig``.

    ``enabled`` turns answering machine detection on; ``await_prompt`` (optional) waits for
    the machine's prompt to end before the contact flow goes on.
    """

    enabled: bool
    await_prompt: bool | None = None

    def __attrs_post_init__(self) -> None:
        if self.enabled.__class__ is not bool:
            raise _type_error("answering_machine_detection.enabled", self.enabled, "a bool")
        if self.await_prompt is not None and self.await_prompt.__class__ is not bool:
            raise _type_error(
                "answering_machine_detection.await_prompt", self.await_prompt, "a bool or None"
            )

    def to_api(self) -> dict[str, bool]:
        """The API's ``answerMachineDetectionConfig`` dict."""
        config = {"enableAnswerMachineDetection": self.enabled}
        if self.await_prompt is not None:
            config["awaitAnswerMachinePrompt"] = self.await_prompt
        return config


def _to_channel(value: Channel | str) -> Channel:
    if value.__class__ is Channel:
        return value
    try:
        return Channel(value)
    except ValueError:
        allowed = ", ".join(c.value for c in Channel)
        raise _invalid("channel", f"must be one of {allowed}") from None


def _to_detection(
    value: AnswerMachineDetection | bool | None,  # noqa: FBT001 - a converter's one argument
) -> AnswerMachineDetection | None:
    if value is None or value.__class__ is AnswerMachineDetection:
        return value
    if value.__class__ is bool:
        return AnswerMachineDetection(enabled=value)
    if isinstance(value, AnswerMachineDetection):
        return value
    raise _type_error(
        "answering_machine_detection", value, "a bool, an AnswerMachineDetection or None"
    )


class _Spec(NamedTuple):
    """How one channel names, checks and sends its members."""

    wire: str  # its member of channelSubtypeParameters
    destination: str  # the builder's keyword, named in errors
    check_destination: Callable[[str, object], None]
    destination_wire: str
    parameters: str
    parameters_wire: str
    source: str
    check_source: Callable[[str, object], None]
    source_wire: str


_PHONE_TEMPLATE = ("phone", _check_phone, "destinationPhoneNumber", "template_parameters",
                   "templateParameters", "source_phone_number_arn", _check_arn,
                   "connectSourcePhoneNumberArn")  # fmt: skip
_SPECS = {
    _TELEPHONY: _Spec("telephony", "phone", _check_phone, "destinationPhoneNumber",
                      "attributes", "attributes", "source_phone_number", _check_source_phone,
                      "connectSourcePhoneNumber"),
    _SMS: _Spec("sms", *_PHONE_TEMPLATE),
    _EMAIL: _Spec("email", "address", _check_email, "destinationEmailAddress",
                  "template_parameters", "templateParameters", "source_email_address",
                  _check_email, "connectSourceEmailAddress"),
    _WHATSAPP: _Spec("whatsApp", *_PHONE_TEMPLATE),
}  # fmt: skip


@attrs.frozen(kw_only=True, repr=False)
class OutboundRequest:
    """One v2 outbound request: a call, SMS, email or WhatsApp message to one customer.

    Build one with ``telephony()``, ``sms()``, ``email()`` or ``whatsapp()``; each checks
    every limit of the service model (and E.164 for phone numbers) and raises
    ``ContactValidationError`` naming the keyword at fault. ``parameters`` holds the
    telephony ``attributes`` or the ``template_parameters`` of the others, as an immutable
    copy (a read-only dict). ``client_token`` is the idempotency key; leave it ``None`` and
    the client makes one. ``key`` names the request within a job (a CRM row id, say: any
    text): under a ``job_key`` the generated token is derived from the job key, the
    campaign, the channel, the destination and ``key`` (or, without one, a digest of what
    the request says), so a rerun sends the request its own token however the input was
    reordered, filtered or split. Give ``key`` or ``client_token``, not both.
    ``expires`` is an aware datetime, a timedelta counted from the send, or ``None`` for
    ``DEFAULT_EXPIRES``. ``repr()`` masks the destination and hides parameters and a source
    email address.
    """

    channel: Channel = attrs.field(converter=_to_channel)
    destination: str
    parameters: Mapping[str, str] = attrs.field(default=_EMPTY, hash=False)
    client_token: str | None = None
    key: str | None = None
    expires: datetime | timedelta | None = None
    source: str | None = None
    template_arn: str | None = None
    ring_timeout: int | None = None
    answering_machine_detection: AnswerMachineDetection | None = attrs.field(
        default=None, converter=_to_detection
    )
    # The ``channelSubtypeParameters`` every to_api() shares, built once.
    _wire: ChannelSubtypeParametersTypeDef = attrs.field(init=False, eq=False, hash=False)
    _fingerprint: str | None = attrs.field(init=False, default=None, eq=False, hash=False)
    _says: str | None = attrs.field(init=False, default=None, eq=False, hash=False)

    def __attrs_post_init__(self) -> None:
        # Every rule in one pass: these are built by the million, and the common case is
        # all plain values within their limits.
        spec = _SPECS[self.channel]
        spec.check_destination(spec.destination, self.destination)
        parameters = _to_parameters(spec.parameters, self.parameters)
        object.__setattr__(self, "parameters", parameters)
        sub: dict[str, Any] = {
            spec.destination_wire: self.destination,
            spec.parameters_wire: parameters,
        }
        if self.client_token is not None:
            _check_token("client_token", self.client_token)
        if self.key is not None:
            _check_key(self.key, self.client_token)
        if self.expires is not None:
            _check_expires("expires", self.expires, None)
        if self.source is not None:
            spec.check_source(spec.source, self.source)
            sub[spec.source_wire] = self.source
        if self.channel is _TELEPHONY:
            self._add_telephony_options(sub)
        else:
            self._add_template_options(sub)
        wire = _ReadOnlyDict({spec.wire: _ReadOnlyDict(sub)})
        object.__setattr__(self, "_wire", wire)

    def _add_telephony_options(self, sub: dict[str, Any]) -> None:
        if self.template_arn is not None:
            raise _invalid("template_arn", "a telephony request takes no template")
        if self.ring_timeout is not None:
            _check_ring_timeout(self.ring_timeout)
            sub["ringTimeout"] = self.ring_timeout
        if self.answering_machine_detection is not None:
            sub["answerMachineDetectionConfig"] = _ReadOnlyDict(
                self.answering_machine_detection.to_api()
            )

    def _add_template_options(self, sub: dict[str, Any]) -> None:
        if self.template_arn is not None:
            _check_arn("template_arn", self.template_arn)
            sub["templateArn"] = self.template_arn
        if self.ring_timeout is not None or self.answering_machine_detection is not None:
            name = (
                "ring_timeout" if self.ring_timeout is not None else "answering_machine_detection"
            )
            raise _invalid(name, f"only a telephony request takes it, not {self.channel}")

    def __repr__(self) -> str:
        if self.channel is _EMAIL:
            destination = "***@***"
            source = None if self.source is None else "***"
        else:
            destination = mask(self.destination)
            source = self.source
        shown = [
            f"channel={self.channel.value!r}",
            f"destination={destination!r}",
            f"client_token={self.client_token!r}",
            f"expires={self.expires!r}",
        ]
        if self.key is not None:
            shown.append("key=<given>")  # a caller's id may be personal data: never shown
        shown.extend(
            f"{name}={value!r}"
            for name, value in (
                ("source", source),
                ("template_arn", self.template_arn),
                ("ring_timeout", self.ring_timeout),
                ("answering_machine_detection", self.answering_machine_detection),
            )
            if value is not None
        )
        return f"OutboundRequest({', '.join(shown)})"

    @classmethod
    def telephony(
        cls,
        phone: str,
        *,
        attributes: Mapping[str, str] | None = None,
        client_token: str | None = None,
        key: str | None = None,
        expires: datetime | timedelta | None = None,
        source_phone_number: str | None = None,
        ring_timeout: int | None = None,
        answering_machine_detection: AnswerMachineDetection | bool | None = None,
    ) -> OutboundRequest:
        """A call to ``phone`` (E.164), with contact ``attributes`` for the flow.

        ``source_phone_number`` (up to 100 characters) overrides the campaign's caller id;
        ``ring_timeout`` is 15-60 seconds; ``answering_machine_detection`` is a bool
        (enabled or not) or an ``AnswerMachineDetection``.
        """
        return cls(
            channel=_TELEPHONY,
            destination=phone,
            parameters=_EMPTY if attributes is None else attributes,
            client_token=client_token,
            key=key,
            expires=expires,
            source=source_phone_number,
            ring_timeout=ring_timeout,
            answering_machine_detection=answering_machine_detection,
        )

    @classmethod
    def sms(
        cls,
        phone: str,
        *,
        template_parameters: Mapping[str, str],
        template_arn: str | None = None,
        source_phone_number_arn: str | None = None,
        client_token: str | None = None,
        key: str | None = None,
        expires: datetime | timedelta | None = None,
    ) -> OutboundRequest:
        """An SMS to ``phone`` (E.164), filling the template with ``template_parameters``.

        ``template_parameters`` is required (``{}`` if the template takes none); the ARNs
        are 20-500 characters.
        """
        return cls(
            channel=_SMS,
            destination=phone,
            parameters=template_parameters,
            client_token=client_token,
            key=key,
            expires=expires,
            source=source_phone_number_arn,
            template_arn=template_arn,
        )

    @classmethod
    def email(
        cls,
        address: str,
        *,
        template_parameters: Mapping[str, str],
        template_arn: str | None = None,
        source_email_address: str | None = None,
        client_token: str | None = None,
        key: str | None = None,
        expires: datetime | timedelta | None = None,
    ) -> OutboundRequest:
        """An email to ``address``, filling the template with ``template_parameters``.

        ``template_parameters`` is required (``{}`` if the template takes none);
        ``source_email_address`` overrides the campaign's sender.
        """
        return cls(
            channel=_EMAIL,
            destination=address,
            parameters=template_parameters,
            client_token=client_token,
            key=key,
            expires=expires,
            source=source_email_address,
            template_arn=template_arn,
        )

    @classmethod
    def whatsapp(
        cls,
        phone: str,
        *,
        template_parameters: Mapping[str, str],
        template_arn: str | None = None,
        source_phone_number_arn: str | None = None,
        client_token: str | None = None,
        key: str | None = None,
        expires: datetime | timedelta | None = None,
    ) -> OutboundRequest:
        """A WhatsApp message to ``phone`` (E.164), filling the template.

        ``template_parameters`` is required (``{}`` if the template takes none); the ARNs
        are 20-500 characters.
        """
        return cls(
            channel=_WHATSAPP,
            destination=phone,
            parameters=template_parameters,
            client_token=client_token,
            key=key,
            expires=expires,
            source=source_phone_number_arn,
            template_arn=template_arn,
        )

    def expiration(self, now: datetime) -> datetime:
        """When the request expires if sent at ``now`` (an aware UTC datetime).

        An aware datetime is returned as given, a timedelta is counted from ``now``, and
        ``None`` gives ``now + DEFAULT_EXPIRES``.
        """
        return _expiration(self.expires, now)

    def to_api(self, client_token: str, expiration_time: datetime) -> OutboundRequestTypeDef:
        """The API's ``OutboundRequest`` dict, as boto3 takes it.

        ``client_token`` and ``expiration_time`` are used as given, unchecked (the client
        checks or makes them). The nested dicts are built once and shared by every call;
        they refuse changes, so copy them to change anything.
        """
        return {
            "clientToken": client_token,
            "expirationTime": expiration_time,
            "channelSubtypeParameters": self._wire,
        }

    def fingerprint(self) -> str:
        """A stable text of what this request sends, but for its token and expiration time.

        Compact JSON with sorted keys of ``channelSubtypeParameters``, plus ``expires``
        (ISO 8601 in UTC for a datetime, seconds for a timedelta, ``""`` for None). Equal
        requests give equal fingerprints. It holds personal data: never log it.
        """
        found = self._fingerprint
        if found is None:
            found = _json_text(
                {"channelSubtypeParameters": self._wire, "expires": _expires_text(self.expires)}
            )
            object.__setattr__(self, "_fingerprint", found)
        return found

    def says(self) -> str:
        """A digest of what this request says: its attributes or template parameters and
        its template, but not whom it reaches, its token, key, expiry, source, ring timeout
        or answering-machine settings. Under a ``job_key`` and without ``key=``, it is what
        tells two requests to one person apart; changing only what it leaves out keeps a
        request the same request (a rerun replays it). 32 hex digits, no personal data.
        """
        found = self._says
        if found is None:
            found = _says_digest({"parameters": self.parameters, "template": self.template_arn})
            object.__setattr__(self, "_says", found)
        return found


def _or_empty(value: Mapping[str, str] | None) -> Mapping[str, str]:
    return _EMPTY if value is None else value


@attrs.frozen(kw_only=True)
class DialRequest:
    """One v1 dial request: a call to ``phone_number`` (E.164) with contact ``attributes``.

    ``attributes`` is kept as an immutable copy (a read-only dict).

    ``client_token`` is the idempotency key; leave it ``None`` and the client makes one.
    ``key`` names the request within a job, as ``OutboundRequest.key`` does: under a
    ``job_key`` the generated token is derived from the job key, the campaign, the number
    and ``key`` (or, without one, a digest of the attributes). Give ``key`` or
    ``client_token``, not both.
    ``expires`` is an aware datetime, a timedelta of 30-900 seconds counted from the send
    (v1 takes an expiration 30-900 s after the call), or ``None`` for ``DEFAULT_EXPIRES``.
    ``repr()`` masks the number and hides the attributes.
    """

    phone_number: str = attrs.field(repr=mask)
    attributes: Mapping[str, str] = attrs.field(
        default=_EMPTY, converter=_or_empty, repr=False, hash=False
    )
    client_token: str | None = None
    # A caller's id may be personal data: repr() says only whether one was given.
    key: str | None = attrs.field(
        default=None, repr=lambda key: "None" if key is None else "<given>"
    )
    expires: datetime | timedelta | None = None
    _fingerprint: str | None = attrs.field(
        init=False, default=None, repr=False, eq=False, hash=False
    )
    _says: str | None = attrs.field(init=False, default=None, repr=False, eq=False, hash=False)

    def __attrs_post_init__(self) -> None:
        _check_phone("phone_number", self.phone_number)
        object.__setattr__(self, "attributes", _to_parameters("attributes", self.attributes))
        _check_token("client_token", self.client_token)
        _check_key(self.key, self.client_token)
        _check_expires("expires", self.expires, (V1_MIN_SEND_LEAD, V1_MAX_LEAD))

    def expiration(self, now: datetime) -> datetime:
        """When the request expires if sent at ``now`` (an aware UTC datetime).

        An aware datetime is returned as given, a timedelta is counted from ``now``, and
        ``None`` gives ``now + DEFAULT_EXPIRES``. An absolute datetime is not held to v1's
        30-900 s window here: only the sender knows when the call goes.
        """
        return _expiration(self.expires, now)

    def to_api(self, client_token: str, expiration_time: datetime) -> DialRequestTypeDef:
        """The API's ``DialRequest`` dict, as boto3 takes it.

        ``client_token`` and ``expiration_time`` are used as given, unchecked. The
        ``attributes`` dict is built once and shared by every call; it refuses changes.
        """
        return {
            "clientToken": client_token,
            "phoneNumber": self.phone_number,
            "expirationTime": expiration_time,
            "attributes": self.attributes,
        }

    def fingerprint(self) -> str:
        """A stable text of what this request sends, but for its token and expiration time.

        Compact JSON with sorted keys of ``phoneNumber`` and ``attributes``, plus ``expires``
        (ISO 8601 in UTC for a datetime, seconds for a timedelta, ``""`` for None). Equal
        requests give equal fingerprints. It holds personal data: never log it.
        """
        found = self._fingerprint
        if found is None:
            found = _json_text(
                {
                    "phoneNumber": self.phone_number,
                    "attributes": self.attributes,
                    "expires": _expires_text(self.expires),
                }
            )
            object.__setattr__(self, "_fingerprint", found)
        return found

    def says(self) -> str:
        """A digest of what this request says: its attributes (not its number, token, key
        or expiry). Under a ``job_key`` and without ``key=``, it is what tells two requests
        to one number apart. 32 hex digits, no personal data."""
        found = self._says
        if found is None:
            found = _says_digest({"attributes": self.attributes})
            object.__setattr__(self, "_says", found)
        return found
