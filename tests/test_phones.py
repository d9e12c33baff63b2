"""``connect_batch.to_e164``: numbers as people write them, made E.164 by one rule, or an
error that says why without a digit of the number."""

from __future__ import annotations

import importlib.util

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

import connect_batch
from connect_batch import PhoneNumberError, to_e164


def refused(text: str, **options) -> PhoneNumberError:
    """The error ``to_e164`` raises for ``text``, checked to show no digit at all."""
    with pytest.raises(PhoneNumberError) as caught:
        to_e164(text, **options)
    message = str(caught.value)
    assert not any(c.isdigit() for c in message), message
    return caught.value


@pytest.mark.parametrize(
    ("text", "region", "expected"),
    [
        # The case: read nationally for the US it was +1 0044..., E.164-shaped.
        ("0044 20 7946 0958", "US", "+442079460958"),
        ("011 44 20 7946 0958", "US", "+442079460958"),
        ("0044 20 7946 0958", "us", "+442079460958"),
        ("00 44 20 7946 0958", "GB", "+442079460958"),
        ("0011 44 20 7946 0958", "AU", "+442079460958"),  # the region's own prefix
        ("201 555 0123", "US", "+12015550123"),
        ("(201) 555-0123", "US", "+12015550123"),
        ("201.555.0123", "US", "+12015550123"),
        ("1 201 555 0123", "US", "+12015550123"),
        # A valid national reading wins over reading 011 as a prefix: a Leeds number.
        ("0113 496 0000", "GB", "+441134960000"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("+1 (415) 555-0100", None, "+14155550100"),
        ("+44 (0) 20 7946 0958", None, "+442079460958"),
        ("  +14155550100 ", None, "+14155550100"),
        ("+14155550100", "GB", "+14155550100"),  # + wins over the region
    ],
)
def test_numbers_as_written_become_e164(text, region, expected):
    assert phonenumbers.is_valid_number(phonenumbers.parse(expected))
    assert to_e164(text, region=region) == expected


def test_an_e164_shaped_number_is_taken_as_the_builders_take_it():
    # Outside the North American plan, but E.164: the library's rule sends it...
    assert to_e164("+15555550100") == "+15555550100"
    # ...and the plan check is opt-in for numbers written with +.
    error = refused("+15555550100", check_plan=True)
    assert "numbering plan" in str(error)


@pytest.mark.parametrize(
    ("text", "region"),
    [
        ("555 0100", "US"),  # too short
        ("(555) 555-0100", "US"),  # no such area code
        ("0099 1234 5678", "GB"),  # no country has code 99
        ("020 7946 0958", "US"),  # a London number read for the US
        ("011 99 12", "US"),
        ("not a phone", "US"),
        ("", "US"),
    ],
)
def test_a_national_number_outside_the_plan_is_refused_naming_why(text, region):
    error = refused(text, region=region)
    assert error.field == "number"
    assert f"region {region}'s numbering plan" in str(error)
    assert "international" in str(error)


def test_a_national_number_needs_a_region():
    error = refused("(201) 555-0123")
    assert error.field == "number"
    assert "region" in str(error)
    assert "--default-region" in str(error)


@pytest.mark.parametrize("region", ["XX", "USA", "", "u5", "2015550123"])
def test_an_unknown_region_is_named_when_it_is_letters(region):
    error = refused("201 555 0123", region=region)
    assert error.field == "region"
    assert ("'XX'" in str(error)) == (region == "XX")


def test_an_extension_is_refused():
    refused("+1 201 555 0123 ext 7")
    refused("201 555 0123 x7", region="US")


def test_the_error_is_a_value_error_and_a_connect_batch_error():
    assert issubclass(PhoneNumberError, ValueError)
    assert issubclass(PhoneNumberError, connect_batch.ConnectBatchError)


def test_without_phonenumbers_bare_e164_still_works_and_the_rest_names_the_extra(monkeypatch):
    real = importlib.util.find_spec

    def find_spec(name, *args):
        return None if name == "phonenumbers" else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    assert to_e164("+14155550100") == "+14155550100"
    assert to_e164("+1 (415) 555-0100") == "+14155550100"
    for text, options in [("201 555 0123", {"region": "US"}), ("+44 (0) 20 7946 0958", {}),
                          ("+14155550100", {"check_plan": True})]:
        with pytest.raises(ModuleNotFoundError, match=r"connect-batch\[cli\]"):
            to_e164(text, **options)


REGIONS = ["US", "CA", "GB", "DE", "FR", "AU", "JP", "IN", "BR", "IT", "NL", "ZA"]
KINDS = [
    phonenumbers.PhoneNumberType.FIXED_LINE,
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.TOLL_FREE,
]
EXAMPLES = [
    example
    for region in REGIONS
    for kind in KINDS
    if (example := phonenumbers.example_number_for_type(region, kind)) is not None
    and phonenumbers.is_valid_number(example)
]


def e164(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@given(
    number=st.sampled_from(EXAMPLES),
    separator=st.sampled_from([" ", "-", ".", ""]),
)
def test_a_valid_number_written_nationally_reads_back(number, separator):
    region = phonenumbers.region_code_for_number(number)
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    assert to_e164(national.replace(" ", separator), region=region) == e164(number)


@given(number=st.sampled_from(EXAMPLES), calling_from=st.sampled_from(REGIONS))
def test_a_valid_number_as_dialled_from_any_region_reads_back(number, calling_from):
    written = phonenumbers.format_out_of_country_calling_number(number, calling_from)
    assert to_e164(written, region=calling_from) == e164(number)
    international = phonenumbers.format_number(
        number, phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    assert to_e164(international) == e164(number)
