"""Phone numbers and attribute values never reach a log record, a message or a repr."""

from __future__ import annotations

import logging

import pytest

from connect_batch import (
    AccessDeniedError,
    ContactRequest,
    ContactValidationError,
    Endpoint,
)
from connect_batch.testing import Fault
from tests.builders import contact, contacts

# Loggers outside the library that print request bodies by design at DEBUG.
THIRD_PARTY = ("botocore", "urllib3", "werkzeug", "moto")


def secrets_of(inputs: list[ContactRequest]) -> list[str]:
    found = []
    for request in inputs:
        found.append(request.customer_endpoint.address)
        found.extend(request.attributes.values())
    return found


def assert_clean(text: str, secrets: list[str]) -> None:
    leaked = [s for s in secrets if s in text]
    assert not leaked, f"{len(leaked)} personal values leaked"


def test_a_faulty_run_leaks_nothing_into_logs_messages_or_reprs(fake_connect, caplog):
    caplog.set_level(logging.DEBUG)
    inputs = contacts(80)
    fake_connect.fake.plan(
        Fault.throttle(), Fault.dropped(), Fault.error(after_commit=True), Fault.reset(),
        Fault.error(400, "InvalidRequestException"), None,
        Fault.error(403, "AccessDeniedException"),
    )
    with pytest.raises(AccessDeniedError) as caught:
        fake_connect.batch_client(max_attempts=3, job_key="job").put_contacts(inputs)
    error = caught.value
    texts = [
        str(error), repr(error), repr(error.result), str(error.result),
        *(repr(o) for o in (*error.result.succeeded, *error.result.failed)),
        *(repr(c) for c in fake_connect.contacts),
        *(
            r.getMessage() + (r.exc_text or "")
            for r in caplog.records
            if not r.name.startswith(THIRD_PARTY)
        ),
    ]
    assert any(r.name.startswith("connect_batch") for r in caplog.records)
    assert_clean("\n".join(texts), secrets_of(inputs))


def test_validation_errors_name_the_field_not_the_value():
    secret_phone, secret_value = "+1415555012", "Ann's diagnosis"
    errors = []
    for build in (
        lambda: Endpoint.phone(secret_phone + "x"),
        lambda: contact(0, attributes={"note": secret_value * 3000}),
        lambda: contact(0, attributes={"note": 7}),
        lambda: ContactRequest(customer_endpoint=secret_phone),  # type: ignore[arg-type]
    ):
        with pytest.raises(ContactValidationError) as caught:
            build()
        errors.append(caught.value)
    text = "\n".join(f"{e!s} {e!r} {e.field}" for e in errors)
    assert_clean(text, [secret_phone, secret_value])


def test_short_addresses_are_masked_whole():
    endpoint = Endpoint("VOIP", "sip:1234")
    assert "sip:1234" not in repr(endpoint)
