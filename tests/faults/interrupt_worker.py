"""A worker for the interrupt tests: ``put_contacts`` of ``--count`` contacts, until SIGINT.

Prints ``ready`` once set up. On a ``KeyboardInterrupt`` it writes the interrupt's
``result`` to ``--out`` as JSON and exits 130; a run that ends by itself writes its result
and exits 0. The JSON holds positions, identifiers, ContactIds and codes, never a phone
number.

SIGINT keeps Python's default handler, as in most programs. ``--own-handler`` installs a
handler of the application's own instead, one that raises ``KeyboardInterrupt`` itself.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import signal
import sys
from typing import Any

import boto3

from connect_batch import BatchResult, ContactBatchClient, Success
from tests.builders import contacts


def _own_handler(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def outcome_record(outcome: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "position": outcome.position,
        "request_identifier": outcome.request_identifier,
    }
    if isinstance(outcome, Success):
        record["contact_id"] = outcome.contact_id
    else:
        record.update(
            code=str(outcome.code),
            outcome_unknown=outcome.outcome_unknown,
            retryable=outcome.retryable,
        )
    return record


def write(out: pathlib.Path, result: BatchResult | None, *, interrupted: bool) -> None:
    outcomes = [] if result is None else [*result.succeeded, *result.failed]
    out.write_text(
        json.dumps(
            {
                "interrupted": interrupted,
                "has_result": result is not None,
                "outcomes": [outcome_record(o) for o in outcomes],
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--instance-id", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--job-key")
    parser.add_argument("--own-handler", action="store_true")
    parser.add_argument("--out", type=pathlib.Path, required=True)
    args = parser.parse_args()
    if args.own_handler:
        signal.signal(signal.SIGINT, _own_handler)
    client = boto3.client("connect", region_name="us-east-1", endpoint_url=args.endpoint)
    batch_client = ContactBatchClient(
        client,
        instance_id=args.instance_id,
        job_key=args.job_key,
        concurrency=args.concurrency,
        max_attempts=6,
        initial_backoff=0.01,
        max_backoff=0.05,
    )
    inputs = contacts(args.count)
    print("ready", flush=True)  # noqa: T201 - the test waits for this line
    try:
        result = batch_client.put_contacts(inputs)
    except KeyboardInterrupt as interrupt:
        write(args.out, getattr(interrupt, "result", None), interrupted=True)
        sys.exit(130)
    write(args.out, result, interrupted=False)


if __name__ == "__main__":
    main()
