"""Peak memory while streaming contacts through ``iter_put_contacts``.

Each size runs in a fresh process: a generator makes the contacts one by one, the library
sends them 25 per call to canned in-process answers (``_canned.py``) and the outcomes are
counted and dropped. Peak RSS is read from the kernel (``ru_maxrss``). The first row puts
no contacts at all: the cost of Python, boto3 and the library before any work.

    python -m benchmarks.memory                   # 0, 100,000 and 1,000,000 contacts
    python -m benchmarks.memory --quick           # 0, 10,000 and 50,000
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


def contacts(count: int) -> Iterator[ContactRequest]:
    for i in range(count):
        yield ContactRequest(
            customer_endpoint=Endpoint.phone(f"+1{i % 10**10 + 2 * 10**9:010d}"),
            campaign_id="campaign-1",
            queue_id="queue-1",
            attributes={"customer_name": f"Person {i}"},
        )


def child(count: int) -> None:
    client = ContactBatchClient(
        canned_client(), instance_id="00000000-0000-0000-0000-000000000000",
        rate_limiter=NoLimit(),
    )
    start = time.monotonic()
    succeeded = sum(isinstance(o, Success) for o in client.iter_put_contacts(contacts(count)))
    assert succeeded == count
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{count} {peak_kb} {time.monotonic() - start:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.child is not None:
        child(args.child)
        return
    sizes = [0, 10_000, 50_000] if args.quick else [0, 100_000, 1_000_000]
    print("| contacts | peak RSS (MB) | seconds |")
    print("|---|---|---|")
    peaks = {}
    for size in sizes:
        out = subprocess.run(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "benchmarks.memory", "--child", str(size)],
            check=True, capture_output=True, text=True,
        ).stdout.split()
        peaks[size] = int(out[1]) / 1024
        print(f"| {size:,} | {peaks[size]:.1f} | {out[2]} |")
    small, large = sizes[1], sizes[2]
    print(f"\ngrowth from {small:,} to {large:,} contacts: "
          f"{peaks[large] - peaks[small]:+.1f} MB")


if __name__ == "__main__":
    main()
