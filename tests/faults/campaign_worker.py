"""A campaign worker for the kill tests: puts ``--count`` requests under ``--job-key``.

Prints ``ready`` once set up, then writes the result as JSON to ``--out`` when done. The
result names each success by its phone number (test data), so the test can match it to the
double's ledger. On a ``KeyboardInterrupt`` (SIGINT) it writes the interrupt's ``result``
the same way and exits 130.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
from typing import Any

import boto3

from connect_batch import (
    AsyncDialRequestBatchClient,
    AsyncOutboundRequestBatchClient,
    DialRequestBatchClient,
    OutboundRequestBatchClient,
)
from tests.aio_runner import run_async
from tests.builders import dials, outbounds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--api", choices=["v1", "v2"], required=True)
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--campaign-id", required=True)
    parser.add_argument("--job-key", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--out", type=pathlib.Path, required=True)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--mode", choices=["sync", "async"], default="sync")
    args = parser.parse_args()
    options: dict[str, Any] = {
        "campaign_id": args.campaign_id,
        "job_key": args.job_key,
        "max_attempts": 6,
        "initial_backoff": 0.01,
        "max_backoff": 0.05,
        "max_requests_per_second": 50,
        "concurrency": args.concurrency,
    }
    if args.mode == "async":
        _put_async(args, options)
        return
    if args.api == "v2":
        client = boto3.client(
            "connectcampaignsv2", region_name="us-east-1", endpoint_url=args.endpoint
        )
        batch_client: Any = OutboundRequestBatchClient(client, **options)
        inputs: list[Any] = outbounds(args.count)
    else:
        client = boto3.client(
            "connectcampaigns", region_name="us-east-1", endpoint_url=args.endpoint
        )
        batch_client = DialRequestBatchClient(client, **options)
        inputs = dials(args.count)
    print("ready", flush=True)  # noqa: T201 - the test waits for this line
    try:
        result = batch_client.put_requests(inputs)
    except KeyboardInterrupt as interrupt:
        _write(args.out, interrupt.result)  # type: ignore[attr-defined]
        sys.exit(130)
    _write(args.out, result)


def _put_async(args: argparse.Namespace, options: dict[str, Any]) -> None:
    kind: Any = AsyncOutboundRequestBatchClient if args.api == "v2" else AsyncDialRequestBatchClient
    inputs = outbounds(args.count) if args.api == "v2" else dials(args.count)

    async def put(aio: Any) -> Any:
        print("ready", flush=True)  # noqa: T201 - the test waits for this line
        return await kind(aio, **options).put_requests(inputs)

    service = "connectcampaignsv2" if args.api == "v2" else "connectcampaigns"
    _write(args.out, run_async(service, args.endpoint, put))


def _write(out: pathlib.Path, result: Any) -> None:
    out.write_text(
        json.dumps(
            {
                "succeeded": [[s.position, _phone(s.request), s.id] for s in result.succeeded],
                "failed": [
                    [f.position, f.code, f.outcome_unknown, _phone(f.request)]
                    for f in result.failed
                ],
            }
        )
    )


def _phone(request: Any) -> str:
    return str(getattr(request, "destination", None) or request.phone_number)


if __name__ == "__main__":
    main()
