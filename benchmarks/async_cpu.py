"""CPU per request of the async client against the sync one, over real HTTP on loopback.

The campaigns double (moto's server) runs in a process of its own, so this process's CPU
time (``time.process_time``) is the client's alone: the library, botocore, and the HTTP
stack (urllib3 on threads for the sync client, aiohttp on one event loop for the async
one). Each round puts the same requests to outbound campaigns v2 with 8 calls in flight and
no pacing; each client is measured against a hand-written loop on its own transport (boto3
on 8 threads; aiobotocore on 8 tasks) that sends the same calls with a token per request.
Rounds alternate, and the medians are reported with their ratios.

    python -m benchmarks.async_cpu             # 5,000 requests a round, 5 rounds
    python -m benchmarks.async_cpu --quick     # a smoke run
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import datetime
import logging
import os
import statistics
import subprocess
import sys
import time
import uuid
from typing import Any

import boto3
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.config import Config

from connect_batch import (
    AsyncOutboundRequestBatchClient,
    OutboundRequest,
    OutboundRequestBatchClient,
)

CONCURRENCY = 8
# The double's server, in its own process: prints its endpoint and campaign, then serves
# until its stdin closes.
SERVER = """
import sys
from connect_batch.testing import FakeCampaigns, dummy_credentials, moto_server
with moto_server() as endpoint, dummy_credentials():
    print(endpoint, FakeCampaigns.of().create_campaign_v2(state="Running"), flush=True)
    sys.stdin.read()
"""


def requests(count: int, start: int) -> list[OutboundRequest]:
    return [OutboundRequest.telephony(f"+1415{i:07d}") for i in range(start, start + count)]


def sync_round(endpoint: str, campaign_id: str, inputs: list[OutboundRequest]) -> float:
    client = boto3.client(
        "connectcampaignsv2", region_name="us-east-1", endpoint_url=endpoint,
        config=Config(max_pool_connections=CONCURRENCY * 2),
    )
    batch_client = OutboundRequestBatchClient(
        client, campaign_id=campaign_id, concurrency=CONCURRENCY,
        max_requests_per_second=1_000_000,
    )
    started = time.process_time()
    result = batch_client.put_requests(inputs)
    spent = time.process_time() - started
    assert result.all_succeeded, result.counts()
    return spent


def async_round(endpoint: str, campaign_id: str, inputs: list[OutboundRequest]) -> float:
    async def put() -> float:
        async with get_session().create_client(
            "connectcampaignsv2", region_name="us-east-1", endpoint_url=endpoint,
            config=AioConfig(max_pool_connections=CONCURRENCY * 2),
        ) as aio:
            batch_client = AsyncOutboundRequestBatchClient(
                aio, campaign_id=campaign_id, concurrency=CONCURRENCY,
                max_requests_per_second=1_000_000,
            )
            started = time.process_time()
            result = await batch_client.put_requests(inputs)
            spent = time.process_time() - started
            assert result.all_succeeded, result.counts()
            return spent

    return asyncio.run(put())


def _bodies(inputs: list[OutboundRequest]) -> list[list[dict[str, Any]]]:
    """What a careful hand-written loop sends: 25 requests a call, a token each."""
    expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=10)
    items = [
        {
            "clientToken": uuid.uuid4().hex,
            "expirationTime": expires,
            "channelSubtypeParameters": {
                "telephony": {"destinationPhoneNumber": r.destination, "attributes": {}}
            },
        }
        for r in inputs
    ]
    return [items[i : i + 25] for i in range(0, len(items), 25)]


def boto3_loop_round(endpoint: str, campaign_id: str, inputs: list[OutboundRequest]) -> float:
    """The baseline for the sync client: 8 threads calling boto3, no retries of its own."""
    client = boto3.client(
        "connectcampaignsv2", region_name="us-east-1", endpoint_url=endpoint,
        config=Config(max_pool_connections=CONCURRENCY * 2),
    )
    started = time.process_time()
    with concurrent.futures.ThreadPoolExecutor(CONCURRENCY) as pool:
        answers = list(pool.map(
            lambda body: client.put_outbound_request_batch(id=campaign_id, outboundRequests=body),
            _bodies(inputs),
        ))
    spent = time.process_time() - started
    assert sum(len(a["successfulRequests"]) for a in answers) == len(inputs)
    return spent


def aiobotocore_loop_round(
    endpoint: str, campaign_id: str, inputs: list[OutboundRequest]
) -> float:
    """The baseline for the async client: 8 tasks calling aiobotocore, no retries."""

    async def put() -> float:
        async with get_session().create_client(
            "connectcampaignsv2", region_name="us-east-1", endpoint_url=endpoint,
            config=AioConfig(max_pool_connections=CONCURRENCY * 2),
        ) as aio:
            started = time.process_time()
            bodies = iter(_bodies(inputs))
            created = 0

            async def worker() -> None:
                nonlocal created
                for body in bodies:
                    answer = await aio.put_outbound_request_batch(
                        id=campaign_id, outboundRequests=body  # type: ignore[arg-type]
                    )
                    created += len(answer["successfulRequests"])

            await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
            spent = time.process_time() - started
            assert created == len(inputs)
            return spent

    return asyncio.run(put())


SIDES: dict[str, tuple[str, Any]] = {
    "boto3 loop": ("hand-written: boto3, 8 threads", boto3_loop_round),
    "sync": ("OutboundRequestBatchClient (boto3, urllib3, threads)", sync_round),
    "aiobotocore loop": ("hand-written: aiobotocore, 8 tasks", aiobotocore_loop_round),
    "async": ("AsyncOutboundRequestBatchClient (aiobotocore, aiohttp)", async_round),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=5000, help="requests per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="500 requests, 2 rounds")
    args = parser.parse_args()
    count, rounds = (500, 2) if args.quick else (args.requests, args.rounds)
    logging.getLogger("connect_batch").setLevel(logging.ERROR)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    server = subprocess.Popen(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        endpoint, campaign_id = server.stdout.readline().split()
        sides: dict[str, list[float]] = {side: [] for side in SIDES}
        start = 0
        for number in range(rounds + 1):  # the first round of each side warms up
            order = list(SIDES) if number % 2 else list(reversed(SIDES))
            for side in order:
                spent = SIDES[side][1](endpoint, campaign_id, requests(count, start))
                start += count
                if number:
                    sides[side].append(spent / count * 1e6)
    finally:
        if server.stdin is not None:
            server.stdin.close()
        server.wait(timeout=30)
    median = {side: statistics.median(values) for side, values in sides.items()}
    print(f"PutOutboundRequestBatch over loopback HTTP, {count} requests a round, "
          f"{CONCURRENCY} calls in flight, {rounds} rounds (medians)")
    print("| side | CPU µs per request | rounds |")
    print("|---|---|---|")
    for side, (name, _) in SIDES.items():
        shown = ", ".join(f"{v:.0f}" for v in sides[side])
        print(f"| {name} | {median[side]:.0f} | {shown} |")
    print(f"sync client / boto3 loop:        {median['sync'] / median['boto3 loop']:.2f}")
    print(f"async client / aiobotocore loop: {median['async'] / median['aiobotocore loop']:.2f}")
    print(f"async client / sync client:      {median['async'] / median['sync']:.2f}")


if __name__ == "__main__":
    main()
