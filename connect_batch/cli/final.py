"""An outcomes file as a whole: each row's final outcome, the counts a summary prints, the
replays an earlier run's file shows, and ``connect-batch outcomes OUT [--final]``.

A row's final outcome is its created line if it has one (a row created stays created),
else its last line. Lines written by earlier versions (no ``code`` on a success, no ``id``
on a failure, a ``{"run": ...}`` header and ``{"pass": ...}`` lines) are read into the
current shape. Nothing here sends or reads the input file.
"""

from __future__ import annotations

import argparse
import collections
import json
import pathlib
import sys
from collections.abc import Iterable, Mapping
from typing import Any, TextIO

from connect_batch.cli.api import UsageError
from connect_batch.cli.outcome_file import CREATED, FIELDS, Ledger, line_created, previous_lines


def shaped(line: Mapping[str, Any]) -> dict[str, Any]:
    """A row line in the current shape: every field, in order, then any other it has."""
    created = line_created(line)
    out: dict[str, Any] = dict.fromkeys(FIELDS)
    out.update(line)
    if created:
        out["code"] = CREATED
        out["id"] = line.get("id") or line.get("contact_id")
    out["retryable"] = bool(line.get("retryable", False))
    out["outcome_unknown"] = bool(line.get("outcome_unknown", False))
    return {**{name: out[name] for name in FIELDS}, **out}


def code_of(line: Mapping[str, Any]) -> str:
    return CREATED if line_created(line) else str(line.get("code"))


def final_lines(lines: Iterable[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Each row's final outcome line, by row number (run and pass lines are skipped)."""
    ledger = Ledger()
    for line in lines:
        if "row" in line and "pass" not in line and "run" not in line:
            ledger.add(line)
    return ledger.final


def counts(finals: Mapping[int, Mapping[str, Any]], rows: Iterable[int] | None = None) -> (
    collections.Counter[str]
):
    """Rows by the code of their final outcome (of ``rows`` only, if given)."""
    numbers = finals.keys() if rows is None else [n for n in rows if n in finals]
    return collections.Counter(code_of(finals[n]) for n in numbers)


def created_ids(lines: Iterable[dict[str, Any]], base_key: str) -> dict[int, str]:
    """The rows an outcomes file records created under ``base_key`` or one of its retry
    passes, and their ids: what a run under the same key is answered with again."""
    found: dict[int, str] = {}
    for line in lines:
        key = str(line.get("job_key"))
        ours = key == base_key or key.startswith(f"{base_key}/retry-")
        if "row" in line and ours and line_created(line):
            found[line["row"]] = str(line.get("id") or line.get("contact_id"))
    return found


def in_retry_passes(
    lines: Iterable[dict[str, Any]], passes: Iterable[dict[str, Any]], base_key: str
) -> list[int]:
    """Rows an outcomes file (its lines, and its sidecar's ``passes``) puts in a retry pass
    of ``base_key``, whatever their outcome there: created, unknown, or recorded with no
    line yet (a kill before the pass answered). Their rows left the base key's tokens;
    sent under them again they may be created a second time."""
    retry = f"{base_key}/retry-"
    rows = {
        int(line["row"]) for line in lines
        if "row" in line and str(line.get("job_key")).startswith(retry)
    }
    rows |= {int(n) for p in passes if str(p.get("pass")).startswith(retry) for n in p["rows"]}
    return sorted(rows)


def overwritten_lines(path: pathlib.Path | None) -> list[dict[str, Any]]:
    """The row lines of a file ``--out --force`` is about to write over (none if it is not
    a regular file or is unreadable)."""
    if path is None or not path.is_file():
        return []
    try:
        return [line for line in previous_lines(path) if "row" in line]
    except (OSError, UnicodeDecodeError):
        return []


def print_replays(
    stream: TextIO, *, total: collections.Counter[str], already: int, replayed: int,
    where: pathlib.Path | None,
) -> None:
    """The summary's replay lines: rows an earlier run created, as its outcomes file shows.

    The service answers a replayed token as it answers a new one, so nothing else can be
    counted (docs/cli.md, Replays)."""
    if already:
        print(f"ALREADY CREATED: {already} of the {total[CREATED]} CREATED, by an earlier "
              f"run ({where} records them); not sent again", file=stream)
    if replayed:
        print(f"REPLAYED: {replayed} of the {total[CREATED]} CREATED were answered with the "
              f"id {where} recorded for them before: created by an earlier run under this "
              "job key, nobody contacted again", file=stream)


def add_parser(commands: Any) -> None:
    """``connect-batch outcomes OUT [--final] [--out FINAL]``."""
    outcomes = commands.add_parser(
        "outcomes", help="summarize an outcomes file, or write each row's final outcome",
        description="Read an outcomes file written by connect-batch put (any version): "
        "print the summary of its rows' final outcomes, or with --final write one line per "
        "row, its final outcome (its created line, else its last), in row order, in the "
        "current shape.",
    )
    outcomes.add_argument("outcomes", type=pathlib.Path, metavar="OUT")
    outcomes.add_argument("--final", action="store_true",
                          help="write each row's final outcome line (to stdout, or --out)")
    outcomes.add_argument("--out", type=pathlib.Path, metavar="FINAL",
                          help="with --final: write here (an existing file needs --force)")
    outcomes.add_argument("--force", action="store_true", help="overwrite an existing --out")


def outcomes_command(args: argparse.Namespace, summary: Any) -> int:
    """The ``outcomes`` command; ``summary(counts, source)`` prints the counts."""
    path: pathlib.Path = args.outcomes
    if not path.is_file():
        raise UsageError(f"{path}: no such outcomes file")
    if args.out is not None:
        if not args.final:
            raise UsageError("--out is for --final: the summary goes to stdout")
        if args.out.exists() and args.out.samefile(path):
            raise UsageError(f"--out {args.out} is the outcomes file; give another path")
        if args.out.is_file() and not args.force:
            raise UsageError(f"--out {args.out} exists; give another path, or --force")
    finals = final_lines(previous_lines(path))
    if not args.final:
        summary(counts(finals), path)
        return 0
    text = "".join(json.dumps(shaped(finals[n])) + "\n" for n in sorted(finals))
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text, encoding="utf-8")
    return 0
