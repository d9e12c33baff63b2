"""``benchmarks.goodput --ceiling R``: finding an unknown ceiling, against the v2 double.

The double (``FakeCampaigns`` on moto's server, in this process) throttles
PutOutboundRequestBatch beyond ``R`` calls/s with a burst of 20 and answers 30 ms late.
Each mode puts the same requests (25 a call) with 8 calls in flight:

- the library with the client's defaults and no rate (it must find the ceiling);
- the same with a window of 5 s, from second 10, in which every item is refused for
  capacity (``RequestThrottled``): what the window costs, how often a refused call went;
- the library told the rate (``max_requests_per_second=R``), three runs;
- a boto3 loop with botocore's ``adaptive`` retry mode.

Every HTTP attempt is timed on the client (a botocore ``after-call`` hook), so every mode
is measured alike: when the run first had 0.9 R calls accepted within one second, the run
(first call to last) as a fraction of the ideal at the ceiling (calls needed / R), and the
share of calls throttled. What was created, and duplicates, are counted on the double's
ledger. Must not know the library's internals beyond its public clients.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable
from typing import Any

from connect_batch import AdaptiveRateLimiter, OutboundRequest, OutboundRequestBatchClient
from connect_batch.testing import FakeCampaigns, dummy_credentials, moto_server

BURST, LATENCY, CONCURRENCY, PER_CALL = 20, 0.03, 8, 25
FOUND = 0.9  # "reached the ceiling": 18 calls/s of 20
WINDOW_AT, WINDOW = 10.0, 5.0


class Timeline:
    """When each HTTP attempt was answered, and whether it was accepted (a 200)."""

    def __init__(self, client: Any) -> None:
        self.answers: list[tuple[float, bool]] = []
        self._lock = threading.Lock()
        client.meta.events.register(
            "after-call.connectcampaignsv2.PutOutboundRequestBatch", self._answered
        )

    def _answered(self, http_response: Any = None, **_: Any) -> None:
        status = getattr(http_response, "status_code", None)
        with self._lock:
            self.answers.append((time.monotonic(), status == 200))

    def first_at(self, rate: float) -> float | None:
        """Seconds from the first answer until ``rate`` calls were accepted in one second."""
        accepted = sorted(t for t, ok in self.answers if ok)
        if not accepted:
            return None
        need = int(rate)
        for i in range(need - 1, len(accepted)):
            if accepted[i] - accepted[i - need + 1] <= 1.0:
                return accepted[i] - self.answers[0][0]
        return None

    def span(self) -> float:
        times = sorted(t for t, _ in self.answers)
        return times[-1] - times[0] + LATENCY  # the first call left one latency earlier

    def accepted_by_second(self) -> list[int]:
        """Calls accepted in each second of the run."""
        start = min(t for t, _ in self.answers)
        accepted = sorted(t - start for t, ok in self.answers if ok)
        return [
            bisect.bisect_left(accepted, s + 1) - bisect.bisect_left(accepted, s)
            for s in range(int(accepted[-1]) + 1)
        ]


def library(
    client: Any, campaign_id: str, count: int, rate: float | None
) -> AdaptiveRateLimiter:
    batch_client = OutboundRequestBatchClient(
        client, campaign_id=campaign_id, concurrency=CONCURRENCY, max_requests_per_second=rate
    )
    limiter = batch_client.rate_limiter
    assert isinstance(limiter, AdaptiveRateLimiter)
    requests = [OutboundRequest.telephony(f"+1415{i:07d}") for i in range(count)]
    result = batch_client.put_requests(requests)
    assert result.all_succeeded, result.counts()
    return limiter


def run_ceiling(ceiling: float, requests: int, runs: int, http_client: Callable[..., Any],
                boto3_loop: Callable[..., None]) -> None:
    ideal = requests / PER_CALL / ceiling
    print(f"PutOutboundRequestBatch; the double throttles beyond {ceiling:g} calls/s, burst "
          f"{BURST}, {LATENCY * 1000:g} ms latency; {requests} requests per mode, "
          f"{CONCURRENCY} calls in flight; ideal at the ceiling {ideal:.1f} s")
    print(f"| mode | first {FOUND * ceiling:g} calls/s at | seconds | fraction of ceiling "
          "| calls | throttled | refused (capacity) | created / inputs | duplicates |")
    print("|---|---|---|---|---|---|---|---|---|")
    modes: list[tuple[str, str | None, float | None, bool]] = [
        ("connect_batch, no rate given", None, None, False),
        (f"connect_batch, no rate, capacity refusals {WINDOW_AT:g}-{WINDOW_AT + WINDOW:g} s",
         None, None, True),
        *[(f"connect_batch, max_requests_per_second={ceiling:g} (run {n + 1})", None,
           ceiling, False) for n in range(runs)],
        ("boto3 loop, botocore adaptive retries", "adaptive", None, False),
    ]
    notes: list[str] = []
    with moto_server() as endpoint, dummy_credentials():
        fake = FakeCampaigns.of()
        for name, retry_mode, rate, window in modes:
            client = http_client("connectcampaignsv2", endpoint, retry_mode)
            campaign_id = fake.create_campaign_v2(state="Running")
            fake.reset_faults()
            time.sleep(2.0)  # the bucket refills after the mode before
            fake.latency = LATENCY
            fake.throttle(rate=ceiling, burst=BURST)
            timeline = Timeline(client)
            timer = None
            if window:
                timer = threading.Timer(
                    WINDOW_AT, lambda: fake.refuse_items_for(WINDOW, "RequestThrottled")
                )
                timer.start()
            limiter = None
            if retry_mode is None:
                limiter = library(client, campaign_id, requests, rate)
            else:
                boto3_loop(client, campaign_id, requests, None, None)
            if timer is not None:
                timer.cancel()
            fake.reset_faults()
            calls = [c for c in fake.calls if c.campaign_id == campaign_id]
            throttled = sum(c.outcome == "throttled" for c in calls)
            refused = [c for c in calls if c.outcome == "refused"]
            created = sum(r.campaign_id == campaign_id for r in fake.requests)
            prefix = f"{campaign_id}:"
            duplicates = sum(n - 1 for k, n in fake.duplicates().items() if k.startswith(prefix))
            span = timeline.span()
            found = timeline.first_at(FOUND * ceiling)
            print(f"| {name} | {'never' if found is None else f'{found:.1f} s'} | {span:.1f} "
                  f"| {ideal / span:.3f} | {len(calls)} | {throttled / len(calls):.1%} "
                  f"| {len(refused)} | {created} / {requests} | {duplicates} |", flush=True)
            if window:
                sends: dict[str, int] = {}
                for call in refused:
                    for token in call.client_tokens:
                        sends[token] = sends.get(token, 0) + 1
                notes.append(
                    f"capacity window: {len(refused)} calls refused, no request in more than "
                    f"{max(sends.values(), default=0)} of them; pause at the end "
                    f"{limiter.paused_for if limiter else 0:g} s"
                )
            if limiter is not None and rate is None:
                notes.append(
                    f"{name}: pace at the end {limiter.rate:.1f} calls/s, ceiling found "
                    f"{limiter.ceiling or 0:.1f}; accepted per second: "
                    f"{timeline.accepted_by_second()[:12]}..."
                )
    for note in notes:
        print(f"\n{note}")
