"""Peak memory while streaming contacts through ``iter_put_contacts``, and what each
identifier the caller gives costs.

Each size runs in a fresh process: a generator makes the contacts one by one, the library
sends them 25 per call to canned in-process answers (``_canned.py``) and the outcomes are
counted and dropped. Peak RSS is read from the kernel (``ru_maxrss``). The first row puts
no contacts at all: the cost of Python, boto3 and the library before any work.

    python -m benchmarks.memory                   # 0, 100,000, 300,000 and 1,000,000
    python -m benchmarks.memory --quick           # 0, 10,000, 30,000 and 100,000

Each size runs twice: with identifiers the library generates (the baseline: nothing is
remembered), and with identifiers the caller gives (``request_identifier="crm-<n>"``),
which the run remembers so as to refuse a repeated one. The bytes per given identifier
are the difference of the two peaks over the count, measured in the same run. Beside them,
``tracemalloc``'s peak for the duplicate check alone (``RunKeys`` fed the same
identifiers, nothing else), and for what it replaced (a ``set`` of the strings).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator

from benchmarks._canned import canned_client
from connect_batch import ContactBatchClient, ContactRequest, Endpoint, NoLimit, Success
from connect_batch._engine import RunKeys


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


def traced_peak(count: int, *, old: bool) -> int:
    """Bytes ``tracemalloc`` counts at the peak of remembering ``count`` given identifiers:
    ``RunKeys`` as the run keeps them, or (``old``) a set of the strings, as before."""
    ids = [f"crm-{i}" for i in range(count)]  # made before tracing: the caller's own strings
    tracemalloc.start()
    try:
        if old:
            given: set[str] = set()
            for key in ids:
                given.add(key)
        else:
            seen = RunKeys()
            for position, key in enumerate(ids):
                assert not seen.given_before(key, position)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # The strings themselves: the set keeps each alive after its input is gone, RunKeys none.
    strings = sum(sys.getsizeof(key) for key in ids) if old else 0
    return peak + strings


def run(*args: str) -> list[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "benchmarks.memory", *args],
        check=True, capture_output=True, text=True,
    ).stdout.split()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--given-ids", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--traced", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, given_ids=args.given_ids)
        return
    if args.traced is not None:
        print(traced_peak(args.traced, old=False), traced_peak(args.traced, old=True))
        return
    sizes = [0, 10_000, 30_000, 100_000] if args.quick else [0, 100_000, 300_000, 1_000_000]
    print("| contacts | identifiers | peak RSS (MB) | seconds |")
    print("|---|---|---|---|")
    peaks: dict[tuple[int, bool], int] = {}
    for given in (False, True):
        for size in sizes:
            out = run("--child", str(size), *(["--given-ids"] if given else []))
            peaks[size, given] = int(out[1])
            kind = "given" if given else "generated"
            print(f"| {size:,} | {kind} | {peaks[size, given] / 1024:.1f} | {out[2]} |")
    small, large = sizes[1], sizes[-1]
    for given in (False, True):
        kind = "given" if given else "generated"
        growth = (peaks[large, given] - peaks[small, given]) / 1024
        print(f"\ngrowth from {small:,} to {large:,} contacts, {kind} identifiers: "
              f"{growth:+.1f} MB", end="")
    print("\n\nbytes per identifier the caller gives:")
    print("| contacts | peak RSS, given - generated | duplicate check alone (tracemalloc) "
          "| a set of the strings, as before (tracemalloc + the strings) |")
    print("|---|---|---|---|")
    for size in sizes[1:]:
        rss = (peaks[size, True] - peaks[size, False]) * 1024 / size
        table, old = (int(n) for n in run("--traced", str(size)))
        print(f"| {size:,} | {rss:.1f} | {table / size:.1f} | {old / size:.1f} |")


if __name__ == "__main__":
    main()
