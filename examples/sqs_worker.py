"""An outbound-campaign worker: people arrive on an SQS queue, leave as outbound requests.

It puts them into an outbound campaign with ``PutOutboundRequestBatch`` (outbound campaigns
v2), the call a customer's own role may make. Each message carries ``{"requests": [{"channel":
"telephony", "destination": "+1...", "client_token": ..., "attributes": {...}}, ...]}``
(``"sms"``, ``"email"`` and ``"whatsapp"`` take ``"template_parameters"`` instead of
``"attributes"``). The worker long-polls the queue and, for each message:

1. builds the requests (one that fails validation gets an answer at once and is dropped:
   sending it again would fail the same way);
2. puts the rest with ``job_key`` = the message id (or the key a requeued message carries),
   so that each request's token is derived from the job key, the campaign, the channel,
   the destination and the request's key (or, without one, what it says): if the worker
   dies before it deletes the message, SQS redelivers it and the rerun sends the same
   tokens, and the service answers with what it created instead of creating it again;
3. if any request's outcome is unknown (throttled out, timed out, cut off: the service may
   have created it), leaves the message alone: SQS hands it out again after its visibility
   timeout, and the rerun under the same job key settles it. The queue's redrive policy
   (``maxReceiveCount``) bounds how often that happens;
4. otherwise sends the failures known not created and retryable (the campaign lacked
   capacity, say) back to the queue as a new message, delayed, under a job key derived
   from this one, at most ``MAX_GENERATIONS`` times, and deletes the message.

A message that cannot be read (not JSON, a request that is not an object, tokens repeated)
is logged and left alone: the redrive policy moves it to a dead-letter queue, and the
messages behind it go on. If the service refuses the whole run (access denied, no such
campaign, the campaign not running) the message is left alone too, and the worker stops.

A fleet is several such workers on one queue. They share the campaign API's quota (per
account and Region), so with ``--redis-url`` they share one ``RedisRateLimiter`` too, under
``fleet_key(account, region, "PutOutboundRequestBatch")``: the fleet paces itself as one
instead of each process finding the ceiling by hitting it. ``--workers N`` starts N worker
processes here; ECS tasks or hosts running this same command with the same Redis make the
same fleet.

    python examples/sqs_worker.py --queue-url https://sqs... --campaign-id ...
    python examples/sqs_worker.py --queue-url ... --campaign-id ... \
        --redis-url redis://cache.internal:6379/0 --workers 4
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
from collections.abc import Callable
from typing import Any

import attrs
import boto3

from connect_batch import (
    BatchResult,
    Channel,
    ContactValidationError,
    OutboundRequest,
    OutboundRequestBatchClient,
    RedisRateLimiter,
    RunAbortedError,
    fleet_key,
)

logger = logging.getLogger("sqs_worker")
RETRY_DELAY_SECONDS = 60
MAX_GENERATIONS = 5


class UnreadableMessage(Exception):  # noqa: N818 - names the message, not an error kind
    """The message cannot be turned into requests; it is left for the dead-letter queue."""


@attrs.frozen
class MessageReport:
    """What one message became."""

    created: int
    invalid: int
    requeued: int
    unknown: int


def request_from(data: dict[str, Any]) -> OutboundRequest:
    """One outbound request from a message's JSON."""
    channel = Channel(data.get("channel", "telephony"))
    token = data.get("client_token")
    destination = str(data.get("destination", ""))
    if channel is Channel.TELEPHONY:
        return OutboundRequest.telephony(
            destination, attributes=data.get("attributes") or {}, client_token=token
        )
    build = {
        Channel.SMS: OutboundRequest.sms,
        Channel.EMAIL: OutboundRequest.email,
        Channel.WHATSAPP: OutboundRequest.whatsapp,
    }[channel]
    return build(
        destination,
        template_parameters=data.get("template_parameters") or {},
        client_token=token,
    )


def request_to(request: OutboundRequest) -> dict[str, Any]:
    """The message JSON for ``request`` (the inverse of ``request_from``)."""
    name = "attributes" if request.channel is Channel.TELEPHONY else "template_parameters"
    return {
        "channel": request.channel.value,
        "destination": request.destination,
        "client_token": request.client_token,
        name: dict(request.parameters),
    }


def read_body(message: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The message's JSON and its list of requests, or ``UnreadableMessage``."""
    try:
        body = json.loads(message["Body"])
        items = body["requests"]
    except (ValueError, KeyError, TypeError) as error:
        raise UnreadableMessage(type(error).__name__) from None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise UnreadableMessage("requests must be a list of objects")
    return body, items


@attrs.frozen
class Job:
    """One message, read: its requests, the job key they go under, its generation."""

    requests: list[OutboundRequest]
    job_key: str
    generation: int
    invalid: int


@attrs.frozen
class Decision:
    """What to do with a message once its job ran: requeue (a message body, or ``None``),
    delete it or leave it for SQS to deliver again, and the report."""

    requeue: dict[str, Any] | None
    delete: bool
    report: MessageReport


def read_job(message: dict[str, Any]) -> Job:
    """The message's job: a request that fails validation is logged, counted and dropped
    (sending it again would fail the same way)."""
    body, items = read_body(message)
    requests, invalid = [], 0
    for index, data in enumerate(items):
        try:
            requests.append(request_from(data))
        except (ContactValidationError, ValueError) as error:
            invalid += 1
            logger.warning("message %s request %d invalid: %s", message["MessageId"], index, error)
    return Job(
        requests,
        job_key=str(body.get("job_key") or message["MessageId"]),
        generation=int(body.get("generation", 0)),
        invalid=invalid,
    )


def decide(message: dict[str, Any], job: Job, result: BatchResult[OutboundRequest]) -> Decision:
    """Requeue what may be retried, delete the message, unless an outcome is unknown."""
    unknown = result.unknown()
    if unknown:
        # Settle them the only safe way: the same job again, so the same tokens. Nothing is
        # requeued and the message is not deleted; SQS redelivers it.
        logger.warning(
            "message %s: %d request(s) with unknown outcome (%s); leaving the message to be "
            "delivered again and settled under the same job key",
            message["MessageId"], len(unknown), ", ".join(sorted({f.code for f in unknown})),
        )
        report = MessageReport(len(result.succeeded), job.invalid, 0, len(unknown))
        return Decision(requeue=None, delete=False, report=report)
    retry = result.retryable()  # known not created: sending them again calls nobody twice
    requeue = None
    if retry and job.generation < MAX_GENERATIONS:
        requeue = {
            "requests": [request_to(r) for r in retry],
            "job_key": f"{job.job_key}/retry-{job.generation + 1}",
            "generation": job.generation + 1,
        }
    elif retry:
        logger.error("message %s: %d requests still failing after %d retries; dropped",
                     message["MessageId"], len(retry), MAX_GENERATIONS)
    report = MessageReport(
        created=len(result.succeeded),
        invalid=job.invalid,
        requeued=len(retry) if requeue is not None else 0,
        unknown=0,
    )
    return Decision(requeue=requeue, delete=True, report=report)


def process_message(
    sqs: Any, queue_url: str, client: OutboundRequestBatchClient, message: dict[str, Any]
) -> MessageReport:
    """Put one message's requests; requeue what may be retried; delete the message."""
    job = read_job(message)
    try:
        # The job key names this input: a redelivered message replays, never duplicates.
        result = client.put_requests(job.requests, job_key=job.job_key)
    except ContactValidationError as error:  # e.g. client tokens repeated within the message
        raise UnreadableMessage(str(error)) from None
    decision = decide(message, job, result)
    if decision.requeue is not None:
        sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(decision.requeue),
                         DelaySeconds=RETRY_DELAY_SECONDS)
    if decision.delete:
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return decision.report


def run(
    sqs: Any,
    queue_url: str,
    client: OutboundRequestBatchClient,
    *,
    wait_seconds: int = 20,
    keep_going: Callable[[], bool] = lambda: True,
    until_empty: bool = False,
) -> list[MessageReport]:
    """Long-poll ``queue_url`` and process messages while ``keep_going()`` (and, with
    ``until_empty``, until a poll finds no message)."""
    reports: list[MessageReport] = []
    while keep_going():
        received = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds
        )
        if until_empty and not received.get("Messages"):
            return reports
        for message in received.get("Messages", []):
            try:
                reports.append(process_message(sqs, queue_url, client, message))
            except UnreadableMessage as error:
                logger.error(  # noqa: TRY400 - one line, no traceback
                    "message %s unreadable (%s); left for the dead-letter queue",
                    message["MessageId"], error,
                )
            except RunAbortedError as error:
                # Nothing more can succeed; leave the message to come back, and stop.
                logger.error("stopping: %s", error)  # noqa: TRY400 - one line, no traceback
                return reports
    return reports


def shared_limiter(
    redis_url: str, campaigns: Any, sts: Any, rate: float | None
) -> RedisRateLimiter:
    """One limiter for every worker of the fleet: the quota is per account and Region."""
    account = sts.get_caller_identity()["Account"]
    key = fleet_key(account, campaigns.meta.region_name, "PutOutboundRequestBatch")
    return RedisRateLimiter.from_url(redis_url, key=key, rate=rate)


def worker(args: argparse.Namespace) -> None:
    """One worker process: its own boto3 clients, the fleet's limiter, the shared queue."""
    logging.basicConfig(level=logging.INFO)
    campaigns = boto3.client("connectcampaignsv2", endpoint_url=args.endpoint_url)
    limiter = None
    if args.redis_url:
        sts = boto3.client("sts", endpoint_url=args.endpoint_url)
        limiter = shared_limiter(args.redis_url, campaigns, sts, args.max_rps)
    client = OutboundRequestBatchClient(
        campaigns,
        campaign_id=args.campaign_id,
        concurrency=args.concurrency,
        max_requests_per_second=args.max_rps,
        rate_limiter=limiter,
    )
    sqs = boto3.client("sqs", endpoint_url=args.endpoint_url)
    run(sqs, args.queue_url, client, wait_seconds=args.wait_seconds,
        until_empty=args.until_empty)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--queue-url", required=True)
    parser.add_argument("--campaign-id", required=True)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--max-rps", type=float, help="the quota, if known (calls/s)")
    parser.add_argument("--redis-url", help="share one limiter with the fleet through Redis")
    parser.add_argument("--workers", type=int, default=1, help="worker processes to start")
    parser.add_argument("--wait-seconds", type=int, default=20)
    parser.add_argument("--until-empty", action="store_true",
                        help="stop when a poll finds the queue empty")
    parser.add_argument("--endpoint-url", help="for tests: a local double of AWS")
    args = parser.parse_args()
    if args.workers < 1:
        parser.error("--workers must be 1 or more")
    if args.workers == 1:
        worker(args)
        return
    processes = [multiprocessing.Process(target=worker, args=(args,))
                 for _ in range(args.workers)]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    failed = [p.exitcode for p in processes if p.exitcode != 0]
    if failed:
        raise SystemExit(f"{len(failed)} of {len(processes)} workers failed")


if __name__ == "__main__":
    main()
