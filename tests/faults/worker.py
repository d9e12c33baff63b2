"""A campaign worker for the kill tests: puts ``--count`` contacts under ``--job-key``.

Prints ``ready`` once set up, then writes the result as JSON to ``--out`` when done.
"""

from __future__ import annotations

import argparse
import json
import pathlib
from typing import Any

import boto3

from connect_batch import AsyncContactBatchClient, BatchResult, ContactBatchClient, ContactRequest
from tests.aio_runner import run_async
from tests.builders import contacts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--instance-id", required=True)
    parser.add_argument("--job-key", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--out", type=pathlib.Path, required=True)
    parser.add_argument("--mode", choices=["sync", "async"], default="sync")
    args = parser.parse_args()
    options: dict[str, Any] = {
        "instance_id": args.instance_id,
        "job_key": args.job_key,
        "max_attempts": 6,
        "initial_backoff": 0.01,
        "max_backoff": 0.05,
    }
    if args.mode == "async":

        async def put(aio: Any) -> BatchResult[ContactRequest]:
            print("ready", flush=True)  # noqa: T201 - the test waits for this line
            return await AsyncContactBatchClient(aio, **options).put_contacts(
                contacts(args.count)
            )

        result = run_async("connect", args.endpoint, put)
    else:
        client = boto3.client("connect", region_name="us-east-1", endpoint_url=args.endpoint)
        batch_client = ContactBatchClient(client, **options)
        print("ready", flush=True)  # noqa: T201 - the test waits for this line
        result = batch_client.put_contacts(contacts(args.count))
    args.out.write_text(
        json.dumps(
            {
                "succeeded": [
                    [s.position, s.request_identifier, s.contact_id] for s in result.succeeded
                ],
                "failed": [[f.position, f.code, f.outcome_unknown] for f in result.failed],
            }
        )
    )


if __name__ == "__main__":
    main()
