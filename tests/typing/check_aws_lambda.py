"""Exercises connect_batch.aws_lambda under ``mypy --strict``; checked, never run."""

from __future__ import annotations

from typing import Any

import boto3

from connect_batch import (
    ContactBatchClient,
    ContactRequest,
    Endpoint,
    OutboundRequest,
    OutboundRequestBatchClient,
)
from connect_batch.aws_lambda import (
    Report,
    handle_map_batch,
    handle_sqs_event,
    outbound_request_from_row,
)

client = OutboundRequestBatchClient(boto3.client("connectcampaignsv2"), campaign_id="c")
contacts = ContactBatchClient(boto3.client("connect"), instance_id="i")


def record(report: Report[OutboundRequest]) -> None:
    for outcome in report.known():
        print(outcome.position, report.source, report.settled)


def contacts_from(body: str) -> list[ContactRequest]:
    return [ContactRequest(customer_endpoint=Endpoint.phone(body), queue_id="q")]


def handler(event: dict[str, Any], context: Any) -> dict[str, list[dict[str, str]]]:
    handle_sqs_event(event, context, contacts, parse=contacts_from)
    return handle_sqs_event(event, context, client, record=record, margin=5.0)


def map_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle_map_batch(
        event, context, client, parse_item=outbound_request_from_row, record=record
    )
