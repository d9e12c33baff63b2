"""CPU cost of the library against a hand-written boto3 loop doing the same work.

Both build the requests, chunk them by 25, send each call with a ClientToken of its own
and collect the answers, through the same boto3 client with canned in-process answers
(``_canned.py``), so no network is measured. The library is measured with its limiter
doing its bookkeeping but not its waits. Rounds alternate; the median ratio is reported.

    python -m benchmarks.cpu_overhead              # 20,000 contacts, 7 rounds
    python -m benchmarks.cpu_overhead --callgrind  # instruction counts, under valgrind
    python -m benchmarks.cpu_overhead --quick      # a smoke run

Each mode prints CPU per input for both sides and their difference, what the library adds
(``--callgrind``: instructions per input, and the difference).

``--given-ids`` gives each of the library's inputs its own identifier
(``request_identifier``, or ``client_token`` for v2), so that the run remembers and checks
every one for a repeat (``RunKeys``): what that check costs per input, against the same
command without it.

``--api v2`` measures outbound campaigns v2 instead (``PutOutboundRequestBatch``,
``OutboundRequestBatchClient``): telephony requests with one attribute each, every item
with its own clientToken and an expirationTime 10 minutes ahead. ``--no-gc`` switches the
garbage collector off after warm-up (what it costs); ``--profile`` prints cProfile's hot
spots of one run of each side, every thread included; ``--contacts``/``--requests`` sets
the count per round, or per process under ``--callgrind`` (default 3,000).

CPU seconds on a shared machine swing by 30% from round to round; instruction counts
under ``valgrind --tool=callgrind`` repeat exactly, so ``--callgrind`` is the figure to
quote. It runs each side in its own process, less a run that does everything but the
work (interpreter start, imports, warm-up), and divides by the number of inputs.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import gc
import re
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

from benchmarks._canned import canned_campaigns_client, canned_client
from connect_batch import (
    AdaptiveRateLimiter,
    ContactBatchClient,
    ContactRequest,
    Endpoint,
    OutboundRequest,
    OutboundRequestBatchClient,
)

INSTANCE = "00000000-0000-0000-0000-000000000000"
CAMPAIGN = "11111111-1111-1111-1111-111111111111"
Work = Callable[[Any, int], int]


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


# Set by --given-ids: the library's inputs carry their own identifiers.
GIVEN_IDS = False


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
            request_identifier=f"crm-{i}" if GIVEN_IDS else None,
        )
        for i in range(count)
    )
    return len(result.succeeded)


def hand_written_v2(client: Any, count: int) -> int:
    """What a careful user writes with boto3 alone, for PutOutboundRequestBatch."""
    expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=10)
    items = [
        {
            "clientToken": uuid.uuid4().hex,
            "expirationTime": expires,
            "channelSubtypeParameters": {
                "telephony": {
                    "destinationPhoneNumber": phone(i),
                    "attributes": {"customer_name": f"Person {i}"},
                }
            },
        }
        for i in range(count)
    ]
    created = {}
    for start in range(0, count, 25):
        answer = client.put_outbound_request_batch(
            id=CAMPAIGN, outboundRequests=items[start : start + 25]
        )
        for success in answer["successfulRequests"]:
            created[success["clientToken"]] = success["id"]
    return len(created)


def library_v2(client: Any, count: int) -> int:
    batch_client = OutboundRequestBatchClient(
        client,
        campaign_id=CAMPAIGN,
        rate_limiter=AdaptiveRateLimiter(sleep=lambda _s: None),
    )
    result = batch_client.put_requests(
        OutboundRequest.telephony(
            phone(i),
            attributes={"customer_name": f"Person {i}"},
            client_token=f"crm-{i}" if GIVEN_IDS else None,
        )
        for i in range(count)
    )
    return len(result.succeeded)


# Per API: the loop, the library, the canned boto3 client, and the noun for one input.
APIS: dict[str, tuple[Work, Work, Callable[[], Any], str]] = {
    "contacts": (hand_written, library, canned_client, "contact"),
    "v2": (hand_written_v2, library_v2, canned_campaigns_client, "request"),
}


def cpu_seconds(work: Any, client: Any, count: int) -> float:
    start = time.process_time()
    assert work(client, count) == count
    return time.process_time() - start


def instructions(api: str, side: str, count: int, flags: tuple[str, ...] = ()) -> int:
    """Instructions one process executes for ``side``, counted by callgrind."""
    out = subprocess.run(  # noqa: S603 - valgrind on our own interpreter and module
        [
            shutil.which("valgrind") or "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable, "-m", "benchmarks.cpu_overhead", "--api", api,
            "--child", side, str(count), *flags,
        ],
        check=True, capture_output=True, text=True,
    )
    found = re.search(r"Collected : (\d+)", out.stderr)
    assert found, out.stderr[-500:]
    return int(found.group(1))


def callgrind(api: str, count: int, flags: tuple[str, ...] = ()) -> None:
    noun = APIS[api][3]
    # Counts do not depend on what else runs: the three processes may run side by side.
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        floor, loop_total, library_total = pool.map(
            lambda side: instructions(api, side, count, flags),
            ("none", "loop", "library"),
        )
    base = loop_total - floor
    ours = library_total - floor
    print(f"{noun}s: {count}; instructions per {noun}, interpreter start and warm-up removed")
    print(f"hand-written boto3 loop: {base / count:,.0f}")
    print(f"connect_batch:           {ours / count:,.0f}")
    print(f"difference:              {(ours - base) / count:,.0f}")
    print(f"ratio (library / loop):  {ours / base:.3f}")


def warm(api: str, client: Any) -> None:
    loop, ours, _, _ = APIS[api]
    cpu_seconds(loop, client, 500)  # botocore's caches, for both sides
    cpu_seconds(ours, client, 500)


def profiled(work: Work, client: Any, count: int) -> Any:
    """``pstats.Stats`` of one run of ``work``, over every thread it started (the library
    makes its calls on a worker thread)."""
    import cProfile  # noqa: PLC0415 - only --profile needs them
    import pstats  # noqa: PLC0415
    import threading  # noqa: PLC0415

    profilers: list[cProfile.Profile] = []

    def start_in_thread(*_: object) -> None:
        # Called by the first event in each new thread: that thread's own profiler.
        thread_profiler = cProfile.Profile()
        profilers.append(thread_profiler)
        thread_profiler.enable()

    threading.setprofile(start_in_thread)
    try:
        main_profiler = cProfile.Profile()
        main_profiler.runcall(work, client, count)
    finally:
        threading.setprofile(None)  # type: ignore[arg-type]
    for thread in threading.enumerate():
        if thread is not threading.current_thread():
            thread.join(1.0)  # the run's workers end once it is over
    stats = pstats.Stats(main_profiler, stream=sys.stdout)
    for thread_profiler in profilers:
        stats.add(thread_profiler)
    return stats


def profile(api: str, count: int) -> None:
    """Where the time goes: cProfile of one run of each side, all threads. Own times are
    inflated by the profiler, most for small functions called per item: use them to find
    hot spots; quote ``--callgrind``."""
    loop, ours, make_client, noun = APIS[api]
    client = make_client()
    warm(api, client)
    for name, work in (("connect_batch", ours), ("hand-written boto3 loop", loop)):
        stats = profiled(work, client, count)
        print(f"== {name}: {count} {noun}s, all threads, top 40 by own time")
        stats.sort_stats("tottime").print_stats(40)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--api", choices=sorted(APIS), default="contacts",
                        help="BatchPutContact (contacts, the default) or PutOutboundRequestBatch")
    parser.add_argument("--contacts", "--requests", dest="count", type=int,
                        help="inputs per round (20,000), or per process with --callgrind (3,000)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="1,000 contacts, 2 rounds")
    parser.add_argument("--callgrind", action="store_true", help="count instructions instead")
    parser.add_argument("--profile", action="store_true", help="cProfile one run of each side")
    parser.add_argument("--no-gc", action="store_true",
                        help="with the garbage collector off after warm-up (what it costs)")
    parser.add_argument("--given-ids", action="store_true",
                        help="the library's inputs carry their own ids (checked for repeats)")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    global GIVEN_IDS  # noqa: PLW0603 - a flag read by the work functions, set once
    GIVEN_IDS = args.given_ids
    loop, ours, make_client, noun = APIS[args.api]
    if args.child:
        side, count = args.child[0], int(args.child[1])
        client = make_client()
        warm(args.api, client)
        if args.no_gc:
            gc.collect()
            gc.disable()
        if side != "none":
            cpu_seconds(ours if side == "library" else loop, client, count)
        return
    if args.callgrind:
        flags = tuple(flag for flag, on in (("--no-gc", args.no_gc),
                                            ("--given-ids", args.given_ids)) if on)
        callgrind(args.api, 1_000 if args.quick else args.count or 3_000, flags)
        return
    if args.profile:
        profile(args.api, 1_000 if args.quick else args.count or 5_000)
        return
    count, rounds = (1_000, 2) if args.quick else (args.count or 20_000, args.rounds)
    client = make_client()
    warm(args.api, client)
    if args.no_gc:
        gc.collect()
        gc.disable()
    ratios, base, lib, added = [], [], [], []
    for _ in range(rounds):
        b = cpu_seconds(loop, client, count)
        mine = cpu_seconds(ours, client, count)
        base.append(b)
        lib.append(mine)
        ratios.append(mine / b)
        added.append((mine - b) / count * 1e6)
    ids = ", the library's inputs with their own identifiers" if args.given_ids else ""
    print(f"{noun}s per round: {count}, rounds: {rounds}{ids}")
    print(f"hand-written boto3 loop: median {statistics.median(base):.3f} s CPU "
          f"({statistics.median(base) / count * 1e6:.1f} µs/{noun})")
    print(f"connect_batch:           median {statistics.median(lib):.3f} s CPU "
          f"({statistics.median(lib) / count * 1e6:.1f} µs/{noun})")
    # The median of each round's difference: the rounds alternate, so the two sides of one
    # round ran under much the same load.
    print(f"difference:              median {statistics.median(added):+.1f} µs/{noun}, "
          f"min {min(added):+.1f}, max {max(added):+.1f}")
    print(f"ratio (library / loop):  median {statistics.median(ratios):.3f}, "
          f"min {min(ratios):.3f}, max {max(ratios):.3f}")


if __name__ == "__main__":
    main()
