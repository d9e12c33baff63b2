"""Logging: one DEBUG line per call, a WARNING when retries run out, no personal data, and
nothing printed unless the application configured logging."""

from __future__ import annotations

import logging
import subprocess
import sys

from connect_batch.testing import Fault
from tests.builders import contacts


def library_records(caplog):
    return [r for r in caplog.records if r.name.startswith("connect_batch")]


def test_one_debug_line_per_call_and_a_warning_when_retries_run_out(fake_connect, caplog):
    caplog.set_level(logging.DEBUG, logger="connect_batch")
    fake_connect.fake.plan(Fault.throttle(), None, Fault.throttle(), Fault.throttle())
    fake_connect.batch_client(max_attempts=2).put_contacts(contacts(30))
    records = library_records(caplog)
    debug = [r for r in records if r.levelno == logging.DEBUG]
    warnings = [r for r in records if r.levelno == logging.WARNING]
    assert len(debug) == len(fake_connect.calls) == 4
    assert len(warnings) == 1
    assert "retries exhausted" in warnings[0].getMessage()


def test_no_phone_number_or_attribute_value_reaches_a_log_record(fake_connect, caplog):
    caplog.set_level(logging.DEBUG, logger="connect_batch")
    inputs = contacts(40)
    fake_connect.fake.plan(
        Fault.throttle(), Fault.dropped(), Fault.error(after_commit=True), Fault.reset(),
        *([Fault.throttle()] * 3),
    )
    client = fake_connect.batch_client(max_attempts=3)
    client.put_contacts(inputs)
    outcomes = {c.outcome for c in fake_connect.calls}
    assert {"throttled", "dropped", "error", "reset"} <= outcomes
    text = "\n".join(r.getMessage() for r in library_records(caplog))
    assert text
    for request in inputs:
        assert request.customer_endpoint.address not in text
        for value in request.attributes.values():
            assert value not in text


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False,
    )


def test_the_library_logger_has_a_null_handler():
    handlers = logging.getLogger("connect_batch").handlers
    assert any(isinstance(h, logging.NullHandler) for h in handlers)


def test_a_warning_prints_nothing_unless_the_application_configured_logging():
    warn = 'import connect_batch, logging; logging.getLogger("connect_batch").warning("x")'
    unconfigured = run_python(warn)
    assert unconfigured.returncode == 0
    assert unconfigured.stderr == ""
    configured = run_python(f"import logging; logging.basicConfig(); {warn}")
    assert configured.returncode == 0
    assert configured.stderr == "WARNING:connect_batch:x\n"
