"""Peak memory while streaming contacts through ``iter_put_contacts``.

Each size runs in a fresh process: a generator makes the contacts one by one, the library
sends them 25 per call to canned in-process answers (``_canned.py``) and the outcomes are
counted and dropped. Peak RSS is read from the kernel (``ru_maxrss``). The first row puts
no contacts at all: the cost of Python, boto3 and the library before any work.

    python -m benchmarks.memory                   # 0, 100,000 and 1,000,000 contacts
    python -m benchmarks.memory --quick           # 0, 10,000 and 50,000

Each size runs twice: with identifiers the library generates, and with identifiers the
caller gives (``request_identifier="crm-<n>"``), which the run remembers so as to refuse a
repeated one; that set is what grows.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from collections.abc import Iterator

from benchmarks._canned import canned_client
from connect_batch import ContactBatchClient, ContactRequest, Endpoint, NoLimit, Success


def contacts(count: int, *, given_ids: bool = False) -> Iterator[ContactRequest]:
    for i in range(count):
        yield ContactRequest(
            customer_endpoint=Endpoint.phone(f"+1{i % 10**10 + 2 * 10**9:010d}"),
            campaign_id="campaign-1",
            queue_id="queue-1",
            attributes={"customer_name": f"Person {i}"},
            request_identifier=f"crm-{i}" if given_ids else None,
        )


def child(count: int, *, given_ids: bool) -> None:
    client = ContactBatchClient(
        canned_client(), instance_id="00000000-0000-0000-0000-000000000000",
        rate_limiter=NoLimit(),
    )
    start = time.monotonic()
    outcomes = client.iter_put_contacts(contacts(count, given_ids=given_ids))
    succeeded = sum(isinstance(o, Success) for o in outcomes)
    assert succeeded == count
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{count} {peak_kb} {time.monotonic() - start:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--given-ids", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, given_ids=args.given_ids)
        return
    sizes = [0, 10_000, 50_000] if args.quick else [0, 100_000, 1_000_000]
    print("| contacts | identifiers | peak RSS (MB) | seconds |")
    print("|---|---|---|---|")
    peaks: dict[tuple[int, bool], float] = {}
    for given in (False, True):
        for size in sizes:
            out = subprocess.run(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "benchmarks.memory", "--child", str(size),
                 *(["--given-ids"] if given else [])],
                check=True, capture_output=True, text=True,
            ).stdout.split()
            peaks[size, given] = int(out[1]) / 1024
            kind = "given" if given else "generated"
            print(f"| {size:,} | {kind} | {peaks[size, given]:.1f} | {out[2]} |")
    small, large = sizes[1], sizes[2]
    for given in (False, True):
        kind = "given" if given else "generated"
        print(f"\ngrowth from {small:,} to {large:,} contacts, {kind} identifiers: "
              f"{peaks[large, given] - peaks[small, given]:+.1f} MB", end="")
    print()


if __name__ == "__main__":
    main()
