"""Goodput against a simulated BatchPutContact quota, over real HTTP on loopback.

The double (moto's server, in this process) answers each call 30 ms late and throttles
beyond 10 calls/s with a burst of 15: the default quota, 250 contacts/s. Each mode puts
the same number of contacts with 8 calls in flight and reports contacts created per
second as a fraction of the quota, and the share of calls that were throttled.

    python -m benchmarks.goodput                  # 30 s of quota per mode
    python -m benchmarks.goodput --quick          # 3 s per mode, to see that it runs
    python -m benchmarks.goodput --api v2 --ceiling 20   # find an unknown ceiling (_ceiling)

``--api v2`` runs the same modes against outbound campaigns v2 ``PutOutboundRequestBatch``
(``FakeCampaigns``) at the same simulated quota, so the figures compare with
BatchPutContact's (no quota is documented for it), plus the library's pace with no rate
given, which starts at ``DEFAULT_CAMPAIGN_RATE`` (2 calls/s) and probes upward, and the
async client (``AsyncOutboundRequestBatchClient`` on aiobotocore) at the same settings. It also
counts what the service created against the inputs, and duplicates, from the fake's ledger.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import datetime
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.config import Config

from benchmarks._ceiling import run_ceiling
from connect_batch import (
    AdaptiveRateLimiter,
    AsyncOutboundRequestBatchClient,
    ContactBatchClient,
    ContactRequest,
    Endpoint,
    OutboundRequest,
    OutboundRequestBatchClient,
)
from connect_batch.testing import ConnectDouble, FakeCampaigns, dummy_credentials, moto_server

RATE, BURST, LATENCY, CONCURRENCY = 10.0, 15, 0.03, 8
QUOTA_CONTACTS = RATE * 25


def http_client(service: str, endpoint: str, retry_mode: str | None) -> Any:
    """A boto3 client of ``service`` on the double's ``endpoint``, with botocore's
    ``retry_mode`` (legacy when none) and a connection for every call in flight."""
    config = Config(
        retries={"mode": retry_mode or "legacy"},
        max_pool_connections=CONCURRENCY * 2,
    )
    return boto3.client(service, region_name="us-east-1", endpoint_url=endpoint, config=config)


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
    put_by_hand(client, instance_id, contacts(count), CONCURRENCY)


def put_by_hand(
    client: Any, instance_id: str, requests: list[ContactRequest], threads: int
) -> None:
    """What a user would otherwise write: ``threads`` threads, each taking the next 25 and
    calling until the call succeeds (botocore's retry mode is the client's)."""
    work: queue.Queue[list[dict[str, Any]]] = queue.Queue()
    items = [c.to_api(c.request_identifier or uuid.uuid4().hex) for c in requests]
    for start in range(0, len(items), 25):
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

    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(worker) for _ in range(threads)]:
            future.result()


MODES = [
    ("connect_batch, max_requests_per_second=10", library, None, 10.0),
    ("connect_batch, no rate given (adaptive)", library, None, None),
    ("boto3 loop, legacy retries", boto3_loop, "legacy", None),
    ("boto3 loop, standard retries", boto3_loop, "standard", None),
    ("boto3 loop, adaptive retries", boto3_loop, "adaptive", None),
]


def run_contacts(seconds: float) -> None:
    count = int(seconds * QUOTA_CONTACTS)
    print(f"simulated quota: {RATE:g} calls/s, burst {BURST}, {LATENCY * 1000:g} ms latency; "
          f"{count} contacts per mode, {CONCURRENCY} calls in flight")
    print("| mode | contacts/s | fraction of quota | calls | throttled |")
    print("|---|---|---|---|---|")
    with moto_server() as endpoint, dummy_credentials():
        for name, run, retry_mode, rate in MODES:
            client = http_client("connect", endpoint, retry_mode)
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


# Outbound campaigns v2: PutOutboundRequestBatch against FakeCampaigns.

V2_MAX_ATTEMPTS = 10
# A pace at least this share of the simulated rate counts as "found" (the limiter moves in
# small steps and is never exactly at it).
FOUND = 0.95


def outbound_requests(count: int) -> list[OutboundRequest]:
    return [OutboundRequest.telephony(f"+1415{i:07d}") for i in range(count)]


class Pace:
    """Samples a limiter's pace while a run goes on: when it first came near the quota."""

    def __init__(self, limiter: AdaptiveRateLimiter) -> None:
        self.limiter = limiter
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> Pace:
        self._start = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while True:
            self.samples.append((time.monotonic() - self._start, self.limiter.rate))
            if self._stop.wait(0.05):
                return

    def found_after(self) -> float | None:
        """Seconds until the pace first reached ``FOUND`` of the simulated rate."""
        return next((t for t, rate in self.samples if rate >= FOUND * RATE), None)

    def every(self, step: float) -> list[tuple[float, float]]:
        """The pace every ``step`` seconds."""
        shown: list[tuple[float, float]] = []
        for t, rate in self.samples:
            if not shown or t >= shown[-1][0] + step:
                shown.append((step * round(t / step), rate))
        return shown


def library_v2(
    client: Any, campaign_id: str, count: int, rate: float | None, initial: float | None
) -> Pace:
    limiter = None if initial is None else AdaptiveRateLimiter(initial_rate=initial)
    batch_client = OutboundRequestBatchClient(
        client,
        campaign_id=campaign_id,
        concurrency=CONCURRENCY,
        max_requests_per_second=rate,
        rate_limiter=limiter,
        max_attempts=V2_MAX_ATTEMPTS,
    )
    assert isinstance(batch_client.rate_limiter, AdaptiveRateLimiter)
    with Pace(batch_client.rate_limiter) as pace:
        result = batch_client.put_requests(outbound_requests(count))
    assert result.all_succeeded, result.counts()
    return pace


def library_v2_async(
    client: Any, campaign_id: str, count: int, rate: float | None, initial: float | None
) -> Pace:
    """``library_v2`` with ``AsyncOutboundRequestBatchClient`` on aiobotocore, one loop."""
    limiter = None if initial is None else AdaptiveRateLimiter(initial_rate=initial)

    async def put() -> Pace:
        async with get_session().create_client(
            "connectcampaignsv2", region_name="us-east-1",
            endpoint_url=client.meta.endpoint_url,
            config=AioConfig(max_pool_connections=CONCURRENCY * 2),
        ) as aio:
            batch_client = AsyncOutboundRequestBatchClient(
                aio, campaign_id=campaign_id, concurrency=CONCURRENCY,
                max_requests_per_second=rate, rate_limiter=limiter,
                max_attempts=V2_MAX_ATTEMPTS,
            )
            assert isinstance(batch_client.async_rate_limiter, AdaptiveRateLimiter)
            with Pace(batch_client.async_rate_limiter) as pace:
                result = await batch_client.put_requests(outbound_requests(count))
            assert result.all_succeeded, result.counts()
            return pace

    return asyncio.run(put())


def boto3_loop_v2(
    client: Any, campaign_id: str, count: int, _rate: float | None, _initial: float | None
) -> None:
    """Eight threads, each taking the next 25 and calling until the call succeeds.

    Each request carries its own clientToken, so calling again cannot create it twice.
    """
    expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=10)
    work: queue.Queue[list[dict[str, Any]]] = queue.Queue()
    items = [
        {
            "clientToken": uuid.uuid4().hex,
            "expirationTime": expires,
            "channelSubtypeParameters": {
                "telephony": {"destinationPhoneNumber": f"+1415{i:07d}", "attributes": {}}
            },
        }
        for i in range(count)
    ]
    for start in range(0, count, 25):
        work.put(items[start : start + 25])

    def worker() -> None:
        while True:
            try:
                batch = work.get_nowait()
            except queue.Empty:
                return
            while True:
                try:
                    answer = client.put_outbound_request_batch(
                        id=campaign_id, outboundRequests=batch
                    )
                    assert not answer["failedRequests"], answer["failedRequests"]
                    break
                except client.exceptions.ThrottlingException:
                    continue  # botocore's retries ran out; a plain loop tries again

    with concurrent.futures.ThreadPoolExecutor(CONCURRENCY) as pool:
        for future in [pool.submit(worker) for _ in range(CONCURRENCY)]:
            future.result()


V2Run = Callable[[Any, str, int, float | None, float | None], Pace | None]
# name, run, botocore retry mode, max_requests_per_second, the limiter's initial rate
V2_MODES: list[tuple[str, V2Run, str | None, float | None, float | None]] = [
    ("connect_batch, max_requests_per_second=10", library_v2, None, 10.0, None),
    ("connect_batch, no rate given (adaptive from the default, 2/s)", library_v2, None,
     None, None),
    ("connect_batch, AdaptiveRateLimiter(initial_rate=10)", library_v2, None, None, 10.0),
    ("connect_batch async, max_requests_per_second=10", library_v2_async, None, 10.0, None),
    ("connect_batch async, AdaptiveRateLimiter(initial_rate=10)", library_v2_async, None,
     None, 10.0),
    ("boto3 loop, legacy retries", boto3_loop_v2, "legacy", None, None),
    ("boto3 loop, standard retries", boto3_loop_v2, "standard", None, None),
    ("boto3 loop, adaptive retries", boto3_loop_v2, "adaptive", None, None),
]


def _mine(campaign_id: str, fake: FakeCampaigns) -> Iterator[Any]:
    return (c for c in fake.calls if c.campaign_id == campaign_id)


def run_v2(seconds: float, drain: float) -> None:
    count = int(seconds * QUOTA_CONTACTS)
    print(f"PutOutboundRequestBatch, simulated quota: {RATE:g} calls/s, burst {BURST}, "
          f"{LATENCY * 1000:g} ms latency; {count} requests per mode, {CONCURRENCY} calls in "
          "flight")
    print("| mode | seconds | requests/s | fraction of quota | calls | throttled "
          "| created / inputs | duplicates |")
    print("|---|---|---|---|---|---|---|---|")
    paces: list[tuple[str, Pace]] = []
    with moto_server() as endpoint, dummy_credentials():
        fake = FakeCampaigns.of()
        for name, run, retry_mode, rate, initial in V2_MODES:
            client = http_client("connectcampaignsv2", endpoint, retry_mode)
            campaign_id = fake.create_campaign_v2(state="Running")
            fake.reset_faults()
            time.sleep(drain)  # let any earlier mode's calls drain
            fake.latency = LATENCY
            fake.throttle(rate=RATE, burst=BURST)
            start = time.monotonic()
            pace = run(client, campaign_id, count, rate, initial)
            elapsed = time.monotonic() - start
            fake.reset_faults()
            calls = list(_mine(campaign_id, fake))
            throttled = sum(c.outcome == "throttled" for c in calls)
            created = sum(r.campaign_id == campaign_id for r in fake.requests)
            prefix = f"{campaign_id}:"
            duplicates = sum(n - 1 for k, n in fake.duplicates().items() if k.startswith(prefix))
            per_second = created / elapsed
            print(f"| {name} | {elapsed:.1f} | {per_second:.1f} | "
                  f"{per_second / QUOTA_CONTACTS:.3f} | {len(calls)} | "
                  f"{throttled / len(calls):.1%} | {created} / {count} | {duplicates} |")
            if pace is not None and rate is None:
                paces.append((name, pace))
    for name, pace in paces:
        found = pace.found_after()
        reached = "never" if found is None else f"after {found:.1f} s"
        trail = ", ".join(f"{t:.0f} s: {r:.1f}" for t, r in pace.every(5.0))
        print(f"\n{name}: pace first at >= {FOUND * RATE:g} calls/s {reached}; "
              f"pace (calls/s) by time: {trail}; at the end {pace.samples[-1][1]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--api", choices=("contacts", "v2"), default="contacts",
                        help="BatchPutContact (contacts, the default) or PutOutboundRequestBatch")
    parser.add_argument("--seconds", type=float, default=30.0, help="seconds of quota per mode")
    parser.add_argument("--quick", action="store_true", help="3 s per mode")
    parser.add_argument("--ceiling", type=float,
                        help="v2 only: an unknown ceiling of this many calls/s (burst 20) to "
                        "find, beside the known rate and botocore's adaptive mode")
    parser.add_argument("--requests", type=int, default=12_500,
                        help="with --ceiling: requests per mode")
    parser.add_argument("--runs", type=int, default=3,
                        help="with --ceiling: runs at the known rate")
    args = parser.parse_args()
    seconds = 3.0 if args.quick else args.seconds
    logging.getLogger("connect_batch").setLevel(logging.ERROR)
    if args.ceiling is not None:
        if args.api != "v2":
            parser.error("--ceiling is for --api v2")
        run_ceiling(args.ceiling, args.requests, args.runs, http_client, boto3_loop_v2)
    elif args.api == "v2":
        run_v2(seconds, drain=0.5 if args.quick else 2.0)
    else:
        run_contacts(seconds)


if __name__ == "__main__":
    main()
