"""Sending the rows: every pass an outcomes file records, under its own job key, then
perhaps one more for rows known not created; each outcome goes to ``emit`` as a line.

It drives the library's public resumable run (``connect_batch.runs``); it reads no file and
builds no client.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from connect_batch import BatchClient, Failure, Outcome, RunAbortedError, Success
from connect_batch.cli.api import Api, ServiceStopped
from connect_batch.cli.columns import Row
from connect_batch.cli.outcome_file import Ledger, line_created, line_settled, outcome_line
from connect_batch.runs import PendingInput, open_run


def put_in_passes(
    client: BatchClient[Any],
    rows: list[Row],
    ledger: Ledger,
    *,
    base_key: str,
    api: Api,
    resume: bool,
    emit: Any,
    record_pass: Any,
) -> None:
    """Settle every pass the file records, under its own tokens; then maybe start one more.

    The base pass carries every valid row under the base key. A resume first runs each
    recorded pass again on its own rows, so that rows whose outcome is unknown are settled
    by the very tokens that may have created them (the service replays those). Only when no
    row is left unknown does it start one new pass, for the rows every earlier pass answered
    as failed and retryable: they are known not created, so new tokens cannot call anyone
    twice. ``record_pass(key, rows)`` records a new pass before anything of it is sent.
    """
    by_number = {row.number: row for row in rows}
    ledger.passes.setdefault(base_key, list(by_number))
    recorded_passes(ledger, base_key)
    passes = [(base_key, list(by_number))]
    passes += [(key, numbers) for key, numbers in ledger.passes.items() if key != base_key]
    for key, numbers in passes:
        send(client, [by_number[n] for n in numbers if n in by_number], ledger, key, emit, api=api)
    if not resume or ledger.unknown(list(by_number)):
        return
    retry = ledger.retry_candidates(list(by_number))
    if not retry:
        return
    key = f"{base_key}/retry-{next_retry(ledger, base_key)}"
    record_pass(key, retry)
    ledger.passes[key] = retry
    send(client, [by_number[n] for n in retry], ledger, key, emit, api=api)


def recorded_passes(ledger: Ledger, base_key: str) -> None:
    """Retry passes whose lines the file holds but whose record is lost (a sidecar left
    behind when the file was copied, say): the rows they answered, as far as is known, so
    that their unknown rows are settled under their own tokens."""
    for key, answers in ledger.by_key.items():
        if key.startswith(f"{base_key}/retry-") and key not in ledger.passes:
            ledger.passes[key] = sorted(answers)


def next_retry(ledger: Ledger, base_key: str) -> int:
    """The number of the next retry pass: never one a pass of the file already has."""
    taken = [
        int(suffix) for key in ledger.passes
        if (suffix := key.removeprefix(f"{base_key}/retry-")).isdigit()
    ]
    return max([len(ledger.passes) - 1, *taken]) + 1


def send(
    client: BatchClient[Any],
    rows: list[Row],
    ledger: Ledger,
    job_key: str,
    emit: Any,
    *,
    api: Api,
) -> None:
    """Put ``rows`` under ``job_key``, skipping what the file settled for good; each new
    outcome goes to ``emit`` as a line and its code."""
    done = ledger.by_key.get(job_key, {})

    def settled_before(batch: Sequence[PendingInput]) -> bool:
        # A batch every row of which is settled for good under this key is not sent again.
        # Any other batch is, whole: under the same job key its calls replay what was done.
        return all(line_settled(done.get(rows[p.position].number)) for p in batch)

    def settled_item(pending: PendingInput) -> bool:
        # Under a token per item, a row settled for good is not sent again at all; nor is
        # a row another pass created (its token under this key may be one never created).
        number = rows[pending.position].number
        return line_settled(done.get(number)) or number in ledger.created

    def record(outcome: Outcome[Any]) -> None:
        row = rows[outcome.position]
        earlier = done.get(row.number)
        news = isinstance(outcome, Success) and earlier is not None and not line_created(earlier)
        if line_settled(earlier) and not news:
            return  # settled in an earlier run; replayed here (a creation is always news)
        code = "CREATED" if isinstance(outcome, Success) else str(outcome.code)
        line = outcome_line(row, outcome, job_key, api)
        if isinstance(outcome, Failure) and outcome.duplicate_of is not None:
            first = rows[outcome.duplicate_of]
            line["duplicate_of_row"] = first.number
            line["message"] = (
                f"the same request as {first.where} (same channel, destination, and "
                "request_identifier or else the same content); not sent: that row's outcome "
                "answers for it"
            )
        emit(line, code)

    def record_all(left: list[Outcome[Any]]) -> None:
        for outcome in left:
            record(outcome)

    requests = [row.request for row in rows if row.request is not None]
    # The CLI resumes at batch boundaries: batches settled in an earlier run are skipped.
    if api is Api.CONNECT:
        run = open_run(client, requests, job_key=job_key, skip=settled_before)
    else:
        run = open_run(client, requests, job_key=job_key, skip_item=settled_item)
    # Ctrl-C is raised where no outcome is between the run and the file.
    with run.guard():
        try:
            for outcome in run:
                record(outcome)
        except RunAbortedError as error:
            # Every row the run had read is in the outcomes file by now; say why it stopped.
            raise ServiceStopped(str(error)) from None
        except BaseException:
            # Interrupted: calls in flight finish (a second Ctrl-C stops the wait); their
            # outcomes, and those of rows read but not sent, are written before leaving.
            run.close_interrupted(record_all)
            raise
