"""The outcomes file's sidecar, ``OUT.run.json``: what a run is bound to (job key, input
digest, API, target, the options a resume must repeat) and the retry passes it started,
kept out of the outcome lines so that those are all data rows of one shape.

The sidecar is replaced whole and atomically (a temporary file, fsync, rename), always
before the calls it describes are sent: a crash leaves the old sidecar or the new one,
never half of one, and never outcome lines of a pass it does not name. Files written by
earlier versions kept the run (``{"run": ...}``) and the passes (``{"pass": ...}``) as lines
of the outcomes file; they are read as they are. Nothing here sends.
"""

from __future__ import annotations

import json
import os
import pathlib
import tempfile
from collections.abc import Mapping
from typing import Any

from connect_batch.cli.api import UsageError
from connect_batch.cli.outcome_file import previous_lines

SUFFIX = ".run.json"
VERSION = 1
DRY_RUN_CODE = "VALID"  # a dry run's code for a row that would be sent


def sidecar_path(out: pathlib.Path) -> pathlib.Path:
    """``OUT.run.json``, beside ``OUT``."""
    return out.with_name(out.name + SUFFIX)


def read_sidecar(out: pathlib.Path) -> dict[str, Any] | None:
    """The sidecar of ``out``, or None if it has none."""
    path = sidecar_path(out)
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        run = dict(record["run"])
        passes = [
            {"pass": str(p["pass"]), "base": str(p["base"]), "rows": [int(n) for n in p["rows"]]}
            for p in record.get("passes", [])
        ]
    except (ValueError, KeyError, TypeError) as error:
        # Written atomically, so only another hand leaves it so: without it a resume
        # cannot know the retry passes, nor check the run, so it must not guess.
        raise UsageError(
            f"{path} is not a run record connect-batch wrote ({error.__class__.__name__}); "
            "restore it, or start a new run with another --out"
        ) from None
    return {"run": run, "passes": passes}


def earlier_records(out: pathlib.Path | None) -> list[dict[str, Any]]:
    """What a resume reads: the sidecar's run and passes (as the lines earlier versions
    wrote), then the outcomes file's own lines, in order."""
    if out is None:
        return []
    lines = previous_lines(out)
    if any(line.get("code") == DRY_RUN_CODE for line in lines):
        # Its rows were never sent: read as settled, a resume would skip every one.
        raise UsageError(
            f"{out} holds a dry run's outcomes (nothing was sent); start the run with --out"
        )
    sidecar = read_sidecar(out)
    if sidecar is None:
        if any("row" in line for line in lines) and not any("run" in line for line in lines):
            # A file written since the run record moved out of it, copied or archived
            # alone. Without the record nothing binds the rows to their input, options and
            # target: an edited file would take its rows' outcomes (and ids), a changed
            # option would send them again. So it is not resumed on trust.
            raise UsageError(
                f"{sidecar_path(out)} is missing: it is the run record a resume checks the "
                f"input, options and target against; put it back beside {out}, or start a "
                "new run with another --out"
            )
        return lines
    return [{"run": sidecar["run"]}, *sidecar["passes"], *lines]


def write_sidecar(
    out: pathlib.Path, run: Mapping[str, Any], passes: Mapping[str, list[int]]
) -> None:
    """Replace ``OUT.run.json`` atomically: the run, and the retry passes (every pass but
    the base one, which carries every valid row under ``run["job_key"]``).

    Only beside a regular file: outcomes written to a pipe or ``/dev/stdout`` have no
    sidecar (and cannot be resumed)."""
    if out.exists() and not out.is_file():
        return
    base = str(run["job_key"])
    record = {
        "version": VERSION,
        "outcomes": out.name,
        "run": dict(run),
        "passes": [
            {"pass": key, "base": base, "rows": list(rows)}
            for key, rows in passes.items() if key != base
        ],
    }
    path = sidecar_path(out)
    handle, temporary = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as text:
            json.dump(record, text, indent=1)
            text.write("\n")
            text.flush()
            os.fsync(text.fileno())
        pathlib.Path(temporary).replace(path)
    except BaseException:
        pathlib.Path(temporary).unlink(missing_ok=True)
        raise
    _sync_directory(path.parent)


def _sync_directory(directory: pathlib.Path) -> None:
    """Make the rename itself durable (where the platform lets a directory be synced)."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def check_sidecar(out: pathlib.Path | None, *, resume: bool, force: bool) -> None:
    """A new run's ``--out`` does not take over another run's sidecar unless forced: it
    may be all that is left of that run's record."""
    if out is None or resume or force:
        return
    if sidecar_path(out).is_file():
        raise UsageError(
            f"{sidecar_path(out)} exists (the run record of an earlier --out {out}); give "
            "another path, --resume it, or --force"
        )
