"""A batch's steps, driven by hand: an exception thrown in at any step (an interrupt, a
task's cancellation) still answers every input once, and ``outcome_unknown`` says whether
an attempt may have acted. The sync and async drivers throw in exactly this way."""

from __future__ import annotations

import asyncio
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from connect_batch import ContactBatchClient, Failure, Success
from connect_batch._engine import Acquire, Call, Feedback, Sleep, Work
from tests.builders import contacts


def throttle(status: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": "ThrottlingException", "Message": "slow down"},
         "ResponseMetadata": {"HTTPStatusCode": status}},
        "BatchPutContact",
    )


def answer(params: dict[str, Any], call: int, status: int) -> dict[str, Any]:
    """Call 1 is throttled; call 2 creates the first item and refuses the second for now
    (it goes again in a new round); call 3 creates it."""
    keys = [r["RequestIdentifier"] for r in params["ContactDataRequestList"]]
    if call == 1:
        raise throttle(status)
    if call == 2:
        return {
            "SuccessfulRequestList": [{"RequestIdentifier": keys[0], "ContactId": "c0"}],
            "FailedRequestList": [{"RequestIdentifier": k, "FailureReasonCode":
                                   "REQUEST_THROTTLED", "FailureReasonMessage": "later"}
                                  for k in keys[1:]],
        }
    return {"SuccessfulRequestList": [{"RequestIdentifier": k, "ContactId": f"c-{k}"}
                                      for k in keys], "FailedRequestList": []}


def drive(status: int, throw_at: int | None, error: type[BaseException]) -> tuple[list[str], Any]:
    """Run one batch of two through its steps, throwing ``error`` in at step ``throw_at``."""
    client = ContactBatchClient(
        boto3.client("connect", region_name="us-east-1"), instance_id="instance-1",
        max_attempts=3, max_item_retries=2,
    )
    engine = client.engine_for(None)
    batch = list(engine.keyed(contacts(2)))
    work: Work[Any, Any] = Work(batch)
    steps = engine.settle_steps(batch, 1, work)
    seen: list[str] = []
    calls = 0
    value: Any = None
    thrown: BaseException | None = None
    try:
        while True:
            step = steps.throw(thrown) if thrown is not None else steps.send(value)
            seen.append(type(step).__name__)
            value, thrown = None, None
            if len(seen) - 1 == throw_at:
                thrown = error()
            elif isinstance(step, Acquire):
                value = 0
            elif isinstance(step, Feedback):
                value = False
            elif isinstance(step, Call):
                calls += 1
                try:
                    value = answer(step.params, calls, status)
                except ClientError as refused:
                    thrown = refused
            else:
                assert isinstance(step, Sleep)
    except (StopIteration, error):
        pass
    return seen, work.outcomes


STEPS = drive(429, None, KeyboardInterrupt)[0]
CALL_2 = [i for i, name in enumerate(STEPS) if name == "Call"][1]


def test_the_batch_goes_through_every_kind_of_step():
    assert STEPS == ["Acquire", "Call", "Feedback", "Sleep", "Acquire", "Call", "Feedback",
                     "Sleep", "Acquire", "Call", "Feedback"]


@pytest.mark.parametrize("status", [429, 503])
@pytest.mark.parametrize("error", [KeyboardInterrupt, asyncio.CancelledError])
@pytest.mark.parametrize("at", range(len(STEPS)), ids=lambda k: f"{k}-{STEPS[k]}")
def test_an_exception_at_any_step_answers_each_input_once(status, error, at):
    _, outcomes = drive(status, at, error)
    assert sorted(o.position for o in outcomes) == [0, 1]
    first, second = sorted(outcomes, key=lambda o: o.position)
    if at <= CALL_2:
        # Before the second call's answer: neither input is known created. After a 5xx
        # throttle they may have been (so unknown); after a 429, nothing was.
        acted = status == 503 and at > 1
        for outcome in (first, second):
            assert isinstance(outcome, Failure)
            assert outcome.code == "INTERRUPTED"
            assert outcome.outcome_unknown == acted
    else:
        # The second call's answer is read before anything else can be interrupted: the
        # first input is created. The second was refused by the service; its next call is
        # under a new token that an interrupt at that call's step never let out.
        assert isinstance(first, Success)
        if at == len(STEPS) - 1:  # the third call's answer is read too
            assert isinstance(second, Success)
        else:
            assert isinstance(second, Failure)
            assert second.code == "INTERRUPTED"
            assert second.outcome_unknown is False
