"""AWS Lambda handlers: an SQS batch, or a Step Functions Distributed Map batch, put whole.

``handle_sqs_event(event, context, client)`` puts each SQS message's requests under the
message id as the job key, within what is left of the invocation's time, and returns
``{"batchItemFailures": [...]}``: every message with an outcome still unknown or a failure
worth retrying is reported failed, so SQS delivers it again and the rerun replays the same
tokens (the service answers with what it created, and creates nobody twice). Messages whose
every outcome is known are handed to your ``record`` callback, and deleted by SQS.

``handle_map_batch(event, context, client, parse_item=...)`` does the same for one child of
a Distributed Map with an ItemBatcher (``{"Items": [...], "BatchInput": {...}}``), raising
``BatchNotSettledError`` (for the state's ``Retry``) instead of reporting messages.

docs/lambda.md shows both handlers as they are deployed. This module holds the event shapes,
the documented JSON body for v2 ``OutboundRequest`` and the rule for what goes back to the
queue; it knows no threads and no API's wire names, and it never puts a destination,
attribute or body in a message or log line (only message ids, positions and error kinds).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Generic, Protocol, TypeVar

import attrs

from connect_batch._errors import ConfigurationError, ContactValidationError, RunAbortedError
from connect_batch._outcomes import BatchResult, Outcome
from connect_batch._sync_client import BatchClient
from connect_batch.operations.base import Idempotency
from connect_batch.operations.campaigns_v2 import OutboundRequest

__all__ = [
    "DEFAULT_MARGIN",
    "BatchNotSettledError",
    "InvalidBodyError",
    "LambdaContext",
    "Report",
    "handle_map_batch",
    "handle_sqs_event",
    "outbound_request_from",
    "outbound_request_from_row",
    "outbound_requests_from_body",
]

RequestT = TypeVar("RequestT")
logger = logging.getLogger("connect_batch")
# Seconds kept back from the invocation's remaining time: the last HTTP attempt may outlast
# the deadline by up to the boto3 client's read_timeout, and the handler must still return.
DEFAULT_MARGIN = 10.0
_MILLIS = 1000.0
_REFUSED = "the service refused the run"
_MAX_NAME = 40  # longer "names" are more likely data than a field name
_REQUEST_FIELDS = frozenset({
    "channel", "destination", "attributes", "template_parameters", "template_arn", "source",
    "key", "client_token", "ring_timeout", "expires_in_seconds",
})


class LambdaContext(Protocol):
    """What the handlers read of Lambda's context object."""

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before Lambda stops the invocation."""
        ...


class InvalidBodyError(ValueError):
    """A message body or map item that cannot be read as requests. Its message names the
    field at fault, never a value."""


class BatchNotSettledError(Exception):
    """A map batch left outcomes unknown or failures worth retrying: let the Map state's
    ``Retry`` (``"ErrorEquals": ["BatchNotSettledError"]``) run the same batch again, under
    the same job key, so the service replays what the first attempt created."""


@attrs.frozen
class Report(Generic[RequestT]):
    """What one SQS message, or one map batch, became.

    ``source`` is the message id (or ``"batch"``), ``job_key`` the key its requests went
    under, ``result`` every request put (empty if none was). ``settled`` is True when every
    outcome is known and none is worth retrying: the message is done. ``problem`` says why
    it is not, without personal data. ``invalid`` holds, for a map batch, the positions of
    items that could not be read, with the reason (they were not sent). An outcome's
    ``position`` counts the requests put; ``item(outcome)`` is its position among the
    batch's ``Items`` (they differ after an invalid item) or the message's requests.
    """

    source: str
    job_key: str
    result: BatchResult[RequestT]
    settled: bool
    problem: str | None = None
    invalid: tuple[tuple[int, str], ...] = ()
    # For a map batch: the Items position of each request put, in order.
    items: tuple[int, ...] = ()

    def item(self, outcome: Outcome[RequestT]) -> int:
        """The position of ``outcome``'s input in the map batch's ``Items`` (or, for an
        SQS message, among its body's requests)."""
        return self.items[outcome.position] if self.items else outcome.position

    def known(self) -> list[Outcome[RequestT]]:
        """The final outcomes: every success, and the failures that are not unknown and
        not worth retrying (the service's refusals). What a ledger of your own records."""
        done: list[Outcome[RequestT]] = list(self.result.succeeded)
        done.extend(f for f in self.result.failed if not (f.outcome_unknown or f.retryable))
        return sorted(done, key=lambda o: o.position)


# The documented JSON body (v2 OutboundRequest).
def outbound_request_from(data: object) -> OutboundRequest:
    """One ``OutboundRequest`` from its JSON object (the documented body shape).

    ``{"channel": "telephony", "destination": "+14155550100", "attributes": {...},
    "key": "crm-123"}``; ``sms``, ``email`` and ``whatsapp`` take ``template_parameters``
    (and ``template_arn``) instead of ``attributes``. Optional: ``source`` (the caller id,
    the sender's address or ARN), ``client_token``, ``ring_timeout``,
    ``expires_in_seconds``. Anything else is an ``InvalidBodyError``, as is a value the
    builders refuse (``ContactValidationError``, naming the field).
    """
    if not isinstance(data, dict):
        raise InvalidBodyError(f"a request must be a JSON object, got {_json_kind(data)}")
    unknown = sorted(set(data) - _REQUEST_FIELDS)
    if unknown:
        raise InvalidBodyError(f"unknown request field(s): {', '.join(map(_name, unknown))}")
    if "destination" not in data:
        raise InvalidBodyError("a request needs a destination")
    channel = data.get("channel", "telephony")
    telephony = channel == "telephony"
    if telephony and "template_parameters" in data:
        raise InvalidBodyError("a telephony request takes attributes, not template_parameters")
    if not telephony and "attributes" in data:
        raise InvalidBodyError(f"a {_name(channel)} request takes template_parameters")
    expires = data.get("expires_in_seconds")
    if expires is not None and (isinstance(expires, bool) or not isinstance(expires, int)):
        raise InvalidBodyError("expires_in_seconds must be a whole number of seconds")
    return OutboundRequest(
        channel=channel,
        destination=data["destination"],
        parameters=data.get("attributes" if telephony else "template_parameters") or {},
        client_token=data.get("client_token"),
        key=data.get("key"),
        expires=None if expires is None else datetime.timedelta(seconds=expires),
        source=data.get("source"),
        template_arn=data.get("template_arn"),
        ring_timeout=data.get("ring_timeout"),
    )


def outbound_requests_from_body(body: str) -> list[OutboundRequest]:
    """The requests of an SQS message body: ``{"requests": [request, ...]}`` or a bare JSON
    list of requests, each as ``outbound_request_from`` reads it. The default parser of
    ``handle_sqs_event`` for an ``OutboundRequestBatchClient``."""
    try:
        data = json.loads(body)
    except ValueError:
        raise InvalidBodyError("the body is not JSON") from None
    if isinstance(data, dict):
        if set(data) != {"requests"}:
            raise InvalidBodyError('the body must be {"requests": [...]} or a JSON list')
        data = data["requests"]
    if not isinstance(data, list):
        raise InvalidBodyError(f"requests must be a JSON list, got {_json_kind(data)}")
    requests = []
    for index, item in enumerate(data):
        try:
            requests.append(outbound_request_from(item))
        except (InvalidBodyError, ContactValidationError) as error:
            raise InvalidBodyError(f"request {index}: {error}") from None
    return requests


def outbound_request_from_row(
    row: Mapping[str, str], *, key_column: str | None = "key", channel: str = "telephony"
) -> OutboundRequest:
    """One ``OutboundRequest`` from a CSV row as a Distributed Map's ItemReader gives it
    (column name to text): ``destination`` (or ``phone``, or ``email``), optional
    ``channel`` (else ``channel``), the request's ``key`` from ``key_column``, and every
    other non-empty column as an attribute (telephony) or template parameter."""
    if not isinstance(row, Mapping):
        raise InvalidBodyError(f"an item must be a JSON object, got {_json_kind(row)}")
    fields = dict(row)
    destination = next(
        (fields.pop(c) for c in ("destination", "phone", "email") if c in fields), None
    )
    if not destination:
        raise InvalidBodyError("the row has no destination, phone or email column value")
    kind = fields.pop("channel", None) or channel
    key = fields.pop(key_column, None) if key_column is not None else None
    parameters = {k: v for k, v in fields.items() if v not in (None, "")}
    data: dict[str, Any] = {"channel": kind, "destination": destination, "key": key or None}
    data["attributes" if kind == "telephony" else "template_parameters"] = parameters
    return outbound_request_from(data)


# SQS.
def handle_sqs_event(
    event: Mapping[str, Any],
    context: LambdaContext,
    client: BatchClient[RequestT],
    *,
    parse: Callable[[str], Iterable[RequestT]] | None = None,
    record: Callable[[Report[RequestT]], object] | None = None,
    margin: float = DEFAULT_MARGIN,
    job_key: Callable[[Mapping[str, Any]], str] | None = None,
) -> dict[str, list[dict[str, str]]]:
    """Put an SQS batch; return ``{"batchItemFailures": [{"itemIdentifier": id}, ...]}``.

    Each message's ``body`` is read by ``parse`` (default ``outbound_requests_from_body``,
    for an ``OutboundRequestBatchClient``) and its requests put under the job key
    ``job_key(record)`` (default: the message id, which a redelivery keeps), with
    ``deadline`` = the invocation's remaining time less ``margin`` seconds. A message is
    reported failed, so SQS delivers it again, when its body cannot be read (the redrive
    policy moves it to a dead-letter queue), an outcome is unknown or a failure is worth
    retrying (throttled out, the deadline), the service refused the run, or no time was left
    to start it. ``record(report)`` is called once per message that was put, failed or not;
    if it raises, the message is reported failed too. The event source mapping must have
    ``FunctionResponseTypes: ["ReportBatchItemFailures"]``, or Lambda ignores the answer.
    """
    _check_client(client)
    _check_time(context, margin)
    reader = _parser_for(client, parse)
    failures: list[dict[str, str]] = []
    aborted: str | None = None
    for message in _records(event):
        message_id = message["messageId"]
        if aborted is not None:
            failures.append({"itemIdentifier": message_id})
            continue
        key = job_key(message) if job_key is not None else message_id
        report = _put_message(client, reader, message, key, _remaining(context, margin))
        if report.problem is not None and report.problem.startswith(_REFUSED):
            aborted = report.problem  # nothing more can succeed in this invocation
        if not report.settled:
            logger.warning("sqs message %s reported failed: %s", message_id, report.problem)
        if not _recorded(record, report) or not report.settled:
            failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}


def _put_message(
    client: BatchClient[RequestT],
    parse: Callable[[str], Iterable[RequestT]],
    message: Mapping[str, Any],
    key: str,
    seconds: float,
) -> Report[RequestT]:
    message_id = message["messageId"]
    empty: BatchResult[RequestT] = BatchResult()
    try:
        requests = list(parse(message.get("body", "")))
    except Exception as error:  # noqa: BLE001 - any parser's error: the message is unreadable
        return Report(message_id, key, empty, settled=False, problem=_unreadable(error))
    if seconds <= 0:
        problem = "not started: the invocation's time (less the margin) ran out"
        return Report(message_id, key, empty, settled=False, problem=problem)
    return _put(client, requests, message_id, key, seconds)


def _put(
    client: BatchClient[RequestT],
    requests: Sequence[RequestT],
    source: str,
    key: str,
    seconds: float,
    *,
    invalid: tuple[tuple[int, str], ...] = (),
    items: tuple[int, ...] = (),
) -> Report[RequestT]:
    try:
        # Every sync client's put_* is this one method; the deadline is this call's budget.
        result = client._put(requests, key, seconds)  # noqa: SLF001
    except ContactValidationError as error:  # tokens repeated within the body, say
        return Report(source, key, error.result or BatchResult(), settled=False,
                      problem=_unreadable(error), invalid=invalid, items=items)
    except RunAbortedError as error:
        problem = f"{_REFUSED}: {error.code}"
        return Report(source, key, error.result, settled=False, problem=problem,
                      invalid=invalid, items=items)
    return Report(source, key, result, settled=not _to_redeliver(result),
                  problem=_to_redeliver(result), invalid=invalid, items=items)


def _to_redeliver(result: BatchResult[Any]) -> str | None:
    """Why the input must run again under the same job key, or ``None`` if it need not."""
    unknown = sum(f.outcome_unknown for f in result.failed)
    retry = sum(f.retryable and not f.outcome_unknown for f in result.failed)
    if not (unknown or retry):
        return None
    codes = ", ".join(sorted({str(f.code) for f in result.failed if f.retryable or
                              f.outcome_unknown}))
    return f"{unknown} outcome(s) unknown, {retry} failure(s) worth retrying ({codes})"


def _records(event: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    records = event.get("Records") if isinstance(event, Mapping) else None
    if not isinstance(records, list) or not all(
        isinstance(r, Mapping) and isinstance(r.get("messageId"), str) for r in records
    ):
        raise ConfigurationError(
            "not an SQS event: expected Records, each with a messageId (an SQS trigger)"
        )
    return records


def _check_client(client: object) -> None:
    if not isinstance(client, BatchClient):
        raise ConfigurationError(
            f"expected a sync client (OutboundRequestBatchClient, ...), got "
            f"{type(client).__name__}: a Lambda handler runs one invocation at a time"
        )


def _parser_for(
    client: BatchClient[RequestT], parse: Callable[[str], Iterable[RequestT]] | None
) -> Callable[[str], Iterable[RequestT]]:
    if parse is not None:
        return parse
    if client.operation.name != "PutOutboundRequestBatch":
        raise ConfigurationError(
            f"{client.operation.name}: give parse= (the default reads v2 OutboundRequest "
            "bodies, for an OutboundRequestBatchClient)"
        )
    return outbound_requests_from_body  # type: ignore[return-value]


# Step Functions Distributed Map (ItemBatcher).
def handle_map_batch(
    event: Mapping[str, Any],
    context: LambdaContext,
    client: BatchClient[RequestT],
    *,
    parse_item: Callable[[Any], RequestT],
    record: Callable[[Report[RequestT]], object] | None = None,
    margin: float = DEFAULT_MARGIN,
    job_key_field: str = "job_key",
) -> dict[str, Any]:
    """Put one Distributed Map child batch: ``{"Items": [...], "BatchInput": {...}}``.

    Each item goes through ``parse_item`` (``outbound_request_from_row`` for a CSV row, or
    your own); an item it refuses is not sent and is listed in the output's ``invalid``
    (its position in the batch and the reason). The job key is ``BatchInput[job_key_field]``
    (set it once per run of the map, e.g. ``reminders/2026-12-05``). Under a per-item token
    (the campaign APIs) each request's token follows from that key and the request itself
    (give it a ``key``: a key column), so any rerun of the map, however the items are
    batched, replays. Under a per-call token (BatchPutContact) the key also names the
    batch's items, so the same batch replays. Returns ``{"job_key", "created", "failed",
    "invalid"}`` for the map's ResultWriter; raises ``BatchNotSettledError`` when outcomes
    are unknown or worth retrying (after ``record``), for the state's ``Retry``.
    """
    _check_client(client)
    _check_time(context, margin)
    if not isinstance(event, Mapping) or not isinstance(event.get("Items"), list):
        raise ConfigurationError('not a map batch: expected {"Items": [...], "BatchInput": {}}')
    batch_input = event.get("BatchInput")
    job = batch_input.get(job_key_field) if isinstance(batch_input, Mapping) else None
    if not isinstance(job, str) or not job:
        raise ConfigurationError(
            f"BatchInput.{job_key_field} must name the run (the same for every rerun)"
        )
    requests, invalid, sent = [], [], []
    for position, item in enumerate(event["Items"]):
        try:
            requests.append(parse_item(item))
            sent.append(position)
        except Exception as error:  # noqa: BLE001 - any parser's error: the item is unreadable
            invalid.append((position, _unreadable(error)))
    key = job
    if client.operation.idempotency is not Idempotency.PER_ITEM:
        key = f"{job}/{_digest(event['Items'])}"
    seconds = _remaining(context, margin)
    if seconds <= 0:
        raise BatchNotSettledError("not started: the invocation's time (less the margin) ran out")
    report = _put(client, requests, "batch", key, seconds, invalid=tuple(invalid),
                  items=tuple(sent))
    recorded = _recorded(record, report)
    if not report.settled or not recorded:
        raise BatchNotSettledError(report.problem or "record() raised; run the batch again")
    return {
        "job_key": key,
        "created": len(report.result.succeeded),
        "failed": len(report.result.failed),
        "invalid": [{"item": p, "reason": r} for p, r in invalid],
    }


def _digest(items: list[Any]) -> str:
    text = json.dumps(items, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# Shared.
def _check_time(context: LambdaContext, margin: float) -> None:
    """An invocation that starts with no more than ``margin`` left can send nothing, and
    neither can any redelivery of it: say so once, loudly, instead of failing every
    message quietly until the queue gives them up."""
    left = context.get_remaining_time_in_millis() / _MILLIS
    if left <= margin:
        raise ConfigurationError(
            f"the invocation starts with {left:.1f} s left, no more than margin={margin:g} s: "
            "nothing could be sent. Give the function a timeout well above the margin (the "
            "3 s default never is; a minute, say), or a smaller margin (at least the boto3 "
            "client's read_timeout)"
        )


def _remaining(context: LambdaContext, margin: float) -> float:
    return context.get_remaining_time_in_millis() / _MILLIS - margin


def _recorded(record: Callable[[Report[Any]], object] | None, report: Report[Any]) -> bool:
    """Hand ``report`` to ``record``; False if it raised (the input then runs again)."""
    if record is None:
        return True
    try:
        record(report)
    except Exception as error:  # noqa: BLE001 - reported, and the input runs again
        logger.error(  # noqa: TRY400 - one line, no traceback (it may quote data)
            "%s: record() raised %s; reported failed, to run again", report.source,
            type(error).__name__,
        )
        return False
    return True


def _unreadable(error: BaseException) -> str:
    """Why an input could not be read, without its content: our own messages name fields;
    any other error (a parser of yours) is named by its type alone."""
    if isinstance(error, InvalidBodyError | ContactValidationError):
        return f"unreadable: {error}"
    return f"unreadable: the parser raised {type(error).__name__}"


def _json_kind(value: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", type(None): "null"}.get(
        type(value), "a " + type(value).__name__
    )


def _name(value: object) -> str:
    """A field or channel name from a body, shown only if it is a plain identifier."""
    text = str(value)
    return repr(text) if text.isidentifier() and len(text) <= _MAX_NAME else "<a field>"
