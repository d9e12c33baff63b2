"""The command line's input: reading CSV and JSONL strictly, and building each row's request.

Which columns a file may have depends on the API it goes to (``Api``); ``Columns`` maps a
file's names to them. Nothing here prints or logs a value from the file: messages name the
line, the row and the column.
"""

from __future__ import annotations

import argparse
import csv
import enum
import io
import json
import pathlib
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import timedelta
from typing import IO, Any

import attrs

from connect_batch._campaign_models import Channel, DialRequest, OutboundRequest
from connect_batch._errors import ContactValidationError
from connect_batch._models import E164, ContactRequest, Endpoint, EndpointType, mask

INVALID_INPUT = "INVALID_INPUT"
FIELD_LIMIT = csv.field_size_limit()  # 131,072 characters: more than any API takes


class UsageError(Exception):
    """A problem with the command line or the input file: exit 2 with one line."""


class Api(str, enum.Enum):
    """The operation a run puts its rows through."""

    V2 = "v2"  # outbound campaigns v2 PutOutboundRequestBatch
    V1 = "v1"  # outbound campaigns v1 PutDialRequestBatch
    CONNECT = "connect"  # Amazon Connect BatchPutContact

    def __str__(self) -> str:
        return self.value

    @property
    def label(self) -> str:
        return {
            Api.V2: "outbound campaigns v2 (PutOutboundRequestBatch)",
            Api.V1: "outbound campaigns v1 (PutDialRequestBatch)",
            Api.CONNECT: "BatchPutContact (--instance-id)",
        }[self]


# The columns each API reads; any other column is sent as an attribute (or template
# parameter). A column another API reads stops the run, unless --attributes is given.
COLUMNS: dict[Api, frozenset[str]] = {
    Api.V2: frozenset({"phone", "email", "channel", "request_identifier", "template_arn",
                       "connect_source"}),
    Api.V1: frozenset({"phone", "request_identifier"}),
    Api.CONNECT: frozenset({"phone", "customer_address", "customer_type",
                            "request_identifier", "campaign_id", "queue_id", "system_address",
                            "system_type"}),
}  # fmt: skip
ALL_COLUMNS = frozenset().union(*COLUMNS.values())
DESTINATIONS = {
    Api.V2: ("phone", "email"),
    Api.V1: ("phone",),
    Api.CONNECT: ("phone", "customer_address"),
}
SENT_AS = {
    Api.V2: "attributes (telephony) or template parameters (sms, email, whatsapp)",
    Api.V1: "contact attributes",
    Api.CONNECT: "contact attributes",
}

# A ragged CSV row's surplus fields, and a record's problem.
_SURPLUS = "\x00surplus"
PROBLEM = "\x00problem"


@attrs.frozen
class Row:
    """One data row: its 1-based number (header not counted) and its request or error.

    ``identifier`` is the row's own request_identifier, kept for its outcome line whether
    or not the row is valid.
    """

    number: int
    request: Any
    error: str = ""
    identifier: str | None = None


_LOOKS_LIKE_DATA = re.compile(r"@|\d{4}")


def _shown(name: str) -> str:
    """A column name as messages show it: a name that looks like a phone number or an
    address (the first row of a file with no header, say) is masked."""
    if _LOOKS_LIKE_DATA.search(name):
        return repr(mask(name))
    return repr(name if len(name) <= 40 else name[:37] + "...")  # noqa: PLR2004


def _listed(names: list[str]) -> str:
    return ", ".join(_shown(n) for n in names)


UNNAMED = "\x00unnamed"  # a column with an empty header name: never sent
SHADOWED = "\x00shadowed:"  # a known column read from another (--phone-column): not sent


@attrs.frozen
class Columns:
    """How a file's column (or JSON key) names map to what the API reads.

    ``renames`` maps a lower-cased name to a known column (``--phone-column``,
    ``--email-column``); ``chosen`` is ``--attributes``: the only other columns sent.
    """

    api: Api
    renames: Mapping[str, str] = attrs.field(factory=dict)
    chosen: tuple[str, ...] | None = None

    @classmethod
    def from_args(cls, api: Api, args: argparse.Namespace) -> Columns:
        renames: dict[str, str] = {}
        for option, column in (("phone_column", "phone"), ("email_column", "email")):
            name = getattr(args, option, None)
            if name is None:
                continue
            if column not in COLUMNS[api]:
                raise UsageError(f"--{option.replace('_', '-')}: {api.label} takes no {column}")
            renames[name.strip().lower()] = column
        chosen = None
        if getattr(args, "attributes", None) is not None:
            chosen = tuple(n.strip() for n in args.attributes.split(",") if n.strip())
        return cls(api, renames, chosen)

    @property
    def known(self) -> frozenset[str]:
        return COLUMNS[self.api]

    @property
    def shadowed(self) -> frozenset[str]:
        """Known columns read from another column (--phone-column): a column of that name
        is neither read nor sent."""
        return frozenset(self.renames.values())

    def name(self, raw: str) -> str:
        """The column ``raw`` stands for: a known one whatever its case, or itself."""
        low = raw.strip().lstrip("\ufeff").lower()
        if low in self.renames:
            return self.renames[low]
        if low in self.known:
            return low if low not in self.shadowed else f"{SHADOWED}{raw}"
        return raw

    def _unsent(self, name: str) -> bool:
        return name.startswith("\x00") or name.strip().lower() in self.shadowed

    def check_renames(self, where: str, raw: list[str]) -> None:
        """Refuse --phone-column or --email-column naming a column the file does not have."""
        lowered = {n.strip().lstrip("\ufeff").lower() for n in raw}
        for source, column in self.renames.items():
            if source not in lowered:
                raise UsageError(
                    f"--{column}-column {source}: {where} has no such column (columns "
                    f"found: {_listed(raw)}); nothing was sent"
                )

    def check(self, where: str, raw: list[str], names: list[str]) -> None:
        """Refuse names that would send something other than what the file means."""
        found = _listed(raw)
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise UsageError(
                f"{where}: column(s) {', '.join(repeated)} appear more than once (columns "
                f"found: {found}); nothing was sent"
            )
        if self.chosen is None:
            foreign = [n for n in names if n.strip().lower() in ALL_COLUMNS - self.known]
            if foreign:
                raise UsageError(
                    f"{where}: column(s) {_listed(foreign)} are not read by {self.api.label}, "
                    "and would be sent as attributes; drop or rename them, choose the "
                    "attribute columns with --attributes, or pick the API with --api. "
                    "Nothing was sent"
                )

    def header(self, path: pathlib.Path, raw: list[str]) -> list[str]:
        """A CSV header's names; refuse repeats, foreign columns, and no destination.

        A column with no name (the trailing commas of a spreadsheet export) is not sent."""
        names = [
            self.name(n) if n.strip() else f"{UNNAMED}{index}" for index, n in enumerate(raw)
        ]
        self.check(str(path), raw, names)
        self.check_renames(str(path), raw)
        destinations = DESTINATIONS[self.api]
        if not any(d in names for d in destinations):
            wanted = " or ".join(repr(d) for d in destinations)
            raise UsageError(
                f"{path}: no {wanted} column (columns found: {_listed(raw)}); a CSV file "
                "must be comma-separated with a header row (--phone-column names another "
                "column). Nothing was sent"
            )
        missing = [n for n in self.chosen or () if n not in raw]
        if missing:
            raise UsageError(
                f"--attributes: no column {_listed(missing)} in {path} (columns found: "
                f"{_listed(raw)})"
            )
        taken = [n for n in self.chosen or () if self.name(n) in self.known]
        if taken:
            raise UsageError(
                f"--attributes: {_listed(taken)} is a column {self.api.label} reads "
                "itself; it cannot also be an attribute"
            )
        return names

    def attributes(self, record: Mapping[str, str]) -> dict[str, str]:
        """The values a record sends as attributes (or template parameters)."""
        if self.chosen is not None:
            return {k: record[k] for k in self.chosen if record.get(k)}
        known, unsent = self.known, self._unsent
        return {k: v for k, v in record.items() if k and v and k not in known and not unsent(k)}

    def sent(self, keys: list[str]) -> list[str]:
        """Of the names a file has, those sent as attributes."""
        if self.chosen is not None:
            return [k for k in self.chosen if k in keys]
        return [k for k in keys if k and k not in self.known and not self._unsent(k)]

    def ignored(self, keys: list[str]) -> list[str]:
        """Of the names a file has, those neither read nor sent (shown as messages show
        names; a column with no name as '')."""
        sent = set(self.sent(keys))
        shown = []
        for k in keys:
            if k in self.known or k in sent or k == PROBLEM:
                continue
            if k.startswith(UNNAMED):
                shown.append("''")
            else:
                shown.append(k.removeprefix(SHADOWED))
        return shown


@attrs.define
class Source:
    """One input file, read strictly; ``keys`` collects the names its rows have."""

    path: pathlib.Path
    fmt: str
    columns: Columns
    encoding: str = "utf-8-sig"
    keys: dict[str, None] = attrs.field(factory=dict)
    raw_keys: dict[str, None] = attrs.field(factory=dict)

    def records(self) -> Iterator[dict[str, str]]:
        """The file's rows as dicts of strings."""
        with io.StringIO(self._text(), newline="") as handle:
            if self.fmt == "csv":
                yield from self._csv_records(handle)
            else:
                yield from self._json_records(handle)

    def _text(self) -> str:
        """The whole file, decoded; a byte the encoding cannot read names its line."""
        data = self.path.read_bytes()
        try:
            return data.decode(self.encoding)
        except UnicodeDecodeError as error:
            line = data[: error.start].count(b"\n") + 1
            raise UsageError(
                f"{self.path}: line {line} is not {self.encoding} text; give the file's "
                "encoding with --encoding (cp1252 or latin-1, say). Nothing was sent"
            ) from None
        except LookupError:
            raise UsageError(
                f"--encoding {self.encoding}: not an encoding Python knows"
            ) from None

    def _csv_records(self, handle: IO[str]) -> Iterator[dict[str, str]]:
        # strict: a quote left open is an error, not rows silently merged into a field.
        reader = csv.DictReader(handle, strict=True, restkey=_SURPLUS)
        try:
            if reader.fieldnames is not None:
                raw = list(reader.fieldnames)
                reader.fieldnames = self.columns.header(self.path, raw)
                self.keys.update(dict.fromkeys(reader.fieldnames))
            for record in reader:
                width = len(reader.fieldnames or ())
                if _SURPLUS not in record and all(v is not None for v in record.values()):
                    yield record
                    continue
                fields = width + len(record.pop(_SURPLUS, ()))
                fields -= sum(v is None for v in record.values())
                ragged = {k: v for k, v in record.items() if v is not None}
                ragged[PROBLEM] = (
                    f"the row has {fields} fields and the header {width}; fix the row (a "
                    "comma inside a value needs quotes)"
                )
                yield ragged
        except csv.Error as error:
            # DictReader's line_num is where the last good row ended: the bad one starts next.
            where = f"{self.path}: the row starting on line {reader.line_num + 1}"
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

    def _json_records(self, handle: IO[str]) -> Iterator[dict[str, str]]:
        columns = self.columns
        for line_number, line in enumerate(handle, 1):
            if not line.strip():
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
            yield fields


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
    import phonenumbers  # noqa: PLC0415 - only rows that need it pay for the import

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


def _phone(record: Mapping[str, str], args: argparse.Namespace) -> str:
    if not record.get("phone"):
        raise ValueError("phone: missing")
    return normalise(record["phone"], args.default_region, check_plan=args.check_numbers)


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
            address = normalise(address, args.default_region, check_plan=args.check_numbers)
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
        if source is not None:
            try:
                source = normalise(source, args.default_region)
            except ValueError:
                raise ValueError(
                    "connect_source: a telephony caller id must be an E.164 phone number"
                ) from None
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
    number: int, record: Mapping[str, str], args: argparse.Namespace, columns: Columns
) -> Row:
    """A validated request from one record, or the reason it has none (no personal data)."""
    identifier = record.get("request_identifier") or None
    if record.get(PROBLEM):
        return Row(number, None, record[PROBLEM], identifier)
    try:
        request = _BUILDERS[columns.api](record, args, columns.attributes(record))
    except (ContactValidationError, ValueError) as error:
        return Row(number, None, str(error), identifier)
    return Row(number, request, identifier=identifier)
