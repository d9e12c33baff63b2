"""Campaign request builders: every limit of the v1 and v2 models, checked when a value is built."""

from __future__ import annotations

import copy
import json
import pickle
import re
import sys
import time
from datetime import date, datetime, timedelta, timezone

import botocore.session
import pytest
from botocore.serialize import create_serializer
from botocore.validate import ParamValidator
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from connect_batch import ConnectBatchError, ContactValidationError
from connect_batch.operations._campaign_checks import (
    ARN,
    DEFAULT_EXPIRES,
    MAX_EXPIRES_DELTA,
    MAX_TOKEN_LENGTH,
    MODEL_ARN_PATTERN,
    TOKEN,
    V1_MAX_LEAD,
    V1_MIN_LEAD,
    V1_MIN_SEND_LEAD,
    Channel,
)
from connect_batch.operations.campaigns_v1 import DialRequest
from connect_batch.operations.campaigns_v2 import AnswerMachineDetection, OutboundRequest

PHONE = "+14155550123"
EMAIL = "someone@example.com"
TEMPLATE_ARN = "arn:aws:connect:us-east-1:111122223333:instance/abc/message-template/t1"
SOURCE_ARN = "arn:aws:connect:us-east-1:111122223333:phone-number/abc"
NOW = datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)

_SESSION = botocore.session.get_session()
V2 = _SESSION.get_service_model("connectcampaignsv2").operation_model("PutOutboundRequestBatch")
V1 = _SESSION.get_service_model("connectcampaigns").operation_model("PutDialRequestBatch")


def v2_errors(*requests: OutboundRequest) -> str:
    params = {"id": "c", "outboundRequests": [r.to_api("t", NOW) for r in requests]}
    return ParamValidator().validate(params, V2.input_shape).generate_report()


def v1_errors(*requests: DialRequest) -> str:
    params = {"id": "c", "dialRequests": [r.to_api("t", NOW) for r in requests]}
    return ParamValidator().validate(params, V1.input_shape).generate_report()


def member(shape, *path):
    for name in path:
        shape = shape.member if name == "[]" else shape.members[name]
    return shape


def raises_on(field: str, *secrets: str):
    """A context that expects a ContactValidationError on ``field`` naming none of ``secrets``."""

    class _Check:
        def __enter__(self):
            self._ctx = pytest.raises(ContactValidationError)
            self.caught = self._ctx.__enter__()
            return self.caught

        def __exit__(self, *exc):
            handled = self._ctx.__exit__(*exc)
            error = self.caught.value
            assert error.field == field, (error.field, str(error))
            assert str(error).startswith(f"{field}: ")
            text = str(error) + repr(error)
            for secret in secrets:
                assert secret not in text
            return handled

    return _Check()


def sms(**changes):
    fields = {"template_parameters": {"name": "Ann"}}
    fields.update(changes)
    return OutboundRequest.sms(fields.pop("phone", PHONE), **fields)


# --- the limits match the installed model --------------------------------------------------


def test_the_listed_limits_are_the_models():
    item = member(V2.input_shape, "outboundRequests", "[]")
    token = item.members["clientToken"].metadata
    assert token["max"] == MAX_TOKEN_LENGTH
    assert token["pattern"] == TOKEN.pattern
    telephony = member(item, "channelSubtypeParameters", "telephony")
    assert telephony.members["ringTimeout"].metadata == {"min": 15, "max": 60}
    assert telephony.members["connectSourcePhoneNumber"].metadata["max"] == 100
    assert telephony.members["destinationPhoneNumber"].metadata["max"] == 20
    email = member(item, "channelSubtypeParameters", "email")
    address = email.members["destinationEmailAddress"].metadata
    assert (address["min"], address["max"]) == (1, 255)
    assert address["pattern"] == r".*[^\s@]+@[^\s@]+\.[^\s@]+.*"
    arn = email.members["templateArn"].metadata
    assert (arn["min"], arn["max"], arn["pattern"]) == (20, 500, MODEL_ARN_PATTERN)
    attributes = telephony.members["attributes"]
    assert attributes.key.metadata["pattern"] == r"[a-zA-Z0-9\-_]+"
    assert attributes.key.metadata["max"] == attributes.value.metadata["max"] == 32767
    dial = member(V1.input_shape, "dialRequests", "[]")
    assert dial.members["clientToken"].metadata["pattern"] == TOKEN.pattern
    assert dial.required_members == ["clientToken", "phoneNumber", "expirationTime", "attributes"]


def test_default_expiry_fits_the_v1_window():
    assert V1_MIN_LEAD <= DEFAULT_EXPIRES <= V1_MAX_LEAD
    assert V1_MIN_LEAD.total_seconds() == 30
    assert V1_MAX_LEAD.total_seconds() == 900


def test_channel_values():
    assert [c.value for c in Channel] == ["telephony", "sms", "email", "whatsapp"]
    assert str(Channel.SMS) == "sms"
    assert Channel("email") is Channel.EMAIL


# --- wire shapes -------------------------------------------------------------------------


def test_telephony_minimal_shape():
    request = OutboundRequest.telephony(PHONE)
    assert request.to_api("tok", NOW) == {
        "clientToken": "tok",
        "expirationTime": NOW,
        "channelSubtypeParameters": {
            "telephony": {"destinationPhoneNumber": PHONE, "attributes": {}}
        },
    }
    assert v2_errors(request) == ""


def test_telephony_full_shape():
    request = OutboundRequest.telephony(
        PHONE,
        attributes={"name": "Ann"},
        client_token="given",
        expires=timedelta(minutes=5),
        source_phone_number="+18005550100",
        ring_timeout=20,
        answering_machine_detection=AnswerMachineDetection(enabled=True, await_prompt=False),
    )
    assert request.to_api("tok", NOW)["channelSubtypeParameters"] == {
        "telephony": {
            "destinationPhoneNumber": PHONE,
            "attributes": {"name": "Ann"},
            "connectSourcePhoneNumber": "+18005550100",
            "ringTimeout": 20,
            "answerMachineDetectionConfig": {
                "enableAnswerMachineDetection": True,
                "awaitAnswerMachinePrompt": False,
            },
        }
    }
    assert request.client_token == "given"
    assert v2_errors(request) == ""


@pytest.mark.parametrize("enabled", [True, False])
def test_answering_machine_detection_takes_a_bool(enabled):
    request = OutboundRequest.telephony(PHONE, answering_machine_detection=enabled)
    assert request.answering_machine_detection == AnswerMachineDetection(enabled=enabled)
    telephony = request.to_api("t", NOW)["channelSubtypeParameters"]["telephony"]
    assert telephony["answerMachineDetectionConfig"] == {"enableAnswerMachineDetection": enabled}


# builder, channelSubtypeParameters member, destination, its wire key, source, its wire key
TEMPLATE_CHANNELS = {
    "sms": (OutboundRequest.sms, "sms", PHONE, "destinationPhoneNumber", SOURCE_ARN,
            "connectSourcePhoneNumberArn"),
    "whatsapp": (OutboundRequest.whatsapp, "whatsApp", PHONE, "destinationPhoneNumber",
                 SOURCE_ARN, "connectSourcePhoneNumberArn"),
    "email": (OutboundRequest.email, "email", EMAIL, "destinationEmailAddress",
              "sender@example.com", "connectSourceEmailAddress"),
}  # fmt: skip


@pytest.mark.parametrize("channel", TEMPLATE_CHANNELS)
def test_template_parameters_may_be_left_out_and_send_an_empty_map(channel):
    build, key, destination, destination_key, *_ = TEMPLATE_CHANNELS[channel]
    # The installed model: the member is required, its map has no minimum size.
    shape = member(V2.input_shape, "outboundRequests", "[]", "channelSubtypeParameters", key)
    assert "templateParameters" in shape.required_members
    assert shape.members["templateParameters"].metadata.get("min") is None
    bare = build(destination)
    assert bare == build(destination, template_parameters={})
    assert bare.to_api("t", NOW)["channelSubtypeParameters"] == {
        key: {destination_key: destination, "templateParameters": {}}
    }
    assert v2_errors(bare) == ""


@pytest.mark.parametrize("channel", TEMPLATE_CHANNELS)
def test_template_channel_shapes(channel):
    build, key, destination, destination_key, source, source_key = TEMPLATE_CHANNELS[channel]
    bare = build(destination, template_parameters={})
    assert bare.to_api("t", NOW)["channelSubtypeParameters"] == {
        key: {destination_key: destination, "templateParameters": {}}
    }
    source_name = {"email": "source_email_address"}.get(key, "source_phone_number_arn")
    full = build(
        destination,
        template_parameters={"name": "Ann"},
        template_arn=TEMPLATE_ARN,
        client_token="c",
        expires=NOW,
        **{source_name: source},
    )
    assert full.to_api("t", NOW)["channelSubtypeParameters"] == {
        key: {
            destination_key: destination,
            "templateParameters": {"name": "Ann"},
            "templateArn": TEMPLATE_ARN,
            source_key: source,
        }
    }
    assert full.channel.value == key.lower()
    assert v2_errors(bare, full) == ""


def test_to_api_uses_the_token_and_time_given():
    request = sms(client_token="stored")
    later = NOW + timedelta(hours=1)
    item = request.to_api("other", later)
    assert (item["clientToken"], item["expirationTime"]) == ("other", later)
    assert request.to_api("a", NOW) is not request.to_api("a", NOW)


def test_dial_request_shape():
    request = DialRequest(phone_number=PHONE, attributes={"name": "Ann"}, client_token="c")
    assert request.to_api("tok", NOW) == {
        "clientToken": "tok",
        "phoneNumber": PHONE,
        "expirationTime": NOW,
        "attributes": {"name": "Ann"},
    }
    assert DialRequest(phone_number=PHONE).to_api("t", NOW)["attributes"] == {}
    assert DialRequest(phone_number=PHONE, attributes=None).attributes == {}
    assert v1_errors(request, DialRequest(phone_number=PHONE)) == ""


def test_dial_request_is_keyword_only():
    with pytest.raises(TypeError):
        DialRequest(PHONE)  # type: ignore[misc]


def test_botocore_serializes_the_shared_dicts():
    serializer = create_serializer("rest-json", include_validation=True)
    params = {
        "id": "campaign-1",
        "outboundRequests": [
            OutboundRequest.telephony(PHONE, attributes={"k": "v"}, ring_timeout=30).to_api(
                "t1", NOW
            ),
            OutboundRequest.email(EMAIL, template_parameters={"k": "v"}).to_api("t2", NOW),
        ],
    }
    body = json.loads(serializer.serialize_to_request(params, V2)["body"])
    assert body["outboundRequests"][0]["channelSubtypeParameters"]["telephony"] == {
        "destinationPhoneNumber": PHONE,
        "attributes": {"k": "v"},
        "ringTimeout": 30,
    }
    assert body["outboundRequests"][1]["expirationTime"] == "2025-01-02T03:04:05.678901Z"
    dial = {"id": "c", "dialRequests": [DialRequest(phone_number=PHONE).to_api("t", NOW)]}
    body = json.loads(serializer.serialize_to_request(dial, V1)["body"])
    assert body["dialRequests"][0]["attributes"] == {}


# --- immutability ------------------------------------------------------------------------


def test_parameters_are_an_immutable_copy():
    given_attributes = {"name": "Ann"}
    request = OutboundRequest.telephony(PHONE, attributes=given_attributes)
    dial = DialRequest(phone_number=PHONE, attributes=given_attributes)
    given_attributes["name"] = "Bob"
    assert request.parameters == {"name": "Ann"}
    assert dial.attributes == {"name": "Ann"}
    for mapping in (request.parameters, dial.attributes):
        with pytest.raises(TypeError):
            mapping["name"] = "Eve"  # type: ignore[index]
        with pytest.raises(TypeError):
            mapping.update(name="Eve")  # type: ignore[attr-defined]
        with pytest.raises(TypeError):
            mapping.pop("name")  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        request.destination = "+14155550100"  # type: ignore[misc]


def test_to_api_output_cannot_corrupt_the_request():
    request = OutboundRequest.telephony(PHONE, attributes={"k": "v"}, ring_timeout=30)
    item = request.to_api("t", NOW)
    item["clientToken"] = "changed"  # the outer dict is the caller's own
    telephony = item["channelSubtypeParameters"]["telephony"]
    with pytest.raises(TypeError, match="copy it"):
        telephony["ringTimeout"] = 45
    with pytest.raises(TypeError):
        del telephony["attributes"]
    with pytest.raises(TypeError):
        telephony["attributes"].clear()  # type: ignore[attr-defined]
    assert request.to_api("t", NOW)["clientToken"] == "t"
    mutable = copy.deepcopy(item)
    assert mutable == request.to_api("changed", NOW)


def test_requests_pickle_and_copy():
    for request in (
        OutboundRequest.telephony(PHONE, attributes={"k": "v"}, answering_machine_detection=True),
        OutboundRequest.email(EMAIL, template_parameters={"k": "v"}, expires=NOW),
        DialRequest(phone_number=PHONE, attributes={"k": "v"}, expires=timedelta(seconds=60)),
    ):
        for clone in (pickle.loads(pickle.dumps(request)), copy.deepcopy(request)):  # noqa: S301
            assert clone == request
            assert clone.to_api("t", NOW) == request.to_api("t", NOW)
            assert clone.fingerprint() == request.fingerprint()


def test_requests_are_hashable_values():
    one = OutboundRequest.telephony(PHONE, attributes={"k": "v"}, ring_timeout=30)
    two = OutboundRequest.telephony(PHONE, attributes={"k": "v"}, ring_timeout=30)
    assert one == two
    assert hash(one) == hash(two)
    assert one != OutboundRequest.telephony(PHONE, attributes={"k": "w"}, ring_timeout=30)
    assert len({DialRequest(phone_number=PHONE), DialRequest(phone_number=PHONE)}) == 1


def test_direct_construction_is_checked_too():
    request = OutboundRequest(channel="sms", destination=PHONE, parameters={"k": "v"})  # type: ignore[arg-type]
    assert request == sms(template_parameters={"k": "v"})
    with raises_on("channel"):
        OutboundRequest(channel="fax", destination=PHONE)  # type: ignore[arg-type]
    with raises_on("template_arn"):
        OutboundRequest(channel=Channel.TELEPHONY, destination=PHONE, template_arn=TEMPLATE_ARN)
    with raises_on("ring_timeout"):
        OutboundRequest(channel=Channel.SMS, destination=PHONE, ring_timeout=30)
    with raises_on("answering_machine_detection"):
        OutboundRequest(channel=Channel.EMAIL, destination=EMAIL, answering_machine_detection=True)


# --- validation: phone numbers -----------------------------------------------------------


def test_validation_error_is_a_value_error_and_a_library_error():
    with pytest.raises(ContactValidationError) as caught:
        OutboundRequest.telephony("0415555")
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, ConnectBatchError)


PHONE_BUILDERS = [
    pytest.param(OutboundRequest.telephony, "phone", id="telephony"),
    pytest.param(lambda p: sms(phone=p), "phone", id="sms"),
    pytest.param(
        lambda p: OutboundRequest.whatsapp(p, template_parameters={}), "phone", id="whatsapp"
    ),
    pytest.param(lambda p: DialRequest(phone_number=p), "phone_number", id="v1"),
]


@pytest.mark.parametrize(("build", "field"), PHONE_BUILDERS)
@pytest.mark.parametrize("number", ["+12", "+1" + "2" * 14, "+99" + "0" * 13])
def test_e164_numbers_are_accepted(build, field, number):
    assert build(number) is not None


@pytest.mark.parametrize(("build", "field"), PHONE_BUILDERS)
@pytest.mark.parametrize(
    "number",
    [
        "",
        "+",
        "+1",
        "+1" + "2" * 15,  # 16 digits
        "4155550123",  # no plus
        "+04155550123",  # leading zero
        "+1 415 555 0123",
        "+1-415-555-0123",  # the model's [\d\-+]* allows it; E.164 does not
        "+1415555012\n",
        "+١٤١٥٥٥٥٠١٢٣",  # non-ASCII digits
    ],
)
def test_phone_numbers_must_be_e164(build, field, number):
    secret = number if len(number) > 4 else "\x00"
    with raises_on(field, secret) as caught:
        build(number)
    assert "E.164" in str(caught.value)


@pytest.mark.parametrize(("build", "field"), PHONE_BUILDERS)
@pytest.mark.parametrize("number", [None, 14155550123, b"+14155550123"])
def test_phone_numbers_must_be_strings(build, field, number):
    with raises_on(field) as caught:
        build(number)
    assert "must be a str" in str(caught.value)


def test_a_str_subclass_is_a_str():
    class Phone(str):
        __slots__ = ()

    request = OutboundRequest.telephony(Phone(PHONE), attributes={Phone("k"): Phone("v")})
    assert request.destination == PHONE
    DialRequest(phone_number=Phone(PHONE), client_token=Phone("tok"))
    OutboundRequest.telephony(PHONE, source_phone_number=Phone("+18005550100"))


# --- validation: email addresses ---------------------------------------------------------

GOOD_EMAILS = [
    "a@b.co",
    "first.last+tag@sub.example.org",
    "Ann Example <ann@example.com>",  # the model's pattern allows a display name
    "x@" + "d" * 249 + ".com",  # 255 characters
]
BAD_EMAILS = [
    "someone@mail",
    "someone.mail.test",
    "someone @mail.test",
    "someone@ mail.test",
    "someone@mail.",
    "@mail.test",
    " someone@mail.test",
    "someone@mail.test ",
    "someone@mail.test\n",
    "someone@mail.test\r\nBcc: x@y.z",
    "someone@mail.test\u2028",
    "x@" + "d" * 250 + ".com",  # 256 characters
]


@pytest.mark.parametrize("address", GOOD_EMAILS)
def test_email_addresses_the_model_accepts(address):
    request = OutboundRequest.email(address, template_parameters={}, source_email_address=address)
    assert v2_errors(request) == ""


@pytest.mark.parametrize("address", BAD_EMAILS)
@pytest.mark.parametrize("field", ["address", "source_email_address"])
def test_email_addresses_the_model_refuses(address, field):
    build = {
        "address": lambda a: OutboundRequest.email(a, template_parameters={}),
        "source_email_address": lambda a: OutboundRequest.email(
            EMAIL, template_parameters={}, source_email_address=a
        ),
    }[field]
    with raises_on(field, address.strip()):
        build(address)


@pytest.mark.parametrize("address", ["", None, 42])
def test_email_address_must_be_a_nonempty_str(address):
    with raises_on("address"):
        OutboundRequest.email(address, template_parameters={})  # type: ignore[arg-type]


# --- validation: client tokens -----------------------------------------------------------

TOKEN_BUILDERS = [
    pytest.param(lambda t: OutboundRequest.telephony(PHONE, client_token=t), id="telephony"),
    pytest.param(lambda t: sms(client_token=t), id="sms"),
    pytest.param(
        lambda t: OutboundRequest.email(EMAIL, template_parameters={}, client_token=t),
        id="email",
    ),
    pytest.param(lambda t: DialRequest(phone_number=PHONE, client_token=t), id="v1"),
]


@pytest.mark.parametrize("build", TOKEN_BUILDERS)
@pytest.mark.parametrize("token", [None, "a", "t" * 200, "Az09_-.", "crm-row-17.v2"])
def test_good_client_tokens(build, token):
    assert build(token).client_token == token


@pytest.mark.parametrize("build", TOKEN_BUILDERS)
@pytest.mark.parametrize(
    ("token", "says"),
    [
        ("", "leave it None"),
        ("t" * 201, "201"),
        ("a b", "letters, digits"),
        ("a/b", "letters, digits"),
        ("é", "letters, digits"),
        ("tok\n", "letters, digits"),
        (123, "must be a str"),
    ],
)
def test_bad_client_tokens(build, token, says):
    with raises_on("client_token") as caught:
        build(token)
    assert says in str(caught.value)


# --- validation: attributes and template parameters --------------------------------------

PARAMETER_BUILDERS = [
    pytest.param(lambda p: OutboundRequest.telephony(PHONE, attributes=p), "attributes", id="tel"),
    pytest.param(lambda p: sms(template_parameters=p), "template_parameters", id="sms"),
    pytest.param(
        lambda p: OutboundRequest.email(EMAIL, template_parameters=p),
        "template_parameters",
        id="email",
    ),
    pytest.param(
        lambda p: OutboundRequest.whatsapp(PHONE, template_parameters=p),
        "template_parameters",
        id="whatsapp",
    ),
    pytest.param(lambda p: DialRequest(phone_number=PHONE, attributes=p), "attributes", id="v1"),
]


@pytest.mark.parametrize(("build", "field"), PARAMETER_BUILDERS)
@pytest.mark.parametrize(
    "parameters",
    [
        {},
        {"a": ""},
        {"Az-09_": "v"},
        {"k" * 32767: "v"},
        {"k": "v" * 32767},
        {"k": "line one\nline two"},
    ],
)
def test_good_parameters(build, field, parameters):
    request = build(parameters)
    kept = request.attributes if isinstance(request, DialRequest) else request.parameters
    assert kept == parameters
    errors = v1_errors(request) if isinstance(request, DialRequest) else v2_errors(request)
    assert errors == ""


@pytest.mark.parametrize(("build", "field"), PARAMETER_BUILDERS)
@pytest.mark.parametrize("key", ["", "a b", "a.b", "é", "k\n", "k" * 32768])
def test_bad_parameter_keys(build, field, key):
    with pytest.raises(ContactValidationError) as caught:
        build({key: "secret-value-1"})
    assert caught.value.field.startswith(field)
    assert "secret-value-1" not in str(caught.value)
    assert len(str(caught.value)) < 200


@pytest.mark.parametrize(("build", "field"), PARAMETER_BUILDERS)
def test_parameter_values_name_the_key_never_the_value(build, field):
    with raises_on(f"{field}['name']", "x" * 32768) as caught:
        build({"name": "x" * 32768})
    assert "32768" in str(caught.value)
    with raises_on(f"{field}['age']", "4155550123") as caught:
        build({"name": "ok", "age": 4155550123})
    assert "must be a str, not int" in str(caught.value)
    with raises_on(f"{field}['n']"):
        build({"n": None})


@pytest.mark.parametrize(("build", "field"), PARAMETER_BUILDERS)
def test_parameter_keys_must_be_strings(build, field):
    with raises_on(field) as caught:
        build({1: "v"})
    assert "keys must be str" in str(caught.value)


@pytest.mark.parametrize(("build", "field"), PARAMETER_BUILDERS)
@pytest.mark.parametrize("parameters", [[("k", "v")], "k=v", 1])
def test_parameters_must_be_a_mapping(build, field, parameters):
    with raises_on(field) as caught:
        build(parameters)
    assert "mapping" in str(caught.value)


def test_long_keys_are_shortened_in_messages():
    with pytest.raises(ContactValidationError) as caught:
        OutboundRequest.telephony(PHONE, attributes={"bad key " * 100: "v"})
    assert len(caught.value.field) < 80


# --- validation: telephony options -------------------------------------------------------


@pytest.mark.parametrize("seconds", [15, 30, 60])
def test_ring_timeout_in_range(seconds):
    request = OutboundRequest.telephony(PHONE, ring_timeout=seconds)
    assert request.to_api("t", NOW)["channelSubtypeParameters"]["telephony"]["ringTimeout"] == (
        seconds
    )
    assert v2_errors(request) == ""


@pytest.mark.parametrize(
    ("seconds", "says"),
    [(14, "15-60"), (61, "15-60"), (0, "15-60"), (True, "bool"), (30.0, "float"), ("30", "str")],
)
def test_ring_timeout_out_of_range(seconds, says):
    with raises_on("ring_timeout") as caught:
        OutboundRequest.telephony(PHONE, ring_timeout=seconds)
    assert says in str(caught.value)


def test_source_phone_number_is_1_to_100_characters():
    assert OutboundRequest.telephony(PHONE, source_phone_number="1" * 100).source == "1" * 100
    for bad in ("1" * 101, "", 18005550100):
        with raises_on("source_phone_number"):
            OutboundRequest.telephony(PHONE, source_phone_number=bad)  # type: ignore[arg-type]


def test_answering_machine_detection_is_optional():
    assert OutboundRequest.telephony(PHONE).answering_machine_detection is None
    telephony = OutboundRequest.telephony(PHONE).to_api("t", NOW)["channelSubtypeParameters"]
    assert "answerMachineDetectionConfig" not in telephony["telephony"]


@pytest.mark.parametrize("value", [1, 0, "yes", {"enabled": True}])
def test_answering_machine_detection_type(value):
    with raises_on("answering_machine_detection"):
        OutboundRequest.telephony(PHONE, answering_machine_detection=value)  # type: ignore[arg-type]


def test_answer_machine_detection_members_are_bools():
    assert AnswerMachineDetection(enabled=True).to_api() == {"enableAnswerMachineDetection": True}
    assert AnswerMachineDetection(enabled=False, await_prompt=True).to_api() == {
        "enableAnswerMachineDetection": False,
        "awaitAnswerMachinePrompt": True,
    }
    with raises_on("answering_machine_detection.enabled"):
        AnswerMachineDetection(enabled=1)  # type: ignore[arg-type]
    with raises_on("answering_machine_detection.await_prompt"):
        AnswerMachineDetection(enabled=True, await_prompt="no")  # type: ignore[arg-type]


# --- validation: ARNs --------------------------------------------------------------------

SHORTEST_ARN = "arn:a:b:ab-c-1:1:xyz"  # 20 characters


@pytest.mark.parametrize(
    "arn",
    [
        SHORTEST_ARN,
        TEMPLATE_ARN,
        SOURCE_ARN + "x" * (500 - len(SOURCE_ARN)),
        "arn:aws-cn:connect:cn-north-1:1:a/b:v2",
    ],
)
@pytest.mark.parametrize("field", ["template_arn", "source_phone_number_arn"])
def test_good_arns(arn, field):
    for build in (OutboundRequest.sms, OutboundRequest.whatsapp):
        assert v2_errors(build(PHONE, template_parameters={}, **{field: arn})) == ""
    if field == "template_arn":
        assert (
            v2_errors(OutboundRequest.email(EMAIL, template_parameters={}, template_arn=arn)) == ""
        )


@pytest.mark.parametrize(
    "arn",
    [
        SHORTEST_ARN[:-1],  # 19 characters
        SOURCE_ARN + "x" * (501 - len(SOURCE_ARN)),
        "arn:aws:connect:us-east-1:111122223333:",  # no resource
        "arn:aws:connect:us-east-1::instance/abc",  # no account
        "arn:aws:connect:useast1:111122223333:instance/abc",
        "arn:aws:connect:us-east-1:111122223333:a:b:c",  # two qualifiers
        "instance/abcdefghijklmnopqrstuvwxyz",
        "arn:aws:connect:us-gov-west-1:111122223333:instance/abc",  # the model says so
    ],
)
@pytest.mark.parametrize("field", ["template_arn", "source_phone_number_arn"])
def test_bad_arns(arn, field):
    with raises_on(field):
        sms(**{field: arn})


def test_email_template_arn_is_checked():
    with raises_on("template_arn"):
        OutboundRequest.email(EMAIL, template_parameters={}, template_arn="arn:short")


def test_near_miss_arns_are_refused_quickly():
    prefix = "arn:aws:connect:us-east-1:111122223333:"
    for tail in ("/a" * 200 + "::", "a/" * 200 + "::x", "/" * 400 + ":"):
        started = time.perf_counter()
        with raises_on("template_arn"):
            sms(template_arn=prefix + tail)
        assert time.perf_counter() - started < 0.5


ARN_PARTS = st.text(alphabet="arn:aws-/x1", max_size=12)


@settings(max_examples=400)
@given(
    head=st.sampled_from(["arn:aws:connect:us-east-1:123:", "arn:a:b:ab-c-1:1:", "arn:", ""]),
    tail=ARN_PARTS,
)
def test_the_linear_arn_pattern_is_the_models(head, tail):
    value = head + tail
    assert bool(ARN.fullmatch(value)) == bool(re.fullmatch(MODEL_ARN_PATTERN, value))


# --- validation: expiry ------------------------------------------------------------------


def test_expires_takes_an_aware_datetime_or_a_positive_timedelta():
    aware = datetime(2030, 1, 1, tzinfo=timezone(timedelta(hours=2)))
    for expires in (None, aware, timedelta(microseconds=1), timedelta(days=36525)):
        assert sms(expires=expires).expires == expires


@pytest.mark.parametrize(
    ("expires", "says"),
    [
        (datetime(2030, 1, 1), "timezone"),  # noqa: DTZ001 - the naive datetime under test
        (timedelta(0), "positive"),
        (timedelta(seconds=-5), "positive"),
        (timedelta(days=36525, microseconds=1), "100 years"),
        (600, "not int"),
        ("2030-01-01T00:00:00Z", "not str"),
        (date(2030, 1, 1), "not date"),
    ],
)
@pytest.mark.parametrize(
    "build",
    [
        lambda e: sms(expires=e),
        lambda e: OutboundRequest.telephony(PHONE, expires=e),
        lambda e: DialRequest(phone_number=PHONE, expires=e),
    ],
)
def test_bad_expires(build, expires, says):
    with raises_on("expires") as caught:
        build(expires)
    assert says in str(caught.value)


def test_naive_datetime_error_says_how_to_fix_it():
    with raises_on("expires") as caught:
        sms(expires=datetime(2030, 1, 1))  # noqa: DTZ001 - the naive datetime under test
    assert "datetime.now(timezone.utc)" in str(caught.value)


@pytest.mark.parametrize("seconds", [32, 33, 600, 900])
def test_v1_timedelta_inside_32_to_900_seconds(seconds):
    assert DialRequest(phone_number=PHONE, expires=timedelta(seconds=seconds)).expires
    assert sms(expires=timedelta(seconds=seconds)).expires


@pytest.mark.parametrize(
    "expires",
    [
        timedelta(seconds=29),
        timedelta(seconds=30),
        timedelta(seconds=31.999999),
        timedelta(seconds=901),
        timedelta(seconds=900.000001),
    ],
)
def test_v1_timedelta_outside_32_to_900_seconds(expires):
    with raises_on("expires") as caught:
        DialRequest(phone_number=PHONE, expires=expires)
    assert "32-900" in str(caught.value)
    assert "transit" in str(caught.value)
    assert sms(expires=expires).expires == expires  # v2 has no such window


def test_v1_datetime_is_not_held_to_the_window_when_built():
    far = datetime(2099, 1, 1, tzinfo=timezone.utc)
    assert DialRequest(phone_number=PHONE, expires=far).expiration(NOW) == far


# --- expiration(now) ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "build",
    [
        lambda e: OutboundRequest.telephony(PHONE, expires=e),
        lambda e: OutboundRequest.email(EMAIL, template_parameters={}, expires=e),
        lambda e: DialRequest(phone_number=PHONE, expires=e),
    ],
)
def test_expiration(build):
    aware = datetime(2030, 1, 1, 12, tzinfo=timezone(timedelta(hours=-5)))
    assert build(aware).expiration(NOW) is aware
    assert build(timedelta(seconds=45)).expiration(NOW) == NOW + timedelta(seconds=45)
    assert build(None).expiration(NOW) == NOW + DEFAULT_EXPIRES
    assert build(None).expiration(NOW + timedelta(hours=1)) == NOW + timedelta(hours=1, minutes=10)


def test_building_never_reads_the_clock():
    clock_calls = []
    clocks = {"now", "utcnow", "today", "time", "time_ns", "monotonic", "monotonic_ns"}

    def watch(frame, event, arg):
        if event == "c_call" and getattr(arg, "__name__", "") in clocks:
            clock_calls.append(arg.__name__)

    sys.setprofile(watch)
    try:
        OutboundRequest.telephony(PHONE, attributes={"k": "v"}, expires=timedelta(seconds=60))
        OutboundRequest.telephony(PHONE, expires=NOW, answering_machine_detection=True)
        OutboundRequest.email(EMAIL, template_parameters={}, expires=None).fingerprint()
        DialRequest(phone_number=PHONE, expires=timedelta(seconds=60)).fingerprint()
        DialRequest(phone_number=PHONE, expires=NOW)
        datetime.now(timezone.utc)  # proves the watch sees a clock read
    finally:
        sys.setprofile(None)
    assert clock_calls == ["now"]


# --- fingerprints ------------------------------------------------------------------------


def test_fingerprint_covers_the_payload_and_expires_but_not_the_token():
    base = OutboundRequest.telephony(PHONE, attributes={"a": "1", "b": "2"}, ring_timeout=30)
    same = OutboundRequest.telephony(
        PHONE, attributes={"b": "2", "a": "1"}, ring_timeout=30, client_token="tok"
    )
    assert base.fingerprint() == same.fingerprint()
    assert base.fingerprint() == base.fingerprint()
    json.loads(base.fingerprint())
    others = [
        OutboundRequest.telephony(PHONE, attributes={"a": "1", "b": "3"}, ring_timeout=30),
        OutboundRequest.telephony(PHONE, attributes={"a": "1", "b": "2"}, ring_timeout=31),
        OutboundRequest.telephony("+14155550124", attributes={"a": "1", "b": "2"}, ring_timeout=30),
        OutboundRequest.telephony(
            PHONE, attributes={"a": "1", "b": "2"}, ring_timeout=30, expires=timedelta(minutes=10)
        ),
        OutboundRequest.sms(PHONE, template_parameters={"a": "1", "b": "2"}),
        OutboundRequest.whatsapp(PHONE, template_parameters={"a": "1", "b": "2"}),
    ]
    prints = {r.fingerprint() for r in [base, *others]}
    assert len(prints) == len(others) + 1


def test_fingerprint_text_of_expires():
    def expires_of(request):
        return json.loads(request.fingerprint())["expires"]

    assert expires_of(sms()) == ""
    assert expires_of(sms(expires=timedelta(minutes=10))) == "600"
    assert expires_of(sms(expires=timedelta(seconds=29, microseconds=500000))) == "29.5"
    assert expires_of(DialRequest(phone_number=PHONE, expires=timedelta(seconds=45))) == "45"
    paris = datetime(2030, 1, 1, 13, tzinfo=timezone(timedelta(hours=1)))
    assert expires_of(sms(expires=paris)) == "2030-01-01T12:00:00+00:00"
    # Equal instants are equal datetimes, so equal requests: their fingerprints agree.
    utc = datetime(2030, 1, 1, 12, tzinfo=timezone.utc)
    assert sms(expires=paris) == sms(expires=utc)
    assert sms(expires=paris).fingerprint() == sms(expires=utc).fingerprint()


def test_dial_fingerprint():
    one = DialRequest(phone_number=PHONE, attributes={"k": "v"}, client_token="a")
    two = DialRequest(phone_number=PHONE, attributes={"k": "v"}, client_token="b")
    assert one.fingerprint() == two.fingerprint()
    assert json.loads(one.fingerprint()) == {
        "attributes": {"k": "v"},
        "expires": "",
        "phoneNumber": PHONE,
    }
    assert one.fingerprint() != DialRequest(phone_number=PHONE, attributes={"k": "w"}).fingerprint()


# --- personal data never shows -----------------------------------------------------------


def test_repr_masks_destinations_and_hides_parameters():
    requests = [
        OutboundRequest.telephony(PHONE, attributes={"name": "Ann Secret"}),
        OutboundRequest.sms(PHONE, template_parameters={"name": "Ann Secret"}),
        OutboundRequest.email(
            EMAIL,
            template_parameters={"name": "Ann Secret"},
            source_email_address="private.sender@example.org",
        ),
        DialRequest(phone_number=PHONE, attributes={"name": "Ann Secret"}),
    ]
    for request in requests:
        text = repr(request) + str(request)
        for secret in (PHONE, PHONE[3:], EMAIL, "someone", "Ann Secret", "private.sender"):
            assert secret not in text
    assert "+1415*****23" in repr(requests[0])
    assert "channel='sms'" in repr(requests[1])
    assert "source='***'" in repr(requests[2])


PHONES = st.from_regex(re.compile(r"\+[1-9][0-9]{6,14}"), fullmatch=True)
EMAILS = st.from_regex(
    re.compile(r"[a-z0-9._%+-]{3,20}@[a-z0-9-]{2,20}\.[a-z]{2,6}"), fullmatch=True
)
KEYS = st.from_regex(re.compile(r"[a-zA-Z0-9_-]{1,12}"), fullmatch=True)
VALUES = st.text(max_size=40)
PARAMETERS = st.dictionaries(KEYS, VALUES, max_size=4)
TOKENS = st.none() | st.from_regex(re.compile(r"[a-zA-Z0-9_.-]{1,200}"), fullmatch=True)
EXPIRES = (
    st.none()
    | st.timedeltas(timedelta(microseconds=1), MAX_EXPIRES_DELTA)
    | st.datetimes(
        timezones=st.sampled_from([timezone.utc, timezone(timedelta(hours=5, minutes=30))])
    )
)
V1_EXPIRES = st.none() | st.timedeltas(min_value=V1_MIN_SEND_LEAD, max_value=V1_MAX_LEAD)
ARNS = st.sampled_from([None, SHORTEST_ARN, TEMPLATE_ARN, SOURCE_ARN])


@st.composite
def outbound_requests(draw):
    channel = draw(st.sampled_from(list(Channel)))
    common = {"client_token": draw(TOKENS), "expires": draw(EXPIRES)}
    if channel is Channel.TELEPHONY:
        return OutboundRequest.telephony(
            draw(PHONES),
            attributes=draw(PARAMETERS),
            source_phone_number=draw(st.none() | st.text(min_size=1, max_size=100)),
            ring_timeout=draw(st.none() | st.integers(15, 60)),
            answering_machine_detection=draw(
                st.none()
                | st.booleans()
                | st.builds(AnswerMachineDetection, st.booleans(), st.none() | st.booleans())
            ),
            **common,
        )
    if channel is Channel.EMAIL:
        return OutboundRequest.email(
            draw(EMAILS),
            template_parameters=draw(PARAMETERS),
            template_arn=draw(ARNS),
            source_email_address=draw(st.none() | EMAILS),
            **common,
        )
    build = OutboundRequest.sms if channel is Channel.SMS else OutboundRequest.whatsapp
    return build(
        draw(PHONES),
        template_parameters=draw(PARAMETERS),
        template_arn=draw(ARNS),
        source_phone_number_arn=draw(ARNS),
        **common,
    )


DIAL_REQUESTS = st.builds(
    DialRequest,
    phone_number=PHONES,
    attributes=st.none() | PARAMETERS,
    client_token=TOKENS,
    expires=V1_EXPIRES,
)


@settings(max_examples=300, deadline=None)
@given(requests=st.lists(outbound_requests(), min_size=1, max_size=25), token=TOKENS)
def test_valid_outbound_requests_always_validate(requests, token):
    params = {
        "id": "campaign-1",
        "outboundRequests": [r.to_api(token or "t", r.expiration(NOW)) for r in requests],
    }
    assert ParamValidator().validate(params, V2.input_shape).generate_report() == ""
    for request in requests:
        assert request.fingerprint() == request.fingerprint()
        rebuilt = pickle.loads(pickle.dumps(request))  # noqa: S301 - our own bytes
        assert rebuilt == request
        assert rebuilt.fingerprint() == request.fingerprint()
        sent = request.to_api("t", NOW)
        assert request.fingerprint() == json.dumps(
            {
                "channelSubtypeParameters": sent["channelSubtypeParameters"],
                "expires": json.loads(request.fingerprint())["expires"],
            },
            sort_keys=True,
            separators=(",", ":"),
        )


@settings(max_examples=200, deadline=None)
@given(requests=st.lists(DIAL_REQUESTS, min_size=1, max_size=25))
def test_valid_dial_requests_always_validate(requests):
    params = {"id": "c", "dialRequests": [r.to_api("t", r.expiration(NOW)) for r in requests]}
    assert ParamValidator().validate(params, V1.input_shape).generate_report() == ""
    for request in requests:
        assert (
            request.fingerprint()
            == DialRequest(
                phone_number=request.phone_number,
                attributes=dict(request.attributes),
                client_token=request.client_token,
                expires=request.expires,
            ).fingerprint()
        )
        lead = request.expiration(NOW) - NOW
        assert V1_MIN_LEAD <= lead <= V1_MAX_LEAD


@settings(max_examples=200)
@given(phone=PHONES, local=EMAILS, text=st.text(max_size=40))
def test_no_repr_or_error_shows_personal_data(phone, local, text):
    # A mark no message has makes any part of a value found in one a leak, not chance.
    email, value = f"\u2603{local}", f"\u2603{text}"
    assume("4155550100" not in phone)  # the messages' own example
    secrets = [phone, phone[2:], email, email.split("@", maxsplit=1)[0], value]
    texts = [
        repr(OutboundRequest.telephony(phone, attributes={"k": value})),
        str(OutboundRequest.whatsapp(phone, template_parameters={"k": value})),
        repr(
            OutboundRequest.email(
                email, template_parameters={"k": value}, source_email_address=email
            )
        ),
        repr(DialRequest(phone_number=phone, attributes={"k": value})),
    ]
    failing = [
        lambda: OutboundRequest.telephony(phone + "x"),
        lambda: OutboundRequest.telephony(phone[1:]),
        lambda: OutboundRequest.telephony(phone, attributes={"k": value + "x" * 32767}),
        lambda: OutboundRequest.telephony(phone, attributes={"k": [value]}),
        lambda: OutboundRequest.email(email + " ", template_parameters={"k": value}),
        lambda: OutboundRequest.email(email.replace("@", "#"), template_parameters={}),
        lambda: OutboundRequest.email(
            EMAIL, template_parameters={}, source_email_address=" " + email
        ),
        lambda: DialRequest(phone_number=phone + " ", attributes={"k": value}),
        lambda: DialRequest(phone_number=phone, attributes={"k": value.encode()}),
    ]
    for build in failing:
        with pytest.raises(ContactValidationError) as caught:
            build()
        texts += [str(caught.value), repr(caught.value), caught.value.field]
    text = "\n".join(texts)
    leaked = [s for s in secrets if s in text]
    assert not leaked, f"{len(leaked)} personal values leaked"
