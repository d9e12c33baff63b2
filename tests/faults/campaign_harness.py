"""Fault scenarios for the outbound campaigns clients (v2 and v1), over real HTTP.

The same invariants as ``harness.py`` holds BatchPutContact to, measured on the double's
ledger of created requests. Every input has a phone number of its own, so the ledger says
who was created, and how often, whatever token carried them.
"""

from __future__ import annotations

import collections
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import attrs
import boto3
from botocore.config import Config

from connect_batch import (
    AsyncDialRequestBatchClient,
    AsyncOutboundRequestBatchClient,
    BatchResult,
    DialRequestBatchClient,
    OutboundRequestBatchClient,
)
from connect_batch.testing import FakeCampaigns, Fault, async_no_sleep, no_sleep
from tests.aio_runner import run_async
from tests.builders import dial, outbound
from tests.faults.harness import ROOT, Report

MAX_ATTEMPTS = 4
MAX_ITEM_RETRIES = 3
# An item's token may go out in every attempt of every round.
MAX_ATTEMPTS_PER_TOKEN = MAX_ATTEMPTS * (MAX_ITEM_RETRIES + 1)
APIS = ("v2", "v1")


@attrs.define
class Campaign:
    """One running campaign on the server, and a client for it."""

    api: str
    campaign_id: str
    client: Any
    fake: FakeCampaigns

    @property
    def requests(self) -> list[Any]:
        return [r for r in self.fake.requests if r.campaign_id == self.campaign_id]

    @property
    def calls(self) -> list[Any]:
        return [c for c in self.fake.calls if c.campaign_id == self.campaign_id]


def campaign(api: str, endpoint_url: str, config: Config | None = None) -> Campaign:
    """A new Running campaign of ``api`` on the server at ``endpoint_url``."""
    fake = FakeCampaigns.of()
    if api == "v2":
        client = boto3.client(
            "connectcampaignsv2", region_name="us-east-1", endpoint_url=endpoint_url,
            config=config,
        )
        return Campaign(api, fake.create_campaign_v2(state="Running"), client, fake)
    client = boto3.client(
        "connectcampaigns", region_name="us-east-1", endpoint_url=endpoint_url, config=config
    )
    created = client.create_campaign(
        name=f"tests-{random.randrange(10**9)}",
        connectInstanceId="11111111-2222-3333-4444-555555555555",
        dialerConfig={"progressiveDialerConfig": {"bandwidthAllocation": 1.0}},
        outboundCallConfig={"connectContactFlowId": "flow-1"},
    )
    client.start_campaign(id=created["id"])
    return Campaign(api, created["id"], client, fake)


def inputs_for(api: str, rng: random.Random, count: int, start: int = 0) -> list[Any]:
    """Valid requests, half with tokens of their own."""
    build = outbound if api == "v2" else dial
    return [
        build(i, client_token=f"crm-{i}") if rng.random() < 0.5 else build(i)
        for i in range(start, start + count)
    ]


def batch_client(target: Campaign, **options: Any) -> Any:
    options.setdefault("max_attempts", MAX_ATTEMPTS)
    options.setdefault("max_item_retries", MAX_ITEM_RETRIES)
    options.setdefault("sleep", no_sleep)
    kind = OutboundRequestBatchClient if target.api == "v2" else DialRequestBatchClient
    return kind(target.client, campaign_id=target.campaign_id, **options)


SERVICES = {"v2": "connectcampaignsv2", "v1": "connectcampaigns"}


def put_async(
    target: Campaign, endpoint_url: str, inputs: list[Any], config: Config | None = None,
    **options: Any,
) -> BatchResult[Any]:
    """``put_requests`` with the async client of ``target``'s API, over aiobotocore."""
    options.setdefault("max_attempts", MAX_ATTEMPTS)
    options.setdefault("max_item_retries", MAX_ITEM_RETRIES)
    options.setdefault("sleep", async_no_sleep)
    kind = AsyncOutboundRequestBatchClient if target.api == "v2" else AsyncDialRequestBatchClient

    async def put(aio: Any) -> BatchResult[Any]:
        client: Any = kind(aio, campaign_id=target.campaign_id, **options)
        return await client.put_requests(inputs)  # type: ignore[no-any-return]

    return run_async(SERVICES[target.api], endpoint_url, put, config)


def destination(request: Any) -> str:
    return str(getattr(request, "destination", None) or request.phone_number)


def measure(target: Campaign, inputs: list[Any], result: BatchResult[Any]) -> Report:
    """Compare ``result`` with the ledger, by destination (one per input)."""
    outcomes = (*result.succeeded, *result.failed)
    positions = sorted(o.position for o in outcomes)
    ledger = collections.Counter(r.destination for r in target.requests)
    created_ids = {r.destination: r.id for r in target.requests}
    succeeded = {destination(s.request) for s in result.succeeded}
    unknown = {destination(f.request) for f in result.failed if f.outcome_unknown}
    wrong_ids = sum(created_ids.get(destination(s.request)) != s.id for s in result.succeeded)
    attempts: collections.Counter[str] = collections.Counter()
    for call in target.calls:
        attempts.update(call.client_tokens)
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


Setup = Callable[[Campaign, list[Any], random.Random], None]


@attrs.frozen
class Scenario:
    """One fault, or a mix, applied to a run of ``count`` requests."""

    name: str
    description: str
    setup: Setup
    count: int = 60
    read_timeout: float | None = None


def _plan(*faults: Fault | None) -> Setup:
    def setup(target: Campaign, _: list[Any], __: random.Random) -> None:
        target.fake.plan(*faults)

    return setup


def _given_tokens(inputs: list[Any], rng: random.Random, k: int) -> list[str]:
    given = [r.client_token for r in inputs if r.client_token]
    return rng.sample(given, k=min(len(given), k))


def _item_codes(code: str) -> Setup:
    def setup(target: Campaign, inputs: list[Any], rng: random.Random) -> None:
        chosen = _given_tokens(inputs, rng, 10)
        target.fake.fail_items(dict.fromkeys(chosen, code), times=rng.randint(1, 3))

    return setup


def _omitted(target: Campaign, inputs: list[Any], rng: random.Random) -> None:
    target.fake.omit_items(_given_tokens(inputs, rng, 3))


_MIX = [
    Fault.throttle(),
    Fault.garbled(),
    Fault.truncated(),
    Fault.error(),
    Fault.error(after_commit=True),
    Fault.dropped(),
    Fault.reset(),
    Fault.error(409, "ConflictException"),
    None,
    None,
]


def _combined(target: Campaign, inputs: list[Any], rng: random.Random) -> None:
    target.fake.plan(*(rng.choice(_MIX) for _ in range(rng.randint(3, 12))))
    codes = ["RequestThrottled", "UnknownError"]
    if target.api == "v2":
        codes.append("BufferLimitExceeded")
    _item_codes(rng.choice(codes))(target, inputs, rng)
    _omitted(target, inputs, rng)


SCENARIOS = [
    Scenario("429 burst", "three 429s, one call through, two more", _plan(
        Fault.throttle(), Fault.throttle(), Fault.throttle(), None, Fault.throttle(),
        Fault.throttle(),
    )),
    Scenario("500s", "500 before and after the requests were created", _plan(
        Fault.error(), Fault.error(after_commit=True), None, Fault.error(after_commit=True),
    )),
    Scenario("connection reset", "TCP connection cut before the request is acted on", _plan(
        Fault.reset(), Fault.reset(), None, Fault.reset(),
    )),
    Scenario("dropped after commit", "requests created, then the connection cut", _plan(
        Fault.dropped(), None, Fault.dropped(), Fault.dropped(),
    )),
    Scenario(
        "read timeout",
        "requests created, answer 0.6 s late, client read_timeout 0.25 s",
        _plan(Fault.slow(0.6), None, Fault.slow(0.6)),
        read_timeout=0.25,
    ),
    Scenario("per-item RequestThrottled", "10 items refused for capacity 1-3 times",
             _item_codes("RequestThrottled")),
    Scenario("per-item UnknownError", "10 items failing 1-3 times", _item_codes("UnknownError")),
    Scenario("409 ConflictException", "one call refused as a conflict",
             _plan(None, Fault.error(409, "ConflictException"))),
    Scenario("items missing from answer", "3 items created but left out of the answer",
             _omitted),
    Scenario("garbled 200", "requests created, then a 200 whose body is not JSON",
             _plan(Fault.garbled(), None, Fault.garbled())),
    Scenario("truncated 200", "requests created, then a 200 cut off on the wire",
             _plan(Fault.truncated(), None, Fault.truncated())),
    Scenario("proxy 408", "a proxy answers 408 Request Timeout; nothing created",
             _plan(Fault.error(408, "RequestTimeout"), None, Fault.error(408, "RequestTimeout"))),
    Scenario("combined", "a random mix of all the above, per run", _combined, count=100),
]


def run(api: str, scenario: Scenario, endpoint_url: str, seed: int, mode: str = "sync") -> Report:
    """Run ``scenario`` once for ``api`` over HTTP against the server at ``endpoint_url``,
    with the sync client or (``mode="async"``) the async one."""
    rng = random.Random(seed)
    config = Config(read_timeout=scenario.read_timeout or 60, connect_timeout=5)
    target = campaign(api, endpoint_url, config)
    target.fake.reset_faults()
    inputs = inputs_for(api, rng, scenario.count)
    scenario.setup(target, inputs, rng)
    try:
        if mode == "async":
            result = put_async(target, endpoint_url, inputs, config)
        else:
            result = batch_client(target).put_requests(inputs)
    finally:
        target.fake.reset_faults()
    return measure(target, inputs, result)


KILL_COUNT = 250
WORKER_MAX_ATTEMPTS = 6
WORKER_MAX_ATTEMPTS_PER_TOKEN = WORKER_MAX_ATTEMPTS * (MAX_ITEM_RETRIES + 1)


def _start_worker(
    api: str, endpoint: str, campaign_id: str, out: Any, mode: str = "sync"
) -> subprocess.Popen[str]:
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [
            sys.executable, "-m", "tests.faults.campaign_worker", "--api", api,
            "--endpoint", endpoint, "--campaign-id", campaign_id,
            "--job-key", "campaign-42/2026-11-27", "--count", str(KILL_COUNT),
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
    api: str,
    endpoint: str,
    kill_points: tuple[float, ...],
    out: Any,
    modes: tuple[str, ...] = ("sync",),
) -> Report:
    """Start a worker, SIGKILL it after each delay in ``kill_points``, then let one finish.

    Worker ``i`` is sync or async as ``modes[i % len(modes)]`` says; the last one finishes.
    The double answers 30 ms late and drops, throttles and fails a few calls on the way.
    """
    target = campaign(api, endpoint)
    target.fake.reset_faults()
    target.fake.latency = 0.03
    target.fake.plan(
        None, Fault.dropped(), None, Fault.throttle(), Fault.error(after_commit=True)
    )
    try:
        for i, delay in enumerate(kill_points):
            worker = _start_worker(api, endpoint, target.campaign_id, out, modes[i % len(modes)])
            time.sleep(delay)
            worker.send_signal(signal.SIGKILL)
            worker.wait()
            assert worker.stdout is not None
            worker.stdout.close()
        calls_before = len(target.calls)
        final = _start_worker(
            api, endpoint, target.campaign_id, out, modes[len(kill_points) % len(modes)]
        )
        assert final.wait(timeout=120) == 0
        assert final.stdout is not None
        final.stdout.close()
    finally:
        target.fake.reset_faults()
    answer = json.loads(out.read_text())
    ledger = collections.Counter(r.destination for r in target.requests)
    created_ids = {r.destination: r.id for r in target.requests}
    reported = {phone: rid for _, phone, rid in answer["succeeded"]}
    attempts: collections.Counter[str] = collections.Counter()
    for call in target.calls[calls_before:]:
        attempts.update(call.client_tokens)
    positions = sorted([p for p, _, _ in answer["succeeded"]] + [p for p, *_ in answer["failed"]])
    return Report(
        inputs=KILL_COUNT,
        answered_once=positions == list(range(KILL_COUNT)),
        created=sum(ledger.values()),
        succeeded=len(reported),
        unknown_created=sum(1 for _, _, unknown, _ in answer["failed"] if unknown),
        duplicates=sum(n - 1 for n in ledger.values()),
        lost=sum(created_ids.get(phone) != rid for phone, rid in reported.items())
        + len(set(ledger) - set(reported)),
        max_attempts_per_token=max(attempts.values(), default=0),
    )
