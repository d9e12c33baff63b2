"""``connect-batch put FILE``: the command, from its arguments to its exit status.

It wires the other modules together (arguments, rows, the outcomes file, the client, the
passes, progress) and turns their errors into one line and an exit status.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import logging
import pathlib
import signal
import sys
import threading
from typing import Any

from connect_batch import ConnectBatchError
from connect_batch.cli.api import (
    ALL_CREATED,
    INVALID_INPUT,
    SERVICE_STOPPED,
    SOME_FAILED,
    USAGE_ERROR,
    ServiceStopped,
    UsageError,
)
from connect_batch.cli.args import check_outputs, check_region, make_parser, resolve_api
from connect_batch.cli.columns import Columns, Row
from connect_batch.cli.connect import connect
from connect_batch.cli.outcome_file import (
    Ledger,
    check_run,
    open_outcomes,
    previous_lines,
    resolve_job_key,
    resume_command,
    run_record,
)
from connect_batch.cli.progress import Progress
from connect_batch.cli.rows import announce, read_rows, take_stdin
from connect_batch.cli.send import put_in_passes


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
        # Standard input is read again by the resume: the same bytes, or it is refused.
        same = " with the same input on standard input" if getattr(args, "stdin", False) else ""
        hint = (
            f"; the calls in flight finished and their outcomes are in {where}. To settle "
            f"the rest, run{same}: {resume_command(argv, where)}"
            if where is not None and not getattr(args, "dry_run", False) else ""
        )
        print(f"connect-batch: interrupted{hint}", file=sys.stderr)
        return 130


DRY_RUN_SHOWN = 5  # invalid rows a dry run names on stderr


def _dry_run(rows: list[Row], out: pathlib.Path | None, progress: Progress) -> None:
    """Validate every row: a line per invalid row in ``out``, the first few on stderr."""
    invalid = [row for row in rows if row.request is None]
    for row in rows:
        progress.record("VALID" if row.request is not None else INVALID_INPUT)
    for row in invalid[:DRY_RUN_SHOWN]:
        print(f"{row.where}: {row.error}", file=sys.stderr)
    if len(invalid) > DRY_RUN_SHOWN:
        rest = len(invalid) - DRY_RUN_SHOWN
        where = f"; all are in {out}" if out is not None else "; --out FILE lists them all"
        print(f"... and {rest} more invalid row(s){where}", file=sys.stderr)
    if out is not None:
        with out.open("w", encoding="utf-8") as handle:
            for row in invalid:
                line = {**row.numbered(), "request_identifier": row.identifier,
                        "code": INVALID_INPUT, "message": row.error}
                handle.write(json.dumps(line) + "\n")


def name_job_key(args: argparse.Namespace, key: str) -> None:
    """Say, before anything is sent, which job the run is and what that means for a rerun.

    A derived key is said even with --quiet: the same rows on another night (another file
    name) replay and contact nobody, which a nightly job must not learn from silence."""
    if args.job_key:
        if not args.quiet:
            print(f"connect-batch: job key {key!r} (--job-key): a run under the same key "
                  "replays what this one creates instead of contacting anyone again",
                  file=sys.stderr)
        return
    print(f"connect-batch: job key {key!r} (derived from the file's content, the API and the "
          "target): these rows run again under any file name replay what an earlier run "
          "created and contact nobody; for a new job of the same rows give --job-key, for "
          "example --job-key reminders/$(date +%F)", file=sys.stderr)


def say_unknown(
    unknown: collections.Counter[str], key: str, out: pathlib.Path | None, *, interrupted: bool
) -> None:
    """Say in words that rows answered NOT_SENT, INTERRUPTED (or another code) with their
    outcome unknown are neither created nor failed: a count of NOT_SENT beside "unknown"
    reads as a contradiction until it is said that an earlier run may have sent them."""
    total = sum(unknown.values())
    if not total:
        return
    codes = ", ".join(f"{code} {n}" for code, n in sorted(unknown.items()))
    how = ("run the same command again (the same rows go under the same job key)"
           if out is None else "the command that resumes follows" if interrupted
           else f"resume with --resume {out}")
    print(f"connect-batch: {total} row(s) are unknown until the resume ({codes}), not failed: "
          "this run did not send them or did not hear back, and under the job key "
          f"{key!r} an earlier run may have created them. The resume settles each under "
          "the same token: the service replays what exists and creates what does not; "
          f"{how}", file=sys.stderr)


def put(args: argparse.Namespace) -> int:  # noqa: PLR0915 - the command's steps, in order
    """The ``put`` command."""
    take_stdin(args)
    if args.resume and args.out and args.resume != args.out:
        raise UsageError("--resume appends to its own file; give --out the same path or omit it")
    api = resolve_api(args)
    columns = Columns.from_args(api, args)
    check_outputs(args)
    check_region(args)
    out_path: pathlib.Path | None = None if args.dry_run else (args.resume or args.out)
    rows, keys = read_rows(args, columns)
    earlier = previous_lines(args.resume)
    ledger = Ledger.read(earlier)
    valid = [r for r in rows if r.request is not None]
    numbers = [r.number for r in rows]
    todo = len(rows) - len(ledger.created & set(numbers))
    if args.dry_run:
        announce(args, columns, keys, rows)
        with Progress(todo, quiet=args.quiet, stream=sys.stderr) as progress:
            _dry_run(rows, args.out, progress)
        progress.summary(sys.stdout, args.file)
        return SOME_FAILED if progress.counts[INVALID_INPUT] else ALL_CREATED
    with contextlib.ExitStack() as stack:
        # Connect first: a missing Region or profile is a usage error, before any progress.
        client, target = stack.enter_context(connect(args, api))
        base_key = resolve_job_key(args, api, target, earlier)
        run = run_record(args, api, target, base_key)
        check_run(args, run, earlier)
        announce(args, columns, keys, rows)
        progress = stack.enter_context(Progress(todo, quiet=args.quiet, stream=sys.stderr))
        client.subscribers.append(progress.event)
        out = None if out_path is None else stack.enter_context(
            open_outcomes(out_path, resume=bool(args.resume), run=run, earlier=earlier)
        )
        name_job_key(args, base_key)  # after every usage check: said of a run that sends
        unknown: collections.Counter[str] = collections.Counter()  # codes of unknown rows

        def write(line: dict[str, Any]) -> None:
            if out is not None:
                out.write(json.dumps(line) + "\n")
                out.flush()

        def emit(line: dict[str, Any], code: str) -> None:
            ledger.add(line)
            write(line)
            progress.record(code)
            if line.get("outcome_unknown"):
                unknown[code] += 1

        answered = {n for answers in ledger.by_key.values() for n in answers}
        for row in rows:
            if row.request is None and row.number not in answered:
                emit({**row.numbered(), "request_identifier": row.identifier,
                      "code": INVALID_INPUT,
                      "message": row.error, "retryable": False, "outcome_unknown": False,
                      "job_key": base_key}, INVALID_INPUT)
        try:
            put_in_passes(client, valid, ledger, base_key=base_key, api=api,
                           resume=bool(args.resume), emit=emit, write=write)
        except KeyboardInterrupt:
            progress.summary(sys.stdout, args.file)
            say_unknown(unknown, base_key, out_path, interrupted=True)
            raise
        except ServiceStopped as stopped:
            region = "simulated" if args.simulate else getattr(args, "region", None)
            raise ServiceStopped(f"{stopped} [Region: {region}]") from None
    progress.summary(sys.stdout, args.file)
    say_unknown(unknown, base_key, out_path, interrupted=False)
    created = all(ledger.covered(row.number) for row in rows)
    return ALL_CREATED if created else SOME_FAILED
