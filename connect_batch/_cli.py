"""``connect-batch put FILE``: put a CSV or JSONL file of contacts, one outcome per row.

Exit status: 0 when every row was created, 1 when any row failed, 2 for usage, input or
configuration errors (nothing sent), 3 when the service stopped the run (the outcomes file
says which rows were settled), 130 when interrupted (the calls in flight finish and their
outcomes are written first). Needs the ``cli`` extra (phonenumbers, rich).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import csv
import hashlib
import io
import json
import pathlib
import signal
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from typing import IO, Any, TextIO

import attrs

from connect_batch._client import ContactBatchClient, _aborted
from connect_batch._engine import AbortRun, Pending
from connect_batch._errors import ConnectBatchError, ContactValidationError
from connect_batch._models import E164, ContactRequest, Endpoint, EndpointType
from connect_batch._outcomes import BatchResult, Outcome, Success

SERVICE_STOPPED, USAGE_ERROR, SOME_FAILED, ALL_CREATED = 3, 2, 1, 0
KNOWN_COLUMNS = {
    "phone", "customer_address", "customer_type", "request_identifier", "campaign_id",
    "queue_id", "system_address", "system_type",
}
INVALID_INPUT = "INVALID_INPUT"


class UsageError(Exception):
    """A problem with the command line or the input file: exit 2 with one line."""


class ServiceStopped(Exception):  # noqa: N818 - names what happened
    """The service refused the run after it started: exit 3 with one line."""


@attrs.frozen
class Row:
    """One data row: its 1-based number (header not counted) and its request or error.

    ``identifier`` is the row's own request_identifier, kept for its outcome line whether
    or not the row is valid.
    """

    number: int
    request: ContactRequest | None
    error: str = ""
    identifier: str | None = None


# A ragged CSV row's surplus fields, and a record's problem (set by read_records).
_SURPLUS = "\x00surplus"
PROBLEM = "\x00problem"


def _known_header(path: pathlib.Path, names: list[str]) -> list[str]:
    """The header with known columns matched case-insensitively; refuse a repeated column
    and a file with no phone column, listing the columns found."""
    header = [n.strip().lower() if n.strip().lower() in KNOWN_COLUMNS else n for n in names]
    repeated = sorted({n for n in header if header.count(n) > 1})
    found = ", ".join(repr(n) for n in names)
    if repeated:
        raise UsageError(
            f"{path}: column(s) {', '.join(repeated)} appear more than once (columns found: "
            f"{found}); nothing was sent"
        )
    if "phone" not in header and "customer_address" not in header:
        raise UsageError(
            f"{path}: no 'phone' or 'customer_address' column (columns found: {found}); a "
            "CSV file must be comma-separated with a header row. Nothing was sent"
        )
    return header


def _csv_records(path: pathlib.Path, handle: IO[str]) -> Iterator[dict[str, str]]:
    reader = csv.DictReader(handle, strict=True, restkey=_SURPLUS)
    try:
        if reader.fieldnames is not None:
            reader.fieldnames = _known_header(path, list(reader.fieldnames))
        for record in reader:
            width = len(reader.fieldnames or ())
            if _SURPLUS not in record and all(v is not None for v in record.values()):
                yield record
                continue
            fields = width + len(record.pop(_SURPLUS, ()))
            fields -= sum(v is None for v in record.values())
            ragged = {k: v for k, v in record.items() if v is not None}
            ragged[PROBLEM] = (
                f"the row has {fields} fields and the header {width}; fix the row (a comma "
                "inside a value needs quotes)"
            )
            yield ragged
    except csv.Error as error:
        raise UsageError(
            f"{path}: line {reader.line_num}: not valid CSV ({error}); a quote left "
            "open, perhaps. Fix the file; nothing was sent"
        ) from None


def _json_text(key: str, value: object) -> tuple[str, str | None]:
    """A JSONL value as the text sent, or the reason it cannot be sent."""
    if isinstance(value, str):
        return value, None
    if isinstance(value, bool | int | float):
        return json.dumps(value), None
    kind = "null" if value is None else type(value).__name__
    return "", (
        f"{key!r}: a {kind} cannot be sent; values must be strings, numbers or booleans"
    )


def _text(path: pathlib.Path, encoding: str) -> str:
    """The whole file, decoded; a byte the encoding cannot read names its line."""
    data = path.read_bytes()
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise UsageError(
            f"{path}: line {line} is not {encoding} text; give the file's encoding with "
            "--encoding (cp1252 or latin-1, say). Nothing was sent"
        ) from None
    except LookupError:
        raise UsageError(f"--encoding {encoding}: not an encoding Python knows") from None


def read_records(
    path: pathlib.Path, fmt: str, encoding: str = "utf-8-sig"
) -> Iterator[dict[str, str]]:
    """The file's rows as dicts of strings."""
    with io.StringIO(_text(path, encoding), newline="") as handle:
        if fmt == "csv":
            # strict: a quote left open is an error, not rows silently merged into a field.
            yield from _csv_records(path, handle)
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
            fields: dict[str, str] = {}
            problems: list[str] = []
            for key, value in record.items():
                name = str(key)
                if name.lower() in KNOWN_COLUMNS:
                    name = name.lower()
                text, problem = _json_text(name, value)
                if problem is None:
                    fields[name] = text
                elif value is not None or name not in KNOWN_COLUMNS:
                    problems.append(problem)
            if problems:
                fields[PROBLEM] = "; ".join(problems)
            yield fields


def normalise(number: str, region: str | None, *, check_plan: bool = False) -> str:
    """E.164 for ``number``: the library's rule (``+``, then 2-15 digits) as it is; a number
    without ``+`` read as national for ``region``. ``check_plan`` also requires the number
    to exist in its country's numbering plan (phonenumbers), which the library does not."""
    stripped = number.strip()
    if E164.fullmatch(stripped) and not check_plan:
        return stripped
    if not stripped.startswith("+") and region is None:
        raise ValueError(
            "phone: not in E.164 ('+', country code, number); to read national numbers, "
            "give --default-region (US, GB, ...)"
        )
    import phonenumbers

    try:
        parsed = phonenumbers.parse(stripped, region)
    except phonenumbers.NumberParseException:
        raise ValueError("phone: not a phone number") from None
    if check_plan and not phonenumbers.is_valid_number(parsed):
        raise ValueError("phone: not a number of its country's numbering plan (--check-numbers)")
    formatted = str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))
    if not E164.fullmatch(formatted):
        raise ValueError("phone: not a phone number")
    return formatted


def build_row(number: int, record: Mapping[str, str], args: argparse.Namespace) -> Row:
    """A validated request from one record, or the reason it has none (no personal data)."""
    identifier = record.get("request_identifier") or None
    if record.get(PROBLEM):
        return Row(number, None, record[PROBLEM], identifier)
    try:
        if record.get("phone"):
            customer = Endpoint.phone(
                normalise(record["phone"], args.default_region, check_plan=args.check_numbers)
            )
        elif record.get("customer_address"):
            kind = record.get("customer_type") or "TELEPHONE_NUMBER"
            address = record["customer_address"]
            if kind == EndpointType.TELEPHONE_NUMBER:
                address = normalise(
                    address, args.default_region, check_plan=args.check_numbers
                )
            customer = Endpoint(kind, address)
        else:
            return Row(number, None, "phone or customer_address: missing", identifier)
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
        return Row(number, None, str(error), identifier)
    return Row(number, request, identifier=identifier)


def outcome_line(row: int, outcome: Outcome[ContactRequest], job_key: str) -> dict[str, Any]:
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
    """The whole lines of an outcomes file, in order: row lines and pass lines."""
    if path is None or not path.exists():
        return []
    lines: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as handle:
        for text in handle:
            # A line cut short by a crash is ignored: its row is simply answered again.
            with contextlib.suppress(json.JSONDecodeError, KeyError, TypeError, ValueError):
                record = json.loads(text)
                if "pass" in record:
                    record["rows"] = [int(n) for n in record["rows"]]
                    record["pass"] = str(record["pass"])
                else:
                    record["row"] = int(record["row"])
                lines.append(record)
    return lines


def _settled(line: Mapping[str, Any] | None) -> bool:
    """True when a line settles its row for good: created, or known not created."""
    return line is not None and ("contact_id" in line or not line.get("outcome_unknown", True))


@attrs.define
class Ledger:
    """What an outcomes file says, row by row and pass by pass.

    A *pass* is one job key and the rows it carries: the base pass carries every valid
    row; each retry pass (a ``{"pass": key, "rows": [...]}`` line, written before it sends
    anything) carries rows known not created by the passes before it.
    """

    by_key: dict[str, dict[int, dict[str, Any]]] = attrs.field(
        factory=lambda: collections.defaultdict(dict)
    )
    passes: dict[str, list[int]] = attrs.field(factory=dict)
    created: set[int] = attrs.field(factory=set)

    @classmethod
    def read(cls, lines: list[dict[str, Any]]) -> Ledger:
        ledger = cls()
        for line in lines:
            if "pass" in line:
                ledger.passes.setdefault(line["pass"], line["rows"])
            else:
                ledger.add(line)
        return ledger

    def add(self, line: dict[str, Any]) -> None:
        self.by_key[str(line.get("job_key"))][line["row"]] = line
        if "contact_id" in line:
            self.created.add(line["row"])

    def unknown(self, rows: list[int]) -> list[int]:
        """Rows with no contact that some pass left unknown (or never answered)."""
        return [
            n for n in rows
            if n not in self.created
            and any(
                not _settled(answers.get(n))
                for key, answers in self.by_key.items()
                if n in answers or n in self.passes.get(key, ())
            )
        ]

    def retry_candidates(self, rows: list[int]) -> list[int]:
        """Rows known not created by every pass that carried them, and worth another try."""
        unknown = set(self.unknown(rows))
        return [
            n for n in rows
            if n not in self.created and n not in unknown
            and any(answers.get(n, {}).get("retryable") for answers in self.by_key.values())
        ]


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

    def summary(self, stream: TextIO, source: pathlib.Path | None = None) -> None:
        rows = sorted(self.counts.items(), key=lambda item: (-item[1], item[0]))
        if not rows:
            print(f"no rows in {source}" if source is not None else "no rows", file=stream)
            return
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
    parser = argparse.ArgumentParser(
        prog="connect-batch", description=(__doc__ or "").replace("``", "")
    )
    commands = parser.add_subparsers(dest="command", required=True)
    put = commands.add_parser("put", help="put a CSV or JSONL file of contacts")
    put.add_argument("file", type=pathlib.Path)
    put.add_argument("--format", choices=["csv", "jsonl"], help="default: from the extension")
    put.add_argument("--instance-id", help="the Connect instance (made up with --simulate)")
    put.add_argument("--campaign-id", help="for rows without a campaign_id")
    put.add_argument("--queue-id", help="for rows without a queue_id")
    put.add_argument("--default-region", help="read national numbers as this country's (US)")
    put.add_argument("--out", type=pathlib.Path, help="write one JSON outcome per row here "
                     "(an existing file is refused unless --force)")
    put.add_argument("--force", action="store_true", help="overwrite an existing --out file")
    put.add_argument("--check-numbers", action="store_true",
                     help="also refuse numbers outside their country's numbering plan "
                     "(phonenumbers); by default any E.164-shaped number is sent, as the "
                     "library does")
    put.add_argument("--encoding", default="utf-8-sig",
                     help="the file's text encoding (default: UTF-8, with or without a BOM)")
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
    if threading.current_thread() is threading.main_thread():
        # SIGTERM (a container stop, `kill`) is handled as Ctrl-C: calls in flight finish
        # and their outcomes are written, instead of the process dying mid-write.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        return put(args)
    except (UsageError, ConnectBatchError) as error:
        print(f"connect-batch: {error}", file=sys.stderr)
        return USAGE_ERROR
    except ServiceStopped as error:
        print(f"connect-batch: {error}", file=sys.stderr)
        return SERVICE_STOPPED
    except OSError as error:
        print(f"connect-batch: {error.strerror or error}: {error.filename}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        where = args.resume or args.out
        hint = (
            f"; the calls in flight finished and their outcomes are in {where}. Run the same "
            f"command with --resume {where} to settle the rest"
            if where is not None and not getattr(args, "dry_run", False) else ""
        )
        print(f"connect-batch: interrupted{hint}", file=sys.stderr)
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
            for number, record in enumerate(
                read_records(args.file, _format(args), args.encoding), 1
            )
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
                row.number, None, f"request_identifier: repeats row {first_with[key]}", key
            )
        else:
            first_with[key] = row.number
    return rows


def _check_outputs(args: argparse.Namespace) -> None:
    """Never write over the input, nor over an earlier file unless asked to."""
    for option, path in (("--out", args.out), ("--resume", args.resume)):
        if path is not None and args.file.exists() and path.exists() and path.samefile(args.file):
            raise UsageError(f"{option} {path} is the input file; give the outcomes another path")
    # Only a regular file holds earlier outcomes: a pipe or /dev/stdout is written as it is.
    earlier = args.out is not None and not args.resume and args.out.is_file()
    if earlier and not args.force:
        raise UsageError(
            f"--out {args.out} exists (perhaps the outcomes of an earlier run, the only "
            "record of what it created); give another path, --resume it, or --force"
        )


DRY_RUN_SHOWN = 5  # invalid rows a dry run names on stderr


def _dry_run(rows: list[Row], out: pathlib.Path | None, progress: Progress) -> None:
    """Validate every row: a line per invalid row in ``out``, the first few on stderr."""
    invalid = [row for row in rows if row.request is None]
    for row in rows:
        progress.record("VALID" if row.request is not None else INVALID_INPUT)
    for row in invalid[:DRY_RUN_SHOWN]:
        print(f"row {row.number}: {row.error}", file=sys.stderr)
    if len(invalid) > DRY_RUN_SHOWN:
        rest = len(invalid) - DRY_RUN_SHOWN
        where = f"; all are in {out}" if out is not None else "; --out FILE lists them all"
        print(f"... and {rest} more invalid row(s){where}", file=sys.stderr)
    if out is not None:
        with out.open("w", encoding="utf-8") as handle:
            for row in invalid:
                line = {"row": row.number, "request_identifier": row.identifier,
                        "code": INVALID_INPUT, "message": row.error}
                handle.write(json.dumps(line) + "\n")


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
    _check_outputs(args)
    _check_region(args)
    out_path: pathlib.Path | None = None if args.dry_run else (args.resume or args.out)
    rows = _rows(args)
    earlier = previous_lines(args.resume)
    ledger = Ledger.read(earlier)
    valid = [r for r in rows if r.request is not None]
    numbers = [r.number for r in rows]
    todo = len(rows) - len(ledger.created & set(numbers))
    with contextlib.ExitStack() as stack:
        progress = stack.enter_context(Progress(todo, quiet=args.quiet, stream=sys.stderr))
        if args.dry_run:
            _dry_run(rows, args.out, progress)
            progress.summary(sys.stdout, args.file)
            return SOME_FAILED if progress.counts[INVALID_INPUT] else ALL_CREATED
        client = stack.enter_context(_connect(args))
        client.on_retry = progress.retry
        base_key = _resolve_job_key(args, client.instance_id, earlier)
        out: IO[str] | None = None
        if out_path is not None:
            out = stack.enter_context(out_path.open("a" if args.resume else "w", encoding="utf-8"))
            if args.resume and out_path.stat().st_size and not _ends_with_newline(out_path):
                out.write("\n")  # end a line a crash cut short, so the next one stands alone

        def write(line: dict[str, Any]) -> None:
            if out is not None:
                out.write(json.dumps(line) + "\n")
                out.flush()

        def emit(line: dict[str, Any], code: str) -> None:
            ledger.add(line)
            write(line)
            progress.record(code)

        answered = {n for answers in ledger.by_key.values() for n in answers}
        for row in rows:
            if row.request is None and row.number not in answered:
                emit({"row": row.number, "request_identifier": row.identifier,
                      "code": INVALID_INPUT,
                      "message": row.error, "retryable": False, "outcome_unknown": False,
                      "job_key": base_key}, INVALID_INPUT)
        try:
            _put_in_passes(client, valid, ledger, base_key=base_key,
                           resume=bool(args.resume), emit=emit, write=write)
        except KeyboardInterrupt:
            progress.summary(sys.stdout, args.file)
            raise
    progress.summary(sys.stdout, args.file)
    created = all(row.number in ledger.created for row in rows)
    return ALL_CREATED if created else SOME_FAILED


def _put_in_passes(
    client: ContactBatchClient,
    rows: list[Row],
    ledger: Ledger,
    *,
    base_key: str,
    resume: bool,
    emit: Any,
    write: Any,
) -> None:
    """Settle every pass the file records, under its own tokens; then maybe start one more.

    The base pass carries every valid row under the base key. A resume first runs each
    recorded pass again on its own rows, so that rows whose outcome is unknown are settled
    by the very tokens that may have created them (the service replays those). Only when no
    row is left unknown does it start one new pass, for the rows every earlier pass answered
    as failed and retryable: they are known not created, so new tokens cannot call anyone
    twice.
    """
    by_number = {row.number: row for row in rows}
    ledger.passes.setdefault(base_key, list(by_number))
    passes = [(base_key, list(by_number))]
    passes += [(key, numbers) for key, numbers in ledger.passes.items() if key != base_key]
    for key, numbers in passes:
        _send(client, [by_number[n] for n in numbers if n in by_number], ledger, key, emit)
    if not resume or ledger.unknown(list(by_number)):
        return
    retry = ledger.retry_candidates(list(by_number))
    if not retry:
        return
    key = f"{base_key}/retry-{len(passes)}"
    write({"pass": key, "base": base_key, "rows": retry})
    ledger.passes[key] = retry
    _send(client, [by_number[n] for n in retry], ledger, key, emit)


def _send(
    client: ContactBatchClient,
    rows: list[Row],
    ledger: Ledger,
    job_key: str,
    emit: Any,
) -> None:
    by_position = [row.number for row in rows]
    done = ledger.by_key.get(job_key, {})

    def settled_before(batch: list[Pending[ContactRequest]]) -> bool:
        # A batch every row of which is settled for good under this key is not sent again.
        # Any other batch is, whole: under the same job key its calls replay what was done.
        return all(_settled(done.get(by_position[p.position])) for p in batch)

    def record(outcome: Outcome[ContactRequest]) -> None:
        number = by_position[outcome.position]
        if _settled(done.get(number)):
            return  # settled in an earlier run; replayed here
        code = "CREATED" if isinstance(outcome, Success) else str(outcome.code)
        emit(outcome_line(number, outcome, job_key), code)

    def record_all(left: list[Outcome[ContactRequest]]) -> None:
        for outcome in left:
            record(outcome)

    requests = [row.request for row in rows if row.request is not None]
    # The CLI resumes at batch boundaries: batches settled in an earlier run are skipped.
    run = client.open_run(requests, job_key=job_key, skip=settled_before)
    # Ctrl-C is raised where no outcome is between the run and the file.
    with run.engine.interrupts.guard():
        try:
            for outcome in run:
                record(outcome)
        except AbortRun as abort:
            # Every row the run had read is in the outcomes file by now; say why it stopped.
            error = _aborted(client.operation, abort, BatchResult())
            raise ServiceStopped(str(error)) from None
        except BaseException:
            # Interrupted: calls in flight finish (a second Ctrl-C stops the wait); their
            # outcomes, and those of rows read but not sent, are written before leaving.
            run.close_interrupted(record_all)
            raise


def _resolve_job_key(
    args: argparse.Namespace, instance_id: str, earlier: list[dict[str, Any]]
) -> str:
    """The key the calls go under: when resuming, the one the file was written with.

    Resending a row that may have been created under another key could create it twice,
    so a resume under another key, or of another input, is refused.
    """
    # A simulated instance is new in every run: its id must not make --resume refuse.
    instance = "simulated" if args.simulate else instance_id
    expected = str(args.job_key or _job_key(args.file, instance))
    pass_keys = {line["pass"] for line in earlier if "pass" in line}
    recorded = {str(line["base"]) for line in earlier if "pass" in line and "base" in line}
    recorded |= {
        str(line["job_key"]) for line in earlier
        if "job_key" in line and line["job_key"] not in pass_keys
    }
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
