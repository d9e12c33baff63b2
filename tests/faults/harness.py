"""Fault scenarios and the invariants every one of them must keep.

Used by the tests in this folder and by ``python -m tests.faults.report``, which runs each
scenario many times and prints the table in docs/reliability.md.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import pathlib
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import attrs
import boto3
from botocore.config import Config

from connect_batch import AsyncContactBatchClient, BatchResult, ContactBatchClient, ContactRequest
from connect_batch.testing import ConnectDouble, Fault, async_no_sleep, no_sleep
from tests.aio_runner import run_async
from tests.builders import contact

MAX_ATTEMPTS = 4


@attrs.frozen(kw_only=True)
class Report:
    """What one run of a scenario did, measured against the ledger."""

    inputs: int
    answered_once: bool
    created: int
    succeeded: int
    unknown_created: int
    duplicates: int
    lost: int
    max_attempts_per_token: int

    def check(self, max_attempts: int = MAX_ATTEMPTS) -> None:
        """Assert the invariants every scenario must keep."""
        assert self.answered_once, "an input was answered zero or several times"
        assert self.duplicates == 0, f"{self.duplicates} contacts created twice"
        assert self.lost == 0, f"{self.lost} contacts created but reported as not created"
        assert self.created == self.succeeded + self.unknown_created
        assert self.max_attempts_per_token <= max_attempts


def measure(double: ConnectDouble, inputs: list[ContactRequest], result: BatchResult) -> Report:
    """Compare ``result`` with the double's ledger."""
    outcomes = (*result.succeeded, *result.failed)
    positions = sorted(o.position for o in outcomes)
    ledger = collections.Counter(c.request_identifier for c in double.contacts)
    succeeded = {s.request_identifier for s in result.succeeded}
    unknown = {f.request_identifier for f in result.failed if f.outcome_unknown}
    created_ids = {c.request_identifier: c.contact_id for c in double.contacts}
    wrong_ids = sum(created_ids.get(s.request_identifier) != s.contact_id for s in result.succeeded)
    attempts = collections.Counter(c.client_token for c in double.calls)
    return Report(
        inputs=len(inputs),
        answered_once=positions == list(range(len(inputs)))
        and all(o.request is inputs[o.position] for o in outcomes),
        created=sum(ledger.values()),
        succeeded=len(result.succeeded),
        unknown_created=len(unknown & set(ledger)),
        duplicates=sum(n - 1 for n in ledger.values()),
        lost=len(set(ledger) - succeeded - unknown) + wrong_ids,
        max_attempts_per_token=max(attempts.values(), default=0),
    )


def mixed_inputs(rng: random.Random, count: int) -> list[ContactRequest]:
    """Valid contacts, some with identifiers of their own."""
    return [
        contact(i, request_identifier=f"crm-{i}") if rng.random() < 0.5 else contact(i)
        for i in range(count)
    ]


Setup = Callable[[ConnectDouble, list[ContactRequest], random.Random], None]


@attrs.frozen
class Scenario:
    """One fault, or a mix, applied to a run of ``count`` contacts."""

    name: str
    description: str
    setup: Setup
    count: int = 60
    read_timeout: float | None = None


def _plan(*faults: Fault | None) -> Setup:
    def setup(double: ConnectDouble, _: list[ContactRequest], __: random.Random) -> None:
        double.fake.plan(*faults)

    return setup


def _item_codes(code: str) -> Setup:
    def setup(double: ConnectDouble, inputs: list[ContactRequest], rng: random.Random) -> None:
        given = [c.request_identifier for c in inputs if c.request_identifier]
        chosen = rng.sample(given, k=min(len(given), 10))
        double.fake.fail_items(dict.fromkeys(chosen, code), times=rng.randint(1, 3))

    return setup


def _omitted(double: ConnectDouble, inputs: list[ContactRequest], rng: random.Random) -> None:
    given = [c.request_identifier for c in inputs if c.request_identifier]
    double.fake.omit_items(rng.sample(given, k=min(len(given), 3)))


_MIX = [
    Fault.throttle(),
    Fault.garbled(),
    Fault.truncated(),
    Fault.error(),
    Fault.error(after_commit=True),
    Fault.dropped(),
    Fault.reset(),
    Fault.error(409, "IdempotencyException"),
    None,
    None,
]


def _combined(double: ConnectDouble, inputs: list[ContactRequest], rng: random.Random) -> None:
    double.fake.plan(*(rng.choice(_MIX) for _ in range(rng.randint(3, 12))))
    _item_codes(rng.choice(["REQUEST_THROTTLED", "INTERNAL_ERROR"]))(double, inputs, rng)
    _omitted(double, inputs, rng)


SCENARIOS = [
    Scenario("429 burst", "three 429s, one call through, two more", _plan(
        Fault.throttle(), Fault.throttle(), Fault.throttle(), None, Fault.throttle(),
        Fault.throttle(),
    )),
    Scenario("500s", "500 before and after the contacts were created", _plan(
        Fault.error(), Fault.error(after_commit=True), None, Fault.error(after_commit=True),
    )),
    Scenario("connection reset", "TCP connection cut before the request is acted on", _plan(
        Fault.reset(), Fault.reset(), None, Fault.reset(),
    )),
    Scenario("dropped after commit", "contacts created, then the connection cut", _plan(
        Fault.dropped(), None, Fault.dropped(), Fault.dropped(),
    )),
    Scenario(
        "read timeout",
        "contacts created, answer 0.6 s late, client read_timeout 0.25 s",
        _plan(Fault.slow(0.6), None, Fault.slow(0.6)),
        read_timeout=0.25,
    ),
    Scenario("per-item REQUEST_THROTTLED", "10 items throttled 1-3 times",
             _item_codes("REQUEST_THROTTLED")),
    Scenario("per-item INTERNAL_ERROR", "10 items failing 1-3 times",
             _item_codes("INTERNAL_ERROR")),
    Scenario("409 IdempotencyException", "one call refused as a token conflict",
             _plan(None, Fault.error(409, "IdempotencyException"))),
    Scenario("item missing from answer", "3 items created but left out of the answer",
             _omitted),
    Scenario("garbled 200", "contacts created, then a 200 whose body is not JSON",
             _plan(Fault.garbled(), None, Fault.garbled())),
    Scenario("truncated 200", "contacts created, then a 200 cut off on the wire",
             _plan(Fault.truncated(), None, Fault.truncated())),
    Scenario("proxy 408", "a proxy answers 408 Request Timeout; nothing created",
             _plan(Fault.error(408, "RequestTimeout"), None, Fault.error(408, "RequestTimeout"))),
    Scenario("combined", "a random mix of all the above, per run", _combined, count=100),
]


def run(scenario: Scenario, endpoint_url: str, seed: int, mode: str = "sync") -> Report:
    """Run ``scenario`` once over HTTP against the moto server at ``endpoint_url``, with the
    sync client or (``mode="async"``) the async one over aiobotocore."""
    rng = random.Random(seed)
    config = Config(read_timeout=scenario.read_timeout or 60, connect_timeout=5)
    client = boto3.client(
        "connect", region_name="us-east-1", endpoint_url=endpoint_url, config=config
    )
    double = ConnectDouble.create(client)
    double.fake.reset_faults()
    inputs = mixed_inputs(rng, scenario.count)
    scenario.setup(double, inputs, rng)
    try:
        if mode == "async":

            async def put(aio: Any) -> BatchResult[ContactRequest]:
                return await AsyncContactBatchClient(
                    aio, instance_id=double.instance_id, max_attempts=MAX_ATTEMPTS,
                    sleep=async_no_sleep,
                ).put_contacts(inputs)

            result = run_async("connect", endpoint_url, put, config)
        else:
            result = ContactBatchClient(
                client, instance_id=double.instance_id, max_attempts=MAX_ATTEMPTS, sleep=no_sleep
            ).put_contacts(inputs)
    finally:
        double.fake.reset_faults()
    return measure(double, inputs, result)


class Doorway:
    """A loopback port that refuses connections until opened, then forwards to a target."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()  # nothing listens here until open(): connections are refused
        self._listener: socket.socket | None = None

    def open(self) -> None:
        if self._listener is not None:
            return
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        self._listener = listener
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        if self._listener is not None:
            self._listener.close()

    def _accept(self) -> None:
        assert self._listener is not None
        while True:
            try:
                downstream, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            for source, sink in ((downstream, upstream), (upstream, downstream)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()


ROOT = pathlib.Path(__file__).resolve().parents[2]
KILL_COUNT = 250  # ten calls
WORKER_MAX_ATTEMPTS = 6


def _start_worker(
    endpoint: str, instance_id: str, out: pathlib.Path, mode: str = "sync"
) -> subprocess.Popen[str]:
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [
            sys.executable, "-m", "tests.faults.worker",
            "--endpoint", endpoint, "--instance-id", instance_id,
            "--job-key", "campaign-42/2026-11-26", "--count", str(KILL_COUNT),
            "--out", str(out), "--mode", mode,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    return process


def kill_and_rerun(
    endpoint: str,
    kill_points: tuple[float, ...],
    out: pathlib.Path,
    modes: tuple[str, ...] = ("sync",),
) -> Report:
    """Start a worker, SIGKILL it after each delay in ``kill_points``, then let one finish.

    Worker ``i`` is sync or async as ``modes[i % len(modes)]`` says; the last one finishes.
    The double answers 30 ms late and drops, throttles and fails a few calls on the way.
    """
    client = boto3.client("connect", region_name="us-east-1", endpoint_url=endpoint)
    double = ConnectDouble.create(client)
    double.fake.reset_faults()
    double.fake.latency = 0.03
    double.fake.plan(None, Fault.dropped(), None, Fault.throttle(), Fault.error(after_commit=True))
    try:
        for i, delay in enumerate(kill_points):
            worker = _start_worker(endpoint, double.instance_id, out, modes[i % len(modes)])
            time.sleep(delay)
            worker.send_signal(signal.SIGKILL)
            worker.wait()
            assert worker.stdout is not None
            worker.stdout.close()
        calls_before = len(double.calls)
        final = _start_worker(
            endpoint, double.instance_id, out, modes[len(kill_points) % len(modes)]
        )
        assert final.wait(timeout=120) == 0
        assert final.stdout is not None
        final.stdout.close()
    finally:
        double.fake.reset_faults()
    answer = json.loads(out.read_text())
    ledger = collections.Counter(c.request_identifier for c in double.contacts)
    created_ids = {c.request_identifier: c.contact_id for c in double.contacts}
    reported = {rid: cid for _, rid, cid in answer["succeeded"]}
    attempts = collections.Counter(c.client_token for c in double.calls[calls_before:])
    positions = sorted([p for p, _, _ in answer["succeeded"]] + [p for p, *_ in answer["failed"]])
    return Report(
        inputs=KILL_COUNT,
        answered_once=positions == list(range(KILL_COUNT)),
        created=sum(ledger.values()),
        succeeded=len(reported),
        unknown_created=sum(1 for _, _, unknown in answer["failed"] if unknown),
        duplicates=sum(n - 1 for n in ledger.values()),
        lost=sum(created_ids.get(rid) != cid for rid, cid in reported.items())
        + len(set(ledger) - set(reported)),
        max_attempts_per_token=max(attempts.values(), default=0),
    )
