"""The command line's arguments: the parser, and the checks made before any file is read
or any client is built.

Nothing here reads the input or sends anything.
"""

from __future__ import annotations

import argparse
import pathlib

from connect_batch import MissingExtraError
from connect_batch.cli import final
from connect_batch.cli.api import Api, UsageError
from connect_batch.cli.decoding import ENCODING_ERRORS, STRICT
from connect_batch.runs import MAX_EXPIRES_DELTA, V1_MAX_LEAD, V1_MIN_SEND_LEAD, V2_MIN_LEAD

# The parser's description: what the command does, and its exit statuses.
DESCRIPTION = """``connect-batch put FILE``: put a CSV or JSONL file of people through Amazon \
Connect's outbound APIs, one outcome per row.

The API is outbound campaigns v2 (PutOutboundRequestBatch) with --campaign-id, v1
(PutDialRequestBatch) with --api v1, or BatchPutContact with --instance-id.

Exit status: 0 when every row was created, 1 when any row failed, 2 for usage, input or
configuration errors (nothing sent), 3 when the service stopped the run (the outcomes file
says which rows were settled), 130 when interrupted (the calls in flight finish and their
outcomes are written first). Needs the ``cli`` extra (phonenumbers, rich).
"""


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="connect-batch", description=DESCRIPTION.replace("``", "")
    )
    commands = parser.add_subparsers(dest="command", required=True)
    put = commands.add_parser(
        "put", help="put a CSV or JSONL file of people, one outcome per row",
        description="Put every row of FILE through one API, one JSON outcome per row. "
        "Outbound campaigns v2 by default: connect-batch put people.csv --campaign-id ID",
    )
    put.add_argument("file", type=pathlib.Path, help="a CSV or JSONL file; - reads standard "
                     "input (JSONL when it starts with '{', else CSV; or give --format)")
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
                         help="default: from the extension (standard input: JSONL when it "
                         "starts with '{', else CSV)")
    columns.add_argument("--encoding", default="utf-8-sig",
                         help="the file's text encoding (default: UTF-8). A byte-order mark "
                         "is read whatever this says, and one that contradicts it (or UTF-8 "
                         "lines read as cp1252, say) stops the run")
    columns.add_argument("--encoding-errors", choices=ENCODING_ERRORS, default=STRICT,
                         help="lines that do not decode: strict stops the run naming them "
                         "(default); skip-rows makes their rows INVALID_INPUT and sends the "
                         "rest; replace sends them with U+FFFD for what is not read (a phone "
                         "number so replaced is INVALID_INPUT)")
    columns.add_argument("--phone-column", metavar="NAME", help="the column holding the phone "
                         "number (default: phone)")
    columns.add_argument("--email-column", metavar="NAME", help="v2: the column holding the "
                         "email address (default: email)")
    columns.add_argument("--key-column", metavar="NAME", help="the column naming each row "
                         "(default: request_identifier): its value names the request within "
                         "the job, so an edited row replays, and is kept in its outcome")
    columns.add_argument("--attributes", metavar="A,B,C", help="send only these columns as "
                         "attributes or template parameters, COLUMN=KEY to send one under "
                         "another key (default: every column the API does not read itself, "
                         "named before anything is sent)")
    columns.add_argument("--default-region", help="read numbers without + as this country's "
                         "(US), for rows without a region (or country) column; each must be a "
                         "valid number of its region's plan (00 and 011 read as international "
                         "prefixes) or the row is INVALID_INPUT")
    columns.add_argument("--check-numbers", action="store_true",
                         help="also refuse numbers written with + that are outside their "
                         "country's numbering plan (phonenumbers); by default any "
                         "E.164-shaped number is sent, as the library does")
    out = put.add_argument_group("outcomes")
    out.add_argument("--out", type=pathlib.Path, help="write one JSON outcome per row here "
                     "(an existing file is refused unless --force)")
    out.add_argument("--force", action="store_true", help="overwrite an existing --out file")
    out.add_argument("--resume", type=pathlib.Path, metavar="OUTCOMES",
                     help="settle what an earlier run of the same file left, appending to "
                     "its outcomes file")
    out.add_argument("--job-key", help="default: derived from the file's contents and target")
    out.add_argument("--dry-run", action="store_true", help="validate every row; send nothing")
    out.add_argument("--quiet", action="store_true", help="no progress and no column "
                     "announcement; warnings (repeated rows, rows skipped) still print")
    out.add_argument("--debug", action="store_true", help="log every call (botocore's too) "
                     "on stderr, request bodies redacted")
    out.add_argument("--otel", action="store_true", help="export the run's metrics and spans "
                     "with OpenTelemetry (OTLP, set up by the standard OTEL_* variables; "
                     "the otel extra), flushed before the command exits")
    pace = put.add_argument_group("pacing and AWS")
    pace.add_argument("--concurrency", type=int, default=4)
    pace.add_argument("--max-rps", type=float, help="your share of the quota in calls per "
                      "second, paced a hair under it (0.98) so no call is throttled by "
                      "clock jitter (default: found from throttles)")
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
    final.add_parser(commands)
    return parser


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


def check_outputs(args: argparse.Namespace) -> None:
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


def check_region(args: argparse.Namespace) -> None:
    if args.check_numbers:
        # Checked before any row is read: the rule needs the numbering plans.
        with MissingExtraError.guard("--check-numbers", "cli"):
            import phonenumbers
    if args.default_region is None:
        return
    with MissingExtraError.guard("--default-region", "cli"):
        import phonenumbers

    args.default_region = args.default_region.upper()
    if args.default_region not in phonenumbers.SUPPORTED_REGIONS:
        raise UsageError(f"--default-region {args.default_region}: not a known country code")
