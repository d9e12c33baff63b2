"""Row numbers and file line numbers: an outcome line and a message give both where they
differ (a header, a CSV value holding a newline, blank lines)."""

from __future__ import annotations

import json

from tests.cli.test_contacts import cli, cli_process, outcomes

# Line 1 the header; row 1 on lines 2-3 (a quoted newline); a blank line 4; row 2 (bad) on
# line 5; row 3 on line 6; row 4 (bad) on line 7.
CSV = (
    "phone,campaign_id,queue_id,note\n"
    '+14155550101,c,q,"two\nlines"\n'
    "\n"
    "not-a-phone,c,q,x\n"
    "+14155550103,c,q,y\n"
    "also-bad,c,q,z\n"
)


def test_csv_rows_name_their_lines_in_outcomes_and_messages(tmp_path, served):
    double, connection = served
    source = tmp_path / "c.csv"
    source.write_text(CSV)
    out = tmp_path / "o.jsonl"
    done = cli_process("put", str(source), *connection, "--out", str(out), "--quiet")
    assert done.returncode == 1, done.stderr
    lines = {line["row"]: line for line in outcomes(out)}
    assert {row: line.get("line") for row, line in lines.items()} == {1: 2, 2: 5, 3: 6, 4: 7}
    assert lines[2]["code"] == lines[4]["code"] == "INVALID_INPUT"
    assert "contact_id" in lines[1]
    assert len(double.contacts) == 2

    dry = cli("put", str(source), *connection, "--dry-run")
    assert "row 2 (line 5): phone" in dry.stderr
    assert "row 4 (line 7): phone" in dry.stderr


def test_jsonl_lines_and_messages_name_the_line_where_blank_lines_shift_it(tmp_path, served):
    _double, connection = served
    source = tmp_path / "c.jsonl"
    row = {"campaign_id": "c", "queue_id": "q"}
    source.write_text(
        json.dumps({**row, "phone": "+14155550101"}) + "\n"
        + json.dumps({**row, "phone": "bad"}) + "\n\n\n"
        + json.dumps({**row, "phone": "worse"}) + "\n"
    )
    out = tmp_path / "o.jsonl"
    done = cli("put", str(source), *connection, "--dry-run", "--out", str(out))
    assert done.returncode == 1
    # Every line names its file line; only row 3's differs from its row number.
    assert [(line["row"], line["line"]) for line in outcomes(out)] == [(1, 1), (2, 2), (3, 5)]
    assert "row 2: phone" in done.stderr
    assert "row 3 (line 5): phone" in done.stderr


def test_a_repeated_identifier_names_the_first_rows_line(tmp_path, served):
    _double, connection = served
    source = tmp_path / "c.csv"
    source.write_text(
        "phone,campaign_id,queue_id,request_identifier\n"
        "+14155550101,c,q,a\n\n"
        "+14155550102,c,q,a\n"
    )
    done = cli("put", str(source), *connection, "--dry-run")
    assert "row 2 (line 4): request_identifier: repeats row 1 (line 2)" in done.stderr


def test_an_unclosed_quote_is_named_by_the_line_its_row_starts_on(tmp_path, served):
    double, connection = served
    source = tmp_path / "c.csv"
    source.write_text('phone,campaign_id,queue_id,note\n+14155550101,c,q,ok\n\n'
                      '+14155550102,c,q,"open\nstill open')
    done = cli("put", str(source), *connection)
    assert done.returncode == 2
    assert "the row starting on line 4" in done.stderr
    assert double.calls == []
