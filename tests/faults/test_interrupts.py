"""Interrupts, checked against the double's ledger over real HTTP.

A run that is interrupted (a real SIGINT in another process, ``SystemExit`` from a SIGTERM
handler, a ``break`` out of a stream) starts no new attempt, lets the calls in flight
finish, and answers every input it consumed exactly once; a second SIGINT stops the wait
and reports what is still in flight as unknown. Each test compares what the library said
with what the double really created (``contacts``) and received (``calls``), and with the
moment each call arrived (recorded by wrapping ``FakeConnect.handle`` in this process, where
the moto server runs).

Signals are real: ``send_signal`` to a worker process or to the CLI, or ``raise_signal`` in
this process at a chosen point of the library's code (``sigint_in_library_code``), which
makes a SIGINT that lands between two outcomes, rather than while the run waits for calls,
deterministic.

No phone number is printed: assertions compare identifiers, ContactIds and positions.
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
import json
import os
import pathlib
import re
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import attrs
import boto3
import pytest

import connect_batch
from connect_batch import BatchResult, ContactBatchClient, ContactRequest, Success
from connect_batch.testing import ConnectDouble, FakeConnect, Fault, no_sleep
from tests.builders import contacts

# Real processes, signals, Redis or terminals in real time: the slow tier (pytest -m slow).
pytestmark = pytest.mark.slow

ROOT = pathlib.Path(__file__).resolve().parents[2]
COUNT = 400
CONCURRENCY = 8
LATENCY = 0.3
JOB = "campaign-7/interrupted"
# A call that left before the interrupt may reach the double a little after it (botocore
# builds and signs it first): arrivals later than this after the interrupt are new attempts.
IN_FLIGHT_SLACK = 0.2
LEDGER_WAIT = 15.0


# The double, and when each call arrived at it.
@attrs.frozen
class Arrival:
    at: float  # time.monotonic() in this process when the call reached the double
    instance_id: str
    token: str
    request_identifiers: tuple[str, ...]


@pytest.fixture
def arrivals(monkeypatch) -> list[Arrival]:
    """Every BatchPutContact call as it reaches the double, before its latency."""
    seen: list[Arrival] = []
    original = FakeConnect.handle

    def handle(self: FakeConnect, instance_id: str, body: Any, *, instance_exists: bool) -> str:
        items = body.get("ContactDataRequestList") or ()
        rids = tuple(str(i.get("RequestIdentifier", "")) for i in items if isinstance(i, dict))
        seen.append(Arrival(time.monotonic(), instance_id, str(body.get("ClientToken")), rids))
        return original(self, instance_id, body, instance_exists=instance_exists)

    monkeypatch.setattr(FakeConnect, "handle", handle)
    return seen


@pytest.fixture
def double(moto_server, arrivals) -> Iterator[ConnectDouble]:
    client = boto3.client("connect", region_name="us-east-1", endpoint_url=moto_server)
    made = ConnectDouble.create(client)
    made.fake.reset_faults()
    yield made
    made.fake.reset_faults()


def arrived(arrivals: list[Arrival], double: ConnectDouble) -> list[Arrival]:
    return [a for a in list(arrivals) if a.instance_id == double.instance_id]


def wait_for(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


def assert_quiet_after(
    double: ConnectDouble, arrivals: list[Arrival], seconds: float = 1.0
) -> None:
    """No call reaches the double any more, and none is still being answered."""
    calls, came = len(double.calls), len(arrived(arrivals, double))
    assert calls == came, f"{came - calls} call(s) still in the double after the run ended"
    time.sleep(seconds)
    assert (len(double.calls), len(arrived(arrivals, double))) == (calls, came)


# What was reported, as plain records (from a worker's JSON or from a BatchResult).
def records_of(result: BatchResult | Sequence[Any]) -> list[dict[str, Any]]:
    outcomes = [*result.succeeded, *result.failed] if isinstance(result, BatchResult) else result
    records = []
    for o in outcomes:
        record: dict[str, Any] = {
            "position": o.position, "request_identifier": o.request_identifier
        }
        if isinstance(o, Success):
            record["contact_id"] = o.contact_id
        else:
            record.update(code=str(o.code), outcome_unknown=o.outcome_unknown,
                          retryable=o.retryable)
        records.append(record)
    return records


def assert_answered_once(records: list[dict[str, Any]], count: int) -> None:
    positions = collections.Counter(r["position"] for r in records)
    assert sorted(positions) == list(range(count)), "an input answered zero times"
    assert max(positions.values()) == 1, "an input answered twice"


def assert_ledger_agrees(double: ConnectDouble, records: list[dict[str, Any]]) -> None:
    """No duplicate; every contact created reported as created (same ContactId) or unknown;
    nothing reported known-not-created exists."""
    assert double.duplicates() == {}
    ledger = {c.request_identifier: c.contact_id for c in double.contacts}
    by_rid = {r["request_identifier"]: r for r in records}
    lost = [rid for rid in ledger if rid not in by_rid]
    assert lost == [], f"{len(lost)} contacts created for no reported input"
    for rid, contact_id in ledger.items():
        record = by_rid[rid]
        if "contact_id" in record:
            assert record["contact_id"] == contact_id, "a Success names another ContactId"
        else:
            assert record["outcome_unknown"], f"{record['code']}: created, reported not created"
    for record in records:
        if "contact_id" in record:
            assert ledger.get(record["request_identifier"]) == record["contact_id"]
        elif not record["outcome_unknown"]:
            assert record["request_identifier"] not in ledger


# Subprocesses.
def subprocess_env() -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }


def read_line(process: subprocess.Popen[str], timeout: float) -> str:
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        assert selector.select(timeout), "the worker printed nothing"
    return process.stdout.readline().strip()


@contextlib.contextmanager
def worker(
    double: ConnectDouble,
    endpoint: str,
    out: pathlib.Path,
    *,
    job_key: str | None = None,
    own_handler: bool = False,
) -> Iterator[subprocess.Popen[str]]:
    command = [
        sys.executable, "-m", "tests.faults.interrupt_worker", "--endpoint", endpoint,
        "--instance-id", double.instance_id, "--count", str(COUNT),
        "--concurrency", str(CONCURRENCY), "--out", str(out),
    ]
    if job_key is not None:
        command += ["--job-key", job_key]
    if own_handler:
        command.append("--own-handler")
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        command, cwd=ROOT, env=subprocess_env(), text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        assert read_line(process, timeout=20) == "ready"
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=20)


def worker_report(out: pathlib.Path) -> dict[str, Any]:
    report = json.loads(out.read_text())
    assert report["interrupted"], "the run ended before the interrupt"
    assert report["has_result"], "the KeyboardInterrupt carried no result"
    return report


# 1. put_contacts, interrupted by one SIGINT.
@pytest.mark.parametrize(
    "case",
    [(None, False), (JOB, False), (None, True)],
    ids=["random-tokens", "job-key", "application-handler"],
)
def test_sigint_lets_calls_in_flight_finish_and_answers_every_input(
    double, arrivals, moto_server, tmp_path, case
):
    job_key, own_handler = case  # own_handler: a SIGINT handler of the application's own
    double.fake.latency = LATENCY
    out = tmp_path / "result.json"
    with worker(double, moto_server, out, job_key=job_key, own_handler=own_handler) as process:
        wait_for(lambda: len(double.contacts) > 0, 20, "the first contacts")
        interrupted_at = time.monotonic()
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=15) == 130
    records = worker_report(out)["outcomes"]

    assert_answered_once(records, COUNT)
    assert_ledger_agrees(double, records)
    assert_quiet_after(double, arrivals)

    calls = arrived(arrivals, double)
    late = [a for a in calls if a.at > interrupted_at + IN_FLIGHT_SLACK]
    assert late == [], f"{len(late)} attempt(s) started after the interrupt"
    assert sum(a.at > interrupted_at for a in calls) <= CONCURRENCY
    # Calls in flight when the signal came finished: their contacts are reported created.
    in_flight = [a for a in calls if interrupted_at - LATENCY + 0.02 < a.at < interrupted_at]
    assert in_flight, "the signal should land with calls in flight"
    created = {r["request_identifier"] for r in records if "contact_id" in r}
    assert all(set(a.request_identifiers) <= created for a in in_flight)
    assert len(double.contacts) < COUNT, "the interrupt should land mid-run"

    failed = [r for r in records if "code" in r]
    assert failed, "the interrupt should leave inputs unsent"
    if job_key is None:
        # Random tokens: what no call carried is known not created, and nothing is unknown
        # (every call that left was answered before the run gave up).
        assert {r["code"] for r in failed} <= {"NOT_SENT", "INTERRUPTED"}
        assert not any(r["outcome_unknown"] for r in failed)
        assert len(created) == len(double.contacts)
        return
    # Under a job key an earlier run may have sent any token: nothing is known not created.
    assert all(r["outcome_unknown"] for r in failed)
    # Running the same job again settles every input, by replay where a contact exists.
    double.fake.latency = 0.0
    again = ContactBatchClient(
        double.client, instance_id=double.instance_id, job_key=job_key, concurrency=CONCURRENCY
    ).put_contacts(contacts(COUNT))
    assert again.all_succeeded
    assert len(again.succeeded) == COUNT
    assert double.duplicates() == {}
    ledger = {c.request_identifier: c.contact_id for c in double.contacts}
    assert len(double.contacts) == COUNT
    assert {s.request_identifier: s.contact_id for s in again.succeeded} == ledger
    assert sorted(c.attributes["customer_name"] for c in double.contacts) == sorted(
        f"Person {i}" for i in range(COUNT)
    )
    first = {r["request_identifier"]: r["contact_id"] for r in records if "contact_id" in r}
    assert all(ledger[rid] == contact_id for rid, contact_id in first.items())


# 1b. A SIGINT at any point of the library's code on the caller's thread.
LIBRARY = str(pathlib.Path(connect_batch.__file__).resolve().parent) + os.sep
DOUBLE = LIBRARY + "testing" + os.sep


@contextlib.contextmanager
def sigint_in_library_code(ready: Any, skip: int) -> Iterator[list[float]]:
    """Send this process a real SIGINT from inside the library's own code on this thread:
    as the ``skip``-th library function (or generator) is entered once ``ready()`` holds.

    CPython runs signal handlers as a function starts and between bytecodes, so a SIGINT
    that arrives at that moment is delivered there; this makes the moment deterministic,
    wherever the thread is (asking for the next outcome, sorting them, waiting). The list
    yielded gets the ``time.monotonic()`` of the signal.
    """
    entered: list[int] = []
    sent: list[float] = []

    def trace(frame: Any, event: str, _arg: Any) -> None:
        filename = frame.f_code.co_filename
        if event != "call" or not filename.startswith(LIBRARY) or filename.startswith(DOUBLE):
            return
        if entered or ready():
            entered.append(1)
            if len(entered) == skip:
                sys.settrace(None)
                sent.append(time.monotonic())
                signal.raise_signal(signal.SIGINT)

    sys.settrace(trace)
    try:
        yield sent
    finally:
        sys.settrace(None)


def _raise_keyboard_interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


@pytest.fixture(params=[False, True], ids=["default-handler", "application-handler"])
def sigint_handler(request):
    """Python's own SIGINT handler, or one of the application's that raises itself."""
    if not request.param:
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        yield
        return
    saved = signal.signal(signal.SIGINT, _raise_keyboard_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, saved)


# A sweep of consecutive library entries longer than one outcome's worth of them, so that
# some SIGINT lands at each point of the path an outcome takes to the caller.
SWEEP = range(1, 13)


def small_run(double: ConnectDouble) -> tuple[ContactBatchClient, list[ContactRequest], Any]:
    """A client, inputs, and a condition that holds once the double created a contact."""
    double.fake.latency = 0.05
    client = ContactBatchClient(double.client, instance_id=double.instance_id, concurrency=4)
    created = double.fake.contacts  # the raw ledger, every instance's: cheap to look at
    before = len(created)
    # 200 inputs: 8 batches, of which 4 at most are in flight, so that on a loaded machine
    # the interrupt still lands before the last batch is sent.
    return client, contacts(200), lambda: len(created) > before


def check_interrupted_run(
    double: ConnectDouble,
    arrivals: list[Arrival],
    outcomes: list[Any],
    count: int,
    *,
    sent: list[float],
    left_running: int,
) -> None:
    assert sent, "the SIGINT was never sent"
    [interrupted_at] = sent
    records = records_of(outcomes)
    assert_answered_once(records, count)
    assert left_running == 0, f"the interrupt propagated with {left_running} call(s) in flight"
    late = [a for a in arrived(arrivals, double) if a.at > interrupted_at + IN_FLIGHT_SLACK]
    assert late == [], f"{len(late)} attempt(s) started after the interrupt"
    assert_ledger_agrees(double, records)
    assert_quiet_after(double, arrivals, seconds=0.2)
    assert len(double.contacts) < count, "the interrupt should land mid-run"


@pytest.mark.parametrize("skip", SWEEP)
def test_sigint_anywhere_in_put_contacts_answers_every_input(
    double, arrivals, sigint_handler, skip
):
    """Wherever put_contacts' thread is when the SIGINT comes (not only waiting for calls),
    the interrupt carries a result answering every input, and calls in flight end first."""
    client, inputs, started = small_run(double)
    with (
        pytest.raises(KeyboardInterrupt) as caught,
        sigint_in_library_code(started, skip) as sent,
    ):
        client.put_contacts(inputs)
    left_running = len(arrived(arrivals, double)) - len(double.calls)
    result = getattr(caught.value, "result", None)
    assert isinstance(result, BatchResult), "the KeyboardInterrupt carried no result"
    check_interrupted_run(
        double, arrivals, [*result.succeeded, *result.failed], len(inputs),
        sent=sent, left_running=left_running,
    )
    assert all(o.request is inputs[o.position] for o in [*result.succeeded, *result.failed])


def read_in_a_with_block(stream: Any, yielded: list[Any]) -> None:
    with stream:
        for outcome in stream:
            yielded.append(outcome)


@pytest.mark.parametrize("skip", SWEEP)
def test_sigint_anywhere_in_a_stream_answers_every_input(double, arrivals, sigint_handler, skip):
    """The same for iter_put_contacts read in a ``with`` block: what was yielded and what
    is in ``rest`` answer every input once."""
    client, inputs, _started = small_run(double)
    yielded: list[Any] = []
    stream = client.iter_put_contacts(inputs)
    # Counted from the first outcome on, the sweep walks the path of the next few.
    with (
        pytest.raises(KeyboardInterrupt) as caught,
        sigint_in_library_code(lambda: bool(yielded), skip) as sent,
    ):
        read_in_a_with_block(stream, yielded)
    left_running = len(arrived(arrivals, double)) - len(double.calls)
    assert isinstance(getattr(caught.value, "result", None), BatchResult)
    rest = stream.rest
    check_interrupted_run(
        double, arrivals, [*yielded, *rest.succeeded, *rest.failed], len(inputs),
        sent=sent, left_running=left_running,
    )


# 2. A second SIGINT while waiting for the calls in flight.
SLOW = 3.0


def interrupted_twice(
    double: ConnectDouble, arrivals: list[Arrival], endpoint: str, out: pathlib.Path
) -> tuple[float, float]:
    """Run a worker against a slow double, SIGINT it twice 0.5 s apart with calls in flight;
    return when the first signal was sent, and how long after the second the process
    exited."""
    double.fake.latency = SLOW
    with worker(double, endpoint, out) as process:
        wait_for(lambda: len(arrived(arrivals, double)) >= 2, 20, "calls in flight")
        first = time.monotonic()
        process.send_signal(signal.SIGINT)
        time.sleep(0.5)
        second = time.monotonic()
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=15) == 130
        return first, time.monotonic() - second


def test_second_sigint_reports_calls_in_flight_unknown_and_answers_every_input(
    double, arrivals, moto_server, tmp_path
):
    out = tmp_path / "result.json"
    first_signal, _took = interrupted_twice(double, arrivals, moto_server, out)
    records = worker_report(out)["outcomes"]
    calls = arrived(arrivals, double)
    # The double answers the slow calls after the worker gave up on them, creating contacts.
    wait_for(lambda: len(double.calls) == len(calls), LEDGER_WAIT, "the slow calls to end")
    assert_quiet_after(double, arrivals, seconds=0.3)

    assert not any(a.at > first_signal + IN_FLIGHT_SLACK for a in calls)
    in_flight = [rid for a in calls for rid in a.request_identifiers]
    assert in_flight
    assert len(double.contacts) == len(in_flight)
    assert_answered_once(records, COUNT)
    # Every call that reached the double was still in flight (3 s late) at the second signal.
    by_rid = {r["request_identifier"]: r for r in records}
    assert all(
        by_rid[rid].get("code") == "INTERRUPTED" and by_rid[rid]["outcome_unknown"]
        for rid in in_flight
    )
    assert_ledger_agrees(double, records)


def test_second_sigint_exits_promptly_without_waiting_for_calls_in_flight(
    double, arrivals, moto_server, tmp_path
):
    out = tmp_path / "result.json"
    _first, took = interrupted_twice(double, arrivals, moto_server, out)
    calls = arrived(arrivals, double)
    wait_for(lambda: len(double.calls) == len(calls), LEDGER_WAIT, "the slow calls to end")
    assert took < 1.5, (
        f"the process exited {took:.1f} s after the second SIGINT, when the calls it had "
        f"stopped waiting for came back ({SLOW:.0f} s late)"
    )


# 3. iter_put_contacts, left early.
def counted(items: list[ContactRequest], read: list[int]) -> Iterator[ContactRequest]:
    for item in items:
        read.append(1)
        yield item


@pytest.mark.parametrize("lazy", [False, True], ids=["list", "generator"])
def test_leaving_a_stream_early_keeps_every_unyielded_outcome_in_rest(double, arrivals, lazy):
    double.fake.latency = 0.2
    inputs = contacts(200)
    read: list[int] = []
    source = counted(inputs, read) if lazy else inputs
    client = ContactBatchClient(double.client, instance_id=double.instance_id, concurrency=4)
    yielded = []
    with client.iter_put_contacts(source) as stream:
        for outcome in stream:
            yielded.append(outcome)
            break
    rest = stream.rest
    assert isinstance(rest, BatchResult)
    assert_quiet_after(double, arrivals)

    consumed = len(read) if lazy else len(inputs)
    assert 0 < consumed <= len(inputs)
    outcomes = [*yielded, *rest.succeeded, *rest.failed]
    records = records_of(outcomes)
    assert_answered_once(records, consumed)
    assert all(o.request is inputs[o.position] for o in outcomes)
    assert len(yielded) == 1
    assert len(rest.succeeded) >= 24, "the rest of the first batch is in rest"
    assert_ledger_agrees(double, records)
    assert len(double.contacts) < len(inputs), "the stream should be left mid-run"


def test_closing_a_stream_returns_the_outcomes_not_yielded(double, arrivals):
    double.fake.latency = 0.2
    inputs = contacts(200)
    client = ContactBatchClient(double.client, instance_id=double.instance_id, concurrency=4)
    stream = client.iter_put_contacts(inputs)
    first = next(stream)
    rest = stream.close()
    assert isinstance(rest, BatchResult)
    assert rest is stream.rest
    assert_quiet_after(double, arrivals)
    records = records_of([first, *rest.succeeded, *rest.failed])
    assert_answered_once(records, len(inputs))
    assert_ledger_agrees(double, records)
    assert stream.close() == rest  # closing again answers nothing twice
    assert len(double.contacts) < len(inputs)


# 4. The batcher.
class Terminated(SystemExit):
    """What a SIGTERM handler that calls ``sys.exit`` raises."""


def put_all(batcher: Any, items: list[ContactRequest]) -> None:
    with batcher:
        for item in items:
            batcher.put(item)


def test_interrupt_in_backoff_after_commit_leaves_nothing_unsent(double, arrivals):
    double.fake.plan(Fault.dropped())  # the contacts are created; the answer is lost

    def sleep(_seconds: float) -> None:
        raise Terminated(143)

    client = ContactBatchClient(double.client, instance_id=double.instance_id, sleep=sleep)
    inputs = contacts(25)
    batcher = client.batcher()
    with pytest.raises(Terminated):
        put_all(batcher, inputs)
    assert batcher.unsent == []
    assert batcher.result.succeeded == ()
    assert len(batcher.result.failed) == 25
    assert all(f.outcome_unknown for f in batcher.result.failed)
    assert [f.request for f in batcher.result.failed] == inputs
    # They were rightly not called unsent: the double created all 25, in one call.
    assert len(double.contacts) == 25
    assert [c.outcome for c in double.calls] == ["dropped"]
    assert_ledger_agrees(double, records_of(batcher.result))
    assert_quiet_after(double, arrivals, seconds=0.3)


def test_a_batcher_shared_by_producer_threads_answers_every_input_once(double, arrivals):
    threads, total = 8, 1000
    inputs = contacts(total)
    double.fake.plan(
        Fault.throttle(), None, Fault.error(after_commit=True), Fault.throttle(), None,
        Fault.error(after_commit=True), Fault.throttle(),
    )
    client = ContactBatchClient(
        double.client, instance_id=double.instance_id, sleep=no_sleep, max_attempts=6
    )
    share = total // threads
    errors: list[BaseException] = []

    def produce(batcher: Any, mine: list[ContactRequest]) -> None:
        try:
            for item in mine:
                batcher.put(item)
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)

    with client.batcher() as batcher:
        producers = [
            threading.Thread(target=produce, args=(batcher, inputs[t * share:(t + 1) * share]))
            for t in range(threads)
        ]
        for producer in producers:
            producer.start()
        for producer in producers:
            producer.join(timeout=60)
    assert errors == []
    result = batcher.result
    outcomes = [*result.succeeded, *result.failed]
    assert_answered_once(records_of(result), total)
    by_identity = collections.Counter(id(o.request) for o in outcomes)
    assert set(by_identity) == {id(i) for i in inputs}
    assert max(by_identity.values()) == 1
    assert batcher.unsent == []
    assert all(len(c.request_identifiers) <= 25 for c in double.calls)
    assert_ledger_agrees(double, records_of(result))
    assert result.all_succeeded
    assert len(double.contacts) == total
    assert_quiet_after(double, arrivals, seconds=0.3)


# 5. The command line, interrupted and resumed.
def write_csv(path: pathlib.Path, count: int) -> pathlib.Path:
    lines = ["phone,campaign_id,queue_id,first_name"]
    lines += [f"+1415555{i:04d},campaign-1,queue-1,Person {i}" for i in range(1, count + 1)]
    path.write_text("\n".join(lines) + "\n")
    return path


def outcome_lines(path: pathlib.Path) -> list[dict[str, Any]]:
    """The row and pass lines of an outcomes file (not its run line)."""
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [line for line in lines if "run" not in line]


def assert_lines_account_for_ledger(double: ConnectDouble, lines: list[dict[str, Any]]) -> None:
    """Every contact created has a line (its ContactId, or unknown); every row one line."""
    ledger = {c.request_identifier: c.contact_id for c in double.contacts}
    accounted = {
        line["request_identifier"] for line in lines
        if line["contact_id"] or line["outcome_unknown"]
    }
    missing = set(ledger) - accounted
    assert not missing, (
        f"{len(ledger)} contacts created, {len(lines)} outcome lines: {len(missing)} "
        "created contacts have no line"
    )
    rows = collections.Counter(line["row"] for line in lines)
    assert max(rows.values()) == 1, "a row answered twice"
    # The run read the whole file, so it answers every row, sent or not.
    assert sorted(rows) == list(range(1, COUNT + 1)), f"{COUNT - len(rows)} rows unanswered"
    for line in lines:
        if line["contact_id"]:
            assert ledger[line["request_identifier"]] == line["contact_id"]
        else:
            assert line["outcome_unknown"], "under the file's job key nothing is known unsent"
    assert double.duplicates() == {}


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "connect_batch", *args], cwd=ROOT, env=subprocess_env(),
        capture_output=True, text=True, timeout=60, check=False,
    )


def signal_cli(
    double: ConnectDouble, moto_server: str, tmp_path: pathlib.Path, signum: int
) -> tuple[list[str], pathlib.Path, int, str]:
    """Run the CLI on COUNT rows, each call 0.3 s late; send ``signum`` once 50 contacts
    exist. The command, the outcomes file, the exit status and stderr."""
    double.fake.latency = LATENCY
    source = write_csv(tmp_path / "c.csv", COUNT)
    out = tmp_path / "o.jsonl"
    command = [
        "put", str(source), "--endpoint-url", moto_server, "--region", "us-east-1",
        "--instance-id", double.instance_id, "--out", str(out), "--concurrency", "8",
    ]
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "connect_batch", *command], cwd=ROOT, env=subprocess_env(),
        text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        wait_for(lambda: len(double.contacts) >= 50, 20, "the first contacts")
        process.send_signal(signum)
        _stdout, stderr = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return command, out, process.returncode, stderr


def test_cli_sigint_writes_a_line_for_every_contact_and_resumes_to_exactly_once(
    double, arrivals, moto_server, tmp_path
):
    command, out, returncode, stderr = signal_cli(double, moto_server, tmp_path, signal.SIGINT)
    assert returncode == 130, stderr[-2000:]
    assert "--resume" in stderr
    assert_quiet_after(double, arrivals)

    lines = outcome_lines(out)
    assert_lines_account_for_ledger(double, lines)
    ledger = {c.request_identifier: c.contact_id for c in double.contacts}
    assert 0 < len(ledger) < COUNT, "the interrupt should land mid-run"
    assert double.duplicates() == {}

    # The resume the message prints, first while every call is throttled, then not.
    resume = re.search(r"--resume (\S+?)(?: |$|\n)", stderr)
    assert resume is not None
    assert resume.group(1) == str(out)
    again = [*command, "--resume", resume.group(1)]
    double.fake.latency = 0.0
    double.fake.throttle(rate=0, burst=0)
    # One attempt per batch, and a high starting pace: the adaptive limiter slows down at
    # every throttle, and a fully throttled run would otherwise take a minute.
    throttled = run_cli(*again, "--max-attempts", "1", "--max-rps", "200")
    assert throttled.returncode == 1, throttled.stderr[-2000:]
    assert len(double.contacts) == len(ledger), "a throttled call created a contact"
    double.fake.reset_faults()
    done = run_cli(*again)
    assert done.returncode == 0, done.stderr[-2000:]

    assert len(double.contacts) == COUNT
    assert double.duplicates() == {}
    latest = {line["row"]: line for line in outcome_lines(out) if "row" in line}
    assert sorted(latest) == list(range(1, COUNT + 1))
    final = {c.request_identifier: c.contact_id for c in double.contacts}
    assert all(final[line["request_identifier"]] == line["contact_id"] for line in latest.values())
    assert all(final[rid] == contact_id for rid, contact_id in ledger.items())


@pytest.mark.skipif(not hasattr(fcntl, "F_SETPIPE_SZ"), reason="needs Linux pipes")
def test_cli_sigint_while_writing_outcome_lines_loses_no_line(
    double, arrivals, moto_server, tmp_path
):
    """The SIGINT reaches the CLI while it writes outcome lines, not while it waits for calls:
    ``--out`` is a FIFO whose reader stops reading, so writing the first lines blocks."""
    double.fake.latency = LATENCY
    source = write_csv(tmp_path / "c.csv", COUNT)
    out = tmp_path / "o.jsonl"
    os.mkfifo(out)
    reader = os.open(out, os.O_RDONLY | os.O_NONBLOCK)
    fcntl.fcntl(reader, fcntl.F_SETPIPE_SZ, 4096)  # fewer than one batch's 25 lines
    written = bytearray()

    def drain() -> None:
        os.set_blocking(reader, True)
        while chunk := os.read(reader, 65536):
            written.extend(chunk)

    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "connect_batch", "put", str(source), "--endpoint-url",
         moto_server, "--region", "us-east-1", "--instance-id", double.instance_id,
         "--out", str(out), "--concurrency", "8"],
        cwd=ROOT, env=subprocess_env(), text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    draining = threading.Thread(target=drain, daemon=True)
    try:
        # The first batch's lines fill the pipe; more calls end while the writer is stuck.
        wait_for(lambda: len(double.contacts) >= 100, 20, "more contacts")
        process.send_signal(signal.SIGINT)
        draining.start()
        _stdout, stderr = process.communicate(timeout=15)
        draining.join(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
        os.close(reader)
    assert process.returncode == 130, stderr[-2000:]
    assert_quiet_after(double, arrivals)
    lines = [json.loads(line) for line in written.decode().splitlines() if line.strip()]
    assert_lines_account_for_ledger(double, [line for line in lines if "run" not in line])


def test_cli_sigterm_is_handled_as_ctrl_c_and_resumes_to_exactly_once(
    double, arrivals, moto_server, tmp_path
):
    # A container stop or `kill` sends SIGTERM: calls in flight finish, their outcomes are
    # written, and the exit status and resume hint are Ctrl-C's.
    command, out, returncode, stderr = signal_cli(double, moto_server, tmp_path, signal.SIGTERM)
    assert returncode == 130, stderr[-2000:]
    assert f"--resume {out}" in stderr
    assert_quiet_after(double, arrivals)
    assert_lines_account_for_ledger(double, outcome_lines(out))
    assert 0 < len(double.contacts) < COUNT, "the signal should land mid-run"
    double.fake.latency = 0.0
    done = run_cli(*command, "--resume", str(out))
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(double.contacts) == COUNT
    assert double.duplicates() == {}
