"""The outcomes file as people load it (issue 20 items 6 and 2): every line one shape, the
run record and retry passes in the sidecar ``OUT.run.json``, the summary of the whole file
after a resume with the rows an earlier run created, ``connect-batch outcomes --final``,
files of earlier versions, and the reruns that must not create a retry pass's rows twice.
Creation is checked on the double's ledger over HTTP."""

from __future__ import annotations

import collections
import json
import pathlib

import pytest

from connect_batch.cli.outcome_file import FIELDS
from connect_batch.testing import Fault
from tests.cli.test_campaigns import people, token_for
from tests.cli.test_contacts import cli, cli_process, outcomes, write_csv

ROWS = "phone,request_identifier\n+14155550001,a\n+14155550002,b\n+14155550003,c\n"
PHONES = ("+14155550001", "+14155550002", "+14155550003")


def sidecar(out: pathlib.Path) -> dict:
    return json.loads(out.with_name(out.name + ".run.json").read_text())


def per_person(target) -> collections.Counter[str]:
    return collections.Counter(r.destination for r in target.requests)


def assert_one_shape(lines: list[dict]) -> None:
    """Every line has the same fields, in the same order, of the types a table needs."""
    assert lines
    assert {tuple(line) for line in lines} == {tuple(lines[0])}
    assert tuple(lines[0])[: len(FIELDS)] == FIELDS
    for line in lines:
        assert type(line["row"]) is int
        assert isinstance(line["code"], str)
        assert isinstance(line["retryable"], bool)
        assert isinstance(line["outcome_unknown"], bool)
        created = line["code"] == "CREATED"
        assert (line["id"] is not None) is created
        assert (line["message"] is None) is created


def first_run_with_row_a_refused(tmp_path, target, connection) -> tuple[pathlib.Path, pathlib.Path]:
    """Rows b and c created; row a refused for capacity every time (known not created,
    retryable): a resume retries it in a pass of its own, ``KEY/retry-1``."""
    source = tmp_path / "p.csv"
    source.write_text(ROWS)
    target.fake.fail_items(
        {token_for(source, "v2", target, PHONES[0], "a"): "RequestThrottled"}, times=50
    )
    out = tmp_path / "o.jsonl"
    first = cli("put", str(source), *connection, "--out", str(out), "--quiet")
    assert first.returncode == 1, first.stderr
    target.fake.reset_faults()
    return source, out


def test_lines_are_one_table_and_the_run_is_in_the_sidecar(tmp_path, v2):
    target, connection = v2
    source = tmp_path / "p.csv"
    source.write_text("phone,channel,request_identifier\n+14155550001,telephony,a\n"
                      "not a phone,telephony,b\n+14155550003,sms,c\n")
    out = tmp_path / "o.jsonl"
    done = cli_process("put", str(source), *connection, "--out", str(out), "--quiet",
                       "--template-arn", "arn:aws:connect:us-east-1:1:instance/i/template/t")
    assert done.returncode == 1, done.stderr
    lines = outcomes(out)
    assert len(lines) == len(out.read_text().splitlines()) == 3  # no header, no pass line
    assert_one_shape(lines)
    by_row = {line["row"]: line for line in lines}
    assert [by_row[n]["code"] for n in (1, 2, 3)] == ["CREATED", "INVALID_INPUT", "CREATED"]
    assert [by_row[n]["channel"] for n in (1, 3)] == ["telephony", "sms"]
    assert by_row[2]["duplicate_of_row"] is None
    ids = {r.destination: r.id for r in target.requests}
    assert by_row[1]["id"] == ids["+14155550001"]
    assert len(target.requests) == 2
    run = sidecar(out)
    assert run["run"]["job_key"] == by_row[1]["job_key"]
    assert run["run"]["options"]["channel"] == "telephony"
    assert run["passes"] == []
    assert "+1415555" not in out.with_name("o.jsonl.run.json").read_text()


def test_contact_lines_carry_contact_id_on_every_line(tmp_path, served):
    _double, connection = served
    out = tmp_path / "o.jsonl"
    done = cli("put", str(write_csv(tmp_path / "c.csv", 4, bad_rows=(2,))), *connection,
               "--out", str(out), "--quiet")
    assert done.returncode == 1, done.stderr
    lines = outcomes(out)
    assert_one_shape(lines)
    assert [line["contact_id"] == line["id"] for line in lines] == [True] * 4
    assert {line["channel"] for line in lines} == {"telephony"}


def test_a_resume_prints_the_whole_file_and_records_its_retry_pass_in_the_sidecar(
    tmp_path, v2
):
    target, connection = v2
    source, out = first_run_with_row_a_refused(tmp_path, target, connection)
    done = cli_process("put", str(source), *connection, "--resume", str(out), "--quiet")
    assert done.returncode == 0, done.stderr
    assert per_person(target) == dict.fromkeys(PHONES, 1)
    # The whole file: the resumed row and the two an earlier run created.
    assert "CREATED: 3" in done.stdout
    assert "ALREADY CREATED: 2 of the 3 CREATED" in done.stdout
    # Said before sending, --quiet or not: like every warning, a replay is not progress.
    assert "records 2 row(s) created by an earlier run" in done.stderr
    (retry,) = sidecar(out)["passes"]
    assert retry["pass"].endswith("/retry-1")
    assert retry["rows"] == [1]
    lines = outcomes(out)
    assert_one_shape(lines)
    assert [line["row"] for line in lines if line["job_key"] == retry["pass"]] == [1]
    again = cli("put", str(source), *connection, "--resume", str(out), "--quiet")
    assert again.returncode == 0, again.stderr
    assert "ALREADY CREATED: 3 of the 3 CREATED" in again.stdout
    assert len(target.requests) == 3
    assert len(sidecar(out)["passes"]) == 1  # nothing left to retry: no new pass


def test_a_forced_rerun_never_creates_a_retry_pass_row_again(tmp_path, v2):
    target, connection = v2
    source, out = first_run_with_row_a_refused(tmp_path, target, connection)
    assert cli("put", str(source), *connection, "--resume", str(out), "--quiet").returncode == 0
    kept = out.read_text()
    # Row a's token under the base key was never created: sent again under it (what a
    # rerun under the same key does), row a would be created a second time.
    forced = cli("put", str(source), *connection, "--out", str(out), "--force", "--quiet")
    assert forced.returncode == 2
    assert "put in a retry pass" in forced.stderr
    assert f"--resume {out}" in forced.stderr
    assert out.read_text() == kept
    assert per_person(target) == dict.fromkeys(PHONES, 1)
    resumed = cli("put", str(source), *connection, "--resume", str(out), "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    assert per_person(target) == dict.fromkeys(PHONES, 1)


@pytest.mark.parametrize("left", ["unknown", "recorded-only"])
def test_a_forced_rerun_is_refused_for_a_retry_pass_row_not_known_created(tmp_path, v2, left):
    """A retry pass's row left unknown (its answer lost), or named in the sidecar by a pass
    killed before it answered, may exist under its retry token: under the base key's token
    it could be created a second time."""
    target, connection = v2
    source, out = first_run_with_row_a_refused(tmp_path, target, connection)
    assert cli("put", str(source), *connection, "--resume", str(out), "--quiet").returncode == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    retry = [line for line in lines if str(line["job_key"]).endswith("/retry-1")]
    assert len(retry) == 1
    if left == "unknown":
        retry[0].update(code="INTERRUPTED", id=None, outcome_unknown=True)
    else:
        lines.remove(retry[0])
    out.write_text("".join(json.dumps(line) + "\n" for line in lines))
    created = len(target.requests)
    forced = cli("put", str(source), *connection, "--out", str(out), "--force", "--quiet")
    assert forced.returncode == 2, forced.stderr
    assert "put in a retry pass" in forced.stderr
    assert len(target.requests) == created


def test_a_dry_run_does_not_take_over_a_run_record_without_its_file(tmp_path, v2):
    target, connection = v2
    source = people(tmp_path / "p.csv", 2)
    out = tmp_path / "o.jsonl"
    record = out.with_name("o.jsonl.run.json")
    record.write_text('{"run": {"job_key": "kept"}}')
    refused = cli("put", str(source), *connection, "--dry-run", "--out", str(out))
    assert refused.returncode == 2
    assert "--force" in refused.stderr
    assert record.read_text() == '{"run": {"job_key": "kept"}}'
    assert target.requests == []


def test_a_kill_after_the_sidecar_names_a_pass_settles_it_under_its_own_tokens(tmp_path, v2):
    target, connection = v2
    source, out = first_run_with_row_a_refused(tmp_path, target, connection)
    assert cli("put", str(source), *connection, "--resume", str(out), "--quiet").returncode == 0
    created = {r.destination: r.id for r in target.requests}
    retry_key = sidecar(out)["passes"][0]["pass"]
    # Killed after the pass was recorded and its call created row a, before its line: the
    # sidecar names the pass (it is written before the pass sends), the file has no line.
    out.write_text("".join(
        json.dumps(line) + "\n" for line in outcomes(out) if line["job_key"] != retry_key
    ))
    done = cli("put", str(source), *connection, "--resume", str(out), "--quiet")
    assert done.returncode == 0, done.stderr
    assert per_person(target) == dict.fromkeys(PHONES, 1)  # replayed, not created again
    final = {line["row"]: line for line in outcomes(out) if line["code"] == "CREATED"}
    assert final[1]["id"] == created[PHONES[0]]
    assert final[1]["job_key"] == retry_key
    assert [p["pass"] for p in sidecar(out)["passes"]] == [retry_key]
    # A sidecar lost (the file copied without it): nothing binds the file to its input,
    # options and target any more, so it is not resumed (tests/cli/test_lost_sidecar.py).
    out.with_name(out.name + ".run.json").unlink()
    lost = cli("put", str(source), *connection, "--resume", str(out), "--quiet")
    assert lost.returncode == 2
    assert "o.jsonl.run.json is missing" in lost.stderr
    assert per_person(target) == dict.fromkeys(PHONES, 1)


def old_format(out: pathlib.Path, *, drop_key: str | None = None) -> None:
    """Rewrite a file as earlier versions wrote it: the run as its first line, the passes
    as lines, no code on a success, no id on a failure; no sidecar."""
    record = sidecar(out)
    out.with_name(out.name + ".run.json").unlink()
    lines: list[dict] = [{"run": record["run"]}, *record["passes"]]
    for line in outcomes(out):
        if line["job_key"] == drop_key:
            continue
        keep = ["row", "request_identifier", "client_token"]
        keep += ["id"] if line.get("id") else [
            "code", "message", "retryable", "outcome_unknown"
        ]
        lines.append({name: line.get(name) for name in [*keep, "job_key"]})
    out.write_text("".join(json.dumps(line) + "\n" for line in lines))


def test_files_of_earlier_versions_resume_with_their_header_and_pass_lines(tmp_path, v2):
    target, connection = v2
    source, out = first_run_with_row_a_refused(tmp_path, target, connection)
    old_format(out)
    changed = cli("put", str(source), *connection, "--resume", str(out), "--channel", "sms",
                  "--template-arn", "arn:aws:connect:us-east-1:1:instance/i/template/t")
    assert changed.returncode == 2
    assert "--channel was 'telephony'" in changed.stderr  # the header line still binds
    done = cli("put", str(source), *connection, "--resume", str(out), "--quiet")
    assert done.returncode == 0, done.stderr
    assert per_person(target) == dict.fromkeys(PHONES, 1)
    assert "ALREADY CREATED: 2 of the 3 CREATED" in done.stdout
    retry_key = sidecar(out)["passes"][0]["pass"]
    # An old file whose pass line was written, and whose pass created row a, but whose
    # line for it was lost in a kill: the pass is run again under its own tokens.
    old_format(out, drop_key=retry_key)
    assert '"pass"' in out.read_text()
    again = cli("put", str(source), *connection, "--resume", str(out), "--quiet")
    assert again.returncode == 0, again.stderr
    assert per_person(target) == dict.fromkeys(PHONES, 1)
    assert "CREATED: 3" in again.stdout
    summary = cli("outcomes", str(out))
    assert summary.returncode == 0, summary.stderr
    assert "CREATED: 3" in summary.stdout


def test_outcomes_final_is_one_line_per_row_the_last_in_row_order(tmp_path, v2):
    target, connection = v2
    source, out = first_run_with_row_a_refused(tmp_path, target, connection)
    assert cli("put", str(source), *connection, "--resume", str(out), "--quiet").returncode == 0
    assert len(outcomes(out)) == 4  # row a twice: refused, then created by the retry pass
    final = tmp_path / "final.jsonl"
    done = cli_process("outcomes", str(out), "--final", "--out", str(final))
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in final.read_text().splitlines()]
    assert [line["row"] for line in lines] == [1, 2, 3]
    assert_one_shape(lines)
    ids = {r.destination: r.id for r in target.requests}
    assert [line["id"] for line in lines] == [ids[p] for p in PHONES]
    assert lines[0]["job_key"].endswith("/retry-1")
    to_stdout = cli("outcomes", str(out), "--final")
    assert to_stdout.stdout == final.read_text()
    refused = cli("outcomes", str(out), "--final", "--out", str(final))
    assert refused.returncode == 2
    assert "--force" in refused.stderr
    summary = cli("outcomes", str(out))
    assert (summary.returncode, summary.stdout) == (0, "CREATED: 3\n")
    # The lines of an earlier version's file, in the current shape.
    old_format(out)
    old = cli("outcomes", str(out), "--final")
    # An earlier version's lines knew neither the channel nor the file line: null.
    now = [{**json.loads(line), "channel": None, "line": None}
           for line in final.read_text().splitlines()]
    assert [json.loads(line) for line in old.stdout.splitlines()] == now


def test_a_forced_rerun_under_the_same_key_counts_its_replays(tmp_path, v2):
    target, connection = v2
    source = people(tmp_path / "p.csv", 30)
    out = tmp_path / "o.jsonl"
    assert cli("put", str(source), *connection, "--out", str(out), "--quiet").returncode == 0
    forced = cli_process("put", str(source), *connection, "--out", str(out), "--force",
                         "--quiet")
    assert forced.returncode == 0, forced.stderr
    assert "CREATED: 30" in forced.stdout
    assert "REPLAYED: 30 of the 30 CREATED" in forced.stdout
    assert "records 30 row(s) created under this job key" in forced.stderr  # said first
    assert len(target.requests) == 30
    # A new outcomes file under the same key: replays the service cannot tell apart.
    elsewhere = cli("put", str(source), *connection, "--out", str(tmp_path / "n.jsonl"),
                    "--quiet")
    assert elsewhere.returncode == 0, elsewhere.stderr
    assert "REPLAYED" not in elsewhere.stdout
    assert len(target.requests) == 30
    other = cli("put", str(source), *connection, "--out", str(out), "--force", "--quiet",
                "--job-key", "reminders/2026-12-06")
    assert "REPLAYED" not in other.stdout  # another job: its creations are new
    assert len(target.requests) == 60


def test_a_dry_run_file_has_the_same_shape_and_cannot_be_resumed(tmp_path, v2):
    target, connection = v2
    source = tmp_path / "p.csv"
    source.write_text("phone,request_identifier\n+14155550001,a\nnot a phone,b\n")
    out = tmp_path / "o.jsonl"
    done = cli_process("put", str(source), *connection, "--dry-run", "--out", str(out))
    assert done.returncode == 1
    lines = outcomes(out)
    assert [(line["row"], line["code"]) for line in lines] == [(1, "VALID"), (2, "INVALID_INPUT")]
    assert {tuple(line) for line in lines} == {FIELDS}
    assert lines[0]["channel"] == "telephony"
    assert not out.with_name("o.jsonl.run.json").exists()
    resumed = cli("put", str(source), *connection, "--resume", str(out), "--quiet")
    assert resumed.returncode == 2
    assert "dry run" in resumed.stderr
    assert target.requests == []


def test_a_run_record_without_its_file_is_not_taken_over(tmp_path, v2):
    target, connection = v2
    source = people(tmp_path / "p.csv", 2)
    out = tmp_path / "o.jsonl"
    record = out.with_name("o.jsonl.run.json")
    record.write_text('{"run": {}}')
    refused = cli("put", str(source), *connection, "--out", str(out), "--quiet")
    assert refused.returncode == 2
    assert "--force" in refused.stderr
    assert target.requests == []
    forced = cli("put", str(source), *connection, "--out", str(out), "--quiet", "--force")
    assert forced.returncode == 0, forced.stderr
    assert sidecar(out)["run"]["job_key"]


def test_a_service_fault_keeps_the_shape_of_unknown_lines(tmp_path, v2):
    target, connection = v2
    source = people(tmp_path / "p.csv", 3)
    out = tmp_path / "o.jsonl"
    target.fake.plan(Fault.dropped())  # created, the answer lost: unknown
    done = cli("put", str(source), *connection, "--out", str(out), "--quiet",
               "--max-attempts", "1")
    assert done.returncode == 1
    lines = outcomes(out)
    assert_one_shape(lines)
    assert {line["outcome_unknown"] for line in lines} == {True}
    assert {line["client_token"] is not None for line in lines} == {True}
    target.fake.reset_faults()
    again = cli("put", str(source), *connection, "--resume", str(out), "--quiet")
    assert again.returncode == 0, again.stderr
    assert "CREATED: 3" in again.stdout
    assert "ALREADY CREATED" not in again.stdout  # the file knew of none: replays unseen
    assert len(target.requests) == 3


def test_outcomes_usage_errors_are_one_line(tmp_path):
    missing = cli("outcomes", str(tmp_path / "nope.jsonl"))
    assert (missing.returncode, missing.stderr.count("\n")) == (2, 1)
    out = tmp_path / "o.jsonl"
    out.write_text('{"row": 2, "id": "x"}\n{"row": 1, "code": "INVALID_INPUT"}\n')
    no_final = cli("outcomes", str(out), "--out", str(tmp_path / "f.jsonl"))
    assert no_final.returncode == 2
    assert "--final" in no_final.stderr
    itself = cli("outcomes", str(out), "--final", "--out", str(out), "--force")
    assert itself.returncode == 2
    assert out.read_text().count("\n") == 2
    done = cli("outcomes", str(out), "--final")
    assert [json.loads(line)["code"] for line in done.stdout.splitlines()] == [
        "INVALID_INPUT", "CREATED"
    ]
