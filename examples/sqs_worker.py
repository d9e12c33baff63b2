"""An outbound-campaign worker: contacts arrive on an SQS queue, leave as Connect contacts.

Each message carries ``{"contacts": [{"phone": ..., "campaign_id": ..., "queue_id": ...,
"request_identifier": ..., "attributes": {...}}, ...]}``. The worker long-polls the queue
and, for each message:

1. builds the contacts (a contact that fails validation gets an answer at once and is
   dropped: sending it again would fail the same way);
2. puts the rest with ``job_key`` = the message id (or the key a requeued message
   carries), so that if the worker dies before it deletes the message, SQS redelivers it
   and the rerun replays instead of calling anyone twice;
3. if any contact's outcome is unknown (a call throttled out, timed out or cut off: the
   service may have created it), leaves the message alone: SQS hands it out again after
   its visibility timeout, and the rerun under the same job key sends the very same
   tokens, so the service replays what exists and creates what does not. The queue's
   redrive policy (``maxReceiveCount``) bounds how often that happens;
4. otherwise sends the failures that are known not created and retryable back to the
   queue as a new message, delayed, under a job key derived from this one (so a
   redelivered original requeues under the same key, and its copy replays too), at most
   ``MAX_GENERATIONS`` times, and deletes the message: every contact in it is settled.

A message that cannot be read (not JSON, a contact that is not an object, identifiers
repeated) is logged and left alone: the queue's redrive policy moves it to a dead-letter
queue, and the messages behind it go on. If the service refuses the whole run (access
denied, no such instance) the message is left alone too, and the worker stops.

    python examples/sqs_worker.py --queue-url https://sqs... --instance-id ...
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Callable
from typing import Any

import attrs
import boto3

from connect_batch import (
    ContactBatchClient,
    ContactRequest,
    ContactValidationError,
    Endpoint,
    RunAbortedError,
)

logger = logging.getLogger("sqs_worker")
RETRY_DELAY_SECONDS = 60
MAX_GENERATIONS = 5


class UnreadableMessage(Exception):  # noqa: N818 - names the message, not an error kind
    """The message cannot be turned into contacts; it is left for the dead-letter queue."""


@attrs.frozen
class MessageReport:
    """What one message became."""

    created: int
    invalid: int
    requeued: int
    unknown: int


def contact_from(data: dict[str, Any]) -> ContactRequest:
    """One contact from a message's JSON."""
    return ContactRequest(
        customer_endpoint=Endpoint.phone(str(data.get("phone", ""))),
        campaign_id=data.get("campaign_id"),
        queue_id=data.get("queue_id"),
        request_identifier=data.get("request_identifier"),
        attributes=data.get("attributes") or {},
    )


def contact_to(request: ContactRequest) -> dict[str, Any]:
    """The message JSON for ``request`` (the inverse of ``contact_from``)."""
    return {
        "phone": request.customer_endpoint.address,
        "campaign_id": request.campaign_id,
        "queue_id": request.queue_id,
        "request_identifier": request.request_identifier,
        "attributes": dict(request.attributes),
    }


def read_body(message: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The message's JSON and its list of contacts, or ``UnreadableMessage``."""
    try:
        body = json.loads(message["Body"])
        items = body["contacts"]
    except (ValueError, KeyError, TypeError) as error:
        raise UnreadableMessage(type(error).__name__) from None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise UnreadableMessage("contacts must be a list of objects")
    return body, items


def process_message(
    sqs: Any, queue_url: str, client: ContactBatchClient, message: dict[str, Any]
) -> MessageReport:
    """Put one message's contacts; requeue what may be retried; delete the message."""
    body, items = read_body(message)
    job_key = str(body.get("job_key") or message["MessageId"])
    generation = int(body.get("generation", 0))
    contacts, invalid = [], 0
    for index, data in enumerate(items):
        try:
            contacts.append(contact_from(data))
        except ContactValidationError as error:
            invalid += 1
            logger.warning("message %s contact %d invalid: %s", message["MessageId"], index, error)
    try:
        # The job key names this input: a redelivered message replays, never duplicates.
        result = client.put_contacts(contacts, job_key=job_key)
    except ContactValidationError as error:  # e.g. identifiers repeated within the message
        raise UnreadableMessage(str(error)) from None
    unknown = result.unknown()
    if unknown:
        # Settle them the only safe way: the same job again, so the same tokens. Nothing is
        # requeued and the message is not deleted; SQS redelivers it.
        logger.warning(
            "message %s: %d contact(s) with unknown outcome (%s); leaving the message to be "
            "delivered again and settled under the same job key",
            message["MessageId"], len(unknown), ", ".join(sorted({f.code for f in unknown})),
        )
        return MessageReport(
            created=len(result.succeeded), invalid=invalid, requeued=0, unknown=len(unknown)
        )
    retry = result.retryable()  # known not created: a new key cannot call anyone twice
    if retry and generation < MAX_GENERATIONS:
        sqs.send_message(
            QueueUrl=queue_url,
            MessageBody=json.dumps(
                {
                    "contacts": [contact_to(r) for r in retry],
                    "job_key": f"{job_key}/retry-{generation + 1}",
                    "generation": generation + 1,
                }
            ),
            DelaySeconds=RETRY_DELAY_SECONDS,
        )
    elif retry:
        logger.error("message %s: %d contacts still failing after %d retries; dropped",
                     message["MessageId"], len(retry), MAX_GENERATIONS)
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return MessageReport(
        created=len(result.succeeded),
        invalid=invalid,
        requeued=len(retry) if generation < MAX_GENERATIONS else 0,
        unknown=0,
    )


def run(
    sqs: Any,
    queue_url: str,
    client: ContactBatchClient,
    *,
    wait_seconds: int = 20,
    keep_going: Callable[[], bool] = lambda: True,
) -> list[MessageReport]:
    """Long-poll ``queue_url`` and process messages while ``keep_going()``."""
    reports: list[MessageReport] = []
    while keep_going():
        received = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds
        )
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--queue-url", required=True)
    parser.add_argument("--instance-id", required=True)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    client = ContactBatchClient(
        boto3.client("connect"), instance_id=args.instance_id, concurrency=args.concurrency
    )
    run(boto3.client("sqs"), args.queue_url, client)


if __name__ == "__main__":
    main()
