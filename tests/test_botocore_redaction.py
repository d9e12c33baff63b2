"""botocore's own DEBUG records of the library's calls carry no personal data.

At DEBUG, ``botocore.endpoint`` logs every request's parameters and ``botocore.parsers``
every response body. The library's filter replaces those bodies during its own calls, over
real HTTP to the double, for all three APIs; turned off, the same records show the numbers
(so these tests would see the filter broken); other calls are logged as botocore logs them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

import connect_batch
from connect_batch.testing import Fault
from tests.builders import contacts, dial, outbound


def captured(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(r.getMessage() for r in caplog.records)


@pytest.fixture
def botocore_debug(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.DEBUG)
    yield caplog
    connect_batch.redact_botocore_logs(enabled=True)


def put_each_api(double, count: int = 30) -> list[tuple[str, str]]:
    """Put ``count`` inputs through each API, the first call of each failing with a 400
    whose message echoes nothing; return every (phone, attribute value) sent."""
    sent: list[tuple[str, str]] = []
    people = contacts(count)
    double.batch_client().put_contacts(people)
    sent += [(p.customer_endpoint.address, p.attributes["customer_name"]) for p in people]
    requests = [outbound(i) for i in range(100, 100 + count)]
    double.outbound_client().put_requests(requests)
    sent += [(r.destination, r.parameters["customer_name"]) for r in requests]
    dials = [dial(i) for i in range(200, 200 + count)]
    double.dial_client().put_requests(dials)
    sent += [(d.phone_number, d.attributes["customer_name"]) for d in dials]
    return sent


def test_request_and_response_bodies_of_library_calls_are_redacted(http_connect, botocore_debug):
    # A throttle answer and a partial failure, so error bodies are logged as well.
    http_connect.fake.plan(Fault.throttle())
    http_connect.fake_campaigns.plan(Fault.throttle())
    sent = put_each_api(http_connect)
    text = captured(botocore_debug)
    made = [r for r in botocore_debug.records if r.getMessage().startswith("Making request")]
    assert len(made) >= 6, "botocore should log each call's parameters at DEBUG"
    bodies = [r for r in botocore_debug.records if r.getMessage().startswith("Response body")]
    assert bodies
    assert "redacted by connect_batch" in text
    for phone, value in sent:
        assert phone not in text
        assert value not in text


def test_turned_off_the_same_records_show_the_numbers(http_connect, botocore_debug):
    connect_batch.redact_botocore_logs(enabled=False)
    sent = put_each_api(http_connect, count=3)
    text = captured(botocore_debug)
    assert "redacted by connect_batch" not in text
    assert all(phone in text for phone, _value in sent)


def test_other_calls_are_logged_as_botocore_logs_them(http_connect, botocore_debug):
    http_connect.batch_client().put_contacts(contacts(2))  # the filter is installed
    http_connect.client.describe_instance(InstanceId=http_connect.instance_id)
    made = [
        r.getMessage() for r in botocore_debug.records
        if r.getMessage().startswith("Making request") and "DescribeInstance" in r.getMessage()
    ]
    assert made
    assert http_connect.instance_id in made[0]
    assert "redacted" not in made[0]
