"""Exercises the async API under ``mypy --strict``; checked, never run."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import AsyncIterator

from aiobotocore.session import get_session
from types_aiobotocore_connect import ConnectClient
from types_aiobotocore_connectcampaigns import ConnectCampaignServiceClient
from types_aiobotocore_connectcampaignsv2 import ConnectCampaignServiceV2Client

from connect_batch import (
    AdaptiveRateLimiter,
    AsyncBatcher,
    AsyncContactBatchClient,
    AsyncDialRequestBatchClient,
    AsyncOutboundRequestBatchClient,
    AsyncOutcomeStream,
    AsyncRateLimiter,
    AsyncRedisRateLimiter,
    BatchResult,
    ContactRequest,
    DialRequest,
    Endpoint,
    OutboundRequest,
    Outcome,
    result_of,
)


async def requests() -> AsyncIterator[OutboundRequest]:
    yield OutboundRequest.telephony("+14155550100")


async def use(
    v2: ConnectCampaignServiceV2Client,
    v1: ConnectCampaignServiceClient,
    connect: ConnectClient,
) -> None:
    limiter: AsyncRateLimiter = AdaptiveRateLimiter(max_rate=10)
    fleet: AsyncRateLimiter = AsyncRedisRateLimiter.from_url("redis://localhost", key="k")
    client = AsyncOutboundRequestBatchClient(
        v2, campaign_id="c", concurrency=8, job_key="job", rate_limiter=limiter
    )
    result: BatchResult[OutboundRequest] = await client.put_requests(
        requests(), deadline=datetime.timedelta(seconds=9)
    )
    print(result.counts())
    stream: AsyncOutcomeStream[OutboundRequest] = client.iter_put_requests([])
    async with stream:
        async for outcome in stream:
            first: Outcome[OutboundRequest] = outcome
            print(first.position)
    rest: BatchResult[OutboundRequest] = await stream.aclose()
    print(rest)
    task = asyncio.ensure_future(client.put_requests([]))
    try:
        await task
    except asyncio.CancelledError as cancelled:
        settled: BatchResult[object] | None = result_of(cancelled)
        print(settled)
        raise
    batcher: AsyncBatcher[OutboundRequest] = client.batcher()
    async with batcher as b:
        await b.put(OutboundRequest.telephony("+14155550101"))
    dials = AsyncDialRequestBatchClient(v1, campaign_id="c", rate_limiter=fleet)
    print(await dials.put_requests([DialRequest(phone_number="+14155550100")]))
    contacts = AsyncContactBatchClient(connect, instance_id="i", deadline=30.0)
    print(await contacts.put_contacts([
        ContactRequest(
            customer_endpoint=Endpoint.phone("+14155550100"), campaign_id="c", queue_id="q"
        )
    ]))


async def main() -> None:
    session = get_session()
    async with (
        session.create_client("connectcampaignsv2") as v2,
        session.create_client("connectcampaigns") as v1,
        session.create_client("connect") as connect,
    ):
        await use(v2, v1, connect)
