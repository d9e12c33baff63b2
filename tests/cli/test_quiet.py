"""``--quiet`` silences the progress and the column announcement, never a warning: rows
that repeat a request or reach a person twice, and rows skipped for their encoding."""

from __future__ import annotations

from tests.cli.test_contacts import cli_process, outcomes


def test_quiet_keeps_the_warnings_through_the_real_process(tmp_path, v2):
    target, connection = v2
    source = tmp_path / "p.csv"
    source.write_bytes(
        b"phone,first_name,topic\n"
        b"+14155550001,Ann,reminder\n"
        b"+14155550001,Ann,reminder\n"  # row 2: row 1's request again
        b"+14155550001,Ann,payment-due\n"  # row 3: Ann again, another request
        b"+14155550004,Jos\xe9,reminder\n"  # row 4: not UTF-8
    )
    out = tmp_path / "o.jsonl"
    done = cli_process("put", str(source), *connection, "--quiet", "--out", str(out),
                       "--encoding-errors", "skip-rows")
    assert done.returncode == 1, done.stderr
    assert "1 row(s) repeat an earlier row's request" in done.stderr
    assert "1 row(s) reach a person an earlier row reaches" in done.stderr
    assert "line 5 of" in done.stderr
    assert "their rows are INVALID_INPUT" in done.stderr
    # What --quiet does silence: the column announcement and the progress lines.
    assert "columns read" not in done.stderr
    assert "rows/s" not in done.stderr
    assert "Jos" not in done.stderr
    assert len(target.requests) == 2
    assert {line["row"]: line["code"] for line in outcomes(out)} == {
        1: "CREATED", 2: "DUPLICATE_IN_JOB", 3: "CREATED", 4: "INVALID_INPUT"
    }

    loud = cli_process("put", str(source), *connection, "--dry-run",
                       "--encoding-errors", "skip-rows")
    assert "columns read" in loud.stderr
