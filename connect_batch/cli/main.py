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
    Api,
    ServiceStopped,
    UsageError,
)
from connect_batch.cli.args import check_outputs, check_region, make_parser, resolve_api
from connect_batch.cli.columns import Columns, Row
from connect_batch.cli.connect import connect
from connect_batch.cli.final import (
    counts,
    created_ids,
    in_retry_passes,
    outcomes_command,
    overwritten_lines,
    print_replays,
)
from connect_batch.cli.outcome_file import (
    Ledger,
    blank_line,
    check_run,
    open_outcomes,
    resolve_job_key,
    resume_command,
    run_record,
)
from connect_batch.cli.progress import Progress
from connect_batch.cli.rows import announce, read_rows, take_stdin
from connect_batch.cli.run_file import (
    DRY_RUN_CODE,
    check_sidecar,
    earlier_records,
    read_sidecar,
    sidecar_path,
    write_sidecar,
)
from connect_batch.cli.send import put_in_passes, recorded_passes
from connect_batch.cli.telemetry import telemetry


def main(argv: list[str] | None = None) -> int:  # noqa: PLR0911 - a status per way out
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
        if args.command == "outcomes":
            return outcomes_command(args, _summary)
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
        if args.command != "put":
            return 130
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


def _dry_run(
    rows: list[Row], out: pathlib.Path | None, progress: Progress, api: Api
) -> None:
    """Validate every row: a line per row in ``out`` (VALID or INVALID_INPUT, in the
    shape of a run's lines, job key null: nothing was sent), the first few invalid on
    stderr."""
    invalid = [row for row in rows if row.request is None]
    for row in rows:
        progress.record(DRY_RUN_CODE if row.request is not None else INVALID_INPUT)
    for row in invalid[:DRY_RUN_SHOWN]:
        print(f"{row.where}: {row.error}", file=sys.stderr)
    if len(invalid) > DRY_RUN_SHOWN:
        rest = len(invalid) - DRY_RUN_SHOWN
        where = f"; all are in {out}" if out is not None else "; --out FILE lists them all"
        print(f"... and {rest} more invalid row(s){where}", file=sys.stderr)
    if out is not None:
        with out.open("w", encoding="utf-8") as handle:
            for row in rows:
                line = blank_line(row, api, None)
                if row.request is None:
                    line.update(code=INVALID_INPUT, message=row.error)
                else:
                    line["code"] = DRY_RUN_CODE
                handle.write(json.dumps(line) + "\n")


def _summary(total: collections.Counter[str], source: pathlib.Path | None) -> None:
    """Print rows by outcome code on stdout (a table on a terminal)."""
    Progress(0, quiet=True, stream=sys.stderr).summary(sys.stdout, source, total)


def _refuse_lost_retries(args: argparse.Namespace, base_key: str) -> list[dict[str, Any]]:
    """The lines of the file ``--out --force`` writes over, unless a rerun would create
    some of its rows twice: rows its retry passes created were never created under the
    base key's tokens, which this run sends them under."""
    if args.resume or not args.force:
        return []
    lines = overwritten_lines(args.out)
    record = read_sidecar(args.out) if args.out is not None and args.out.is_file() else None
    moved = in_retry_passes(lines, [] if record is None else record["passes"], base_key)
    if moved:
        raise UsageError(
            f"--out {args.out} records {len(moved)} row(s) put in a retry pass of job key "
            f"{base_key!r} (first: row {moved[0]}); run again under that key they could be "
            f"created twice: --resume {args.out} to settle that job, or give another --job-key"
        )
    return lines


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


def _name_replays(args: argparse.Namespace, *, already: int, before: int) -> None:
    """Say before sending what an earlier run's outcomes file shows this run will replay.
    Said even with --quiet, as every warning is: such rows read CREATED and contact nobody."""
    if already:
        print(f"connect-batch: {args.resume} records {already} row(s) created by an earlier "
              "run: they are not sent again", file=sys.stderr)
    if before:
        print(f"connect-batch: --out {args.out} records {before} row(s) created under this "
              "job key: sent again under it, they replay and contact nobody (REPLAYED in "
              "the summary)", file=sys.stderr)


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
    # A dry run's --out takes over no run's record either (it removes the sidecar).
    check_sidecar(args.out, resume=bool(args.resume), force=args.force)
    check_region(args)
    out_path: pathlib.Path | None = None if args.dry_run else (args.resume or args.out)
    rows, keys = read_rows(args, columns)
    earlier = earlier_records(args.resume)
    ledger = Ledger.read(earlier)
    valid = [r for r in rows if r.request is not None]
    numbers = [r.number for r in rows]
    # Rows the resumed file records created: not sent again, counted as already done.
    already = ledger.created & set(numbers)
    todo = len(rows) - len(already)
    if args.dry_run:
        announce(args, columns, keys, rows)
        with Progress(todo, quiet=args.quiet, stream=sys.stderr) as progress:
            _dry_run(rows, args.out, progress, api)
        if args.out is not None and args.out.is_file():
            sidecar_path(args.out).unlink(missing_ok=True)  # no run's record any more
        progress.summary(sys.stdout, args.file)
        return SOME_FAILED if progress.counts[INVALID_INPUT] else ALL_CREATED
    with contextlib.ExitStack() as stack:
        # Set up first and shut down last: every event of the run is exported before exit.
        otel = stack.enter_context(telemetry()) if args.otel else None
        # Connect first: a missing Region or profile is a usage error, before any progress.
        client, target = stack.enter_context(connect(args, api))
        if otel is not None:
            client.subscribers.append(otel)
        base_key = resolve_job_key(args, api, target, earlier)
        run = run_record(args, api, target, base_key)
        check_run(args, run, earlier)
        # Read before --out --force writes over it: what an earlier run of this job created.
        before = created_ids(_refuse_lost_retries(args, base_key), base_key)
        announce(args, columns, keys, rows)
        progress = stack.enter_context(Progress(todo, quiet=args.quiet, stream=sys.stderr))
        client.subscribers.append(progress.event)
        out = None if out_path is None else stack.enter_context(
            open_outcomes(out_path, resume=bool(args.resume))
        )
        if out_path is not None:
            # Before anything is sent (and after a new file is emptied): the run record.
            ledger.passes.setdefault(base_key, [r.number for r in valid])
            recorded_passes(ledger, base_key)
            write_sidecar(out_path, run, ledger.passes)
        name_job_key(args, base_key)  # after every usage check: said of a run that sends
        _name_replays(args, already=len(already), before=len(before))
        unknown: collections.Counter[str] = collections.Counter()  # codes of unknown rows

        def emit(line: dict[str, Any], code: str) -> None:
            ledger.add(line)
            if out is not None:
                out.write(json.dumps(line) + "\n")
                out.flush()
            progress.record(code)
            if line.get("outcome_unknown"):
                unknown[code] += 1

        def record_pass(key: str, pass_rows: list[int]) -> None:
            # Recorded before the pass sends: a resume finds it, whenever the run stops.
            if out_path is not None:
                write_sidecar(out_path, run, {**ledger.passes, key: pass_rows})

        def summary() -> None:
            total = counts(ledger.final, numbers)
            _summary(total, args.file)
            replayed = sum(
                1 for n, line in ledger.final.items()
                if n in before and before[n] == str(line.get("id"))
            )
            print_replays(sys.stdout, total=total, already=len(already), replayed=replayed,
                          where=out_path)

        answered = {n for answers in ledger.by_key.values() for n in answers}
        for row in rows:
            if row.request is None and row.number not in answered:
                line = blank_line(row, api, base_key)
                line.update(code=INVALID_INPUT, message=row.error)
                emit(line, INVALID_INPUT)
        try:
            put_in_passes(client, valid, ledger, base_key=base_key, api=api,
                          resume=bool(args.resume), emit=emit, record_pass=record_pass)
        except KeyboardInterrupt:
            summary()
            say_unknown(unknown, base_key, out_path, interrupted=True)
            raise
        except ServiceStopped as stopped:
            region = "simulated" if args.simulate else getattr(args, "region", None)
            raise ServiceStopped(f"{stopped} [Region: {region}]") from None
    summary()
    say_unknown(unknown, base_key, out_path, interrupted=False)
    created = all(ledger.covered(row.number) for row in rows)
    return ALL_CREATED if created else SOME_FAILED
