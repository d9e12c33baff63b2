"""Signals while a run is driven from the main thread, with the application's own handlers.

Python's default SIGINT handler is deferred to safe points (``test_interrupts.py``). A
handler of the application's own runs at the next safe point instead of wherever the
signal lands, does what it always does, and is back in place when the call returns. All
over HTTP, against the double's ledger.
"""

from __future__ import annotations

import collections
import os
import signal
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from connect_batch import BatchResult, ContactBatchClient
from connect_batch.testing import ConnectDouble, Fault
from tests.builders import contacts

# Real processes, signals, Redis or terminals in real time: the slow tier (pytest -m slow).
pytestmark = pytest.mark.slow

COUNT = 150


@pytest.fixture
def slow(http_connect: ConnectDouble) -> ConnectDouble:
    http_connect.fake.latency = 0.15
    return http_connect


def client_for(double: ConnectDouble) -> ContactBatchClient:
    return ContactBatchClient(double.client, instance_id=double.instance_id, concurrency=2)


def signal_after(seconds: float, signum: int = signal.SIGINT) -> threading.Timer:
    timer = threading.Timer(seconds, os.kill, (os.getpid(), signum))
    timer.start()
    return timer


@pytest.fixture
def own_handler() -> Iterator[list[int]]:
    """Install, then restore, SIGINT and SIGTERM handlers that only record the signal."""
    seen: list[int] = []

    def record(signum: int, _frame: Any) -> None:
        seen.append(signum)

    saved = {s: signal.signal(s, record) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield seen
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler)


def assert_answers_every_input(double: ConnectDouble, result: BatchResult, count: int) -> None:
    positions = collections.Counter(o.position for o in (*result.succeeded, *result.failed))
    assert sorted(positions) == list(range(count))
    assert set(positions.values()) == {1}
    ledger = {c.request_identifier: c.contact_id for c in double.contacts}
    assert double.duplicates() == {}
    for success in result.succeeded:
        assert ledger[success.request_identifier] == success.contact_id
    for failure in result.failed:
        if failure.request_identifier in ledger:
            assert failure.outcome_unknown


def test_a_handler_that_only_records_runs_and_the_run_goes_on(slow, own_handler):
    handler = signal.getsignal(signal.SIGINT)
    timers = [signal_after(0.1), signal_after(0.2, signal.SIGTERM)]
    result = client_for(slow).put_contacts(contacts(COUNT))
    for timer in timers:
        timer.join()
    assert sorted(own_handler) == sorted([signal.SIGINT, signal.SIGTERM])
    assert result.all_succeeded  # a handler that returns does not stop anything
    assert len(slow.contacts) == COUNT
    assert signal.getsignal(signal.SIGINT) is handler  # back in place


def test_a_sigterm_handler_that_exits_stops_the_run_with_every_input_answered(slow):
    def leave(_signum: int, _frame: Any) -> None:
        raise SystemExit(143)

    saved = signal.signal(signal.SIGTERM, leave)
    try:
        timer = signal_after(0.2, signal.SIGTERM)
        with pytest.raises(SystemExit) as caught:
            client_for(slow).put_contacts(contacts(COUNT))
        timer.join()
        assert signal.getsignal(signal.SIGTERM) is leave
    finally:
        signal.signal(signal.SIGTERM, saved)
    assert caught.value.code == 143  # the application's own exception, as it raised it
    result = caught.value.result  # type: ignore[attr-defined]
    assert_answers_every_input(slow, result, COUNT)
    assert len(slow.contacts) < COUNT, "the signal should land mid-run"


def test_python_default_handler_is_back_after_every_kind_of_run(slow):
    client = client_for(slow)
    client.put_contacts(contacts(30))
    with client.iter_put_contacts(contacts(30, start=100)) as stream:
        next(stream)
    with client.batcher() as batcher:
        for c in contacts(30, start=200):
            batcher.put(c)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_ctrl_c_while_close_waits_is_raised_once_the_calls_finish(slow):
    slow.fake.plan(None, Fault.slow(1.0))  # the second call is in flight during close()
    client = client_for(slow)
    stream = client.iter_put_contacts(contacts(COUNT))
    first = next(stream)
    timer = signal_after(0.3)
    with pytest.raises(KeyboardInterrupt) as caught:
        stream.close()
    timer.join()
    rest = caught.value.result  # type: ignore[attr-defined]
    assert rest is stream.rest
    everything = BatchResult.from_outcomes([first, *rest.succeeded, *rest.failed])
    assert_answers_every_input(slow, everything, COUNT)
    # The call in flight was waited for, not abandoned: its contacts are successes.
    assert len(everything.succeeded) == len(slow.contacts)
