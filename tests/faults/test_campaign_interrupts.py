"""Ctrl-C in a campaign worker, checked against the double's ledger over real HTTP.

A real SIGINT goes to a worker process putting 1,500 requests, 8 calls in flight, each call
answered 0.3 s late. The interrupt's ``result`` must answer every input exactly once, never
deny a request the service created, and the worker must start no call after it; running
the same job again then settles everything without creating anyone twice.
"""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.faults.campaign_harness import APIS, ROOT, campaign

# Real processes, signals, Redis or terminals in real time: the slow tier (pytest -m slow).
pytestmark = pytest.mark.slow

COUNT = 1500
JOB = "campaign-7/interrupted"


def start(api, endpoint, campaign_id, out):
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [
            sys.executable, "-m", "tests.faults.campaign_worker", "--api", api,
            "--endpoint", endpoint, "--campaign-id", campaign_id, "--job-key", JOB,
            "--count", str(COUNT), "--out", str(out), "--concurrency", "8",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert process.stdout.readline().strip() == "ready"
    return process


def check_answer(target, answer):
    positions = sorted([p for p, *_ in answer["succeeded"]] + [p for p, *_ in answer["failed"]])
    assert positions == list(range(COUNT)), "an input was answered zero or several times"
    ledger = {r.destination: r.id for r in target.requests}
    assert len(ledger) == len(target.requests), "a request was created twice"
    for _, phone, request_id in answer["succeeded"]:
        assert ledger[phone] == request_id
    for _, _code, unknown, phone in answer["failed"]:
        if phone in ledger:
            assert unknown, "a request the service created was reported known not created"


@pytest.mark.parametrize("signals", [1, 2], ids=["one-sigint", "two-sigints"])
@pytest.mark.parametrize("api", APIS)
def test_sigint_answers_every_input_and_a_rerun_settles_the_rest(
    moto_server, tmp_path, api, signals
):
    target = campaign(api, moto_server)
    target.fake.reset_faults()
    target.fake.latency = 0.3
    out = tmp_path / "result.json"
    try:
        worker = start(api, moto_server, target.campaign_id, out)
        time.sleep(1.0)
        for _ in range(signals):
            worker.send_signal(signal.SIGINT)
            time.sleep(0.05)
        assert worker.wait(timeout=30) == 130
        worker.stdout.close()
        interrupted = time.monotonic()
        answer = json.loads(out.read_text())
        created_then = len(target.requests)
        assert 0 < created_then < COUNT, "the interrupt did not land mid-run"
        if signals == 1:
            # Calls in flight finished: nothing acted on is left unaccounted for.
            check_answer(target, answer)
            assert sum(not u for _, _, u, _ in answer["failed"]) == 0  # under a job key
        else:
            check_answer(target, answer)
        # Nothing more arrives once the worker is gone (calls still in the double finish).
        time.sleep(0.6)
        calls = len(target.calls)
        time.sleep(0.5)
        assert len(target.calls) == calls
        assert time.monotonic() - interrupted < 5
        # The same job again: everyone exactly once, and the first run's ids kept.
        first_ids = {phone: rid for _, phone, rid in answer["succeeded"]}
        target.fake.latency = 0.0
        rerun = start(api, moto_server, target.campaign_id, out)
        assert rerun.wait(timeout=60) == 0
        rerun.stdout.close()
    finally:
        target.fake.reset_faults()
    final = json.loads(out.read_text())
    assert len(final["succeeded"]) == COUNT
    counts = collections.Counter(r.destination for r in target.requests)
    assert len(counts) == COUNT
    assert max(counts.values()) == 1
    final_ids = {phone: rid for _, phone, rid in final["succeeded"]}
    assert all(final_ids[phone] == rid for phone, rid in first_ids.items())
