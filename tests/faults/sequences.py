"""Sequences of runs under one job key, as the docs recommend them, checked on the ledger.

A scenario in ``harness.py`` is one run with faults. A sequence is what a worker does over
time: a run whose answers are lost (as if the process were killed), reruns under the same
job key while the service throttles or the deadline is short, resending ``retryable()``
under the job's retry key, rerunning with edited input. After every step the results are
checked against the double's ledger:

- nobody is created twice;
- nothing the step's job key created is reported known not created
  (``outcome_unknown=False``), nor held in its ``retryable()``.

What a job key says about an input covers that key's own tokens: an input resent under
``f"{job}/retry-1"`` and created there is still reported refused by a rerun of ``job``
(the service replays ``job``'s answers), and resending it again under the same retry key
replays too. That is the documented procedure, and what these sequences follow.

Used by ``test_matrix.py`` and by ``python -m tests.faults.report``.
"""

from __future__ import annotations

import collections
import random
from collections.abc import Callable

import attrs
import boto3

from connect_batch import BatchResult, ContactBatchClient, ContactRequest
from connect_batch._engine.identity import JobIdentities
from connect_batch.testing import ConnectDouble, Fault, no_sleep
from tests.builders import contact
from tests.faults.harness import mixed_inputs


@attrs.frozen(kw_only=True)
class SequenceReport:
    """What a sequence did, measured against the ledger."""

    inputs: int
    created: int
    duplicates: int
    lost: int  # created, yet reported known not created by some step
    unsafe_retryable: int  # in some step's retryable() although created by then
    settled: bool  # the last run answered every input, nothing unknown, each created once

    def check(self) -> None:
        """Assert the invariants every sequence must keep."""
        assert self.duplicates == 0, f"{self.duplicates} contacts created twice"
        assert self.lost == 0, f"{self.lost} contacts created but reported not created"
        assert self.unsafe_retryable == 0, f"{self.unsafe_retryable} existing contacts retryable"
        assert self.settled, "the final rerun did not settle every input"


def _tokens(job_key: str) -> frozenset[str]:
    """Every ClientToken a run under ``job_key`` can send (batches and rounds generously)."""
    identities = JobIdentities(job_key)
    return frozenset(
        identities.client_token(batch, round_number)
        for batch in range(1, 50)
        for round_number in range(10)
    )


@attrs.define
class _Checker:
    double: ConnectDouble
    lost: int = 0
    unsafe: int = 0

    def step(self, result: BatchResult, job_key: str) -> BatchResult:
        """Check one step's result against what ``job_key``'s tokens created so far."""
        tokens = _tokens(job_key)
        created = {c.request_identifier for c in self.double.contacts if c.client_token in tokens}
        self.lost += sum(
            f.request_identifier in created and not f.outcome_unknown for f in result.failed
        )
        known = {id(f.request) for f in result.failed if f.retryable and not f.outcome_unknown}
        self.unsafe += sum(
            f.request_identifier in created for f in result.failed if id(f.request) in known
        )
        return result


def _client(double: ConnectDouble, job_key: str, **options: object) -> ContactBatchClient:
    options.setdefault("sleep", no_sleep)
    return ContactBatchClient(
        double.client,
        instance_id=double.instance_id,
        job_key=job_key,
        **options,  # type: ignore[arg-type]
    )


def _answers_lost(double: ConnectDouble, inputs: list[ContactRequest], job: str) -> BatchResult:
    """A run whose calls all act and whose answers never arrive: a worker killed mid-call."""
    double.fake.plan(*([Fault.dropped()] * (len(inputs) // 25 + 1)))
    result = _client(double, job, max_attempts=1).put_contacts(inputs)
    double.fake.reset_faults()
    return result


def _rerun_throttled(double: ConnectDouble, inputs: list[ContactRequest], job: str) -> BatchResult:
    double.fake.throttle(rate=0, burst=0)
    result = _client(double, job, max_attempts=2).put_contacts(inputs)
    double.fake.reset_faults()
    return result


def killed_then_throttled(double: ConnectDouble, rng: random.Random, job: str) -> Steps:
    inputs = mixed_inputs(rng, rng.randint(30, 90))
    return inputs, [
        lambda: _answers_lost(double, inputs, job),
        lambda: _rerun_throttled(double, inputs, job),
    ]


def killed_then_deadline(double: ConnectDouble, rng: random.Random, job: str) -> Steps:
    inputs = mixed_inputs(rng, rng.randint(30, 90))
    return inputs, [
        lambda: _answers_lost(double, inputs, job),
        lambda: _client(double, job, deadline=0.3, max_requests_per_second=1).put_contacts(
            inputs
        ),
    ]


def throttled_batches(double: ConnectDouble, rng: random.Random, job: str) -> Steps:
    inputs = mixed_inputs(rng, rng.randint(50, 120))

    def run() -> BatchResult:
        double.fake.plan(*(rng.choice([None, Fault.throttle()]) for _ in range(12)))
        result = _client(double, job, max_attempts=2).put_contacts(inputs)
        double.fake.reset_faults()
        return result

    return inputs, [run]


def item_refusals(double: ConnectDouble, rng: random.Random, job: str) -> Steps:
    inputs = [contact(i, request_identifier=f"{job}-{i}") for i in range(rng.randint(30, 80))]

    def run() -> BatchResult:
        chosen = rng.sample([c.request_identifier or "" for c in inputs], k=5)
        double.fake.fail_items(dict.fromkeys(chosen, "REQUEST_THROTTLED"), times=10)
        result = _client(double, job).put_contacts(inputs)  # max_item_retries: as every run
        double.fake.reset_faults()
        return result

    return inputs, [run]


def edited_rerun(double: ConnectDouble, rng: random.Random, job: str) -> Steps:
    inputs = mixed_inputs(rng, rng.randint(30, 90))
    edited = [*inputs]
    edited[rng.randrange(len(inputs))] = contact(10_000 + rng.randrange(1000))
    return inputs, [
        lambda: _client(double, job).put_contacts(inputs),
        lambda: _client(double, job).put_contacts(edited),
    ]


def token_only_replay(double: ConnectDouble, rng: random.Random, job: str) -> Steps:
    inputs = [contact(i) for i in range(rng.randint(30, 90))]
    edited = [*inputs]
    edited[rng.randrange(len(inputs))] = contact(10_000 + rng.randrange(1000))

    def replayed() -> BatchResult:
        double.fake.compare_bodies = False
        result = _client(double, job).put_contacts(edited)
        double.fake.reset_faults()
        return result

    return inputs, [lambda: _client(double, job).put_contacts(inputs), replayed]


Steps = tuple[list[ContactRequest], list[Callable[[], BatchResult]]]


@attrs.frozen
class Sequence:
    """Steps under one job key, then the documented recovery, checked after each step."""

    name: str
    description: str
    steps: Callable[[ConnectDouble, random.Random, str], Steps]


SEQUENCES = [
    Sequence("killed, rerun throttled", "answers lost, then a rerun throttled out",
             killed_then_throttled),
    Sequence("killed, rerun past deadline", "answers lost, then a rerun with a short deadline",
             killed_then_deadline),
    Sequence("batches throttled out", "random 429s until batches run out of attempts",
             throttled_batches),
    Sequence("items refused", "REQUEST_THROTTLED for 5 items through every round, resent",
             item_refusals),
    Sequence("edited rerun", "one input changed before the rerun (409)", edited_rerun),
    Sequence("token-only replay", "edited rerun; the service replays by token alone",
             token_only_replay),
]


def run_sequence(sequence: Sequence, endpoint_url: str, seed: int) -> SequenceReport:
    """The steps, then after each: resend ``retryable()`` under a new key, as documented.

    Finally the recovery the docs give for unknowns: the same input again, same job key.
    """
    rng = random.Random(seed)
    client = boto3.client("connect", region_name="us-east-1", endpoint_url=endpoint_url)
    double = ConnectDouble.create(client)
    double.fake.reset_faults()
    job = f"job-{sequence.name}-{seed}"
    retry_key = f"{job}/retry-1"
    checker = _Checker(double)
    inputs, steps = sequence.steps(double, rng, job)

    def resend(result: BatchResult) -> None:
        # Known not created: safe under the job's retry key, always the same key, so that
        # a second resend of the same inputs replays instead of creating.
        if result.retryable():
            checker.step(_client(double, retry_key).put_contacts(result.retryable()), retry_key)

    for step in steps:
        resend(checker.step(step(), job))
    # The recovery for unknowns: the same input under the same key; then its refusals,
    # replayed, go to the same retry key again.
    final = checker.step(_client(double, job).put_contacts(inputs), job)
    resend(final)
    ledger = collections.Counter(c.request_identifier for c in double.contacts)
    answered = sorted(o.position for o in (*final.succeeded, *final.failed))
    unknown_left = [f for f in final.failed if f.outcome_unknown]
    return SequenceReport(
        inputs=len(inputs),
        created=sum(ledger.values()),
        duplicates=sum(n - 1 for n in ledger.values()),
        lost=checker.lost,
        unsafe_retryable=checker.unsafe,
        settled=answered == list(range(len(inputs)))
        and not unknown_left
        and sorted(ledger.values()) == [1] * len(inputs),
    )
