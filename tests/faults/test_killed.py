"""A worker killed with SIGKILL at any moment, then run again with the same job key,
creates every contact exactly once and reports the ContactIds of the first run."""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import boto3
import pytest

from connect_batch.testing import ConnectDouble, Fault

ROOT = pathlib.Path(__file__).resolve().parents[2]
COUNT = 250  # ten calls
KILL_POINTS = [0.0, 0.04, 0.08, 0.12, 0.16, 0.2, 0.25, 0.3, 0.35, 0.45]


def start_worker(endpoint: str, instance_id: str, out: pathlib.Path) -> subprocess.Popen[str]:
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [
            sys.executable, "-m", "tests.faults.worker",
            "--endpoint", endpoint, "--instance-id", instance_id,
            "--job-key", "campaign-42/2026-11-26", "--count", str(COUNT), "--out", str(out),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    return process


@pytest.mark.parametrize("first_kill", KILL_POINTS)
def test_rerun_after_sigkill_creates_nothing_twice_and_misses_nothing(
    moto_server, tmp_path, first_kill
):
    client = boto3.client("connect", region_name="us-east-1", endpoint_url=moto_server)
    double = ConnectDouble.create(client)
    double.fake.latency = 0.03
    double.fake.plan(None, Fault.dropped(), None, Fault.throttle(), Fault.error(after_commit=True))
    out = tmp_path / "result.json"
    try:
        # Killed twice, at different points, then left to finish.
        for delay in (first_kill, first_kill / 2 + 0.05):
            worker = start_worker(moto_server, double.instance_id, out)
            time.sleep(delay)
            worker.send_signal(signal.SIGKILL)
            worker.wait()
            worker.stdout.close()  # type: ignore[union-attr]
        calls_before_final = len(double.calls)
        final = start_worker(moto_server, double.instance_id, out)
        assert final.wait(timeout=60) == 0
        final.stdout.close()  # type: ignore[union-attr]
    finally:
        double.fake.reset_faults()

    result = json.loads(out.read_text())
    ledger = {c.request_identifier: c.contact_id for c in double.contacts}
    assert double.duplicates() == {}
    assert result["failed"] == []
    assert sorted(p for p, _, _ in result["succeeded"]) == list(range(COUNT))
    assert len(ledger) == COUNT
    # The rerun reports the ContactIds the service created, whichever run created them.
    assert {rid: cid for _, rid, cid in result["succeeded"]} == ledger
    final_calls = double.calls[calls_before_final:]
    per_token: dict[str, int] = {}
    for call in final_calls:
        per_token[call.client_token] = per_token.get(call.client_token, 0) + 1
    assert max(per_token.values()) <= 6
