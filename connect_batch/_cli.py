"""``connect-batch put FILE``: put a CSV or JSONL file of people through Amazon Connect's
outbound APIs, one outcome per row.

The API is outbound campaigns v2 (PutOutboundRequestBatch) with --campaign-id, v1
(PutDialRequestBatch) with --api v1, or BatchPutContact with --instance-id.

Exit status: 0 when every row was created, 1 when any row failed, 2 for usage, input or
configuration errors (nothing sent), 3 when the service stopped the run (the outcomes file
says which rows were settled), 130 when interrupted (the calls in flight finish and their
outcomes are written first). Needs the ``cli`` extra (phonenumbers, rich).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import hashlib
import json
import logging
import pathlib
import shlex
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import IO, Any, TextIO

import attrs

from connect_batch._campaign_models import (
    MAX_EXPIRES_DELTA,
    V1_MAX_LEAD,
    V1_MIN_SEND_LEAD,
    DialRequest,
    OutboundRequest,
)
from connect_batch._campaigns import V2_MIN_LEAD
from connect_batch._cli_input import (
    INVALID_INPUT,
    SENT_AS,
    Api,
    Columns,
    Row,
    Source,
    UsageError,
    build_row,
)
from connect_batch._client import BatchClient, aborted_error
from connect_batch._engine import AbortRun, Pending
from connect_batch._errors import ConnectBatchError
from connect_batch._outcomes import BatchResult, Failure, Outcome, Success
from connect_batch.events import BatchSettled, Event, ItemsResubmitted, RetryScheduled

SERVICE_STOPPED, USAGE_ERROR, SOME_FAILED, ALL_CREATED = 3, 2, 1, 0


class ServiceStopped(Exception):  # noqa: N818 - names what happened
    """The service refused the run after it started: exit 3 with one line."""


def outcome_line(
    row: Row, outcome: Outcome[Any], job_key: str, api: Api
) -> dict[str, Any]:
    """One line of the outcomes file; ``job_key`` lets ``--resume`` use the same tokens."""
    # BatchPutContact's own RequestIdentifier (the row's, or the one derived for it); the
    # campaign APIs have none, so the row's own id, and the request's ClientToken.
    identifier = outcome.request_identifier if api is Api.CONNECT else row.identifier
    line: dict[str, Any] = {"row": row.number, "request_identifier": identifier}
    if api is not Api.CONNECT:
        line["client_token"] = outcome.client_token
    if isinstance(outcome, Success):
        line["id"] = outcome.id
        if api is Api.CONNECT:
            line["contact_id"] = outcome.id
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
                elif "run" in record:
                    record["run"] = dict(record["run"])
                else:
                    record["row"] = int(record["row"])
                lines.append(record)
    return lines


def _created(line: Mapping[str, Any]) -> bool:
    return "id" in line or "contact_id" in line


def _settled(line: Mapping[str, Any] | None) -> bool:
    """True when a line settles its row for good: created, or known not created."""
    return line is not None and (_created(line) or not line.get("outcome_unknown", True))


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
    # Rows answered DUPLICATE_IN_JOB, and the row whose request they repeat.
    duplicates: dict[int, int] = attrs.field(factory=dict)

    @classmethod
    def read(cls, lines: list[dict[str, Any]]) -> Ledger:
        ledger = cls()
        for line in lines:
            if "pass" in line:
                ledger.passes.setdefault(line["pass"], line["rows"])
            elif "row" in line:
                ledger.add(line)
        return ledger

    def add(self, line: dict[str, Any]) -> None:
        self.by_key[str(line.get("job_key"))][line["row"]] = line
        if _created(line):
            self.created.add(line["row"])
        if isinstance(line.get("duplicate_of_row"), int):
            self.duplicates[line["row"]] = line["duplicate_of_row"]

    def covered(self, row: int) -> bool:
        """True when the row's request was created: by this row, or by the earlier row of
        the job it repeats."""
        return row in self.created or self.duplicates.get(row) in self.created

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
        # Rows in batches waiting to go again, by batch number (from the run's events).
        self._retrying: dict[int, int] = {}
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
            self._task = self._bar.add_task("rows", total=self.total, status="")
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._refresh()
            self._bar.stop()
        elif not self.quiet:
            self._line()

    @property
    def retrying(self) -> int:
        """Rows whose call, or whose items, wait to go again."""
        with self._lock:
            return sum(self._retrying.values())

    def event(self, event: Event) -> None:
        """A subscriber to the run's events (connect_batch.events)."""
        with self._lock:
            if isinstance(event, RetryScheduled | ItemsResubmitted):
                self._retrying[event.batch] = event.items
            elif isinstance(event, BatchSettled):
                self._retrying.pop(event.batch, None)
        if self._bar is not None:
            self._refresh()

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
            f"{self.counts['CREATED'] / elapsed:.1f} rows/s"
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
    put = commands.add_parser(
        "put", help="put a CSV or JSONL file of people, one outcome per row",
        description="Put every row of FILE through one API, one JSON outcome per row. "
        "Outbound campaigns v2 by default: connect-batch put people.csv --campaign-id ID",
    )
    put.add_argument("file", type=pathlib.Path)
    api = put.add_argument_group("which API")
    api.add_argument("--campaign-id", help="the outbound campaign (v2, or v1 with --api v1); "
                     "for BatchPutContact, the campaign of rows without a campaign_id")
    api.add_argument("--api", choices=[a.value for a in Api],
                     help="v2: PutOutboundRequestBatch (the default); v1: PutDialRequestBatch; "
                     "connect: BatchPutContact (the default with --instance-id)")
    api.add_argument("--instance-id", help="the Connect instance for BatchPutContact, which "
                     "only the outbound campaigns service principal may call")
    api.add_argument("--queue-id", help="BatchPutContact: the queue of rows without a queue_id")
    v2 = put.add_argument_group("outbound campaigns v2")
    v2.add_argument("--channel", default="telephony",
                    choices=["telephony", "sms", "email", "whatsapp"],
                    help="for rows without a channel column (default: telephony)")
    v2.add_argument("--template-arn", help="sms, email, whatsapp: for rows without template_arn")
    v2.add_argument("--connect-source", help="for rows without a connect_source column: the "
                    "caller id (telephony), source phone number ARN (sms, whatsapp) or sender "
                    "address (email)")
    v2.add_argument("--expires-in", type=float, metavar="SECONDS",
                    help="campaigns: each request expires this long after its call is sent "
                    "(default 600; v1 takes 30-900)")
    columns = put.add_argument_group("input")
    columns.add_argument("--format", choices=["csv", "jsonl"],
                         help="default: from the extension")
    columns.add_argument("--encoding", default="utf-8-sig",
                         help="the file's text encoding (default: UTF-8, with or without a BOM)")
    columns.add_argument("--phone-column", metavar="NAME", help="the column holding the phone "
                         "number (default: phone)")
    columns.add_argument("--email-column", metavar="NAME", help="v2: the column holding the "
                         "email address (default: email)")
    columns.add_argument("--attributes", metavar="A,B,C", help="send only these columns as "
                         "attributes or template parameters (default: every column the API "
                         "does not read itself, named before anything is sent)")
    columns.add_argument("--default-region", help="read national numbers as this country's (US)")
    columns.add_argument("--check-numbers", action="store_true",
                         help="also refuse numbers outside their country's numbering plan "
                         "(phonenumbers); by default any E.164-shaped number is sent, as the "
                         "library does")
    out = put.add_argument_group("outcomes")
    out.add_argument("--out", type=pathlib.Path, help="write one JSON outcome per row here "
                     "(an existing file is refused unless --force)")
    out.add_argument("--force", action="store_true", help="overwrite an existing --out file")
    out.add_argument("--resume", type=pathlib.Path, metavar="OUTCOMES",
                     help="settle what an earlier run of the same file left, appending to "
                     "its outcomes file")
    out.add_argument("--job-key", help="default: derived from the file's contents and target")
    out.add_argument("--dry-run", action="store_true", help="validate every row; send nothing")
    out.add_argument("--quiet", action="store_true", help="no progress output")
    out.add_argument("--debug", action="store_true", help="log every call (botocore's too) "
                     "on stderr, request bodies redacted")
    pace = put.add_argument_group("pacing and AWS")
    pace.add_argument("--concurrency", type=int, default=4)
    pace.add_argument("--max-rps", type=float, help="calls per second (default: adaptive)")
    pace.add_argument("--max-attempts", type=int, default=5)
    pace.add_argument("--redis-url", help="pace with every process sharing this Redis "
                      "(redis://host:6379/0): one limiter per account, Region and operation")
    pace.add_argument("--redis-key", help="the shared limiter's key (default: "
                      "connect-batch:ACCOUNT:REGION:OPERATION)")
    pace.add_argument("--profile")
    pace.add_argument("--region")
    pace.add_argument("--endpoint-url")
    sim = put.add_argument_group("simulation (no AWS account)")
    sim.add_argument("--simulate", action="store_true",
                     help="run against the library's simulated service in this process")
    sim.add_argument("--simulate-latency", type=float, default=0.03, help="seconds per call")
    sim.add_argument("--simulate-rate", type=float, help="throttle beyond this many calls/s")
    sim.add_argument("--simulate-burst", type=int, default=15)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = make_parser().parse_args(argv)
    if getattr(args, "debug", False):
        # botocore's records of the library's calls have their bodies redacted (by default).
        logging.basicConfig(
            level=logging.DEBUG, stream=sys.stderr,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
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
            f"; the calls in flight finished and their outcomes are in {where}. To settle "
            f"the rest, run: {resume_command(argv, where)}"
            if where is not None and not getattr(args, "dry_run", False) else ""
        )
        print(f"connect-batch: interrupted{hint}", file=sys.stderr)
        return 130


def resume_command(argv: list[str] | None, outcomes: pathlib.Path) -> str:
    """The command line that resumes this one: the same, with ``--resume OUTCOMES`` in
    place of ``--out`` and ``--force``."""
    given = list(sys.argv[1:] if argv is None else argv)
    kept: list[str] = []
    skip = False
    for arg in given:
        if skip:
            skip = False
            continue
        if arg in {"--out", "--resume"}:
            skip = True
            continue
        if arg == "--force" or arg.startswith(("--out=", "--resume=")):
            continue
        kept.append(arg)
    return shlex.join(["connect-batch", *kept, "--resume", str(outcomes)])


def _format(args: argparse.Namespace) -> str:
    if args.format:
        return str(args.format)
    suffix = args.file.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in {".jsonl", ".ndjson"}:
        return "jsonl"
    raise UsageError(f"{args.file}: cannot tell the format from the extension; use --format")


def resolve_api(args: argparse.Namespace) -> Api:
    """The API the run goes to, and the options it needs (before anything is read)."""
    api = Api(args.api) if args.api else Api.CONNECT if args.instance_id else Api.V2
    if api is not Api.CONNECT:
        if args.instance_id:
            raise UsageError(
                f"--instance-id is for BatchPutContact (--api connect); {api.label} takes "
                "--campaign-id"
            )
        if args.queue_id:
            raise UsageError(f"--queue-id is for BatchPutContact; {api.label} takes none")
        if not args.campaign_id and not args.simulate:
            raise UsageError(
                f"--campaign-id is required for {api.label} (or --simulate); BatchPutContact "
                "takes --instance-id"
            )
    elif not args.instance_id and not args.simulate:
        raise UsageError("--instance-id is required for BatchPutContact (or --simulate)")
    v2_only = {"--template-arn": args.template_arn, "--connect-source": args.connect_source,
               "--email-column": args.email_column}
    if args.channel != "telephony":
        v2_only["--channel"] = args.channel
    given = [option for option, value in v2_only.items() if value]
    if api is not Api.V2 and given:
        raise UsageError(f"{', '.join(given)}: only outbound campaigns v2 takes it")
    if args.expires_in is not None:
        if api is Api.CONNECT:
            raise UsageError("--expires-in: BatchPutContact requests do not expire")
        low, high = (
            (V2_MIN_LEAD.total_seconds(), MAX_EXPIRES_DELTA.total_seconds()) if api is Api.V2
            else (V1_MIN_SEND_LEAD.total_seconds(), V1_MAX_LEAD.total_seconds())
        )
        if not low < args.expires_in <= high:
            raise UsageError(
                f"--expires-in {args.expires_in:g}: {api.label} takes more than {low:g} and "
                f"at most {high:g} seconds (a request needs time left when it is sent)"
            )
    return api


def _rows(args: argparse.Namespace, columns: Columns) -> tuple[list[Row], list[str]]:
    """Every row of the file, built; and the column names its rows have."""
    if not args.file.exists():
        raise UsageError(f"{args.file}: no such file")
    source = Source(args.file, _format(args), columns, args.encoding)
    rows = [
        build_row(number, record, args, columns)
        for number, record in enumerate(source.records(), 1)
    ]
    if source.fmt == "jsonl" and rows:
        columns.check_renames(str(args.file), list(source.raw_keys))
    first_with: dict[str, int] = {}
    for index, row in enumerate(rows):
        key = row.identifier if row.request is not None else None
        if key is None:
            continue
        if key in first_with:
            rows[index] = Row(
                row.number, None, f"request_identifier: repeats row {first_with[key]}", key
            )
        else:
            first_with[key] = row.number
    return rows, list(source.keys)


def _announce(
    args: argparse.Namespace, columns: Columns, keys: list[str], rows: list[Row]
) -> None:
    """Say, before anything is sent, which columns are read and which go out as attributes,
    and how many rows reach someone an earlier row reaches."""
    if not keys or args.quiet:
        return
    _warn_repeats(rows)
    what = SENT_AS[columns.api]
    if columns.api is Api.V2 and "channel" not in keys:
        what = "attributes" if args.channel == "telephony" else "template parameters"
    read = [k for k in keys if k in columns.known]
    sent = columns.sent(keys)
    how = "(--attributes)" if columns.chosen is not None else (
        "(every other column; --attributes chooses)"
    )
    print(f"connect-batch: columns read: {', '.join(read)}; sent as {what}: "
          f"{', '.join(sent) if sent else 'none'} {how}", file=sys.stderr)
    ignored = columns.ignored(keys)
    if ignored:
        print(f"connect-batch: columns not sent: {', '.join(ignored)}", file=sys.stderr)


def _warn_repeats(rows: list[Row]) -> None:
    """Say how many rows repeat an earlier row's request (the campaign APIs: sent once), and
    how many more reach someone an earlier row reaches (each sent)."""
    seen: set[tuple[str, str]] = set()
    requests: set[tuple[str, str, str]] = set()
    repeats = same = 0
    for row in rows:
        request = row.request
        if request is None:
            continue
        if isinstance(request, OutboundRequest | DialRequest):
            channel = str(request.channel) if isinstance(request, OutboundRequest) else ""
            whom = request.destination if isinstance(request, OutboundRequest) else (
                request.phone_number
            )
            what = ("key", request.key) if request.key is not None else ("says", request.says())
            identity = (channel, whom, "\x00".join(what))
            if identity in requests:
                same += 1
                continue
            requests.add(identity)
            who = (channel, whom)
        else:
            who = ("", request.customer_endpoint.address)
        repeats += who in seen
        seen.add(who)
    if same:
        print(f"connect-batch: {same} row(s) repeat an earlier row's request (same channel, "
              "number or address, and request_identifier or else content): each is answered "
              "DUPLICATE_IN_JOB and not sent", file=sys.stderr)
    if repeats:
        print(f"connect-batch: {repeats} row(s) reach a person an earlier row reaches with "
              "another request; each is sent. Remove them from the file to contact each "
              "person once", file=sys.stderr)


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
    api = resolve_api(args)
    columns = Columns.from_args(api, args)
    _check_outputs(args)
    _check_region(args)
    out_path: pathlib.Path | None = None if args.dry_run else (args.resume or args.out)
    rows, keys = _rows(args, columns)
    earlier = previous_lines(args.resume)
    ledger = Ledger.read(earlier)
    valid = [r for r in rows if r.request is not None]
    numbers = [r.number for r in rows]
    todo = len(rows) - len(ledger.created & set(numbers))
    if args.dry_run:
        _announce(args, columns, keys, rows)
        with Progress(todo, quiet=args.quiet, stream=sys.stderr) as progress:
            _dry_run(rows, args.out, progress)
        progress.summary(sys.stdout, args.file)
        return SOME_FAILED if progress.counts[INVALID_INPUT] else ALL_CREATED
    with contextlib.ExitStack() as stack:
        # Connect first: a missing Region or profile is a usage error, before any progress.
        client, target = stack.enter_context(_connect(args, api))
        base_key = _resolve_job_key(args, api, target, earlier)
        run = _run_record(args, api, target, base_key)
        _check_run(args, run, earlier)
        _announce(args, columns, keys, rows)
        progress = stack.enter_context(Progress(todo, quiet=args.quiet, stream=sys.stderr))
        client.subscribers.append(progress.event)
        out = None if out_path is None else stack.enter_context(
            _open_outcomes(out_path, resume=bool(args.resume), run=run, earlier=earlier)
        )

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
            _put_in_passes(client, valid, ledger, base_key=base_key, api=api,
                           resume=bool(args.resume), emit=emit, write=write)
        except KeyboardInterrupt:
            progress.summary(sys.stdout, args.file)
            raise
        except ServiceStopped as stopped:
            region = "simulated" if args.simulate else getattr(args, "region", None)
            raise ServiceStopped(f"{stopped} [Region: {region}]") from None
    progress.summary(sys.stdout, args.file)
    created = all(ledger.covered(row.number) for row in rows)
    return ALL_CREATED if created else SOME_FAILED


def _put_in_passes(
    client: BatchClient[Any],
    rows: list[Row],
    ledger: Ledger,
    *,
    base_key: str,
    api: Api,
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
        _send(client, [by_number[n] for n in numbers if n in by_number], ledger, key, emit, api=api)
    if not resume or ledger.unknown(list(by_number)):
        return
    retry = ledger.retry_candidates(list(by_number))
    if not retry:
        return
    key = f"{base_key}/retry-{len(passes)}"
    write({"pass": key, "base": base_key, "rows": retry})
    ledger.passes[key] = retry
    _send(client, [by_number[n] for n in retry], ledger, key, emit, api=api)


def _send(
    client: BatchClient[Any],
    rows: list[Row],
    ledger: Ledger,
    job_key: str,
    emit: Any,
    *,
    api: Api,
) -> None:
    done = ledger.by_key.get(job_key, {})

    def settled_before(batch: list[Pending[Any]]) -> bool:
        # A batch every row of which is settled for good under this key is not sent again.
        # Any other batch is, whole: under the same job key its calls replay what was done.
        return all(_settled(done.get(rows[p.position].number)) for p in batch)

    def settled_item(pending: Pending[Any]) -> bool:
        # Under a token per item, a row settled for good is not sent again at all.
        return _settled(done.get(rows[pending.position].number))

    def record(outcome: Outcome[Any]) -> None:
        row = rows[outcome.position]
        earlier = done.get(row.number)
        news = isinstance(outcome, Success) and earlier is not None and not _created(earlier)
        if _settled(earlier) and not news:
            return  # settled in an earlier run; replayed here (a creation is always news)
        code = "CREATED" if isinstance(outcome, Success) else str(outcome.code)
        line = outcome_line(row, outcome, job_key, api)
        if isinstance(outcome, Failure) and outcome.duplicate_of is not None:
            first = rows[outcome.duplicate_of].number
            line["duplicate_of_row"] = first
            line["message"] = (
                f"the same request as row {first} (same channel, destination, and "
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
        run = client.open_run(requests, job_key=job_key, skip=settled_before)
    else:
        run = client.open_run(requests, job_key=job_key, skip_item=settled_item)
    # Ctrl-C is raised where no outcome is between the run and the file.
    with run.engine.interrupts.guard():
        try:
            for outcome in run:
                record(outcome)
        except AbortRun as abort:
            # Every row the run had read is in the outcomes file by now; say why it stopped.
            error = aborted_error(client.operation, abort, BatchResult())
            raise ServiceStopped(str(error)) from None
        except BaseException:
            # Interrupted: calls in flight finish (a second Ctrl-C stops the wait); their
            # outcomes, and those of rows read but not sent, are written before leaving.
            run.close_interrupted(record_all)
            raise


def _resolve_job_key(
    args: argparse.Namespace, api: Api, target: str, earlier: list[dict[str, Any]]
) -> str:
    """The key the calls go under: when resuming, the one the file was written with.

    Resending a row that may have been created under another key could create it twice,
    so a resume under another key, or of another input, is refused.
    """
    # A simulated service is new in every run: its ids must not make --resume refuse.
    where = "simulated" if args.simulate else target
    expected = str(args.job_key or _job_key(args.file, api, where))
    pass_keys = {line["pass"] for line in earlier if "pass" in line}
    recorded = {str(line["base"]) for line in earlier if "pass" in line and "base" in line}
    recorded |= {
        str(line["job_key"]) for line in earlier
        if "job_key" in line and line["job_key"] not in pass_keys
    }
    if any("run" in line for line in earlier):
        return expected  # the file says what it was written for: _check_run compares it all
    if recorded and recorded != {expected}:
        raise UsageError(
            f"{args.resume} was written for another input, API, target or job key; resuming "
            "it here could contact people twice (pass the original --job-key if the input "
            "is the same)"
        )
    return expected


@contextlib.contextmanager
def _open_outcomes(
    path: pathlib.Path, *, resume: bool, run: dict[str, Any], earlier: list[dict[str, Any]]
) -> Iterator[IO[str]]:
    """The outcomes file, to append to (resume) or new; its first line says what the run
    is bound to, so that a resume with another input or options is refused."""
    with path.open("a" if resume else "w", encoding="utf-8") as out:
        if resume and path.stat().st_size and not _ends_with_newline(path):
            out.write("\n")  # end a line a crash cut short, so the next one stands alone
        if not any("run" in line for line in earlier):
            out.write(json.dumps({"run": run}) + "\n")
            out.flush()
        yield out


# The options that shape what a row sends: a resume must give the same ones.
_REQUEST_OPTIONS = (
    "format", "encoding", "phone_column", "email_column", "attributes", "default_region",
    "check_numbers", "channel", "template_arn", "connect_source", "expires_in", "campaign_id",
    "queue_id",
)


def _run_record(
    args: argparse.Namespace, api: Api, target: str, job_key: str
) -> dict[str, Any]:
    """What an outcomes file's run is bound to (no personal data: digests and options)."""
    options = {name: getattr(args, name, None) for name in _REQUEST_OPTIONS}
    options["format"] = _format(args)
    if api is not Api.CONNECT:
        options.pop("campaign_id")  # the target
    record = {
        "job_key": job_key,
        "input": hashlib.sha256(args.file.read_bytes()).hexdigest(),
        "api": str(api),
        "target": "simulated" if args.simulate else target,
        "options": options,
    }
    parsed: dict[str, Any] = json.loads(json.dumps(record))  # as it reads back
    return parsed


def _check_run(
    args: argparse.Namespace, run: dict[str, Any], earlier: list[dict[str, Any]]
) -> None:
    """Refuse a resume whose input, API, target or options differ from the file's run."""
    recorded = next((line["run"] for line in earlier if "run" in line), None)
    if recorded is None:
        return
    differences = []
    if recorded.get("input") != run["input"]:
        differences.append("the input file changed (rows added, removed or edited)")
    for name, what in (("api", "the API"), ("target", "the campaign or instance"),
                       ("job_key", "the job key")):
        if recorded.get(name) != run[name]:
            differences.append(f"{what} was {recorded.get(name)!r} (now {run[name]!r})")
    before = recorded.get("options") or {}
    for name, value in run["options"].items():
        if before.get(name) != value:
            option = "--" + name.replace("_", "-")
            differences.append(f"{option} was {before.get(name)!r} (now {value!r})")
    if differences:
        raise UsageError(
            f"{args.resume} does not match this run: {'; '.join(differences)}. Resuming it "
            "so could contact people twice, or skip them: resume with the original file "
            "and options, or start a new run with another --out"
        )


def _ends_with_newline(path: pathlib.Path) -> bool:
    with path.open("rb") as handle:
        handle.seek(-1, 2)
        return handle.read(1) == b"\n"


def _job_key(path: pathlib.Path, api: Api, target: str) -> str:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:32]
    if api is Api.CONNECT:
        return f"file:{digest}:{target}"
    return f"file:{digest}:{api}:{target}"


_OPERATIONS = {
    Api.V2: "PutOutboundRequestBatch", Api.V1: "PutDialRequestBatch",
    Api.CONNECT: "BatchPutContact",
}


def _options(
    args: argparse.Namespace, api: Api, account: Callable[[], str], region: str
) -> dict[str, Any]:
    """The client's options; with --redis-url, a limiter shared through Redis."""
    options: dict[str, Any] = {
        "concurrency": args.concurrency,
        "max_requests_per_second": args.max_rps,
        "max_attempts": args.max_attempts,
    }
    if args.redis_url:
        from connect_batch._redis_limiter import RedisRateLimiter, fleet_key

        key = args.redis_key or fleet_key(account(), region, _OPERATIONS[api])
        try:
            options["rate_limiter"] = RedisRateLimiter.from_url(
                args.redis_url, key=key, rate=args.max_rps
            )
        except ImportError:
            raise UsageError(
                "--redis-url needs redis-py: pip install 'connect-batch[redis]'"
            ) from None
        except ValueError as error:
            raise UsageError(f"--redis-url: {error}") from None
    return options


@contextlib.contextmanager
def _simulated(args: argparse.Namespace, api: Api) -> Iterator[tuple[BatchClient[Any], str]]:
    from connect_batch._campaigns import DialRequestBatchClient, OutboundRequestBatchClient
    from connect_batch._client import ContactBatchClient
    from connect_batch.testing import DEFAULT_ACCOUNT, dummy_credentials, mock_connect, new_double

    region = args.region or "us-east-1"
    with dummy_credentials(region), mock_connect():
        double = new_double(region)
        fake = double.fake if api is Api.CONNECT else double.fake_campaigns
        fake.latency = args.simulate_latency
        if args.simulate_rate:
            fake.throttle(rate=args.simulate_rate, burst=args.simulate_burst)
        options = _options(args, api, lambda: DEFAULT_ACCOUNT, region)
        client: BatchClient[Any]
        if api is Api.CONNECT:
            target = double.instance_id
            client = ContactBatchClient(double.client, instance_id=target, **options)
        elif api is Api.V2:
            target = double.campaign_id
            client = OutboundRequestBatchClient(
                double.campaigns, campaign_id=target, **options
            )
        else:
            target = double.v1_campaign_id
            client = DialRequestBatchClient(
                double.campaigns_v1, campaign_id=target, **options
            )
        yield client, target


@contextlib.contextmanager
def _connect(args: argparse.Namespace, api: Api) -> Iterator[tuple[BatchClient[Any], str]]:
    """The client of the run's API, and the instance or campaign it puts into."""
    if args.simulate:
        with _simulated(args, api) as simulated:
            yield simulated
        return
    import boto3
    import botocore.exceptions

    from connect_batch._campaigns import DialRequestBatchClient, OutboundRequestBatchClient
    from connect_batch._client import ContactBatchClient

    try:
        session = boto3.Session(profile_name=args.profile, region_name=args.region)
        url = args.endpoint_url

        def account() -> str:  # for the shared limiter's key: one quota per account
            try:
                identity = session.client("sts", endpoint_url=url).get_caller_identity()
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
                raise UsageError(
                    "--redis-url: could not read the AWS account (sts:GetCallerIdentity) "
                    "for the limiter's key; give --redis-key"
                ) from None
            return str(identity["Account"])

        client: BatchClient[Any]
        if api is Api.CONNECT:
            target = args.instance_id
            client = ContactBatchClient(
                session.client("connect", endpoint_url=url), instance_id=target,
                **_options(args, api, account, str(session.region_name)),
            )
        elif api is Api.V2:
            target = args.campaign_id
            client = OutboundRequestBatchClient(
                session.client("connectcampaignsv2", endpoint_url=url), campaign_id=target,
                **_options(args, api, account, str(session.region_name)),
            )
        else:
            target = args.campaign_id
            client = DialRequestBatchClient(
                session.client("connectcampaigns", endpoint_url=url), campaign_id=target,
                **_options(args, api, account, str(session.region_name)),
            )
        args.region = args.region or session.region_name  # named in run-stopping errors
        if session.get_credentials() is None:
            raise UsageError(
                "no AWS credentials found (environment variables, --profile, or the "
                "instance's role); nothing was sent"
            )
    except botocore.exceptions.NoRegionError:
        raise UsageError(
            "no AWS Region: give --region (us-east-1, say), set AWS_REGION, or use a "
            "--profile that names one. Nothing was sent"
        ) from None
    except (botocore.exceptions.ProfileNotFound, botocore.exceptions.NoCredentialsError,
            ConnectBatchError) as error:
        raise UsageError(str(error)) from None
    yield client, target
