"""A fleet of worker processes on one simulated quota, with and without a shared limiter.

The double (moto's server, in this process) answers each BatchPutContact call 30 ms late and
throttles beyond 10 calls/s with a burst of 15, the default quota. Four worker processes
with four calls in flight each put 6,000 contacts in all, in each mode:

1. each process with its own adaptive limiter (the library's default);
2. one ``RedisRateLimiter`` shared by all four at the known rate (10 calls/s);
3. one adaptive ``RedisRateLimiter`` shared by all four (no rate given);
4. a plain boto3 loop with botocore's ``adaptive`` retry mode in each process.

It reports goodput (contacts created per second as a fraction of the quota's 250), the
share of calls throttled, and duplicates (contacts created twice), counted on the double's
side; then what the shared limiter costs per call on loopback (one ``acquire`` and one
``feedback``, both Redis round trips) against the in-process limiter, in the same run.
It needs ``redis-server`` (Debian's package) and starts its own on a free port.

    python -m benchmarks.fleet            # 6,000 contacts per mode (about 30 s each)
    python -m benchmarks.fleet --quick    # 1,200 per mode, to see that it runs
    python -m benchmarks.fleet --ceiling 20   # v2: a fleet finds an unknown 20 calls/s

With ``--ceiling R`` the four workers put outbound campaigns v2 requests (12,500 in all,
``--requests``) into one campaign of ``FakeCampaigns``, which throttles beyond ``R`` calls/s
with a burst of 20: one adaptive ``RedisRateLimiter`` (no rate: the fleet slow-starts once)
and, beside it, the same fleet told the rate, three runs. It reports when the fleet first
had 0.9 R calls accepted within one second, the run as a fraction of the ideal at the
ceiling, and the share of calls throttled, from the double's ledger (sampled as it fills).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import pathlib
import subprocess
import sys
import threading
import time

import boto3

from connect_batch import AdaptiveRateLimiter, RedisRateLimiter
from connect_batch.testing import ConnectDouble, FakeCampaigns, dummy_credentials, moto_server
from tests.redis_server import RedisServer

RATE, BURST, LATENCY = 10.0, 15, 0.03
WORKERS, CONCURRENCY = 4, 4
QUOTA_CONTACTS = RATE * 25
ROOT = pathlib.Path(__file__).resolve().parents[1]
MODES = [
    ("own adaptive limiter per process", "own"),
    ("shared RedisRateLimiter, rate 10", "shared"),
    ("shared RedisRateLimiter, adaptive", "shared-adaptive"),
    ("boto3 loop, botocore adaptive retries", "botocore"),
]


def start_workers(endpoint: str, redis: RedisServer, mode: str, total: int, *, rate: float,
                  target: list[str]) -> list[subprocess.Popen[str]]:
    """``WORKERS`` worker processes putting ``total`` inputs in all to ``target`` (their
    instance or campaign options), each started and ready, waiting for ``go``."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    each = total // WORKERS
    workers = [
        subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "tests.faults.fleet_worker", "--endpoint", endpoint,
             *target, "--start", str(n * each), "--count", str(each), "--concurrency",
             str(CONCURRENCY), "--mode", mode, "--redis-url", redis.url, "--rate", str(rate)],
            cwd=ROOT, env=env, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        for n in range(WORKERS)
    ]
    for worker in workers:
        assert worker.stdout is not None
        assert worker.stdout.readline().strip() == "ready"
    return workers


def go(workers: list[subprocess.Popen[str]]) -> None:
    """Let every ready worker start, as near together as the pipes allow."""
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write("go\n")
        worker.stdin.flush()


def finish(workers: list[subprocess.Popen[str]], mode: str) -> list[str]:
    """Each worker's output once it exits; a failed worker ends the benchmark."""
    outputs = []
    for worker in workers:
        out, err = worker.communicate(timeout=600)
        if worker.returncode != 0:
            raise SystemExit(f"a {mode} worker failed:\n{err[-2000:]}")
        outputs.append(out)
    return outputs


def run_mode(endpoint: str, redis: RedisServer, mode: str, total: int) -> str:
    client = boto3.client("connect", region_name="us-east-1", endpoint_url=endpoint)
    double = ConnectDouble.create(client)
    double.fake.reset_faults()
    double.fake.latency = LATENCY
    redis.client().flushall()
    time.sleep(2)  # the bucket refills after the mode before
    double.fake.throttle(rate=RATE, burst=BURST)
    workers = start_workers(endpoint, redis, mode, total, rate=RATE,
                            target=["--instance-id", double.instance_id])
    start = time.monotonic()
    go(workers)
    reports = [json.loads(out.strip().splitlines()[-1]) for out in finish(workers, mode)]
    elapsed = time.monotonic() - start
    calls = double.calls
    throttled = sum(c.outcome == "throttled" for c in calls)
    created = len(double.contacts)
    duplicates = sum(n - 1 for n in double.duplicates().values())
    failed = sum(r["failed"] for r in reports)
    double.fake.reset_faults()
    return (f"{created / elapsed:.1f} | {created / elapsed / QUOTA_CONTACTS:.3f} | "
            f"{len(calls)} | {throttled / len(calls):.1%} | {duplicates} | {failed}")


def overhead(redis: RedisServer, calls: int) -> tuple[float, float]:
    """Microseconds per call (acquire + feedback) of the Redis limiter and the in-process
    one, at a rate high enough that neither waits."""
    redis.client().flushall()
    shared = RedisRateLimiter.from_url(redis.url, key="bench:overhead", rate=1e9)
    local = AdaptiveRateLimiter(max_rate=1e9)
    results = []
    for limiter in (shared, local):
        limiter.feedback(limiter.acquire() or 0, throttled=False)  # warm: script loaded
        start = time.perf_counter()
        for _ in range(calls):
            limiter.feedback(limiter.acquire() or 0, throttled=False)
        results.append((time.perf_counter() - start) / calls * 1e6)
    return results[0], results[1]


def run_v2(endpoint: str, redis: RedisServer, ceiling: float, requests: int, *,
           mode: str, trail: list[str]) -> str:
    """One v2 fleet run; its row's cells."""
    fake = FakeCampaigns.of()
    campaign_id = fake.create_campaign_v2(state="Running")
    fake.reset_faults()
    redis.client().flushall()
    time.sleep(2)  # the bucket refills after the run before
    fake.latency = LATENCY
    fake.throttle(rate=ceiling, burst=20)
    each = requests // WORKERS
    workers = start_workers(endpoint, redis, mode, requests, rate=ceiling,
                            target=["--instance-id", "-", "--campaign-id", campaign_id])
    samples: list[tuple[float, int]] = []
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            accepted = sum(c.outcome == "answered" for c in list(fake.calls)
                           if c.campaign_id == campaign_id)
            samples.append((time.monotonic() - start, accepted))

    start = time.monotonic()
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    go(workers)
    finish(workers, mode)
    elapsed = time.monotonic() - start
    done.set()
    sampler.join()
    calls = [c for c in fake.calls if c.campaign_id == campaign_id]
    throttled = sum(c.outcome == "throttled" for c in calls)
    created = sum(r.campaign_id == campaign_id for r in fake.requests)
    duplicates = sum(n - 1 for n in fake.duplicates(campaign_id).values())
    fake.reset_faults()
    # The run is first call to last on the double's side (the workers' start-up and exit
    # are not the limiter's), to the sampling's 50 ms.
    first = next(t for t, n in samples if n > 0)
    last = next((t for t, n in samples if n == samples[-1][1]), elapsed)
    span = last - first + LATENCY
    found = next((t - first for t, n in samples
                  for t0, n0 in samples if t - 1.0 <= t0 <= t - 0.95 and n - n0 >= 0.9 * ceiling),
                 None)
    by_second = [max((n for t, n in samples if t <= first + s), default=0)
                 for s in range(int(span) + 1)]
    per_second = [b - a for a, b in itertools.pairwise(by_second)]
    trail.append(f"{mode}: accepted per second {per_second[:12]}...; workers' own span "
                 f"{elapsed:.1f} s")
    ideal = requests / 25 / ceiling
    return (f"{'never' if found is None else f'{found:.1f} s'} | {span:.1f} | "
            f"{ideal / span:.3f} | {len(calls)} | {throttled / len(calls):.1%} | "
            f"{created} / {each * WORKERS} | {duplicates}")


def main_v2(ceiling: float, requests: int, runs: int) -> None:
    redis = RedisServer.start()
    try:
        print(f"PutOutboundRequestBatch; the double throttles beyond {ceiling:g} calls/s, burst "
              f"20, {LATENCY * 1000:g} ms latency; {WORKERS} processes x {CONCURRENCY} calls "
              f"in flight, {requests} requests per run; ideal {requests / 25 / ceiling:.1f} s")
        print(f"| fleet | first {0.9 * ceiling:g} calls/s at | seconds | fraction of ceiling "
              "| calls | throttled | created / inputs | duplicates |")
        print("|---|---|---|---|---|---|---|---|")
        with moto_server() as endpoint, dummy_credentials():
            trail: list[str] = []
            for n in range(runs):
                row = run_v2(endpoint, redis, ceiling, requests, mode="shared-adaptive",
                             trail=trail)
                print(f"| RedisRateLimiter, no rate (run {n + 1}) | {row} |", flush=True)
            for n in range(runs):
                row = run_v2(endpoint, redis, ceiling, requests, mode="shared", trail=trail)
                print(f"| RedisRateLimiter, rate {ceiling:g} (run {n + 1}) | {row} |",
                      flush=True)
        for line in trail:
            print(line)
    finally:
        redis.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--ceiling", type=float, help="v2: an unknown ceiling (calls/s)")
    parser.add_argument("--requests", type=int, default=12_500, help="with --ceiling")
    parser.add_argument("--runs", type=int, default=3, help="with --ceiling: runs per fleet")
    parser.add_argument("--modes", help="comma-separated: own, shared, shared-adaptive, "
                        "botocore (default: all)")
    args = parser.parse_args()
    if args.ceiling is not None:
        main_v2(args.ceiling, args.requests, args.runs)
        return
    chosen = set(args.modes.split(",")) if args.modes else {mode for _name, mode in MODES}
    total = 1200 if args.quick else 6000
    redis = RedisServer.start()
    try:
        print(f"simulated quota: {RATE:g} calls/s, burst {BURST}, {LATENCY * 1000:g} ms "
              f"latency; {WORKERS} processes x {CONCURRENCY} calls in flight, {total} "
              "contacts per mode")
        print("| mode | contacts/s | fraction of quota | calls | throttled | duplicates "
              "| failed |")
        print("|---|---|---|---|---|---|---|")
        with moto_server() as endpoint, dummy_credentials():
            for name, mode in MODES:
                if mode not in chosen:
                    continue
                print(f"| {name} | {run_mode(endpoint, redis, mode, total)} |", flush=True)
        shared_us, local_us = overhead(redis, 500 if args.quick else 5000)
        print(f"limiter cost per call (acquire + feedback): RedisRateLimiter "
              f"{shared_us:.0f} us, AdaptiveRateLimiter {local_us:.1f} us, on loopback")
    finally:
        redis.stop()


if __name__ == "__main__":
    main()
