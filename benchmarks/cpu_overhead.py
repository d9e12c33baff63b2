"""CPU cost of the library against a hand-written boto3 loop doing the same work.

Both build the requests, chunk them by 25, send each call with a ClientToken of its own
and collect the answers, through the same boto3 client with canned in-process answers
(``_canned.py``), so no network is measured. The library is measured with its limiter
doing its bookkeeping but not its waits. Rounds alternate; the median ratio is reported.

    python -m benchmarks.cpu_overhead              # 20,000 contacts, 7 rounds
    python -m benchmarks.cpu_overhead --callgrind  # instruction counts, under valgrind
    python -m benchmarks.cpu_overhead --quick      # a smoke run

CPU seconds on a shared machine swing by 30% from round to round; instruction counts
under ``valgrind --tool=callgrind`` repeat exactly, so ``--callgrind`` is the figure to
quote. It runs each side in its own process, less a run that does everything but the
work (interpreter start, imports, warm-up), and divides by the number of contacts.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
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


def instructions(side: str, count: int) -> int:
    """Instructions one process executes for ``side``, counted by callgrind."""
    out = subprocess.run(  # noqa: S603 - valgrind on our own interpreter and module
        [
            shutil.which("valgrind") or "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable, "-m", "benchmarks.cpu_overhead", "--child", side, str(count),
        ],
        check=True, capture_output=True, text=True,
    )
    found = re.search(r"Collected : (\d+)", out.stderr)
    assert found, out.stderr[-500:]
    return int(found.group(1))


def callgrind(count: int) -> None:
    floor = instructions("none", count)
    base = instructions("loop", count) - floor
    ours = instructions("library", count) - floor
    print(f"contacts: {count}; instructions per contact, interpreter start and warm-up removed")
    print(f"hand-written boto3 loop: {base / count:,.0f}")
    print(f"connect_batch:           {ours / count:,.0f}")
    print(f"ratio (library / loop):  {ours / base:.3f}")


def warm(client: Any) -> None:
    cpu_seconds(hand_written, client, 500)  # botocore's caches, for both sides
    cpu_seconds(library, client, 500)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="1,000 contacts, 2 rounds")
    parser.add_argument("--callgrind", action="store_true", help="count instructions instead")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        side, count = args.child[0], int(args.child[1])
        client = canned_client()
        warm(client)
        if side != "none":
            cpu_seconds(library if side == "library" else hand_written, client, count)
        return
    if args.callgrind:
        callgrind(1_000 if args.quick else 3_000)
        return
    count, rounds = (1_000, 2) if args.quick else (args.contacts, args.rounds)
    client = canned_client()
    warm(client)
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
