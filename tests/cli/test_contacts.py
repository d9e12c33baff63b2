"""The connect-batch command, end to end: in this process through ``main(argv)`` (what the
command runs), and through a real process where it takes one (kills, ``python -m``)."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

from connect_batch.cli import connect
from connect_batch.cli.main import main
from connect_batch.testing import Fault

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "contacts.csv"


def cli(*args: str, **options) -> subprocess.CompletedProcess[str]:
    """Run the command as ``connect-batch ARGS`` would: in this process, or in a process of
    its own when given ``subprocess.run`` options (another environment, say) or ``--debug``
    (which configures the process's logging, as pytest already has here)."""
    if options or "--debug" in args:
        return cli_process(*args, **options)
    return cli_in_process(*args)


def cli_process(*args: str, **options) -> subprocess.CompletedProcess[str]:
    """``python -m connect_batch ARGS`` in a process of its own."""
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "connect_batch", *args],
        capture_output=True, text=True, cwd=ROOT, timeout=120, check=False, **options,
    )


def no_sleep(_seconds: float) -> None:
    """A sleep that returns at once."""


def cli_in_process(*args: str) -> subprocess.CompletedProcess[str]:
    """``main(argv)`` in this process, with its output captured and what it changes in the
    process (the SIGTERM handler, logging, the working directory) put back. Its clients
    wait out no back-off (``connect.sleep``): the double answers at once anyway."""
    stdout, stderr = io.StringIO(), io.StringIO()
    sigterm = signal.getsignal(signal.SIGTERM)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    cwd = pathlib.Path.cwd()
    os.chdir(ROOT)
    connect.sleep = no_sleep
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                code = main(list(args))
            except SystemExit as exit_:  # argparse: --help, usage errors
                code = exit_.code if isinstance(exit_.code, int) else 2
    finally:
        connect.sleep = None
        os.chdir(cwd)
        signal.signal(signal.SIGTERM, sigterm)
        root.handlers[:], root.level = handlers, level
    return subprocess.CompletedProcess(args, code, stdout.getvalue(), stderr.getvalue())


def outcomes(path: pathlib.Path) -> list[dict]:
    """The row lines of an outcomes file (not its run and pass lines)."""
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [line for line in lines if "row" in line]


def write_csv(path: pathlib.Path, count: int, *, bad_rows: tuple[int, ...] = ()) -> pathlib.Path:
    lines = ["phone,campaign_id,queue_id,first_name"]
    for i in range(1, count + 1):
        phone = "not-a-phone" if i in bad_rows else f"+1415555{i:04d}"
        lines.append(f"{phone},campaign-1,queue-1,Person {i}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_the_example_runs_simulated_and_writes_one_outcome_per_row(tmp_path):
    out = tmp_path / "outcomes.jsonl"
    done = cli("put", str(EXAMPLE), "--simulate", "--out", str(out))
    assert done.returncode == 1  # the example holds one invalid row
    lines = outcomes(out)
    assert sorted(line["row"] for line in lines) == list(range(1, 51))
    invalid = [line for line in lines if line["code"] != "CREATED"]
    assert [(i["row"], i["code"], i["retryable"]) for i in invalid] == [
        (18, "INVALID_INPUT", False)
    ]
    assert all(line["id"] for line in lines if line["row"] != 18)
    assert "CREATED: 49" in done.stdout
    assert "Traceback" not in done.stderr


def test_every_row_created_exits_0_and_matches_the_ledger(tmp_path, served):
    double, connection = served
    out = tmp_path / "o.jsonl"
    done = cli("put", str(write_csv(tmp_path / "c.csv", 60)), *connection, "--out", str(out))
    assert done.returncode == 0, done.stderr
    ledger = {c.request_identifier: c.contact_id for c in double.contacts}
    assert {line["request_identifier"]: line["contact_id"] for line in outcomes(out)} == ledger
    assert len(ledger) == 60


def test_dry_run_validates_and_sends_nothing(tmp_path, served):
    double, connection = served
    source = write_csv(tmp_path / "c.csv", 10, bad_rows=(4,))
    out = tmp_path / "o.jsonl"
    done = cli("put", str(source), *connection, "--dry-run", "--out", str(out))
    assert done.returncode == 1
    assert "VALID: 9" in done.stdout
    assert "INVALID_INPUT: 1" in done.stdout
    assert double.calls == []
    # The invalid row is named, on stderr and in the file, with its reason; every row has
    # a line of the shape a run writes, VALID for the rows that would be sent.
    lines = outcomes(out)
    assert [line["row"] for line in lines] == list(range(1, 11))
    (line,) = [line for line in lines if line["code"] != "VALID"]
    assert line["row"] == 4
    assert line["code"] == "INVALID_INPUT"
    assert line["message"]
    assert {tuple(line) for line in lines} == {tuple(lines[0])}
    assert all(line["id"] is None and line["job_key"] is None for line in lines)
    assert "row 4 (line 5):" in done.stderr  # after the header, the file's line 5
    again = cli("put", str(source), *connection, "--dry-run", "--out", str(out))
    assert again.returncode == 2  # an existing file is not overwritten without --force


def test_jsonl_with_national_numbers_and_defaults(tmp_path, served):
    double, connection = served
    source = tmp_path / "c.jsonl"
    source.write_text(
        json.dumps({"phone": "(415) 555-0142", "tier": "gold"}) + "\n"
        + json.dumps({"customer_address": "415 555 0143", "customer_type": "TELEPHONE_NUMBER"})
        + "\n"
    )
    done = cli("put", str(source), *connection, "--default-region", "US",
               "--campaign-id", "c-1", "--queue-id", "q-1", "--quiet")
    assert done.returncode == 0, done.stderr
    assert sorted(c.customer_address for c in double.contacts) == ["+14155550142", "+14155550143"]
    assert [c.attributes for c in double.contacts if c.attributes] == [{"tier": "gold"}]


def test_usage_errors_exit_2_with_one_line(tmp_path):
    missing = cli("put", str(tmp_path / "nope.csv"), "--simulate")
    assert missing.returncode == 2
    assert missing.stderr.strip().count("\n") == 0
    unknown = cli("put", str(write_csv(tmp_path / "c.txt", 1)), "--simulate")
    assert unknown.returncode == 2
    assert "--format" in unknown.stderr


def test_access_denied_is_one_line_pointing_to_outbound_campaigns(tmp_path, served):
    double, connection = served
    double.fake.plan(Fault.error(403, "AccessDeniedException"))
    done = cli("put", str(write_csv(tmp_path / "c.csv", 5)), *connection, "--quiet")
    assert done.returncode == 3
    assert "Traceback" not in done.stderr
    assert "outbound campaigns" in done.stderr
    assert "PutOutboundRequestBatch" in done.stderr
    assert "[Region: us-east-1]" in done.stderr


def test_resume_after_a_killed_run_creates_nothing_twice(tmp_path, served):
    double, connection = served
    double.fake.latency = 0.05
    source = write_csv(tmp_path / "c.csv", 300)
    out = tmp_path / "o.jsonl"
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "connect_batch", "put", str(source), *connection,
         "--out", str(out), "--quiet", "--concurrency", "2", "--max-rps", "20"],
        cwd=ROOT, env=os.environ.copy(),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (not out.exists() or len(outcomes(out)) < 50):
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    written_before = len(out.read_text().splitlines())
    assert 0 < written_before < 300, "the kill should land mid-run"

    done = cli("put", str(source), *connection, "--resume", str(out), "--quiet")
    assert done.returncode == 0, done.stderr
    # A line the kill cut short is skipped; its row is answered again by the rerun.
    lines = [json.loads(line) for line in out.read_text().splitlines() if line.endswith("}")]
    lines = [line for line in lines if "row" in line]
    assert sorted(line["row"] for line in lines) == list(range(1, 301))
    assert double.duplicates() == {}
    assert len(double.contacts) == 300
    ledger = {c.request_identifier: c.contact_id for c in double.contacts}
    assert all(ledger[line["request_identifier"]] == line["contact_id"] for line in lines)


def test_resume_while_throttled_then_again_creates_every_row_once(tmp_path, served):
    double, connection = served
    double.fake.latency = 0.2
    source = write_csv(tmp_path / "c.csv", 200)
    out = tmp_path / "o.jsonl"
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "connect_batch", "put", str(source), *connection,
         "--out", str(out), "--quiet", "--concurrency", "8"],
        cwd=ROOT, env=os.environ.copy(),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(double.contacts) < 25:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)  # with calls in flight: committed, never answered
    process.wait()
    double.fake.latency = 0.0
    double.fake.throttle(rate=0, burst=0)
    throttled = cli("put", str(source), *connection, "--resume", str(out), "--quiet",
                    "--max-attempts", "2")
    assert throttled.returncode == 1
    double.fake.reset_faults()
    done = cli("put", str(source), *connection, "--resume", str(out), "--quiet")
    assert done.returncode == 0, done.stderr
    assert len(double.contacts) == 200
    assert double.duplicates() == {}
    # A line the kill cut short is skipped; its row is answered again by the resume.
    lines = [json.loads(line) for line in out.read_text().splitlines() if line.endswith("}")]
    lines = [line for line in lines if "row" in line]
    latest = {line["row"]: line for line in lines if "row" in line}
    ledger = {c.request_identifier: c.contact_id for c in double.contacts}
    assert sorted(latest) == list(range(1, 201))
    assert all(ledger[line["request_identifier"]] == line["contact_id"] for line in latest.values())


def test_resume_refuses_another_job_key(tmp_path, served):
    _double, connection = served
    source = write_csv(tmp_path / "c.csv", 3)
    out = tmp_path / "o.jsonl"
    assert cli("put", str(source), *connection, "--out", str(out), "--quiet").returncode == 0
    refused = cli("put", str(source), *connection, "--resume", str(out), "--job-key", "other")
    assert refused.returncode == 2
    assert "could contact people twice" in refused.stderr


def test_resume_puts_retryable_failures_again_and_nothing_twice(tmp_path, served):
    double, connection = served
    source = write_csv(tmp_path / "c.csv", 60)
    out = tmp_path / "o.jsonl"
    double.fake.plan(None, *([Fault.throttle()] * 2))  # the second batch runs out of attempts
    first = cli("put", str(source), *connection, "--out", str(out), "--quiet",
                "--max-attempts", "2", "--concurrency", "1")
    assert first.returncode == 1
    failed = [line for line in outcomes(out) if line["code"] != "CREATED"]
    # Under a job key an earlier run may have sent the same token: not known, not resent
    # under a new key, but settled by the resume under the same one.
    assert {(f["code"], f["retryable"], f["outcome_unknown"]) for f in failed} == {
        ("LimitExceededException", True, True)
    }
    again = cli("put", str(source), *connection, "--resume", str(out), "--quiet")
    assert again.returncode == 0, again.stderr
    assert len(double.contacts) == 60
    assert double.duplicates() == {}
    latest = {line["row"]: line for line in outcomes(out)}
    assert all(line["contact_id"] for line in latest.values())


def test_resume_refuses_the_outcomes_of_another_input(tmp_path, served):
    _double, connection = served
    out = tmp_path / "o.jsonl"
    cli("put", str(write_csv(tmp_path / "a.csv", 2)), *connection, "--out", str(out), "--quiet")
    other = write_csv(tmp_path / "b.csv", 3)
    refused = cli("put", str(other), *connection, "--resume", str(out), "--quiet")
    assert refused.returncode == 2
    assert "the input file changed" in refused.stderr


def test_rows_repeating_an_identifier_are_invalid_not_a_crash(tmp_path, served):
    double, connection = served
    source = tmp_path / "c.csv"
    source.write_text(
        "\ufeffphone,request_identifier,campaign_id,queue_id\n"  # a BOM, as Excel writes
        "+14155550101,crm-1,c,q\n+14155550102,crm-1,c,q\n+14155550103,crm-3,c,q\n"
    )
    out = tmp_path / "o.jsonl"
    done = cli("put", str(source), *connection, "--out", str(out), "--quiet")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    by_row = {line["row"]: line for line in outcomes(out)}
    assert by_row[2]["code"] == "INVALID_INPUT"
    assert by_row[1]["contact_id"]
    assert by_row[3]["contact_id"]
    assert len(double.contacts) == 2


@pytest.mark.parametrize(
    "options",
    [["--concurrency", "0"], ["--max-attempts", "0"], ["--default-region", "XX"],
     ["--out", "/nonexistent/dir/o.jsonl"]],
)
def test_bad_options_exit_2_with_one_line(tmp_path, options):
    done = cli("put", str(EXAMPLE), "--simulate", "--quiet", *options)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0


# Files people have, and files they keep (issue 10, first part).
def test_an_unterminated_quote_stops_before_anything_is_sent(tmp_path, served):
    double, connection = served
    source = tmp_path / "c.csv"
    source.write_text(
        "phone,request_identifier,campaign_id,queue_id,note\n"
        '+14155550100,r1,c,q,"unterminated\n'
        "+14155550101,r2,c,q,ok\n"
    )
    done = cli("put", str(source), *connection, "--quiet")
    assert done.returncode == 2
    assert "the row starting on line 2 " in done.stderr
    assert "nothing was sent" in done.stderr
    assert double.contacts == []
    assert "+1415555010" not in done.stderr


def test_an_existing_out_file_is_refused_unless_forced(tmp_path, served):
    double, connection = served
    source = write_csv(tmp_path / "c.csv", 3)
    out = tmp_path / "o.jsonl"
    out.write_text('{"row": 1, "contact_id": "kept"}\n')
    refused = cli("put", str(source), *connection, "--out", str(out), "--quiet")
    assert refused.returncode == 2
    assert "--force" in refused.stderr
    assert out.read_text() == '{"row": 1, "contact_id": "kept"}\n'
    assert double.contacts == []
    forced = cli("put", str(source), *connection, "--out", str(out), "--quiet", "--force")
    assert forced.returncode == 0, forced.stderr
    assert len(outcomes(out)) == 3


@pytest.mark.parametrize("option", ["--out", "--resume"])
def test_the_input_file_is_never_an_output(tmp_path, option):
    source = write_csv(tmp_path / "c.csv", 3)
    before = source.read_text()
    done = cli("put", str(source), "--simulate", "--quiet", option, str(source), "--force")
    assert done.returncode == 2
    assert "input file" in done.stderr
    assert source.read_text() == before


def test_a_service_stop_after_the_run_started_exits_3(tmp_path, served):
    double, connection = served
    out = tmp_path / "o.jsonl"
    double.fake.plan(None, Fault.error(403, "AccessDeniedException"))
    done = cli("put", str(write_csv(tmp_path / "c.csv", 60)), *connection, "--out", str(out),
               "--quiet", "--concurrency", "1")
    assert done.returncode == 3
    assert "Traceback" not in done.stderr
    assert len(double.contacts) == 25
    assert len(outcomes(out)) == 60


def test_column_mistakes_stop_with_the_columns_found(tmp_path):
    repeated = tmp_path / "r.csv"
    repeated.write_text("phone,Phone,campaign_id,queue_id\n+14155550100,+14155550101,c,q\n")
    done = cli("put", str(repeated), "--simulate", "--quiet")
    assert done.returncode == 2
    assert "more than once" in done.stderr
    assert "+1415555010" not in done.stderr
    semicolons = tmp_path / "s.csv"
    semicolons.write_text("phone;campaign_id;queue_id\n+14155550100;c;q\n")
    done = cli("put", str(semicolons), "--simulate", "--quiet")
    assert done.returncode == 2
    assert "columns found" in done.stderr


def test_known_columns_match_case_insensitively_and_ragged_rows_are_invalid(tmp_path, served):
    double, connection = served
    source = tmp_path / "c.csv"
    source.write_text(
        "Phone,Request_Identifier,Campaign_ID,QUEUE_ID,tier\n"
        "+14155550100,r1,c,q,gold\n"
        "+14155550101,r2,c,q\n"
        "+14155550102,r3,c,q,gold,extra\n"
    )
    out = tmp_path / "o.jsonl"
    done = cli("put", str(source), *connection, "--out", str(out), "--quiet")
    assert done.returncode == 1, done.stderr
    by_row = {line["row"]: line for line in outcomes(out)}
    assert by_row[1]["contact_id"]
    for row, identifier in ((2, "r2"), (3, "r3")):
        assert by_row[row]["code"] == "INVALID_INPUT"
        assert by_row[row]["request_identifier"] == identifier
        assert "fields" in by_row[row]["message"]
    (created,) = double.contacts
    assert created.campaign_id == "c"
    assert dict(created.attributes) == {"tier": "gold"}


def test_jsonl_values_are_sent_as_json_text_and_objects_are_invalid(tmp_path, served):
    double, connection = served
    source = tmp_path / "c.jsonl"
    rows = [
        {"phone": "+14155550100", "campaign_id": "c", "queue_id": "q", "request_identifier":
         "r1", "flag": True, "score": 1.5, "count": 2},
        {"phone": "+14155550101", "campaign_id": "c", "queue_id": "q", "request_identifier":
         "r2", "nested": {"a": 1}},
        {"phone": "+14155550102", "campaign_id": "c", "queue_id": "q", "request_identifier":
         "r3", "gone": None},
    ]
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "o.jsonl"
    done = cli("put", str(source), *connection, "--out", str(out), "--quiet")
    assert done.returncode == 1, done.stderr
    (created,) = double.contacts
    assert dict(created.attributes) == {"flag": "true", "score": "1.5", "count": "2"}
    by_row = {line["row"]: line for line in outcomes(out)}
    assert "'nested'" in by_row[2]["message"]
    assert by_row[2]["request_identifier"] == "r2"
    assert "'gone'" in by_row[3]["message"]
    assert by_row[3]["code"] == "INVALID_INPUT"


def test_rejected_rows_keep_their_own_identifier(tmp_path, served):
    _double, connection = served
    source = tmp_path / "c.csv"
    source.write_text(
        "phone,request_identifier,campaign_id,queue_id\n"
        "not a phone,r1,c,q\n+14155550101,r2,c,q\n+14155550102,r2,c,q\n"
    )
    out = tmp_path / "o.jsonl"
    cli("put", str(source), *connection, "--out", str(out), "--quiet")
    by_row = {line["row"]: line for line in outcomes(out)}
    assert by_row[1]["request_identifier"] == "r1"
    assert by_row[3]["request_identifier"] == "r2"
    assert by_row[3]["code"] == "INVALID_INPUT"


def test_bytes_that_are_not_utf8_name_the_line_and_encoding_reads_them(tmp_path, served):
    double, connection = served
    source = tmp_path / "c.csv"
    source.write_bytes(
        b"phone,campaign_id,queue_id,name\n+14155550100,c,q,ok\n+14155550101,c,q,Jos\xe9\n"
    )
    refused = cli("put", str(source), *connection, "--quiet")
    assert refused.returncode == 2
    assert "line 3" in refused.stderr
    assert "--encoding" in refused.stderr
    assert double.contacts == []
    done = cli("put", str(source), *connection, "--quiet", "--encoding", "cp1252")
    assert done.returncode == 0, done.stderr
    assert len(double.contacts) == 2


def test_a_header_only_file_says_there_are_no_rows(tmp_path):
    source = tmp_path / "c.csv"
    source.write_text("phone,campaign_id,queue_id\n")
    done = cli("put", str(source), "--simulate", "--api", "connect", "--quiet")
    assert done.returncode == 0, done.stderr
    assert f"no rows in {source}" in done.stdout


def test_simulate_then_resume_accepts_its_own_file(tmp_path):
    out = tmp_path / "o.jsonl"
    first = cli("put", str(EXAMPLE), "--simulate", "--quiet", "--out", str(out))
    assert first.returncode == 1, first.stderr  # the example has one invalid row
    again = cli("put", str(EXAMPLE), "--simulate", "--quiet", "--resume", str(out))
    assert again.returncode == 1, again.stderr
    assert "another input" not in again.stderr


def test_help_shows_no_double_backticks():
    done = cli_process("--help")  # python -m connect_batch: the command's own wiring
    assert done.returncode == 0
    assert "``" not in done.stdout


def test_one_phone_rule_with_the_numbering_plan_opt_in(tmp_path, served):
    double, connection = served
    source = tmp_path / "c.csv"
    # E.164-shaped, as the library requires, but outside the North American numbering plan.
    source.write_text("phone,campaign_id,queue_id\n+15555550100,c,q\n6502530000,c,q\n")
    out = tmp_path / "o.jsonl"
    done = cli("put", str(source), *connection, "--quiet", "--out", str(out))
    assert done.returncode == 1, done.stderr
    assert len(double.contacts) == 1  # the library's rule: sent
    by_row = {line["row"]: line for line in outcomes(out)}
    assert "--default-region" in by_row[2]["message"]
    checked = cli("put", str(source), *connection, "--quiet", "--out", str(tmp_path / "p.jsonl"),
                  "--check-numbers", "--default-region", "US", "--job-key", "second")
    assert checked.returncode == 1
    assert len(double.contacts) == 2  # the national number now; the +1555 one refused
    refused = {line["row"]: line for line in outcomes(tmp_path / "p.jsonl")}[1]
    assert "numbering plan" in refused["message"]


def test_a_national_number_must_be_valid_in_its_region(tmp_path, served):
    double, connection = served
    source = tmp_path / "c.csv"
    source.write_text(
        "phone,campaign_id,queue_id\n"
        "0044 20 7946 0958,c,q\n"  # sent as +1 0044... before: E.164-shaped, not a number
        "555 0100,c,q\n"  # no US number
        "011 44 113 496 0000,c,q\n"
    )
    out = tmp_path / "o.jsonl"
    done = cli("put", str(source), *connection, "--default-region", "US", "--quiet",
               "--out", str(out))
    assert done.returncode == 1, done.stderr
    assert sorted(c.customer_address for c in double.contacts) == [
        "+441134960000", "+442079460958"
    ]
    by_row = {line["row"]: line for line in outcomes(out)}
    assert by_row[2]["code"] == "INVALID_INPUT"
    message = by_row[2]["message"]
    assert message.startswith("phone: not a valid number in region US's numbering plan")
    assert not any(c.isdigit() for c in message)
    assert all(by_row[n]["contact_id"] for n in (1, 3))


def test_a_region_column_gives_a_row_its_own_region(tmp_path, served):
    double, connection = served
    source = tmp_path / "c.csv"
    source.write_text(
        "phone,Region,campaign_id,queue_id,tier\n"
        "020 7946 0959,gb,c,q,gold\n"
        "201 555 0123,,c,q,gold\n"  # no region of its own: --default-region
        "020 7946 0000,US,c,q,gold\n"  # a London number read for the US
        "201 555 0124,XX,c,q,gold\n"
    )
    out = tmp_path / "o.jsonl"
    done = cli("put", str(source), *connection, "--default-region", "US",
               "--out", str(out))
    assert done.returncode == 1, done.stderr
    assert "sent as contact attributes: tier" in done.stderr  # region is read, not sent
    assert sorted(c.customer_address for c in double.contacts) == [
        "+12015550123", "+442079460959"
    ]
    assert all(c.attributes == {"tier": "gold"} for c in double.contacts)
    by_row = {line["row"]: line for line in outcomes(out)}
    assert "region US's numbering plan" in by_row[3]["message"]
    assert by_row[4]["message"].startswith("region: region 'XX': not a region code")
    assert [by_row[n]["code"] for n in (3, 4)] == ["INVALID_INPUT", "INVALID_INPUT"]


def test_a_region_column_serves_without_default_region_and_must_agree_with_country(
    tmp_path, served
):
    double, connection = served
    source = tmp_path / "c.jsonl"
    source.write_text(
        json.dumps({"phone": "0113 496 0000", "country": "GB"}) + "\n"
        + json.dumps({"phone": "0113 496 0001", "country": "GB", "region": "US"}) + "\n"
    )
    out = tmp_path / "o.jsonl"
    done = cli("put", str(source), *connection, "--campaign-id", "c", "--queue-id", "q",
               "--quiet", "--out", str(out))
    assert done.returncode == 1, done.stderr
    assert [c.customer_address for c in double.contacts] == ["+441134960000"]
    (refused,) = [line for line in outcomes(out) if line["code"] != "CREATED"]
    assert refused["row"] == 2
    assert "two different regions" in refused["message"]
