"""Reading the input: CSV and JSONL strictly, each row built into its request (or the
reason it has none), and what the run says about the columns before it sends.

Nothing here prints or logs a value from the file: messages name the line, the row and the
column. Nothing here sends.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import pathlib
import sys
from collections.abc import Callable, Iterator, Mapping
from datetime import timedelta
from typing import IO, Any

import attrs

from connect_batch import (
    Channel,
    ContactRequest,
    ContactValidationError,
    DialRequest,
    Endpoint,
    EndpointType,
    OutboundRequest,
    PhoneNumberError,
    to_e164,
)
from connect_batch.cli.api import REGION_COLUMNS, SENT_AS, Api, UsageError
from connect_batch.cli.columns import PROBLEM, SURPLUS, Columns, Row
from connect_batch.cli.decoding import BOMS, SKIP_ROWS, STRICT, decode, lines_named

FIELD_LIMIT = csv.field_size_limit()  # 131,072 characters: more than any API takes


@attrs.define
class Source:
    """One input file, read strictly; ``keys`` collects the names its rows have."""

    path: pathlib.Path
    fmt: str
    columns: Columns
    data: bytes
    encoding: str = "utf-8-sig"
    errors: str = STRICT
    label: str = "UTF-8"
    bad_lines: tuple[int, ...] = ()
    keys: dict[str, None] = attrs.field(factory=dict)
    raw_keys: dict[str, None] = attrs.field(factory=dict)

    def records(self) -> Iterator[tuple[int, dict[str, str]]]:
        """The file's rows as dicts of strings, each with the line it starts on."""
        with io.StringIO(self._text(), newline="") as handle:
            if self.fmt == "csv":
                yield from self._csv_records(_Lines(handle))
            else:
                yield from self._json_records(handle)

    def _text(self) -> str:
        """The whole file, decoded (see decoding.py); with ``--encoding-errors skip-rows``,
        the lines that did not decode are kept to mark their rows."""
        decoded = decode(self.path, self.data, self.encoding, self.errors)
        self.label = decoded.label
        self.bad_lines = decoded.bad_lines
        return decoded.text

    def _skipped(self, first: int, last: int) -> str | None:
        """Why the row on lines ``first``-``last`` is not sent, if one did not decode."""
        if self.errors != SKIP_ROWS:
            return None
        for line in range(first, last + 1):
            if line in self.bad_lines:
                return (
                    f"line {line} is not {self.label} text (--encoding-errors skip-rows); "
                    "fix the row or give the file's --encoding"
                )
        return None

    def _csv_records(self, lines: _Lines) -> Iterator[tuple[int, dict[str, str]]]:
        # strict: a quote left open is an error, not rows silently merged into a field.
        reader = csv.DictReader(lines, strict=True, restkey=SURPLUS)
        try:
            if reader.fieldnames is not None:
                lines.start = None
                raw = list(reader.fieldnames)
                if self._skipped(1, reader.line_num):
                    raise UsageError(
                        f"{self.path}: the header ({lines_named([1])}) is not {self.label} "
                        "text, so no row can be read; fix it or give the file's --encoding. "
                        "Nothing was sent"
                    )
                reader.fieldnames = self.columns.header(self.path, raw)
                self.keys.update(dict.fromkeys(reader.fieldnames))
            end = reader.line_num
            for record in reader:
                start, end = lines.start or end + 1, reader.line_num
                lines.start = None
                skipped = self._skipped(start, end)
                if skipped is not None:
                    kept = {k: v for k, v in record.items() if k == "request_identifier"}
                    yield start, {**kept, PROBLEM: skipped}
                    continue
                width = len(reader.fieldnames or ())
                if SURPLUS not in record and all(v is not None for v in record.values()):
                    yield start, record
                    continue
                fields = width + len(record.pop(SURPLUS, ()))
                fields -= sum(v is None for v in record.values())
                ragged = {k: v for k, v in record.items() if v is not None}
                ragged[PROBLEM] = (
                    f"the row has {fields} fields and the header {width}; fix the row (a "
                    "comma inside a value needs quotes)"
                )
                yield start, ragged
        except csv.Error as error:
            # The bad row's first line (else the line after the last good row's end).
            first = lines.start or reader.line_num + 1
            where = f"{self.path}: the row starting on line {first}"
            if "field larger than field limit" in str(error):
                raise UsageError(
                    f"{where} has a field over {FIELD_LIMIT:,} characters, more than any API "
                    "takes (attribute values are at most 32,767); a quote left open can cause "
                    "it too. Fix the file; nothing was sent"
                ) from None
            raise UsageError(
                f"{where} is not valid CSV ({error}); a quote left open, perhaps. Fix the "
                "file; nothing was sent"
            ) from None

    def _json_records(self, handle: IO[str]) -> Iterator[tuple[int, dict[str, str]]]:
        columns = self.columns
        for line_number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            skipped = self._skipped(line_number, line_number)
            if skipped is not None:
                yield line_number, {PROBLEM: skipped}
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                raise UsageError(f"{self.path}: line {line_number} is not JSON") from None
            if not isinstance(record, dict):
                raise UsageError(f"{self.path}: line {line_number} is not a JSON object")
            raw = [str(key) for key in record]
            self.raw_keys.update(dict.fromkeys(raw))
            names = [columns.name(key) for key in raw]
            columns.check(f"{self.path}: line {line_number}", raw, names)
            columns.check_keys(f"{self.path}: line {line_number}", names)
            self.keys.update(dict.fromkeys(names))
            fields: dict[str, str] = {}
            problems: list[str] = []
            for name, value in zip(names, record.values(), strict=True):
                text, problem = json_text(name, value)
                if problem is None:
                    fields[name] = text
                elif value is not None or name not in columns.known:
                    problems.append(problem)
            if problems:
                fields[PROBLEM] = "; ".join(problems)
            yield line_number, fields


class _Lines:
    """A CSV file's lines, counted: ``start`` is the first line of the record being read
    that is not blank (the csv module skips blank lines between records)."""

    def __init__(self, handle: IO[str]) -> None:
        self._lines, self.number = iter(handle), 0
        self.start: int | None = None

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.number += 1
        if self.start is None and line.strip("\r\n"):
            self.start = self.number
        return line


def json_text(key: str, value: object) -> tuple[str, str | None]:
    """A JSONL value as the text sent, or the reason it cannot be sent."""
    if isinstance(value, str):
        return value, None
    if isinstance(value, bool | int | float):
        return json.dumps(value), None
    kind = "null" if value is None else type(value).__name__
    return "", (
        f"{key!r}: a {kind} cannot be sent; values must be strings, numbers or booleans"
    )


def normalise(number: str, region: str | None, *, check_plan: bool = False) -> str:
    """E.164 for ``number``: the library's one rule, ``connect_batch.to_e164`` (a number
    without ``+`` must be a valid number of ``region``'s numbering plan)."""
    return to_e164(number, region=region, check_plan=check_plan)


def row_region(record: Mapping[str, str], args: argparse.Namespace) -> tuple[str | None, str]:
    """The region a row's national numbers are read in, and what gave it: the row's
    ``region`` (or ``country``) column, else ``--default-region``."""
    given = {c: record[c].strip() for c in REGION_COLUMNS if (record.get(c) or "").strip()}
    if len({value.upper() for value in given.values()}) > 1:
        raise ValueError("region, country: the row gives two different regions; keep one")
    for column, value in given.items():
        return value, column
    return args.default_region, "--default-region"


def _number(
    text: str, field: str, record: Mapping[str, str], args: argparse.Namespace,
    *, check_plan: bool,
) -> str:
    """``text`` in E.164, read in the row's region; the error names the field (or the
    region's column), never the number."""
    region, source = row_region(record, args)
    try:
        return normalise(text, region, check_plan=check_plan)
    except PhoneNumberError as error:
        raise ValueError(f"{source if error.field == 'region' else field}: {error}") from None


def _phone(record: Mapping[str, str], args: argparse.Namespace) -> str:
    if not record.get("phone"):
        raise ValueError("phone: missing")
    return _number(record["phone"], "phone", record, args, check_plan=args.check_numbers)


def _expires(args: argparse.Namespace) -> timedelta | None:
    seconds = getattr(args, "expires_in", None)
    return None if seconds is None else timedelta(seconds=seconds)


def _contact(
    record: Mapping[str, str], args: argparse.Namespace, attributes: dict[str, str]
) -> ContactRequest:
    if record.get("phone"):
        customer = Endpoint.phone(_phone(record, args))
    elif record.get("customer_address"):
        kind = record.get("customer_type") or "TELEPHONE_NUMBER"
        address = record["customer_address"]
        if kind == EndpointType.TELEPHONE_NUMBER:
            address = _number(
                address, "customer_address", record, args, check_plan=args.check_numbers
            )
        customer = Endpoint(kind, address)
    else:
        raise ValueError("phone or customer_address: missing")
    system = None
    if record.get("system_address"):
        system = Endpoint(
            record.get("system_type") or "TELEPHONE_NUMBER", record["system_address"]
        )
    return ContactRequest(
        customer_endpoint=customer,
        campaign_id=record.get("campaign_id") or args.campaign_id,
        queue_id=record.get("queue_id") or args.queue_id,
        system_endpoint=system,
        attributes=attributes,
        request_identifier=record.get("request_identifier") or None,
    )


def _outbound(
    record: Mapping[str, str], args: argparse.Namespace, parameters: dict[str, str]
) -> OutboundRequest:
    text = (record.get("channel") or args.channel).strip().lower()
    try:
        channel = Channel(text)
    except ValueError:
        allowed = ", ".join(c.value for c in Channel)
        raise ValueError(f"channel: must be one of {allowed}") from None
    source = record.get("connect_source") or args.connect_source or None
    expires = _expires(args)
    # The row's own id names the request within the job: an edited row replays.
    key = record.get("request_identifier") or None
    if channel is Channel.TELEPHONY:
        if source is not None:  # the caller id: read by the row's rule, plan or not
            source = _number(source, "connect_source", record, args, check_plan=False)
        return OutboundRequest.telephony(
            _phone(record, args), attributes=parameters, expires=expires,
            source_phone_number=source, key=key,
        )
    template_arn = record.get("template_arn") or args.template_arn or None
    if channel is Channel.EMAIL:
        if not record.get("email"):
            raise ValueError("email: missing (the email channel sends to the 'email' column)")
        return OutboundRequest.email(
            record["email"].strip(), template_parameters=parameters, template_arn=template_arn,
            source_email_address=source, expires=expires, key=key,
        )
    build = OutboundRequest.sms if channel is Channel.SMS else OutboundRequest.whatsapp
    return build(
        _phone(record, args), template_parameters=parameters, template_arn=template_arn,
        source_phone_number_arn=source, expires=expires, key=key,
    )


def _dial(
    record: Mapping[str, str], args: argparse.Namespace, attributes: dict[str, str]
) -> DialRequest:
    return DialRequest(
        phone_number=_phone(record, args), attributes=attributes, expires=_expires(args),
        key=record.get("request_identifier") or None,
    )


_BUILDERS: dict[Api, Callable[[Mapping[str, str], argparse.Namespace, dict[str, str]], Any]] = {
    Api.CONNECT: _contact,
    Api.V2: _outbound,
    Api.V1: _dial,
}


def build_row(
    number: int, record: Mapping[str, str], args: argparse.Namespace, columns: Columns,
    line: int | None = None,
) -> Row:
    """A validated request from one record, or the reason it has none (no personal data)."""
    identifier = record.get("request_identifier") or None
    if record.get(PROBLEM):
        return Row(number, None, record[PROBLEM], identifier, line)
    try:
        request = _BUILDERS[columns.api](record, args, columns.attributes(record))
    except (ContactValidationError, ValueError) as error:
        return Row(number, None, str(error), identifier, line)
    return Row(number, request, identifier=identifier, line=line)


STDIN = "-"  # FILE that means standard input
STDIN_NAME = pathlib.Path("<stdin>")  # what messages call it


def take_stdin(args: argparse.Namespace) -> None:
    """Read FILE ``-`` as standard input: ``args.file`` becomes ``<stdin>`` for messages.

    Its bytes are read once, whole, on first use (input_bytes): the rows, the derived job
    key and the outcomes file's digest all need them, and a pipe reads only once."""
    args.stdin = str(args.file) == STDIN
    if args.stdin:
        args.file = STDIN_NAME


def input_bytes(args: argparse.Namespace) -> bytes:
    """The input's bytes (a file, or standard input's binary buffer), read once."""
    data: bytes | None = getattr(args, "input_data", None)
    if data is None:
        if not getattr(args, "stdin", False):
            data = args.file.read_bytes()
        elif sys.stdin.isatty():
            # Nobody types a file of people: the pipe was forgotten, not meant.
            raise UsageError("FILE - reads standard input, which is a terminal here; pipe "
                             "the rows in (... | connect-batch put - ...) or name the file")
        else:
            data = sys.stdin.buffer.read()
        args.input_data = data
    return data


def sniff_format(data: bytes) -> str:
    """Standard input's format without --format: JSONL when its first character (after a
    byte-order mark and blank space) is ``{``, else CSV. A CSV header never starts so."""
    for mark, _codec, _family in BOMS:
        if data.startswith(mark):
            data = data[len(mark):]
            break
    # NUL bytes: UTF-16 and UTF-32 spell ASCII with them.
    return "jsonl" if data[:4096].lstrip(b" \t\r\n\x00").startswith(b"{") else "csv"


def input_format(args: argparse.Namespace) -> str:
    if args.format:
        return str(args.format)
    if getattr(args, "stdin", False):
        return sniff_format(input_bytes(args))
    suffix = args.file.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in {".jsonl", ".ndjson"}:
        return "jsonl"
    raise UsageError(f"{args.file}: cannot tell the format from the extension; use --format")


def read_rows(args: argparse.Namespace, columns: Columns) -> tuple[list[Row], list[str]]:
    """Every row of the file, built; and the column names its rows have."""
    if not getattr(args, "stdin", False) and not args.file.exists():
        raise UsageError(f"{args.file}: no such file")
    errors = getattr(args, "encoding_errors", STRICT)
    source = Source(
        args.file, input_format(args), columns, input_bytes(args), args.encoding, errors
    )
    rows = [
        build_row(number, record, args, columns, line)
        for number, (line, record) in enumerate(source.records(), 1)
    ]
    if source.bad_lines:  # a warning: said even with --quiet
        what = ("their rows are INVALID_INPUT" if errors == SKIP_ROWS
                else "sent with U+FFFD for what was not read")
        verb = "is" if len(source.bad_lines) == 1 else "are"
        print(f"connect-batch: {lines_named(source.bad_lines)} of {args.file} {verb} not "
              f"{source.label} text: {what} (--encoding-errors {errors})", file=sys.stderr)
    if source.fmt == "jsonl" and rows:
        columns.check_renames(str(args.file), list(source.raw_keys))
    first_with: dict[str, Row] = {}
    for index, row in enumerate(rows):
        key = row.identifier if row.request is not None else None
        if key is None:
            continue
        first = first_with.setdefault(key, row)
        # For the campaign APIs the same line twice (an export joining two lists) is one
        # request: the job's duplicate rule answers it DUPLICATE_IN_JOB, sent once. One key
        # on two different requests is a mistake in the file that no rule can settle, and
        # BatchPutContact's RequestIdentifier must be unique in the run whatever it carries.
        same = columns.api is not Api.CONNECT and first.request == row.request
        if first is not row and not same:
            rows[index] = Row(row.number, None,
                              f"request_identifier: repeats {first.where}", key, row.line)
    return rows, list(source.keys)


def announce(
    args: argparse.Namespace, columns: Columns, keys: list[str], rows: list[Row]
) -> None:
    """Say, before anything is sent, which columns are read and which go out as attributes
    (not with --quiet), and how many rows reach someone an earlier row reaches (a warning:
    said even with --quiet)."""
    if not keys:
        return
    _warn_repeats(rows)
    if args.quiet:
        return
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

