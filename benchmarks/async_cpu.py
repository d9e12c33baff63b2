"""CPU per request of the async client against the sync one, over real HTTP on loopback.

The campaigns double (moto's server) runs in a process of its own, so this process's CPU
time (``time.process_time``) is the client's alone: the library, botocore, and the HTTP
stack (urllib3 on threads for the sync client, aiohttp on one event loop for the async
one). Each round puts the same requests to outbound campaigns v2 with 8 calls in flight and
no pacing; rounds alternate, and the medians are reported with their ratio.

    python -m benchmarks.async_cpu             # 5,000 requests a round, 5 rounds
    python -m benchmarks.async_cpu --quick     # a smoke run
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import subprocess
import sys
import time
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
        sides: dict[str, list[float]] = {"sync": [], "async": []}
        runs: dict[str, Any] = {"sync": sync_round, "async": async_round}
        start = 0
        for number in range(rounds + 1):  # the first round of each side warms up
            for side in ("sync", "async") if number % 2 else ("async", "sync"):
                spent = runs[side](endpoint, campaign_id, requests(count, start))
                start += count
                if number:
                    sides[side].append(spent / count * 1e6)
    finally:
        if server.stdin is not None:
            server.stdin.close()
        server.wait(timeout=30)
    sync_us, async_us = (statistics.median(sides[s]) for s in ("sync", "async"))
    print(f"PutOutboundRequestBatch over loopback HTTP, {count} requests a round, "
          f"{CONCURRENCY} calls in flight, {rounds} rounds (medians)")
    print("| client | CPU µs per request | rounds |")
    print("|---|---|---|")
    for side, median in (("sync (boto3, urllib3, threads)", sync_us),
                         ("async (aiobotocore, aiohttp, one loop)", async_us)):
        key = side.split()[0]
        shown = ", ".join(f"{v:.0f}" for v in sides[key])
        print(f"| {side} | {median:.0f} | {shown} |")
    print(f"async / sync: {async_us / sync_us:.2f}")


if __name__ == "__main__":
    main()
