"""Exercises the public API under ``mypy --strict``; checked, never run."""

from __future__ import annotations

import datetime

import boto3
from mypy_boto3_connect.type_defs import ContactDataRequestTypeDef

from connect_batch import (
    AdaptiveRateLimiter,
    BatchResult,
    ConnectBatchError,
    ContactBatchClient,
    ContactRequest,
    ContactValidationError,
    Endpoint,
    EndpointType,
    Failure,
    FailureCode,
    NoLimit,
    NotSentError,
    OutboundStrategy,
    Outcome,
    OutcomeStream,
    RateLimiter,
    RunAbortedError,
    Success,
)
from connect_batch.testing import ConnectDouble, Fault, mock_connect


def build() -> list[ContactRequest]:
    strategy = OutboundStrategy.agent_first_preview(
        post_accept_timeout_seconds=30, allowed_user_actions=["CALL"]
    )
    request = ContactRequest(
        customer_endpoint=Endpoint.phone("+14155550100"),
        campaign_id="campaign",
        queue_id="queue",
        system_endpoint=Endpoint(EndpointType.TELEPHONE_NUMBER, "+14155550199"),
        attributes={"name": "value"},
        request_identifier="crm-1",
        outbound_strategy=strategy,
    )
    api: ContactDataRequestTypeDef = request.to_api()
    return [request, ContactRequest.from_api(api)]


def run() -> None:
    client = ContactBatchClient(
        boto3.client("connect"),
        instance_id="instance",
        max_attempts=3,
        deadline=datetime.timedelta(minutes=5),
    )
    try:
        result: BatchResult = client.put_contacts(build())
    except ContactValidationError as error:
        position: int | None = error.position
        field: str = error.field
        print(position, field)
        return
    except RunAbortedError as error:
        partial: BatchResult = error.result
        print(error.code, len(partial))
        return
    except ConnectBatchError:
        raise
    success: Success
    for success in result.succeeded:
        contact_id: str = success.contact_id
        print(contact_id, success.request_identifier, success.request)
    failure: Failure
    for failure in result.failed:
        retry: bool = failure.retryable and not failure.outcome_unknown
        print(failure.code == FailureCode.REQUEST_THROTTLED, retry)


def stream() -> None:
    client = ContactBatchClient(
        boto3.client("connect"),
        instance_id="instance",
        concurrency=8,
        max_requests_per_second=10,
        on_retry=print,
    )
    limiter: RateLimiter = AdaptiveRateLimiter(max_rate=5)
    print(limiter.acquire(1.0), NoLimit().feedback(0, throttled=True))
    for outcome in client.iter_put_contacts(iter(build()), job_key="job"):
        if isinstance(outcome, Success):
            print(outcome.contact_id)
        else:
            print(outcome.code, outcome.outcome_unknown)
    with client.batcher(job_key="job") as batcher:
        batcher.put(build()[0])
    unsent: list[ContactRequest] = batcher.unsent
    print(batcher.result.counts(), unsent, batcher.result.retryable(), batcher.result.unknown())
    outcomes: OutcomeStream
    with client.iter_put_contacts(build()) as outcomes:
        first: Outcome = next(outcomes)
        print(first.position)
    rest: BatchResult = outcomes.rest
    closed: BatchResult = outcomes.close()
    print(rest.counts(), closed.all_succeeded)
    try:
        client.put_contacts(build())
    except NotSentError as error:
        print(error.code, error.result.unknown())


def test_double() -> None:
    with mock_connect() as double:
        fake = double.fake()
        fake.plan(Fault.throttle(), None)
        connect = ConnectDouble.create(boto3.client("connect", region_name="us-east-1"))
        print(len(connect.contacts), fake.attempts_by_token())
