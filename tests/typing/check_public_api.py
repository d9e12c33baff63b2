"""Exercises the public API under ``mypy --strict``; checked, never run."""

from __future__ import annotations

import datetime

import boto3
from mypy_boto3_connect.type_defs import ContactDataRequestTypeDef
from mypy_boto3_connectcampaigns.type_defs import DialRequestTypeDef
from mypy_boto3_connectcampaignsv2.type_defs import OutboundRequestTypeDef

from connect_batch import (
    DEFAULT_EXPIRES,
    AdaptiveRateLimiter,
    AnswerMachineDetection,
    BatchClient,
    BatchResult,
    CampaignNotFoundError,
    CampaignStateError,
    ConnectBatchError,
    ContactBatchClient,
    ContactRequest,
    ContactValidationError,
    DialRequest,
    DialRequestBatchClient,
    Endpoint,
    EndpointType,
    Failure,
    FailureCode,
    NoLimit,
    NotSentError,
    OutboundRequest,
    OutboundRequestBatchClient,
    OutboundStrategy,
    Outcome,
    OutcomeStream,
    RateLimiter,
    RunAbortedError,
    Success,
)
from connect_batch.events import Event, PaceChanged, RunFinished
from connect_batch.otel import OpenTelemetrySubscriber
from connect_batch.progress import RichProgress
from connect_batch.testing import ConnectDouble, FakeCampaigns, Fault, mock_connect


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
        result: BatchResult[ContactRequest] = client.put_contacts(build(), deadline=9.5)
    except ContactValidationError as error:
        position: int | None = error.position
        field: str = error.field
        print(position, field)
        return
    except RunAbortedError as error:
        partial: BatchResult[object] = error.result
        print(error.code, len(partial))
        return
    except ConnectBatchError:
        raise
    success: Success[ContactRequest]
    for success in result.succeeded:
        contact_id: str = success.contact_id
        print(contact_id, success.request_identifier, success.request)
    failure: Failure[ContactRequest]
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
    outcomes: OutcomeStream[ContactRequest]
    with client.iter_put_contacts(build()) as outcomes:
        first: Outcome[ContactRequest] = next(outcomes)
        print(first.position)
    rest: BatchResult[ContactRequest] = outcomes.rest
    closed: BatchResult[ContactRequest] = outcomes.close()
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


def campaigns() -> None:
    now = datetime.datetime.now(datetime.timezone.utc)
    requests = [
        OutboundRequest.telephony(
            "+14155550100",
            attributes={"name": "value"},
            client_token="crm-1",
            expires=datetime.timedelta(minutes=5),
            ring_timeout=30,
            answering_machine_detection=AnswerMachineDetection(enabled=True, await_prompt=True),
        ),
        OutboundRequest.sms("+14155550101", template_parameters={"name": "value"}),
        OutboundRequest.email("someone@example.com", template_parameters={}, expires=now),
        OutboundRequest.whatsapp("+14155550102", template_parameters={"k": "v"}),
        OutboundRequest.sms("+14155550101"),  # a template that takes no parameters
    ]
    api: OutboundRequestTypeDef = requests[0].to_api("token", now + DEFAULT_EXPIRES)
    v2 = OutboundRequestBatchClient(
        boto3.client("connectcampaignsv2"), campaign_id="campaign", concurrency=4
    )
    generic: BatchClient[OutboundRequest] = v2
    try:
        result: BatchResult[OutboundRequest] = v2.put_requests(requests, job_key="job")
    except CampaignStateError as error:
        state: str | None = error.state
        print(state, error.result.unknown())
        return
    except CampaignNotFoundError as error:
        print(error.code)
        return
    for success in result.succeeded:
        request_id: str = success.id
        token: str | None = success.client_token
        channel_request: OutboundRequest = success.request
        print(request_id, token, channel_request, api, generic)
    retry: list[OutboundRequest] = result.retryable()
    dial = DialRequest(phone_number="+14155550103", attributes={"k": "v"})
    dial_api: DialRequestTypeDef = dial.to_api("token", now + DEFAULT_EXPIRES)
    v1 = DialRequestBatchClient(boto3.client("connectcampaigns"), campaign_id="campaign")
    with v1.iter_put_requests([dial]) as stream:
        for outcome in stream:
            kept: DialRequest = outcome.request
            print(kept, dial_api, retry)
    with v1.batcher() as batcher:
        batcher.put(dial)
    dial_result: BatchResult[DialRequest] = batcher.result
    fake = FakeCampaigns.of()
    print(dial_result.counts(), fake.create_campaign_v2(state="Paused"), len(fake.requests))


def observe() -> None:
    paces: list[float] = []

    def on_event(event: Event) -> None:
        if isinstance(event, PaceChanged):
            paces.append(event.rate)
        elif isinstance(event, RunFinished):
            unbatched: int = sum(event.unbatched.values())
            print(unbatched)

    with RichProgress(total=2, description="contacts", transient=True) as progress:
        client = ContactBatchClient(
            boto3.client("connect"), instance_id="instance",
            subscribers=[progress, on_event, OpenTelemetrySubscriber()],
        )
        client.put_contacts(build())
    counts: dict[str, int] = progress.counts
    print(counts, progress.done, progress.status(), paces)
