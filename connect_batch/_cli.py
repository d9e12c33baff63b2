"""``connect-batch put FILE``: put a CSV or JSONL file of contacts, one outcome per row.

Exit status: 0 when every row was created, 1 when any row failed, 2 for usage or
configuration errors. Needs the ``cli`` extra (phonenumbers, rich).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import csv
import hashlib
import json
import pathlib
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from typing import IO, Any, TextIO

import attrs

from connect_batch._client import ContactBatchClient, _aborted
from connect_batch._engine import AbortRun, Pending
from connect_batch._errors import ConnectBatchError, ContactValidationError
from connect_batch._models import ContactRequest, Endpoint, EndpointType
from connect_batch._outcomes import BatchResult, Outcome, Success

USAGE_ERROR, SOME_FAILED, ALL_CREATED = 2, 1, 0
KNOWN_COLUMNS = {
    "phone", "customer_address", "customer_type", "request_identifier", "campaign_id",
    "queue_id", "system_address", "system_type",
}
INVALID_INPUT = "INVALID_INPUT"


class UsageError(Exception):
    """A problem with the command line or the input file: exit 2 with one line."""


@attrs.frozen
class Row:
    """One data row: its 1-based number (header not counted) and its request or error."""

    number: int
    request: ContactRequest | None
    error: str = ""


def read_records(path: pathlib.Path, fmt: str) -> Iterator[dict[str, str]]:
    """The file's rows as dicts of strings."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        if fmt == "csv":
            yield from csv.DictReader(handle)
            return
        for line_number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                raise UsageError(f"{path}: line {line_number} is not JSON") from None
            if not isinstance(record, dict):
                raise UsageError(f"{path}: line {line_number} is not a JSON object")
            yield {str(k): "" if v is None else str(v) for k, v in record.items()}


def normalise(number: str, region: str | None) -> str:
    """E.164 for ``number``, read as national for ``region`` when it has no ``+``."""
    import phonenumbers

    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        raise ValueError("phone: not a phone number") from None
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError("phone: not a valid number")
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


def build_row(number: int, record: Mapping[str, str], args: argparse.Namespace) -> Row:
    """A validated request from one record, or the reason it has none (no personal data)."""
    try:
        if record.get("phone"):
            customer = Endpoint.phone(normalise(record["phone"], args.default_region))
        elif record.get("customer_address"):
            kind = record.get("customer_type") or "TELEPHONE_NUMBER"
            address = record["customer_address"]
            if kind == EndpointType.TELEPHONE_NUMBER:
                address = normalise(address, args.default_region)
            customer = Endpoint(kind, address)
        else:
            return Row(number, None, "phone or customer_address: missing")
        system = None
        if record.get("system_address"):
            system = Endpoint(
                record.get("system_type") or "TELEPHONE_NUMBER", record["system_address"]
            )
        request = ContactRequest(
            customer_endpoint=customer,
            campaign_id=record.get("campaign_id") or args.campaign_id,
            queue_id=record.get("queue_id") or args.queue_id,
            system_endpoint=system,
            attributes={
                k: v for k, v in record.items() if k not in KNOWN_COLUMNS and k and v
            },
            request_identifier=record.get("request_identifier") or None,
        )
    except (ContactValidationError, ValueError) as error:
        return Row(number, None, str(error))
    return Row(number, request)


def outcome_line(row: int, outcome: Outcome, job_key: str) -> dict[str, Any]:
    """One line of the outcomes file; ``job_key`` lets ``--resume`` use the same tokens."""
    line: dict[str, Any] = {"row": row, "request_identifier": outcome.request_identifier}
    if isinstance(outcome, Success):
        line["contact_id"] = outcome.contact_id
    else:
        line.update(
            code=str(outcome.code),
            message=outcome.message,
            retryable=outcome.retryable,
            outcome_unknown=outcome.outcome_unknown,
        )
    line["job_key"] = job_key
    return line


def previous_lines(path: pathlib.Path | None) -> list[dict[str, Any]]:
    """The whole lines of an outcomes file, in order."""
    if path is None or not path.exists():
        return []
    lines: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as handle:
        for text in handle:
            # A line cut short by a crash is ignored: its row is simply answered again.
            with contextlib.suppress(json.JSONDecodeError, KeyError, TypeError, ValueError):
                record = json.loads(text)
                record["row"] = int(record["row"])
                lines.append(record)
    return lines


def _retry_again(line: Mapping[str, Any] | None) -> bool:
    """A failure that was not created and may succeed: worth a new call on resume."""
    return (
        line is not None
        and "contact_id" not in line
        and bool(line.get("retryable"))
        and not line.get("outcome_unknown", True)
    )


class Progress:
    """Counts outcomes and shows them: a rich bar on a terminal, plain lines otherwise."""

    def __init__(self, total: int, *, quiet: bool, stream: TextIO) -> None:
        self.total, self.quiet, self.stream = total, quiet, stream
        self.counts: collections.Counter[str] = collections.Counter()
        self.retrying = 0
        self.done = 0
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._last_line = 0.0
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> Progress:
        if not self.quiet and self.stream.isatty():
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TextColumn,
                TimeRemainingColumn,
            )
            from rich.progress import (
                Progress as RichProgress,
            )

            self._bar = RichProgress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[status]}"), TimeRemainingColumn(),
                transient=False,
            )
            self._task = self._bar.add_task("contacts", total=self.total, status="")
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._refresh()
            self._bar.stop()
        elif not self.quiet:
            self._line()

    def retry(self, _code: str) -> None:
        with self._lock:
            self.retrying += 1

    def record(self, code: str) -> None:
        with self._lock:
            self.counts[code] += 1
            self.done += 1
        if self._bar is not None:
            self._refresh()
        elif not self.quiet and time.monotonic() - self._last_line >= 2:  # noqa: PLR2004
            self._line()

    def _status(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        failed = self.done - self.counts["CREATED"] - self.counts["VALID"]
        return (
            f"created {self.counts['CREATED']}  failed {failed}  retrying {self.retrying}  "
            f"{self.counts['CREATED'] / elapsed:.1f} contacts/s"
        )

    def _refresh(self) -> None:
        self._bar.update(self._task, completed=self.done, status=self._status())

    def _line(self) -> None:
        self._last_line = time.monotonic()
        print(f"{self.done}/{self.total} {self._status()}", file=self.stream, flush=True)

    def summary(self, stream: TextIO) -> None:
        rows = sorted(self.counts.items(), key=lambda item: (-item[1], item[0]))
        if stream.isatty():
            from rich.console import Console
            from rich.table import Table

            table = Table(title="Outcomes")
            table.add_column("outcome")
            table.add_column("rows", justify="right")
            for code, count in rows:
                table.add_row(code, str(count))
            Console(file=stream).print(table)
        else:
            for code, count in rows:
                print(f"{code}: {count}", file=stream)


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="connect-batch", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    put = commands.add_parser("put", help="put a CSV or JSONL file of contacts")
    put.add_argument("file", type=pathlib.Path)
    put.add_argument("--format", choices=["csv", "jsonl"], help="default: from the extension")
    put.add_argument("--instance-id", help="the Connect instance (made up with --simulate)")
    put.add_argument("--campaign-id", help="for rows without a campaign_id")
    put.add_argument("--queue-id", help="for rows without a queue_id")
    put.add_argument("--default-region", help="read national numbers as this country's (US)")
    put.add_argument("--out", type=pathlib.Path, help="write one JSON outcome per row here")
    put.add_argument("--resume", type=pathlib.Path, help="skip rows created in this outcomes "
                     "file, and append to it")
    put.add_argument("--job-key", help="default: derived from the file's contents")
    put.add_argument("--dry-run", action="store_true", help="validate every row; send nothing")
    put.add_argument("--quiet", action="store_true", help="no progress output")
    put.add_argument("--concurrency", type=int, default=4)
    put.add_argument("--max-rps", type=float, help="calls per second (default: adaptive)")
    put.add_argument("--max-attempts", type=int, default=5)
    put.add_argument("--profile")
    put.add_argument("--region")
    put.add_argument("--endpoint-url")
    put.add_argument("--simulate", action="store_true",
                     help="run against a simulated Connect in this process (no AWS account)")
    put.add_argument("--simulate-latency", type=float, default=0.03, help="seconds per call")
    put.add_argument("--simulate-rate", type=float, help="throttle beyond this many calls/s")
    put.add_argument("--simulate-burst", type=int, default=15)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = make_parser().parse_args(argv)
    try:
        return put(args)
    except (UsageError, ConnectBatchError) as error:
        print(f"connect-batch: {error}", file=sys.stderr)
        return USAGE_ERROR
    except OSError as error:
        print(f"connect-batch: {error.strerror or error}: {error.filename}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        print("connect-batch: interrupted", file=sys.stderr)
        return 130


def _format(args: argparse.Namespace) -> str:
    if args.format:
        return str(args.format)
    suffix = args.file.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in {".jsonl", ".ndjson"}:
        return "jsonl"
    raise UsageError(f"{args.file}: cannot tell the format from the extension; use --format")


def _rows(args: argparse.Namespace) -> list[Row]:
    if not args.file.exists():
        raise UsageError(f"{args.file}: no such file")
    try:
        rows = [
            build_row(number, record, args)
            for number, record in enumerate(read_records(args.file, _format(args)), 1)
        ]
    except (UnicodeDecodeError, csv.Error) as error:
        raise UsageError(f"{args.file}: cannot be read ({type(error).__name__})") from None
    first_with: dict[str, int] = {}
    for index, row in enumerate(rows):
        key = row.request.request_identifier if row.request is not None else None
        if key is None:
            continue
        if key in first_with:
            rows[index] = Row(
                row.number, None, f"request_identifier: repeats row {first_with[key]}"
            )
        else:
            first_with[key] = row.number
    return rows


def _check_region(args: argparse.Namespace) -> None:
    if args.default_region is None:
        return
    import phonenumbers

    args.default_region = args.default_region.upper()
    if args.default_region not in phonenumbers.SUPPORTED_REGIONS:
        raise UsageError(f"--default-region {args.default_region}: not a known country code")


def put(args: argparse.Namespace) -> int:
    """The ``put`` command."""
    if args.resume and args.out and args.resume != args.out:
        raise UsageError("--resume appends to its own file; give --out the same path or omit it")
    _check_region(args)
    out_path: pathlib.Path | None = None if args.dry_run else (args.resume or args.out)
    rows = _rows(args)
    earlier = previous_lines(args.resume)
    latest: dict[int, dict[str, Any]] = {line["row"]: line for line in earlier}
    by_key: dict[str, dict[int, dict[str, Any]]] = collections.defaultdict(dict)
    for line in earlier:
        by_key[str(line.get("job_key"))][line["row"]] = line
    todo = sum(r.number not in latest or _retry_again(latest[r.number]) for r in rows)
    with contextlib.ExitStack() as stack:
        progress = stack.enter_context(Progress(todo, quiet=args.quiet, stream=sys.stderr))
        if args.dry_run:
            for row in rows:
                progress.record("VALID" if row.request is not None else INVALID_INPUT)
            progress.summary(sys.stdout)
            return SOME_FAILED if progress.counts[INVALID_INPUT] else ALL_CREATED
        client = stack.enter_context(_connect(args))
        client.on_retry = progress.retry
        base_key = _resolve_job_key(args, client.instance_id, earlier)
        out: IO[str] | None = None
        if out_path is not None:
            out = stack.enter_context(out_path.open("a" if args.resume else "w", encoding="utf-8"))
            if args.resume and out_path.stat().st_size and not _ends_with_newline(out_path):
                out.write("\n")  # end a line a crash cut short, so the next one stands alone

        def emit(line: dict[str, Any], code: str) -> None:
            latest[line["row"]] = line
            by_key[line["job_key"]][line["row"]] = line
            if out is not None:
                out.write(json.dumps(line) + "\n")
                out.flush()
            progress.record(code)

        for row in rows:
            if row.request is None and row.number not in latest:
                emit({"row": row.number, "request_identifier": None, "code": INVALID_INPUT,
                      "message": row.error, "retryable": False, "outcome_unknown": False,
                      "job_key": base_key}, INVALID_INPUT)
        _put_in_passes(client, [r for r in rows if r.request is not None], by_key,
                       base_key=base_key, resume=bool(args.resume), emit=emit)
    progress.summary(sys.stdout)
    created = all("contact_id" in latest.get(row.number, {}) for row in rows)
    return ALL_CREATED if created else SOME_FAILED


def _put_in_passes(
    client: ContactBatchClient,
    rows: list[Row],
    by_key: Mapping[str, Mapping[int, Mapping[str, Any]]],
    *,
    base_key: str,
    resume: bool,
    emit: Any,
) -> None:
    """Put ``rows`` under the base key, then, when resuming, retry what may be retried.

    Each pass has a key of its own, derived from the pass before and the rows it retries,
    so that a crash in any pass is resumed under that pass's very tokens. A resume adds at
    most one new pass.
    """
    key, new_passes = base_key, 0
    known = set(by_key)
    while rows:
        new_passes += key not in known
        _send(client, rows, by_key.get(key, {}), job_key=key, emit=emit)
        if not resume or (new_passes >= 1 and key not in known):
            return
        answered = by_key.get(key, {})
        rows = [row for row in rows if _retry_again(answered.get(row.number))]
        numbers = ",".join(str(row.number) for row in rows)
        key = f"{base_key}/retry/" + hashlib.sha256(f"{key}|{numbers}".encode()).hexdigest()[:16]


def _send(
    client: ContactBatchClient,
    rows: list[Row],
    done: Mapping[int, Mapping[str, Any]],
    *,
    job_key: str,
    emit: Any,
) -> None:
    by_position = [row.number for row in rows]

    def settled_before(batch: list[Pending[ContactRequest]]) -> bool:
        # A batch every row of which has an outcome already is not sent again. Any other
        # batch is, whole: under the same job key its calls replay what was done before.
        return all(by_position[p.position] in done for p in batch)

    engine = attrs.evolve(
        client._engine(job_key),  # noqa: SLF001 - the CLI resumes at batch boundaries
        skip=settled_before,
    )
    requests = [row.request for row in rows if row.request is not None]
    try:
        for outcome in engine.run(requests):
            number = by_position[outcome.position]
            if number in done:
                continue  # answered in the earlier run; replayed here
            code = "CREATED" if isinstance(outcome, Success) else str(outcome.code)
            emit(outcome_line(number, outcome, job_key), code)
    except AbortRun as abort:
        # Every row the run had read is in the outcomes file by now; say why it stopped.
        error = _aborted(client.operation, abort, BatchResult())
        raise UsageError(str(error)) from None


def _resolve_job_key(
    args: argparse.Namespace, instance_id: str, earlier: list[dict[str, Any]]
) -> str:
    """The key the calls go under: when resuming, the one the file was written with.

    Resending a row that may have been created under another key could create it twice,
    so a resume under another key, or of another input, is refused.
    """
    expected = str(args.job_key or _job_key(args.file, instance_id))
    recorded = {str(line["job_key"]).split("/retry/")[0] for line in earlier if "job_key" in line}
    if recorded and recorded != {expected}:
        raise UsageError(
            f"{args.resume} was written for another input or job key; resuming it here "
            "could create contacts twice (pass the original --job-key if the input is the same)"
        )
    return expected


def _ends_with_newline(path: pathlib.Path) -> bool:
    with path.open("rb") as handle:
        handle.seek(-1, 2)
        return handle.read(1) == b"\n"


def _job_key(path: pathlib.Path, instance_id: str) -> str:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:32]
    return f"file:{digest}:{instance_id}"


@contextlib.contextmanager
def _connect(args: argparse.Namespace) -> Iterator[ContactBatchClient]:
    options: dict[str, Any] = {
        "concurrency": args.concurrency,
        "max_requests_per_second": args.max_rps,
        "max_attempts": args.max_attempts,
    }
    if args.simulate:
        from connect_batch.testing import (
            dummy_credentials,
            mock_connect,
            new_double,
        )

        with dummy_credentials(args.region or "us-east-1"), mock_connect():
            double = new_double(args.region or "us-east-1")
            double.fake.latency = args.simulate_latency
            if args.simulate_rate:
                double.fake.throttle(rate=args.simulate_rate, burst=args.simulate_burst)
            yield ContactBatchClient(double.client, instance_id=double.instance_id, **options)
        return
    import boto3
    import botocore.exceptions

    if not args.instance_id:
        raise UsageError("--instance-id is required (or --simulate)")
    try:
        session = boto3.Session(profile_name=args.profile, region_name=args.region)
        connect = session.client("connect", endpoint_url=args.endpoint_url)
        yield ContactBatchClient(connect, instance_id=args.instance_id, **options)
    except (botocore.exceptions.ProfileNotFound, botocore.exceptions.NoRegionError,
            botocore.exceptions.NoCredentialsError) as error:
        raise UsageError(str(error)) from None
    except ConnectBatchError as error:
        raise UsageError(str(error)) from None
