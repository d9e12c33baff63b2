"""Rows whose outcome is unknown (NOT_SENT, INTERRUPTED, a call never answered) are said in
words to be unknown until the resume, so a count of NOT_SENT does not read as "failed"."""

from __future__ import annotations

from connect_batch.testing import Fault
from tests.cli.test_contacts import cli_process, outcomes, write_csv


def test_unknown_rows_are_said_to_be_unknown_until_the_resume(tmp_path, served):
    double, connection = served
    # Every attempt acted on and its answer lost: 30 rows created, none known to be.
    double.fake.plan(*[Fault.dropped()] * 2)
    out = tmp_path / "o.jsonl"
    source = write_csv(tmp_path / "c.csv", 30)
    done = cli_process("put", str(source), *connection, "--out", str(out), "--quiet",
                       "--max-attempts", "1")
    assert done.returncode == 1, done.stderr
    unknown = [line for line in outcomes(out) if line.get("outcome_unknown")]
    assert len(unknown) == 30
    codes = {line["code"] for line in unknown}
    assert "30 row(s) are unknown until the resume (" in done.stderr
    assert all(code in done.stderr for code in codes)
    assert "not failed" in done.stderr
    assert f"resume with --resume {out}" in done.stderr
    assert len(double.contacts) == 30  # created: the words were right not to say failed

    again = cli_process("put", str(source), *connection, "--resume", str(out), "--quiet")
    assert again.returncode == 0, again.stderr
    assert "unknown until the resume" not in again.stderr
    assert len(double.contacts) == 30


def test_a_run_with_every_outcome_known_says_nothing_of_it(tmp_path, served):
    _double, connection = served
    done = cli_process("put", str(write_csv(tmp_path / "c.csv", 3)), *connection, "--quiet")
    assert done.returncode == 0, done.stderr
    assert "unknown until the resume" not in done.stderr
