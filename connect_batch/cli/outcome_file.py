"""The outcomes file: one JSON line per outcome, all of one shape, and what the lines
(with the run record, run_file.py) mean when a run is resumed (``Ledger``).

A resume must never contact anyone twice: the job key, the input's digest and the options
that shape a request are checked here before anything is sent. Lines hold no personal data
(row numbers, identifiers, tokens, digests and options). Nothing here sends.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import hashlib
import json
import pathlib
import shlex
import sys
from collections.abc import Iterator, Mapping
from typing import IO, Any

import attrs

from connect_batch import Outcome, Success
from connect_batch.cli.api import Api, UsageError
from connect_batch.cli.columns import Row
from connect_batch.cli.rows import input_bytes, input_format

# The fields of every outcome line, in order: every line has each of them (null where it
# does not apply), so that a reader (pandas.read_json(lines=True)) gets one table of the
# same columns and types. ``line`` is the file line the row starts on (after the header, a
# blank line or a quoted newline it is not the row number; null from stdin's JSONL only if
# unknown). BatchPutContact files also carry ``contact_id`` (the ``id``).
FIELDS = (
    "row", "line", "code", "id", "channel", "request_identifier", "client_token", "message",
    "retryable", "outcome_unknown", "duplicate_of_row", "job_key",
)
CREATED = "CREATED"


def blank_line(row: Row, api: Api | None, job_key: str | None) -> dict[str, Any]:
    """A line with every field, for ``row``: the ones an outcome does not fill are null."""
    line: dict[str, Any] = dict.fromkeys(FIELDS)
    line.update(row=row.number, line=row.line, request_identifier=row.identifier,
                channel=row_channel(row, api), retryable=False, outcome_unknown=False,
                job_key=job_key)
    if api is Api.CONNECT:
        line["contact_id"] = None
    return line


def row_channel(row: Row, api: Api | None) -> str | None:
    """The channel a row's request goes by: v2's per request; the other APIs only call.
    None for a v2 row with no request (its channel may be what is wrong with it)."""
    if api is Api.V2:
        channel = getattr(row.request, "channel", None)
        return None if channel is None else str(channel)
    return None if api is None else "telephony"


def outcome_line(
    row: Row, outcome: Outcome[Any], job_key: str, api: Api
) -> dict[str, Any]:
    """One line of the outcomes file; ``job_key`` lets ``--resume`` use the same tokens."""
    line = blank_line(row, api, job_key)
    # BatchPutContact's own RequestIdentifier (the row's, or the one derived for it); the
    # campaign APIs have none, so the row's own id, and the request's ClientToken.
    if api is Api.CONNECT:
        line["request_identifier"] = outcome.request_identifier
    else:
        line["client_token"] = outcome.client_token
    if isinstance(outcome, Success):
        line.update(code=CREATED, id=outcome.id)
        if api is Api.CONNECT:
            line["contact_id"] = outcome.id
    else:
        line.update(
            code=str(outcome.code),
            message=outcome.message,
            retryable=outcome.retryable,
            outcome_unknown=outcome.outcome_unknown,
        )
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


def line_created(line: Mapping[str, Any]) -> bool:
    """True when a line records its row created: an id (lines of earlier versions have
    no ``code`` on a success, and no ``id`` at all on a failure)."""
    return line.get("id") is not None or line.get("contact_id") is not None


def line_settled(line: Mapping[str, Any] | None) -> bool:
    """True when a line settles its row for good: created, or known not created."""
    return line is not None and (line_created(line) or not line.get("outcome_unknown", True))


@attrs.define
class Ledger:
    """What an outcomes file says, row by row and pass by pass.

    A *pass* is one job key and the rows it carries: the base pass carries every valid
    row; each retry pass (recorded in the sidecar before it sends anything, run_file.py;
    a ``{"pass": key, "rows": [...]}`` line in files of earlier versions) carries rows
    known not created by the passes before it.
    """

    by_key: dict[str, dict[int, dict[str, Any]]] = attrs.field(
        factory=lambda: collections.defaultdict(dict)
    )
    passes: dict[str, list[int]] = attrs.field(factory=dict)
    created: set[int] = attrs.field(factory=set)
    # Rows answered DUPLICATE_IN_JOB, and the row whose request they repeat.
    duplicates: dict[int, int] = attrs.field(factory=dict)
    # Each row's outcome: its created line if it has one, else its last line.
    final: dict[int, dict[str, Any]] = attrs.field(factory=dict)

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
        if line_created(line):
            self.created.add(line["row"])
        # A row created stays created: no later line (none is written) says otherwise.
        if not line_created(self.final.get(line["row"], {})):
            self.final[line["row"]] = line
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
                not line_settled(answers.get(n))
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


def resolve_job_key(
    args: argparse.Namespace, api: Api, target: str, earlier: list[dict[str, Any]]
) -> str:
    """The key the calls go under: when resuming, the one the file was written with.

    Resending a row that may have been created under another key could create it twice,
    so a resume under another key, or of another input, is refused.
    """
    # A simulated service is new in every run: its ids must not make --resume refuse.
    where = "simulated" if args.simulate else target
    expected = str(args.job_key or derived_job_key(input_bytes(args), api, where))
    pass_keys = {line["pass"] for line in earlier if "pass" in line}
    # Retry passes' keys, also when the record of a pass is lost (see send.recorded_passes).
    pass_keys |= {
        str(line["job_key"]) for line in earlier
        if str(line.get("job_key", "")).startswith(f"{expected}/retry-")
    }
    recorded = {str(line["base"]) for line in earlier if "pass" in line and "base" in line}
    recorded |= {
        str(line["job_key"]) for line in earlier
        if "job_key" in line and line["job_key"] not in pass_keys
    }
    if any("run" in line for line in earlier):
        return expected  # the file says what it was written for: check_run compares it all
    if recorded and recorded != {expected}:
        raise UsageError(
            f"{args.resume} was written for another input, API, target or job key; resuming "
            "it here could contact people twice (pass the original --job-key if the input "
            "is the same)"
        )
    return expected


@contextlib.contextmanager
def open_outcomes(path: pathlib.Path, *, resume: bool) -> Iterator[IO[str]]:
    """The outcomes file, to append to (resume) or new (emptied at once: the run record
    written next must never sit beside another run's lines). Every line is an outcome;
    what the run is bound to goes in the sidecar (run_file.py)."""
    with path.open("a" if resume else "w", encoding="utf-8") as out:
        if resume and path.stat().st_size and not _ends_with_newline(path):
            out.write("\n")  # end a line a crash cut short, so the next one stands alone
            out.flush()
        yield out


# The options that shape what a row sends: a resume must give the same ones.
_REQUEST_OPTIONS = (
    "format", "encoding", "encoding_errors", "phone_column", "email_column", "key_column",
    "attributes", "default_region", "check_numbers", "channel", "template_arn",
    "connect_source", "expires_in", "campaign_id", "queue_id",
)
# Options added since outcomes files were first written, as a file without them ran.
_EARLIER_DEFAULTS = {"encoding_errors": "strict"}


def run_record(
    args: argparse.Namespace, api: Api, target: str, job_key: str
) -> dict[str, Any]:
    """What an outcomes file's run is bound to (no personal data: digests and options)."""
    options = {name: getattr(args, name, None) for name in _REQUEST_OPTIONS}
    options["format"] = input_format(args)
    if api is not Api.CONNECT:
        options.pop("campaign_id")  # the target
    record = {
        "job_key": job_key,
        "input": hashlib.sha256(input_bytes(args)).hexdigest(),
        "api": str(api),
        "target": "simulated" if args.simulate else target,
        "options": options,
    }
    parsed: dict[str, Any] = json.loads(json.dumps(record))  # as it reads back
    return parsed


def check_run(
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
        earlier_value = before.get(name, _EARLIER_DEFAULTS.get(name))
        if earlier_value != value:
            option = "--" + name.replace("_", "-")
            differences.append(f"{option} was {earlier_value!r} (now {value!r})")
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


def derived_job_key(source: pathlib.Path | bytes, api: Api, target: str) -> str:
    """The job key of a run without --job-key: from the input's bytes (or its file's)."""
    data = source if isinstance(source, bytes) else source.read_bytes()
    digest = hashlib.sha256(data).hexdigest()[:32]
    if api is Api.CONNECT:
        return f"file:{digest}:{target}"
    return f"file:{digest}:{api}:{target}"
