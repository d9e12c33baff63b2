"""The request builder: every limit of the service model, checked when a value is built."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connect_batch import (
    ConnectBatchError,
    ContactRequest,
    ContactValidationError,
    Endpoint,
    EndpointType,
    OutboundStrategy,
)

PHONE = "+14155550123"


def test_phone_builds_a_telephone_endpoint():
    endpoint = Endpoint.phone(PHONE)
    assert endpoint.type is EndpointType.TELEPHONE_NUMBER
    assert endpoint.to_api() == {"Type": "TELEPHONE_NUMBER", "Address": PHONE}


def test_validation_error_is_a_value_error_and_a_library_error():
    with pytest.raises(ContactValidationError) as caught:
        Endpoint.phone("0415555")
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, ConnectBatchError)


@pytest.mark.parametrize(
    "number",
    ["4155550123", "+04155550123", "+1", "+1234567890123456", "+1 415 555 0123", ""],
)
def test_telephone_numbers_must_be_e164(number):
    with pytest.raises(ContactValidationError) as caught:
        Endpoint.phone(number)
    assert caught.value.field == "address"
    if len(number) > 4:
        assert number not in str(caught.value)


def test_other_endpoint_types_are_not_held_to_e164():
    assert Endpoint(EndpointType.VOIP, "sip:agent@example.com").address.startswith("sip:")
    assert Endpoint("EMAIL_ADDRESS", "a@example.com").type is EndpointType.EMAIL_ADDRESS


def test_endpoint_type_must_be_one_of_the_five():
    with pytest.raises(ContactValidationError, match="must be one of") as caught:
        Endpoint("FAX", "+14155550123")
    assert caught.value.field == "type"


def test_endpoint_address_is_at_most_256_characters():
    Endpoint(EndpointType.VOIP, "v" * 256)
    with pytest.raises(ContactValidationError, match="256") as caught:
        Endpoint(EndpointType.VOIP, "v" * 257)
    assert caught.value.field == "address"


def test_request_identifier_is_at_most_80_characters():
    ContactRequest(customer_endpoint=Endpoint.phone(PHONE), request_identifier="r" * 80)
    with pytest.raises(ContactValidationError) as caught:
        ContactRequest(customer_endpoint=Endpoint.phone(PHONE), request_identifier="r" * 81)
    assert caught.value.field == "request_identifier"


@pytest.mark.parametrize("campaign_id", ["", "c" * 101])
def test_campaign_id_is_1_to_100_characters(campaign_id):
    with pytest.raises(ContactValidationError) as caught:
        ContactRequest(customer_endpoint=Endpoint.phone(PHONE), campaign_id=campaign_id)
    assert caught.value.field == "campaign_id"


def test_campaign_id_of_100_characters_is_accepted():
    request = ContactRequest(customer_endpoint=Endpoint.phone(PHONE), campaign_id="c" * 100)
    assert request.to_api()["Campaign"] == {"CampaignId": "c" * 100}


def test_attribute_keys_are_1_to_32767_characters():
    ContactRequest(customer_endpoint=Endpoint.phone(PHONE), attributes={"k" * 32767: "v"})
    for key in ("", "k" * 32768):
        with pytest.raises(ContactValidationError) as caught:
            ContactRequest(customer_endpoint=Endpoint.phone(PHONE), attributes={key: "v"})
        assert caught.value.field == "attributes key"


def test_attribute_values_are_at_most_32767_characters_and_never_shown():
    secret = "top-secret-" + "v" * 32757
    ContactRequest(customer_endpoint=Endpoint.phone(PHONE), attributes={"note": secret[:32767]})
    with pytest.raises(ContactValidationError) as caught:
        ContactRequest(customer_endpoint=Endpoint.phone(PHONE), attributes={"note": secret})
    assert caught.value.field == "attributes['note']"
    assert "top-secret" not in str(caught.value)


def test_attribute_values_must_be_strings():
    with pytest.raises(ContactValidationError, match="must be a str"):
        ContactRequest(
            customer_endpoint=Endpoint.phone(PHONE),
            attributes={"age": 42},  # type: ignore[dict-item]
        )


def test_customer_endpoint_is_required_and_must_be_an_endpoint():
    with pytest.raises(ContactValidationError) as caught:
        ContactRequest(customer_endpoint=PHONE)  # type: ignore[arg-type]
    assert caught.value.field == "customer_endpoint"
    assert PHONE not in str(caught.value)


def test_request_is_keyword_only_and_frozen():
    request = ContactRequest(customer_endpoint=Endpoint.phone(PHONE))
    with pytest.raises(TypeError):
        ContactRequest(Endpoint.phone(PHONE))  # type: ignore[misc]
    with pytest.raises(AttributeError):
        request.queue_id = "q"  # type: ignore[misc]


def test_attributes_cannot_be_changed_through_the_request():
    source = {"name": "Ann"}
    request = ContactRequest(customer_endpoint=Endpoint.phone(PHONE), attributes=source)
    source["name"] = "Bob"
    assert request.attributes["name"] == "Ann"
    with pytest.raises(TypeError):
        request.attributes["name"] = "Bob"  # type: ignore[index]


def test_requests_are_hashable_values():
    a = ContactRequest(customer_endpoint=Endpoint.phone(PHONE), attributes={"n": "1"})
    b = ContactRequest(customer_endpoint=Endpoint.phone(PHONE), attributes={"n": "1"})
    assert a == b
    assert len({a, b}) == 1


def test_outbound_strategy_requires_its_members():
    with pytest.raises(ContactValidationError) as caught:
        ContactRequest(
            customer_endpoint=Endpoint.phone(PHONE),
            outbound_strategy={"Type": "AGENT_FIRST", "Config": {"AgentFirst": {"Preview": {}}}},
        )
    assert "DurationInSeconds" in caught.value.field
    with pytest.raises(ContactValidationError) as caught:
        OutboundStrategy.agent_first_preview(post_accept_timeout_seconds=-1)
    assert caught.value.field == "post_accept_timeout_seconds"
    with pytest.raises(ContactValidationError) as caught:
        OutboundStrategy.agent_first_preview(
            post_accept_timeout_seconds=5, allowed_user_actions=["HANG_UP"]
        )
    assert caught.value.field == "allowed_user_actions"


def test_outbound_strategy_type_must_be_agent_first():
    with pytest.raises(ContactValidationError, match="AGENT_FIRST"):
        OutboundStrategy.from_api({"Type": "PROGRESSIVE"})


def test_outbound_strategy_builds_the_api_shape():
    strategy = OutboundStrategy.agent_first_preview(
        post_accept_timeout_seconds=30, allowed_user_actions=["CALL"]
    )
    assert strategy.to_api() == {
        "Type": "AGENT_FIRST",
        "Config": {
            "AgentFirst": {
                "Preview": {
                    "PostAcceptTimeoutConfig": {"DurationInSeconds": 30},
                    "AllowedUserActions": ["CALL"],
                }
            }
        },
    }
    assert OutboundStrategy.from_api(strategy.to_api()) == strategy


def test_repr_masks_the_address_and_attribute_values():
    request = ContactRequest(
        customer_endpoint=Endpoint.phone(PHONE), attributes={"name": "Ann Example"}
    )
    text = repr(request) + str(request)
    assert "+1415*****23" in text
    assert PHONE not in text
    assert "Ann Example" not in text
    assert "'name'" in text


phones = st.from_regex(r"\+[1-9][0-9]{1,14}", fullmatch=True)
texts = st.text(min_size=1, max_size=40)


@st.composite
def requests(draw: st.DrawFn) -> ContactRequest:
    system = draw(st.none() | phones.map(Endpoint.phone))
    strategy = draw(
        st.none()
        | st.builds(
            OutboundStrategy.agent_first_preview,
            post_accept_timeout_seconds=st.integers(0, 3600),
            allowed_user_actions=st.lists(st.sampled_from(["CALL", "DISCARD"]), min_size=1),
        )
    )
    return ContactRequest(
        customer_endpoint=Endpoint.phone(draw(phones)),
        campaign_id=draw(st.none() | st.text(min_size=1, max_size=100)),
        queue_id=draw(st.none() | texts),
        system_endpoint=system,
        attributes=draw(st.dictionaries(texts, st.text(max_size=40), max_size=4)),
        request_identifier=draw(st.none() | st.text(max_size=80)),
        outbound_strategy=strategy,
    )


@given(requests())
def test_to_api_and_from_api_round_trip(request):
    assert ContactRequest.from_api(request.to_api()) == request


@given(st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True))
def test_repr_never_shows_a_whole_phone_number_or_most_of_it(number):
    shown = repr(Endpoint.phone(number))
    assert number not in shown
    assert sum(ch.isdigit() for ch in shown) <= len(number) // 2


def test_mask_keeps_the_documented_edges():
    assert repr(Endpoint.phone("+14155550123")).endswith("address=+1415*****23)")
