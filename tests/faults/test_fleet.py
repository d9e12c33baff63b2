"""A fleet of worker processes sharing one RedisRateLimiter, against a real redis-server and
the double in server mode, counted on the double's side."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import redis

from connect_batch import RedisRateLimiter, fleet_key
from connect_batch.testing import ConnectDouble, FakeConnect
from tests.faults.harness import ROOT

# Real processes, signals, Redis or terminals in real time: the slow tier (pytest -m slow).
pytestmark = pytest.mark.slow

KEY = fleet_key("123456789012", "us-east-1", "BatchPutContact")


@pytest.fixture
def arrivals(monkeypatch) -> list[tuple[float, str]]:
    """When each BatchPutContact call reached the double, and for which instance."""
    seen: list[tuple[float, str]] = []
    original = FakeConnect.handle

    def handle(self: FakeConnect, instance_id: str, body: Any, *, instance_exists: bool) -> str:
        seen.append((time.monotonic(), instance_id))
        items = body.get("ContactDataRequestList") or [{}]
        first_of_call[len(seen) - 1] = str(items[0].get("RequestIdentifier", ""))
        return original(self, instance_id, body, instance_exists=instance_exists)

    monkeypatch.setattr(FakeConnect, "handle", handle)
    first_of_call.clear()
    return seen


# The RequestIdentifier of each arrival's first contact, by arrival index (p-N: worker N // each).
first_of_call: dict[int, str] = {}


@pytest.fixture
def double(moto_server) -> Iterator[ConnectDouble]:
    client = boto3.client("connect", region_name="us-east-1", endpoint_url=moto_server)
    made = ConnectDouble.create(client)
    made.fake.reset_faults()
    yield made
    made.fake.reset_faults()


@contextlib.contextmanager
def fleet(
    double: ConnectDouble, endpoint: str, mode: str, *, workers: int, each: int,
    redis_url: str | None = None, rate: float = 10.0,
) -> Iterator[list[subprocess.Popen[str]]]:
    """Start ``workers`` processes, release them together, and wait for them to end."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    processes = []
    for n in range(workers):
        command = [
            sys.executable, "-m", "tests.faults.fleet_worker", "--endpoint", endpoint,
            "--instance-id", double.instance_id, "--start", str(n * each), "--count",
            str(each), "--mode", mode, "--rate", str(rate),
        ]
        if redis_url is not None:
            command += ["--redis-url", redis_url]
        processes.append(subprocess.Popen(  # noqa: S603 - our own interpreter and module
            command, cwd=ROOT, env=env, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        ))
    try:
        for process in processes:
            assert process.stdout is not None
            assert process.stdout.readline().strip() == "ready"
        for process in processes:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        yield processes
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.communicate()


def finish(processes: list[subprocess.Popen[str]]) -> list[tuple[dict[str, Any], str]]:
    """Each worker's report and stderr, once it has ended."""
    reports = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err[-2000:]
        reports.append((json.loads(out.strip().splitlines()[-1]), err))
    return reports


def busiest_second(times: list[float]) -> int:
    """The most calls in any window of one second."""
    times = sorted(times)
    most, first = 0, 0
    for last, at in enumerate(times):
        while at - times[first] >= 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


def test_workers_sharing_a_rate_never_exceed_rate_plus_burst_in_any_second(
    double, moto_server, redis_url, arrivals
):
    with fleet(double, moto_server, "shared", workers=3, each=300, redis_url=redis_url,
               rate=10) as processes:
        reports = finish(processes)
    times = [at for at, instance in arrivals if instance == double.instance_id]
    assert len(times) == len(double.calls) == 36
    assert busiest_second(times) <= 10 + 1, "rate 10 and burst 1, counted by the service"
    assert len(double.contacts) == 900
    assert double.duplicates() == {}
    assert all(report["created"] == 300 and report["shared"] for report, _err in reports)
    # Spread over the fleet, not one process after another.
    elapsed = max(t for t in times) - min(t for t in times)
    assert elapsed >= 35 / 10 - 0.1


def test_a_throttle_seen_by_one_process_slows_the_others(
    double, moto_server, redis_url, arrivals
):
    # This test process is one member of the fleet: it meets throttles, and the worker,
    # another process, must slow down although it met none itself.
    here = RedisRateLimiter.from_url(redis_url, key=KEY)
    with fleet(double, moto_server, "shared-adaptive", workers=1, each=1000,
               redis_url=redis_url) as processes:
        deadline = time.monotonic() + 20
        while len(double.calls) < 10:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        state = redis.Redis.from_url(redis_url)
        for _ in range(12):  # twelve epochs of throttles: 10/s * 0.85**12 = 1.4/s
            here.feedback(int(state.hget(KEY, "epoch") or 0), throttled=True)
        slowed_at = time.monotonic()
        time.sleep(3)
        (report, _err), = finish(processes)
    assert here.rate < 2 or float(state.hget(KEY, "rate")) < 2
    after = [at for at, i in arrivals if i == double.instance_id and at > slowed_at]
    in_three_seconds = sum(at <= slowed_at + 3 for at in after)
    # At most the 4 calls already booked at the old pace, then about 1.4 calls/s.
    assert in_three_seconds <= 4 + 6, f"{in_three_seconds} calls in 3 s after the slow-down"
    assert len(after) > in_three_seconds, "the worker went on"
    assert report["created"] == 1000
    assert double.duplicates() == {}


def test_redis_stopped_and_restarted_mid_run(
    double, moto_server, redis_server, redis_url, arrivals
):
    stopped = threading.Event()

    def outage() -> None:
        deadline = time.monotonic() + 20
        while len(double.calls) < 8 and time.monotonic() < deadline:
            time.sleep(0.01)
        redis_server.stop()
        stopped.set()
        time.sleep(1.0)
        redis_server.ensure_running()

    with fleet(double, moto_server, "shared", workers=3, each=1000, redis_url=redis_url,
               rate=10) as processes:
        thread = threading.Thread(target=outage)
        thread.start()
        reports = finish(processes)
        thread.join()
    assert stopped.is_set()
    assert len(double.contacts) == 3000
    assert double.duplicates() == {}
    for report, err in reports:
        assert report["created"] == 1000
        assert err.count("unreachable") == 1, err[-2000:]  # the fallback, logged once
        assert "answers again" in err, err[-3000:]
        assert report["shared"]  # back on Redis by the end
    # While Redis was away each process paced itself at the rate, and no switch (to the
    # fallback or back) added a burst: each process's calls stay about 1/rate apart (the
    # fleet's are, on Redis). Arrival times jitter by a few ms, hence half an interval.
    by_worker: dict[int, list[float]] = {}
    for index, (at, instance) in enumerate(list(arrivals)):
        if instance == double.instance_id:
            worker = int(first_of_call[index].removeprefix("p-")) // 1000
            by_worker.setdefault(worker, []).append(at)
    assert sorted(by_worker) == [0, 1, 2]
    for times in by_worker.values():
        times.sort()
        closest = min(b - a for a, b in itertools.pairwise(times))
        assert closest >= 0.05, f"two calls of one process {closest * 1000:.0f} ms apart"


def test_two_cli_runs_with_redis_url_share_one_pace(
    double, moto_server, redis_url, arrivals, tmp_path
):
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    runs = []
    for n in range(2):
        source = tmp_path / f"part{n}.csv"
        source.write_text("phone,campaign_id,queue_id\n" + "".join(
            f"+1415{n}{i:06d},c,q\n" for i in range(250)
        ))
        runs.append(subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "connect_batch", "put", str(source), "--endpoint-url",
             moto_server, "--region", "us-east-1", "--instance-id", double.instance_id,
             "--redis-url", redis_url, "--max-rps", "10", "--concurrency", "4", "--quiet"],
            cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        ))
    for run in runs:
        _out, err = run.communicate(timeout=120)
        assert run.returncode == 0, err[-2000:]
    times = [at for at, instance in arrivals if instance == double.instance_id]
    assert len(times) == 20
    assert busiest_second(times) <= 10 + 1  # two processes, one pace
    assert len(double.contacts) == 500
    shared = redis.Redis.from_url(redis_url).hgetall(KEY)
    # The account's key, read from STS; paced a hair under --max-rps (headroom 0.98).
    assert float(shared[b"rate"]) == pytest.approx(9.8)
