"""One worker of a fleet: puts its share of contacts through BatchPutContact on the double.

    python -m tests.faults.fleet_worker --endpoint URL --instance-id ID --start 0 \
        --count 1500 --mode shared --redis-url redis://127.0.0.1:6379/0

Modes: ``own`` (the library's in-process adaptive limiter), ``shared`` (one
``RedisRateLimiter`` at ``--rate``), ``shared-adaptive`` (one ``RedisRateLimiter``, no
rate), ``botocore`` (a plain boto3 loop with botocore's ``adaptive`` retry mode: what a user
would otherwise write). With ``--campaign-id`` it puts outbound campaigns v2 requests into
that campaign instead (modes ``shared``, ``shared-adaptive``), with the client's defaults
but ``--concurrency``: no rate given, a shared limiter slow-starts from the campaign pace.
It prints ``ready``, waits for a line on stdin (so that every worker starts together), puts
contacts ``p-START`` .. ``p-(START+COUNT-1)``, and prints a JSON line of what it saw. Its
log (WARNING and INFO of ``connect_batch``) goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from typing import Any

import boto3
from botocore.config import Config

from benchmarks.goodput import put_by_hand
from connect_batch import (
    ContactBatchClient,
    ContactRequest,
    Endpoint,
    OutboundRequest,
    OutboundRequestBatchClient,
    RedisRateLimiter,
    fleet_key,
)

OPERATION = "BatchPutContact"


def contacts(start: int, count: int) -> list[ContactRequest]:
    return [
        ContactRequest(
            customer_endpoint=Endpoint.phone(f"+1415{i:07d}"),
            campaign_id="campaign-1",
            queue_id="queue-1",
            request_identifier=f"p-{i}",
        )
        for i in range(start, start + count)
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--instance-id", required=True)
    parser.add_argument("--start", type=int, default=0)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--mode", choices=["own", "shared", "shared-adaptive", "botocore"],
                        required=True)
    parser.add_argument("--redis-url")
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--job-key")
    parser.add_argument("--campaign-id", help="v2: put outbound requests into this campaign")
    args = parser.parse_args()
    if args.campaign_id:
        put_v2(args)
        return
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("botocore").setLevel(logging.WARNING)
    retries = {"mode": "adaptive", "max_attempts": 10} if args.mode == "botocore" else None
    client = boto3.client(
        "connect", region_name="us-east-1", endpoint_url=args.endpoint,
        config=Config(retries=retries or {"mode": "standard"},
                      max_pool_connections=args.concurrency * 2),
    )
    items = contacts(args.start, args.count)
    limiter = None
    if args.mode in ("shared", "shared-adaptive"):
        limiter = RedisRateLimiter.from_url(
            args.redis_url, key=fleet_key("123456789012", "us-east-1", OPERATION),
            rate=args.rate if args.mode == "shared" else None,
        )
    # botocore's first call loads models and endpoint rules (about 100 ms): done here, so
    # that the timing measured is the limiter's, not a cold start's.
    client.describe_instance(InstanceId=args.instance_id)

    print("ready", flush=True)  # noqa: T201 - the protocol with the test
    sys.stdin.readline()
    started = time.monotonic()
    report: dict[str, Any] = {"mode": args.mode}
    if args.mode == "botocore":
        put_by_hand(client, args.instance_id, items, args.concurrency)
        report.update(created=len(items), failed=0)
    else:
        batch_client = ContactBatchClient(
            client, instance_id=args.instance_id, concurrency=args.concurrency,
            max_attempts=10, job_key=args.job_key, rate_limiter=limiter,
        )
        result = batch_client.put_contacts(items)
        report.update(
            created=len(result.succeeded),
            failed=len(result.failed),
            unknown=sum(f.outcome_unknown for f in result.failed),
            codes=sorted({str(f.code) for f in result.failed}),
        )
    report["elapsed"] = time.monotonic() - started
    report["shared"] = limiter.shared if limiter is not None else None
    print(json.dumps(report), flush=True)  # noqa: T201 - the report


def put_v2(args: argparse.Namespace) -> None:
    """The worker, for PutOutboundRequestBatch: ``shared`` or ``shared-adaptive`` only."""
    client = boto3.client(
        "connectcampaignsv2", region_name="us-east-1", endpoint_url=args.endpoint,
        config=Config(max_pool_connections=args.concurrency * 2),
    )
    limiter = RedisRateLimiter.from_url(
        args.redis_url, key=fleet_key("123456789012", "us-east-1", "PutOutboundRequestBatch"),
        rate=args.rate if args.mode == "shared" else None,
    )
    batch_client = OutboundRequestBatchClient(
        client, campaign_id=args.campaign_id, concurrency=args.concurrency,
        rate_limiter=limiter,
    )
    items = [
        OutboundRequest.telephony(f"+1415{i:07d}")
        for i in range(args.start, args.start + args.count)
    ]
    client.meta.service_model.operation_model("PutOutboundRequestBatch")  # warm, not timed
    print("ready", flush=True)  # noqa: T201 - the protocol with the test
    sys.stdin.readline()
    started = time.monotonic()
    result = batch_client.put_requests(items)
    print(json.dumps({  # noqa: T201 - the report
        "mode": args.mode, "created": len(result.succeeded), "failed": len(result.failed),
        "elapsed": time.monotonic() - started, "shared": limiter.shared,
    }), flush=True)


if __name__ == "__main__":
    main()
