"""The SQS worker of ``sqs_worker.py`` on asyncio: one event loop, several messages at once.

The same messages, rules and job keys as ``sqs_worker.py`` (which see), with aiobotocore
clients and ``AsyncOutboundRequestBatchClient``. Up to ``--messages-in-flight`` messages
are put at the same time as tasks of one loop, sharing one client, so its limiter paces
them all, and ``--concurrency`` calls each; no thread is started.

SIGTERM or SIGINT stops it as a worker should stop: no new message is taken, the runs in
progress are cancelled (the async Ctrl-C: calls in flight finish, nothing new is sent),
and their messages are neither deleted nor requeued. SQS delivers them again, and the job
key (the message id) makes the rerun replay what was created: nobody is contacted twice.
A second signal stops waiting for the calls in flight.

    python examples/async_sqs_worker.py --queue-url https://sqs... --campaign-id ...
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
from collections.abc import Callable
from typing import Any

from aiobotocore.session import get_session

from connect_batch import (
    AsyncOutboundRequestBatchClient,
    ContactValidationError,
    RunAbortedError,
)
from examples.sqs_worker import (
    RETRY_DELAY_SECONDS,
    MessageReport,
    UnreadableMessage,
    decide,
    read_job,
)

logger = logging.getLogger("async_sqs_worker")


async def process_message(
    sqs: Any, queue_url: str, client: AsyncOutboundRequestBatchClient, message: dict[str, Any]
) -> MessageReport:
    """``sqs_worker.process_message``, awaited: put, then requeue, delete or leave."""
    job = read_job(message)
    try:
        result = await client.put_requests(job.requests, job_key=job.job_key)
    except ContactValidationError as error:
        raise UnreadableMessage(str(error)) from None
    decision = decide(message, job, result)
    if decision.requeue is not None:
        await sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(decision.requeue),
                               DelaySeconds=RETRY_DELAY_SECONDS)
    if decision.delete:
        await sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return decision.report


async def _handle(
    sqs: Any, queue_url: str, client: AsyncOutboundRequestBatchClient, message: dict[str, Any]
) -> MessageReport | None:
    """One message; ``None`` if it was unreadable (left for the dead-letter queue)."""
    try:
        return await process_message(sqs, queue_url, client, message)
    except UnreadableMessage as error:
        logger.error(  # noqa: TRY400 - one line, no traceback
            "message %s unreadable (%s); left for the dead-letter queue",
            message["MessageId"], error,
        )
        return None


async def run(
    sqs: Any,
    queue_url: str,
    client: AsyncOutboundRequestBatchClient,
    *,
    messages_in_flight: int = 4,
    wait_seconds: int = 20,
    keep_going: Callable[[], bool] = lambda: True,
    until_empty: bool = False,
) -> list[MessageReport]:
    """Long-poll ``queue_url``, putting up to ``messages_in_flight`` messages at once, while
    ``keep_going()`` (and, with ``until_empty``, until a poll finds no message and none is
    in progress). Cancelled, it cancels the messages in progress and leaves them to SQS."""
    reports: list[MessageReport] = []
    working: set[asyncio.Task[MessageReport | None]] = set()
    try:
        while keep_going():
            room = messages_in_flight - len(working)
            if room > 0:
                # While messages are in progress, poll briefly: they go on meanwhile.
                received = await sqs.receive_message(
                    QueueUrl=queue_url, MaxNumberOfMessages=min(10, room),
                    WaitTimeSeconds=1 if working else wait_seconds,
                )
                messages = received.get("Messages", [])
                if until_empty and not messages and not working:
                    return reports
                working.update(
                    asyncio.ensure_future(_handle(sqs, queue_url, client, m)) for m in messages
                )
            if not working:
                continue
            full = len(working) >= messages_in_flight
            done, working = await asyncio.wait(
                working, timeout=None if full else 0, return_when=asyncio.FIRST_COMPLETED
            )
            for task in done:
                report = task.result()  # RunAbortedError: nothing more can succeed; stop
                if report is not None:
                    reports.append(report)
    except RunAbortedError as error:
        logger.error("stopping: %s", error)  # noqa: TRY400 - one line, no traceback
    finally:
        await _stop(working)
    return reports


async def _stop(working: set[asyncio.Task[MessageReport | None]]) -> None:
    """Cancel the messages in progress (their runs stop as on Ctrl-C) and wait for them;
    cancelled again meanwhile, stop waiting for their calls in flight. Their messages stay
    on the queue, to be settled by a rerun under the same job key."""
    if not working:
        return
    logger.warning("stopping with %d message(s) in progress; SQS delivers them again",
                   len(working))
    for task in working:
        task.cancel()
    try:
        await asyncio.wait(working)
    except asyncio.CancelledError:
        for task in working:
            task.cancel()  # the second stop: their runs stop waiting for calls in flight
        await asyncio.wait(working)
        raise


async def worker(args: argparse.Namespace) -> list[MessageReport]:
    """The worker: aiobotocore clients, one async batch client, the queue."""
    session = get_session()
    async with (
        session.create_client("connectcampaignsv2", endpoint_url=args.endpoint_url) as campaigns,
        session.create_client("sqs", endpoint_url=args.endpoint_url) as sqs,
    ):
        client = AsyncOutboundRequestBatchClient(
            campaigns,
            campaign_id=args.campaign_id,
            concurrency=args.concurrency,
            max_requests_per_second=args.max_rps,
        )
        main_task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            if main_task is not None:
                loop.add_signal_handler(signum, main_task.cancel)
        return await run(
            sqs, args.queue_url, client, messages_in_flight=args.messages_in_flight,
            wait_seconds=args.wait_seconds, until_empty=args.until_empty,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--queue-url", required=True)
    parser.add_argument("--campaign-id", required=True)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--messages-in-flight", type=int, default=4)
    parser.add_argument("--max-rps", type=float, help="the quota, if known (calls/s)")
    parser.add_argument("--wait-seconds", type=int, default=20)
    parser.add_argument("--until-empty", action="store_true",
                        help="stop when a poll finds the queue empty")
    parser.add_argument("--endpoint-url", help="for tests: a local double of AWS")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    try:
        reports = asyncio.run(worker(args))
    except asyncio.CancelledError:
        raise SystemExit(130) from None
    created = sum(r.created for r in reports)
    print(json.dumps({"messages": len(reports), "created": created}))  # noqa: T201


if __name__ == "__main__":
    main()
