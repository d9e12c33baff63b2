"""connect_batch.aws_lambda under bodies its tests did not send: a request repeated within
a body, an empty body, a thousand requests, a body mixing valid and invalid requests, and
invalid bodies holding phone numbers and email addresses (never logged). Assertions are on
the double's ledger."""

from __future__ import annotations

import collections
import json
import logging
from typing import Any

import pytest

from connect_batch import ContactValidationError, OutboundRequest
from connect_batch.aws_lambda import (
    Report,
    handle_map_batch,
    handle_sqs_event,
    outbound_request_from_row,
)
from connect_batch.testing import Fault
from tests.test_aws_lambda import PHONES, FakeContext, body, ledger, queue  # noqa: F401

SECRET_PHONE = "+14155550199"
SECRET_EMAIL = "ada.lovelace@example.com"


def test_a_request_repeated_in_a_body_is_created_once_and_the_message_settles(
    http_connect, queue  # noqa: F811
):
    one = {"destination": PHONES[0], "attributes": {"name": "P 0"}, "key": "crm-0"}
    message_id = queue.send({"requests": [one, dict(one), body(1, 1)["requests"][0]]})
    reports: list[Report[Any]] = []
    client = http_connect.outbound_client()
    failed = queue.invoke(
        lambda e: handle_sqs_event(e, FakeContext(), client, record=reports.append)
    )
    assert failed == []
    assert ledger(http_connect) == collections.Counter(PHONES[:2])
    (report,) = reports
    assert report.source == message_id
    assert report.settled
    (duplicate,) = report.result.failed
    assert str(duplicate.code) == "DUPLICATE_IN_JOB"
    assert duplicate.duplicate_of == 0
    assert report.item(duplicate) == 1


@pytest.mark.parametrize("empty", [{"requests": []}, []])
def test_a_body_of_no_requests_settles_and_sends_nothing(http_connect, queue, empty):  # noqa: F811
    message_id = queue.send(empty)
    calls = len(http_connect.fake_campaigns.calls)
    reports: list[Report[Any]] = []
    client = http_connect.outbound_client()
    failed = queue.invoke(
        lambda e: handle_sqs_event(e, FakeContext(), client, record=reports.append)
    )
    assert failed == []
    assert [(r.source, r.settled, len(r.result)) for r in reports] == [(message_id, True, 0)]
    assert len(http_connect.fake_campaigns.calls) == calls
    assert queue.left() == 0


def test_a_thousand_requests_in_one_body_are_all_created_within_the_deadline(
    http_connect, queue  # noqa: F811
):
    message_id = queue.send(body(0, 1000))
    reports: list[Report[Any]] = []
    client = http_connect.outbound_client()  # no rate: slow start finds the pace
    failed = queue.invoke(
        lambda e: handle_sqs_event(e, FakeContext(remaining=60), client,
                                   record=reports.append)
    )
    assert failed == []
    assert ledger(http_connect) == collections.Counter(PHONES)
    (report,) = reports
    assert report.source == message_id
    assert report.settled
    assert len(report.result.succeeded) == 1000
    assert {o.id for o in report.known()} == {r.id for r in http_connect.requests}


def test_one_invalid_request_makes_the_whole_message_unreadable_and_sends_none_of_it(
    http_connect, queue  # noqa: F811
):
    mixed = queue.send({"requests": [*body(0, 2)["requests"], {"destination": "call me"}]})
    good = queue.send(body(2, 2))
    reports: list[Report[Any]] = []
    client = http_connect.outbound_client()
    failed = queue.invoke(
        lambda e: handle_sqs_event(e, FakeContext(), client, record=reports.append)
    )
    assert failed == [mixed]
    by_id = {r.source: r for r in reports}
    assert "request 2" in by_id[mixed].problem
    assert by_id[good].settled
    assert ledger(http_connect) == collections.Counter(PHONES[2:4])


INVALID_BODIES = {
    "telephony to an email": {"requests": [{"destination": SECRET_EMAIL}]},
    "a phone as the email": {"requests": [
        {"channel": "email", "destination": SECRET_PHONE, "template_parameters": {}}]},
    "sms with an email": {"requests": [
        {"channel": "sms", "destination": SECRET_EMAIL, "template_parameters": {},
         "template_arn": "arn:aws:connect:us-east-1:1:instance/i/template/t"}]},
    "a phone as the channel": {"requests": [
        {"channel": SECRET_PHONE, "destination": SECRET_PHONE}]},
    "an email as the channel": {"requests": [
        {"channel": SECRET_EMAIL, "destination": SECRET_EMAIL}]},
    "an email as a field": {"requests": [{"destination": SECRET_PHONE, SECRET_EMAIL: 1}]},
    "a phone as the ring timeout": {"requests": [
        {"destination": SECRET_PHONE, "ring_timeout": SECRET_PHONE}]},
    "a phone as the expiry": {"requests": [
        {"destination": SECRET_PHONE, "expires_in_seconds": SECRET_PHONE}]},
    "an email as the template": {"requests": [
        {"channel": "sms", "destination": SECRET_PHONE, "template_parameters": {},
         "template_arn": SECRET_EMAIL}]},
    "a phone with spaces": {"requests": [{"destination": "+1 415 555 0199"}]},
    "a phone as an attribute value list": {"requests": [
        {"destination": SECRET_PHONE, "attributes": {"p": [SECRET_PHONE]}}]},
    "a phone as the body": SECRET_PHONE,
    "an email as the requests": {"requests": SECRET_EMAIL},
    "an email as a request": {"requests": [SECRET_EMAIL]},
    "a key not text": {"requests": [{"destination": SECRET_PHONE, "key": 5}]},
    "a phone as a token given twice": {"requests": [
        {"destination": SECRET_PHONE, "client_token": SECRET_PHONE},
        {"destination": "+14155550198", "client_token": SECRET_PHONE}]},
}


def refused_once(http_connect, queue, caplog, body: object) -> Report[Any]:  # noqa: F811
    """Send ``body`` as one message and invoke the handler once, logging at DEBUG: the
    message must be reported failed; its report."""
    message_id = queue.send(body)
    reports: list[Report[Any]] = []
    client = http_connect.outbound_client()
    with caplog.at_level(logging.DEBUG, logger="connect_batch"):
        failed = queue.invoke(
            lambda e: handle_sqs_event(e, FakeContext(), client, record=reports.append)
        )
    assert failed == [message_id]
    (report,) = reports
    return report


@pytest.mark.parametrize("case", sorted(INVALID_BODIES))
def test_no_phone_number_or_email_address_of_an_invalid_body_is_logged(
    http_connect, queue, caplog, case  # noqa: F811
):
    report = refused_once(http_connect, queue, caplog, INVALID_BODIES[case])
    assert report.problem.startswith("unreadable")
    assert http_connect.requests == []
    text = caplog.text + str(report.problem) + repr(report)
    for secret in (SECRET_PHONE, SECRET_EMAIL, "415 555 0199", "4155550199", "ada.lovelace"):
        assert secret not in text, case


# A map the wrong way round (a person's address as the key, a name as its value), as a
# producer that inverted a lookup sends: the key is refused for its '@' or '+', and the
# refusal must not quote it. The command line masks such column names ('ada@e********om').
KEYED_BY_PERSON = {
    "an email as an attribute name": {"requests": [
        {"destination": PHONES[0], "attributes": {SECRET_EMAIL: "Ada"}}]},
    "a phone as an attribute name": {"requests": [
        {"destination": PHONES[0], "attributes": {SECRET_PHONE: "Ada"}}]},
    "a phone as a template parameter name": {"requests": [
        {"channel": "sms", "destination": PHONES[0], "template_parameters": {SECRET_PHONE: "Ada"},
         "template_arn": "arn:aws:connect:us-east-1:1:instance/i/template/t"}]},
}


@pytest.mark.parametrize("case", sorted(KEYED_BY_PERSON))
def test_an_attribute_name_that_is_a_phone_or_email_is_not_logged(
    http_connect, queue, caplog, case  # noqa: F811
):
    report = refused_once(http_connect, queue, caplog, KEYED_BY_PERSON[case])
    assert http_connect.requests == []
    assert "attributes" in report.problem or "template_parameters" in report.problem
    text = caplog.text + str(report.problem)
    for secret in (SECRET_PHONE, SECRET_EMAIL):
        assert secret not in text


def test_a_map_items_column_named_by_an_email_is_not_quoted_in_its_reason(http_connect):
    items = [{"phone": PHONES[0], "customer_id": "c-0", SECRET_EMAIL: "Ada"},
             {"phone": PHONES[1], "customer_id": "c-1"}]
    output = handle_map_batch(
        {"Items": items, "BatchInput": {"job_key": "j/keys"}}, FakeContext(),
        http_connect.outbound_client(),
        parse_item=lambda row: outbound_request_from_row(row, key_column="customer_id"),
    )
    assert [i["item"] for i in output["invalid"]] == [0]
    assert ledger(http_connect) == collections.Counter(PHONES[1:2])
    assert SECRET_EMAIL not in json.dumps(output)


@pytest.mark.parametrize("secret", [SECRET_PHONE, SECRET_EMAIL])
def test_the_builders_refusal_of_a_key_does_not_quote_a_phone_or_email(secret):
    """The root of the two above: a key is refused for its '+' or '@', and quoted."""
    with pytest.raises(ContactValidationError) as refused:
        OutboundRequest.telephony(PHONES[0], attributes={secret: "Ada"})
    assert secret not in str(refused.value)
    assert secret not in repr(refused.value)


def test_a_message_delivered_twice_in_one_event_creates_nobody_twice(http_connect, queue):  # noqa: F811
    """Standard queues deliver at least once: the same message may come twice in a batch.
    Both copies are put under the message id, so the second replays the first."""
    message_id = queue.send(body(0, 30))
    event, _messages = queue.event()
    (record,) = event["Records"]
    reports: list[Report[Any]] = []
    client = http_connect.outbound_client()
    answer = handle_sqs_event({"Records": [record, dict(record)]}, FakeContext(), client,
                              record=reports.append)
    assert answer == {"batchItemFailures": []}
    assert ledger(http_connect) == collections.Counter(PHONES[:30])
    assert [r.source for r in reports] == [message_id, message_id]
    first, second = ({o.id for o in r.known()} for r in reports)
    assert first == second == {r.id for r in http_connect.requests}


def test_a_reports_repr_holds_no_address_or_value_of_the_people_it_names(http_connect, queue):  # noqa: F811
    """What a ``record`` of yours might log: the whole Report, sent and refused."""
    queue.send({"requests": [
        {"channel": "email", "destination": SECRET_EMAIL, "source": "team@example.org",
         "template_parameters": {"name": "Ada Lovelace"},
         "template_arn": "arn:aws:connect:us-east-1:1:instance/i/template/t"},
        {"destination": SECRET_PHONE, "attributes": {"name": "Grace Hopper"}, "key": "k"},
    ]})
    http_connect.fake_campaigns.plan(Fault.items_failed("RequestThrottled"))
    reports: list[Report[Any]] = []
    client = http_connect.outbound_client(max_attempts=1, max_item_retries=0)
    queue.invoke(lambda e: handle_sqs_event(e, FakeContext(), client, record=reports.append))
    text = repr(reports) + str(reports)
    for secret in (SECRET_EMAIL, SECRET_PHONE, "Ada Lovelace", "Grace Hopper", "ada.lovelace"):
        assert secret not in text
