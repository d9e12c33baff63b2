"""Outbound campaigns v2 ``PutOutboundRequestBatch``: ``OutboundRequest`` and its operation.

Holds the request builder (telephony, SMS, email, WhatsApp; every limit of the
``connectcampaignsv2`` model) and ``PutOutboundRequestBatchOperation``: per-item tokens
(``Idempotency.PER_ITEM``), no documented maximum lead, and the wire names. What v1 and v2
share (answers, faults, pacing, expiry) is in ``_campaign``. It must not know v1, the
engine's scheduling, nor botocore.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

import attrs

from connect_batch.operations._campaign import V2_MIN_LEAD, CampaignOperation
from connect_batch.operations._campaign_checks import (
    _EMAIL,
    _EMPTY,
    _SMS,
    _TELEPHONY,
    _WHATSAPP,
    Channel,
    _check_arn,
    _check_email,
    _check_expires,
    _check_key,
    _check_phone,
    _check_ring_timeout,
    _check_source_phone,
    _check_token,
    _expiration,
    _expires_text,
    _invalid,
    _json_text,
    _ReadOnlyDict,
    _says_digest,
    _to_parameters,
    _type_error,
)
from connect_batch.operations.contacts import mask

if TYPE_CHECKING:
    from mypy_boto3_connectcampaignsv2.type_defs import (
        ChannelSubtypeParametersTypeDef,
        OutboundRequestTypeDef,
    )


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
        template_parameters: Mapping[str, str] | None = None,
        template_arn: str | None = None,
        source_phone_number_arn: str | None = None,
        client_token: str | None = None,
        key: str | None = None,
        expires: datetime | timedelta | None = None,
    ) -> OutboundRequest:
        """An SMS to ``phone`` (E.164), filling the template with ``template_parameters``.

        Without ``template_parameters`` (a template that takes none), ``{}`` is sent: the
        model requires the member and allows an empty map. The ARNs are 20-500 characters.
        """
        return cls(
            channel=_SMS,
            destination=phone,
            parameters=_EMPTY if template_parameters is None else template_parameters,
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
        template_parameters: Mapping[str, str] | None = None,
        template_arn: str | None = None,
        source_email_address: str | None = None,
        client_token: str | None = None,
        key: str | None = None,
        expires: datetime | timedelta | None = None,
    ) -> OutboundRequest:
        """An email to ``address``, filling the template with ``template_parameters``.

        Without ``template_parameters`` (a template that takes none), ``{}`` is sent: the
        model requires the member and allows an empty map. ``source_email_address``
        overrides the campaign's sender.
        """
        return cls(
            channel=_EMAIL,
            destination=address,
            parameters=_EMPTY if template_parameters is None else template_parameters,
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
        template_parameters: Mapping[str, str] | None = None,
        template_arn: str | None = None,
        source_phone_number_arn: str | None = None,
        client_token: str | None = None,
        key: str | None = None,
        expires: datetime | timedelta | None = None,
    ) -> OutboundRequest:
        """A WhatsApp message to ``phone`` (E.164), filling the template.

        Without ``template_parameters`` (a template that takes none), ``{}`` is sent: the
        model requires the member and allows an empty map. The ARNs are 20-500 characters.
        """
        return cls(
            channel=_WHATSAPP,
            destination=phone,
            parameters=_EMPTY if template_parameters is None else template_parameters,
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


@attrs.frozen
class PutOutboundRequestBatchOperation(CampaignOperation[OutboundRequest]):
    """Outbound campaigns v2 ``PutOutboundRequestBatch`` on one campaign."""

    name: str = "PutOutboundRequestBatch"
    iam_action: str = "connect-campaigns:PutOutboundRequestBatch"
    min_lead: timedelta = V2_MIN_LEAD
    max_lead: timedelta | None = None
    method: str = "put_outbound_request_batch"
    list_name: str = "outboundRequests"

    def reach(self, item: OutboundRequest) -> tuple[str, str]:
        return item.channel.value, item.destination
