"""Goodput against a simulated BatchPutContact quota, over real HTTP on loopback.

The double (moto's server, in this process) answers each call 30 ms late and throttles
beyond 10 calls/s with a burst of 15: the default quota, 250 contacts/s. Each mode puts
the same number of contacts with 8 calls in flight and reports contacts created per
second as a fraction of the quota, and the share of calls that were throttled.

    python -m benchmarks.goodput                  # 30 s of quota per mode
    python -m benchmarks.goodput --quick          # 3 s per mode, to see that it runs
"""

from __future__ import annotations

import argparse
import concurrent.futures
import logging
import queue
import time
import uuid
from typing import Any

import boto3
from botocore.config import Config

from connect_batch import ContactBatchClient, ContactRequest, Endpoint
from connect_batch.testing import ConnectDouble, dummy_credentials, moto_server

RATE, BURST, LATENCY, CONCURRENCY = 10.0, 15, 0.03, 8
QUOTA_CONTACTS = RATE * 25


def contacts(count: int) -> list[ContactRequest]:
    return [
        ContactRequest(
            customer_endpoint=Endpoint.phone(f"+1415{i:07d}"),
            campaign_id="campaign-1",
            queue_id="queue-1",
        )
        for i in range(count)
    ]


def library(client: Any, instance_id: str, count: int, rate: float | None) -> None:
    ContactBatchClient(
        client,
        instance_id=instance_id,
        concurrency=CONCURRENCY,
        max_requests_per_second=rate,
        max_attempts=10,
    ).put_contacts(contacts(count))


def boto3_loop(client: Any, instance_id: str, count: int, _rate: float | None) -> None:
    """Eight threads, each taking the next 25 and calling until the call succeeds."""
    work: queue.Queue[list[dict[str, Any]]] = queue.Queue()
    items = [c.to_api(uuid.uuid4().hex) for c in contacts(count)]
    for start in range(0, count, 25):
        work.put(items[start : start + 25])

    def worker() -> None:
        while True:
            try:
                batch = work.get_nowait()
            except queue.Empty:
                return
            token = str(uuid.uuid4())
            while True:
                try:
                    client.batch_put_contact(
                        InstanceId=instance_id, ClientToken=token, ContactDataRequestList=batch
                    )
                    break
                except client.exceptions.LimitExceededException:
                    continue  # botocore's retries ran out; a plain loop tries again

    with concurrent.futures.ThreadPoolExecutor(CONCURRENCY) as pool:
        for future in [pool.submit(worker) for _ in range(CONCURRENCY)]:
            future.result()


MODES = [
    ("connect_batch, max_requests_per_second=10", library, None, 10.0),
    ("connect_batch, no rate given (adaptive)", library, None, None),
    ("boto3 loop, legacy retries", boto3_loop, "legacy", None),
    ("boto3 loop, standard retries", boto3_loop, "standard", None),
    ("boto3 loop, adaptive retries", boto3_loop, "adaptive", None),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=30.0, help="seconds of quota per mode")
    parser.add_argument("--quick", action="store_true", help="3 s per mode")
    args = parser.parse_args()
    seconds = 3.0 if args.quick else args.seconds
    count = int(seconds * QUOTA_CONTACTS)
    logging.getLogger("connect_batch").setLevel(logging.ERROR)
    print(f"simulated quota: {RATE:g} calls/s, burst {BURST}, {LATENCY * 1000:g} ms latency; "
          f"{count} contacts per mode, {CONCURRENCY} calls in flight")
    print("| mode | contacts/s | fraction of quota | calls | throttled |")
    print("|---|---|---|---|---|")
    with moto_server() as endpoint, dummy_credentials():
        for name, run, retry_mode, rate in MODES:
            config = Config(
                retries={"mode": retry_mode or "legacy"},
                max_pool_connections=CONCURRENCY * 2,
            )
            client = boto3.client(
                "connect",
                region_name="us-east-1",
                endpoint_url=endpoint,
                config=config,
            )
            double = ConnectDouble.create(client)
            double.fake.reset_faults()
            double.fake.latency = LATENCY
            time.sleep(2)  # let any earlier mode's calls drain
            double.fake.throttle(rate=RATE, burst=BURST)
            start = time.monotonic()
            run(client, double.instance_id, count, rate)
            elapsed = time.monotonic() - start
            calls = double.calls
            throttled = sum(c.outcome == "throttled" for c in calls)
            created = len(double.contacts)
            assert created == count, (name, created)
            per_second = created / elapsed
            print(f"| {name} | {per_second:.1f} | {per_second / QUOTA_CONTACTS:.3f} | "
                  f"{len(calls)} | {throttled / len(calls):.1%} |")
            double.fake.reset_faults()


if __name__ == "__main__":
    main()
