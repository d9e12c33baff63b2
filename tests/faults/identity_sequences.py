"""Sequences of runs of one campaign job, checked on the double's ledger: who a request is.

Each sequence runs one job several times over real HTTP (the moto server), the way workers
do: filtered to its unknowns, reordered, split across sync and async workers, on two
campaigns, with faults. After every run the result is measured against the ledger:

- no request of the job is created twice (a request is its destination and its ``key=``,
  or else what it says);
- every ``Success`` names the request created under its own token, for its own request;
- nothing created is reported known not created, nor held in ``retryable()``;
- every input is answered exactly once.

Used by ``test_identity.py`` and by ``python -m tests.faults.report``.
"""

from __future__ import annotations

import collections
import random
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from connect_batch import (
    BatchResult,
    CampaignStateError,
    DialRequest,
    FailureCode,
    OutboundRequest,
)
from connect_batch.testing import Fault
from tests.faults.campaign_harness import Campaign, batch_client, campaign, put_async

JOB = "reminders/2026-12-05"
PERSON = "+14155550100"
Identity = tuple[str, str, str | None]


def request(api: str, phone: str, message: str, **options: Any) -> Any:
    """A request of ``api`` to ``phone`` saying ``message``."""
    if api == "v2":
        return OutboundRequest.telephony(phone, attributes={"message": message}, **options)
    return DialRequest(phone_number=phone, attributes={"message": message}, **options)


def says(item: Any) -> tuple[str, str]:
    """Whom a request reaches and what it says, as the ledger records them."""
    if isinstance(item, OutboundRequest):
        return item.destination, item.parameters["message"]
    return item.phone_number, item.attributes["message"]


def identity(item: Any) -> Identity:
    """What a request is: whom it reaches, and its key, or else what it says."""
    whom, message = says(item)
    return whom, message if item.key is None else "", item.key


def job_of_26(api: str) -> list[Any]:
    """The issue's job: the first and the last of 26 requests reach one person."""
    others = [request(api, f"+1415555{i:04d}", f"hello {i}") for i in range(1, 25)]
    return [
        request(api, PERSON, "appointment-reminder"),
        *others,
        request(api, PERSON, "payment-due"),
    ]


def put(mode: str, target: Campaign, endpoint: str, inputs: list[Any], **options: Any) -> Any:
    """``put_requests`` with the sync or the async client, under ``JOB`` by default."""
    options.setdefault("job_key", JOB)
    options.setdefault("concurrency", 1)
    if mode == "sync":
        return batch_client(target, **options).put_requests(inputs)
    return put_async(target, endpoint, inputs, **options)


@attrs.define
class JobReport:
    """What a sequence did, measured on the ledger after every run."""

    requests: int = 0  # distinct requests in the job
    runs: int = 0
    created: int = 0
    twice: int = 0  # requests created more than once
    false_ids: int = 0  # successes naming another request's id, or none created
    lost: int = 0  # created, yet reported known not created
    unsafe_retryable: int = 0  # in retryable() although created
    answered_once: bool = True
    settled: bool = True  # the last run created every request once, nothing left unknown
    _tokens: dict[str, Identity] = attrs.field(factory=dict)

    def measure(self, target: Campaign, inputs: Sequence[Any], result: BatchResult[Any]) -> None:
        """Check one run's result against the ledger."""
        self.runs += 1
        outcomes = (*result.succeeded, *result.failed)
        self.answered_once &= sorted(o.position for o in outcomes) == list(range(len(inputs)))
        self.answered_once &= all(o.request is inputs[o.position] for o in outcomes)
        for outcome in outcomes:
            if outcome.client_token is not None:
                seen = self._tokens.setdefault(outcome.client_token, identity(outcome.request))
                self.false_ids += seen != identity(outcome.request)  # one token, two requests
        per_request = collections.Counter(
            self._tokens.get(r.client_token, ("?", r.client_token, None)) for r in target.requests
        )
        self.created = len(target.requests)
        self.twice = sum(n - 1 for n in per_request.values())
        by_id = {r.id: r for r in target.requests}
        for success in result.succeeded:
            made = by_id.get(success.id)
            wrong = made is None or made.client_token != success.client_token
            if made is not None and success.request.key is None:
                wrong |= (made.destination, made.parameters["message"]) != says(success.request)
            self.false_ids += wrong
        tokens = {r.client_token for r in target.requests}
        created = {self._tokens.get(t) for t in tokens}
        for failure in result.failed:
            if failure.code == FailureCode.DUPLICATE_IN_JOB:
                first = inputs[failure.duplicate_of] if failure.duplicate_of is not None else None
                self.false_ids += first is None or identity(first) != identity(failure.request)
            elif failure.client_token in tokens and not failure.outcome_unknown:
                self.lost += 1
        self.unsafe_retryable += sum(identity(i) in created for i in result.retryable())

    def final(self, target: Campaign, inputs: Sequence[Any], result: BatchResult[Any]) -> None:
        """The last run: as ``measure``, and every request of the job now created once."""
        self.measure(target, inputs, result)
        self.requests = len({identity(i) for i in inputs})
        left = [f for f in result.failed if f.code != FailureCode.DUPLICATE_IN_JOB]
        self.settled = not left and self.created == self.requests and self.twice == 0

    def check(self) -> None:
        """Assert the invariants every sequence must keep."""
        assert self.twice == 0, f"{self.twice} requests created twice"
        assert self.false_ids == 0, f"{self.false_ids} successes or tokens for another request"
        assert self.lost == 0, f"{self.lost} requests created but reported not created"
        assert self.unsafe_retryable == 0, f"{self.unsafe_retryable} created, yet retryable()"
        assert self.answered_once, "an input answered twice or not at all"
        assert self.settled, "the final run did not settle every request"


def _filtered_to_unknowns(endpoint: str, rng: random.Random) -> JobReport:
    api, mode = rng.choice(("v2", "v1")), rng.choice(("sync", "async"))
    target, inputs, report = campaign(api, endpoint), job_of_26(api), JobReport()
    target.fake.plan(Fault.items_failed("RequestThrottled"), Fault.dropped())
    first = put(mode, target, endpoint, inputs, max_attempts=1, max_item_retries=0)
    target.fake.reset_faults()
    report.measure(target, inputs, first)
    unknown = [f.request for f in first.unknown()]
    report.measure(target, unknown, put(mode, target, endpoint, unknown))
    report.final(target, inputs, put(mode, target, endpoint, inputs))
    return report


def _error_then_filtered(endpoint: str, rng: random.Random) -> JobReport:
    api, mode = rng.choice(("v2", "v1")), rng.choice(("sync", "async"))
    target, inputs, report = campaign(api, endpoint), job_of_26(api), JobReport()
    target.fake.plan(Fault.dropped(), Fault.error(500))
    first = put(mode, target, endpoint, inputs, max_attempts=1, max_item_retries=0)
    target.fake.reset_faults()
    report.measure(target, inputs, first)
    last = [inputs[-1]]
    report.measure(target, last, put(mode, target, endpoint, last))
    report.final(target, inputs, put(mode, target, endpoint, inputs))
    return report


def _reordered(endpoint: str, rng: random.Random) -> JobReport:
    target, report = campaign("v2", endpoint), JobReport()
    inputs = [
        request("v2", rng.choice((PERSON, "+14155550101")), rng.choice(("a", "b", "c")))
        for _ in range(30)
    ]
    report.measure(target, inputs, put(rng.choice(("sync", "async")), target, endpoint, inputs))
    shuffled = rng.sample(inputs, len(inputs))
    report.final(target, shuffled, put("sync", target, endpoint, shuffled))
    return report


def _split(endpoint: str, rng: random.Random) -> JobReport:
    target, report = campaign("v2", endpoint), JobReport()
    inputs = [*job_of_26("v2"), request("v2", PERSON, "survey")]
    cuts = sorted(rng.sample(range(1, len(inputs)), 2))
    for number, (start, end) in enumerate(zip([0, *cuts], [*cuts, len(inputs)], strict=True)):
        part = rng.sample(inputs[start:end], end - start)
        target.fake.plan(Fault.dropped(), Fault.items_failed("BufferLimitExceeded"))
        result = put("sync" if number % 2 else "async", target, endpoint, part,
                     max_attempts=1, max_item_retries=0)
        target.fake.reset_faults()
        report.measure(target, part, result)
    everything = inputs[::-1]
    report.final(target, everything, put("sync", target, endpoint, everything))
    return report


def _caller_tokens_stopped(endpoint: str, rng: random.Random) -> JobReport:
    target, report = campaign("v2", endpoint), JobReport()
    inputs = [
        request("v2", f"+1415556{i:04d}", "hello", client_token=f"crm-{i}") for i in range(60)
    ]
    report.measure(target, inputs, batch_client(target).put_requests(inputs))
    target.fake.set_campaign_state(target.campaign_id, "Paused")
    job_key = rng.choice((None, JOB))
    try:
        batch_client(target, job_key=job_key).put_requests(inputs)
    except CampaignStateError as stopped:
        report.measure(target, inputs, stopped.result)
    target.fake.set_campaign_state(target.campaign_id, "Running")
    report.final(target, inputs, batch_client(target, job_key=job_key).put_requests(inputs))
    return report


def _two_campaigns(endpoint: str, rng: random.Random) -> JobReport:
    api = rng.choice(("v2", "v1"))
    first, second = campaign(api, endpoint), campaign(api, endpoint)
    first.fake.tokens_remembered_per = "account"
    try:
        inputs = [request(api, f"+1415557{i:04d}", "hello") for i in range(5)]
        put("sync", first, endpoint, inputs)
        report = JobReport()
        report.final(second, inputs, put("sync", second, endpoint, inputs))
    finally:
        first.fake.reset_faults()
    return report


FAULTS: Sequence[Callable[[], Fault | None]] = (
    lambda: None,
    Fault.dropped,
    Fault.reset,
    Fault.throttle,
    lambda: Fault.error(500),
    lambda: Fault.error(500, after_commit=True),
    lambda: Fault.items_failed("RequestThrottled"),
    lambda: Fault.items_failed("UnknownError"),
    Fault.garbled,
)


def random_job(rng: random.Random, size: int) -> list[OutboundRequest]:
    """Requests to three people, three messages, some with one of two keys: repeats galore."""
    return [
        request(
            "v2", rng.choice((PERSON, "+14155550101", "+14155550102")),
            rng.choice(("reminder", "payment-due", "survey")),
            key=rng.choice((None, None, "k1", "k2")),
        )
        for _ in range(size)
    ]


def run_random(
    endpoint: str,
    inputs: list[Any],
    reruns: Sequence[tuple[Sequence[int], random.Random, str, int]],
) -> JobReport:
    """Runs of ``inputs``, each with its faults, filtered and shuffled, then the whole job."""
    target, report = campaign("v2", endpoint), JobReport()
    try:
        for fault_numbers, rng, mode, concurrency in reruns:
            kept = [i for i in inputs if rng.random() < 0.7]
            rng.shuffle(kept)
            target.fake.plan(*(FAULTS[n]() for n in fault_numbers))
            result = put(mode, target, endpoint, kept, max_attempts=2, max_item_retries=1,
                         concurrency=concurrency)
            target.fake.reset_faults()
            report.measure(target, kept, result)
        report.final(target, inputs, put("sync", target, endpoint, inputs))
    finally:
        target.fake.reset_faults()
    return report


def _random(endpoint: str, rng: random.Random) -> JobReport:
    reruns = [
        (
            [rng.randrange(len(FAULTS)) for _ in range(rng.randrange(5))],
            random.Random(rng.random()),
            rng.choice(("sync", "async")),
            rng.choice((1, 4)),
        )
        for _ in range(rng.randrange(1, 4))
    ]
    return run_random(endpoint, random_job(rng, rng.randrange(1, 60)), reruns)


@attrs.frozen
class JobSequence:
    name: str
    description: str
    run: Callable[[str, random.Random], JobReport]


JOB_SEQUENCES = (
    JobSequence("filtered to the unknowns",
                "26 requests, 2 to one person; capacity refusal, lost answer; rerun "
                "result.unknown(), then the whole job", _filtered_to_unknowns),
    JobSequence("a 500, then filtered",
                "the reminder created, its answer lost; payment-due 500s; rerun it alone, "
                "then the whole job", _error_then_filtered),
    JobSequence("reordered", "30 requests, 2 people, 3 messages; rerun shuffled", _reordered),
    JobSequence("split across workers",
                "the job in 3 shuffled slices, sync and async, faults; then reversed whole",
                _split),
    JobSequence("caller tokens, campaign paused",
                "60 requests with client_token created; a rerun refused as Paused; then "
                "resumed", _caller_tokens_stopped),
    JobSequence("one key, two campaigns",
                "the same job key on two campaigns, tokens remembered per account",
                _two_campaigns),
    JobSequence("random",
                "repeated people and keys, random faults, filters, orders, sync and async, "
                "1-3 runs, then the whole job", _random),
)


def run_job_sequence(sequence: JobSequence, endpoint: str, seed: int) -> JobReport:
    """One run of ``sequence`` with ``seed``."""
    return sequence.run(endpoint, random.Random(seed))
