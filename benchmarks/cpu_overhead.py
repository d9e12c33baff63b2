"""CPU cost of the library against a hand-written boto3 loop doing the same work.

Both build the requests, chunk them by 25, send each call with a ClientToken of its own
and collect the answers, through the same boto3 client with canned in-process answers
(``_canned.py``), so no network is measured. The library is measured with its limiter
doing its bookkeeping but not its waits. Rounds alternate; the median ratio is reported.

    python -m benchmarks.cpu_overhead            # 20,000 contacts, 7 rounds
    python -m benchmarks.cpu_overhead --quick    # a smoke run
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from typing import Any

from benchmarks._canned import canned_client
from connect_batch import AdaptiveRateLimiter, ContactBatchClient, ContactRequest, Endpoint

INSTANCE = "00000000-0000-0000-0000-000000000000"


def phone(i: int) -> str:
    return f"+1415{i:07d}"


def hand_written(client: Any, count: int) -> int:
    """What a careful user writes with boto3 alone."""
    items = [
        {
            "RequestIdentifier": uuid.uuid4().hex,
            "CustomerEndpoint": {"Type": "TELEPHONE_NUMBER", "Address": phone(i)},
            "Campaign": {"CampaignId": "campaign-1"},
            "QueueId": "queue-1",
            "Attributes": {"customer_name": f"Person {i}"},
        }
        for i in range(count)
    ]
    created = {}
    for start in range(0, count, 25):
        answer = client.batch_put_contact(
            InstanceId=INSTANCE,
            ClientToken=str(uuid.uuid4()),
            ContactDataRequestList=items[start : start + 25],
        )
        for success in answer["SuccessfulRequestList"]:
            created[success["RequestIdentifier"]] = success["ContactId"]
    return len(created)


def library(client: Any, count: int) -> int:
    batch_client = ContactBatchClient(
        client,
        instance_id=INSTANCE,
        rate_limiter=AdaptiveRateLimiter(sleep=lambda _s: None),
    )
    result = batch_client.put_contacts(
        ContactRequest(
            customer_endpoint=Endpoint.phone(phone(i)),
            campaign_id="campaign-1",
            queue_id="queue-1",
            attributes={"customer_name": f"Person {i}"},
        )
        for i in range(count)
    )
    return len(result.succeeded)


def cpu_seconds(work: Any, client: Any, count: int) -> float:
    start = time.process_time()
    assert work(client, count) == count
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="1,000 contacts, 2 rounds")
    args = parser.parse_args()
    count, rounds = (1_000, 2) if args.quick else (args.contacts, args.rounds)
    client = canned_client()
    cpu_seconds(hand_written, client, 500)  # warm up botocore's caches for both
    cpu_seconds(library, client, 500)
    ratios, base, lib = [], [], []
    for _ in range(rounds):
        b = cpu_seconds(hand_written, client, count)
        ours = cpu_seconds(library, client, count)
        base.append(b)
        lib.append(ours)
        ratios.append(ours / b)
    print(f"contacts per round: {count}, rounds: {rounds}")
    print(f"hand-written boto3 loop: median {statistics.median(base):.3f} s CPU "
          f"({statistics.median(base) / count * 1e6:.1f} µs/contact)")
    print(f"connect_batch:           median {statistics.median(lib):.3f} s CPU "
          f"({statistics.median(lib) / count * 1e6:.1f} µs/contact)")
    print(f"ratio (library / loop):  median {statistics.median(ratios):.3f}, "
          f"min {min(ratios):.3f}, max {max(ratios):.3f}")


if __name__ == "__main__":
    main()
