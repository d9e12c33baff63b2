"""Every outcomes file line has the same fields, in order (``FIELDS``, and ``contact_id``
on BatchPutContact), on every path that writes one: invalid rows, rows repeating a request,
a dry run, undecodable lines skipped, v1, BatchPutContact, a resume appending, and
``connect-batch outcomes --final``. Creation is checked on the double's ledger."""

from __future__ import annotations

import collections
import json
import pathlib

import pytest

from connect_batch import DialRequest, DialRequestBatchClient
from connect_batch._engine.identity import JobIdentities
from connect_batch.cli.api import Api
from connect_batch.cli.outcome_file import FIELDS, derived_job_key
from connect_batch.testing import Fault
from tests.cli.test_campaigns import token_for
from tests.cli.test_contacts import cli, outcomes

CONTACT_FIELDS = (*FIELDS, "contact_id")
QUEUE = ("--campaign-id", "campaign-1", "--queue-id", "queue-1")  # BatchPutContact's


def shapes(out: pathlib.Path) -> set[tuple[str, ...]]:
    return {tuple(line) for line in outcomes(out)}


def assert_table(lines: list[dict], fields: tuple[str, ...]) -> None:
    assert lines
    for line in lines:
        assert tuple(line) == fields, line
        assert type(line["row"]) is int
        assert type(line["line"]) is int
        assert isinstance(line["code"], str)
        assert isinstance(line["retryable"], bool)
        assert isinstance(line["outcome_unknown"], bool)
        assert line["duplicate_of_row"] is None or type(line["duplicate_of_row"]) is int


MIXED = (
    "phone,request_identifier,first_name\n"
    "+14155550001,a,Ann\n"
    "not a phone,b,Bob\n"
    "+14155550003,c,Cy\n"
    "+14155550003,c,Cy\n"  # the same line again
    "+14155550005,a,Di\n"  # an id of another request
)


@pytest.mark.parametrize("dry_run", [False, True])
def test_batch_put_contact_lines_are_one_table_with_contact_id(tmp_path, served, dry_run):
    double, connection = served
    source = tmp_path / "p.csv"
    source.write_text(MIXED)
    out = tmp_path / "o.jsonl"
    done = cli("put", str(source), *connection, "--out", str(out), "--quiet", *QUEUE,
               *(["--dry-run"] if dry_run else []))
    assert done.returncode == 1, done.stderr
    lines = outcomes(out)
    assert sorted(line["row"] for line in lines) == [1, 2, 3, 4, 5]
    assert_table(lines, CONTACT_FIELDS)
    assert {line["code"] for line in lines} == {"VALID" if dry_run else "CREATED",
                                                "INVALID_INPUT"}
    if dry_run:
        assert double.contacts == []
    else:
        ids = {c.customer_address: c.contact_id for c in double.contacts}
        for line in lines:
            assert line["contact_id"] == line["id"]
            if line["code"] == "CREATED":
                assert ids[f"+1415555000{line['row']}"] == line["id"]


@pytest.mark.parametrize("api", ["v1", "v2"])
@pytest.mark.parametrize("dry_run", [False, True])
def test_campaign_lines_are_one_table_with_repeats_and_invalid_rows(
    tmp_path, request, api, dry_run
):
    target, connection = request.getfixturevalue(api)
    source = tmp_path / "p.csv"
    source.write_text(MIXED)
    out = tmp_path / "o.jsonl"
    done = cli("put", str(source), *connection, "--out", str(out), "--quiet",
               *(["--dry-run"] if dry_run else []))
    assert done.returncode == 1, done.stderr
    lines = outcomes(out)
    assert sorted(line["row"] for line in lines) == [1, 2, 3, 4, 5]
    assert_table(lines, FIELDS)
    by_row = {line["row"]: line for line in lines}
    if not dry_run:
        assert by_row[4]["code"] == "DUPLICATE_IN_JOB"
        assert by_row[4]["duplicate_of_row"] == 3
        assert len(target.requests) == 2
        ids = {r.destination: r.id for r in target.requests}
        assert by_row[1]["id"] == ids["+14155550001"]
        assert by_row[3]["id"] == ids["+14155550003"]
    else:
        assert target.requests == []


def test_lines_skipped_for_their_bytes_are_of_the_one_shape(tmp_path, served):
    double, connection = served
    source = tmp_path / "p.csv"
    source.write_bytes(b"phone,first_name\n+14155550001,Ann\n+14155550002,Zo\xeb\n")
    out = tmp_path / "o.jsonl"
    done = cli("put", str(source), *connection, "--out", str(out), "--quiet",
               "--encoding-errors", "skip-rows", *QUEUE)
    assert done.returncode == 1, done.stderr
    lines = outcomes(out)
    assert_table(lines, CONTACT_FIELDS)
    by_row = {line["row"]: line for line in lines}
    assert by_row[2]["code"] == "INVALID_INPUT", by_row
    assert by_row[1]["code"] == "CREATED", by_row
    assert len(double.contacts) == 1


@pytest.mark.parametrize("api", ["v1", "served"])
def test_a_resume_appends_lines_of_the_one_shape_and_final_keeps_it(tmp_path, request, api):
    target, connection = request.getfixturevalue(api)
    fake = target.fake
    source = tmp_path / "p.csv"
    source.write_text(MIXED.replace("not a phone", "+14155550002"))
    out = tmp_path / "o.jsonl"
    fake.plan(Fault.dropped())  # created, the answer lost: unknown until the resume
    extra = QUEUE if api == "served" else ()
    first = cli("put", str(source), *connection, "--out", str(out), "--quiet",
                "--max-attempts", "1", *extra)
    assert first.returncode == 1, first.stderr
    fake.reset_faults()
    again = cli("put", str(source), *connection, "--resume", str(out), "--quiet", *extra)
    fields = CONTACT_FIELDS if api == "served" else FIELDS
    lines = outcomes(out)
    assert_table(lines, fields)
    final = cli("outcomes", str(out), "--final")
    assert final.returncode == 0, final.stderr
    settled = [json.loads(line) for line in final.stdout.splitlines()]
    assert [line["row"] for line in settled] == [1, 2, 3, 4, 5]
    assert_table(settled, fields)
    assert again.returncode in (0, 1), again.stderr


def test_a_repeat_of_a_row_refused_then_retried_settles_with_it(tmp_path, v2):
    """Row 4 repeats row 1's request; row 1 is refused for capacity (known not created,
    retryable), so row 4's person was not contacted either: the first run must not call
    it created. The resume's retry pass creates row 1, which settles row 4 too."""
    target, connection = v2
    source = tmp_path / "p.csv"
    source.write_text("phone,request_identifier\n+14155550001,a\n+14155550002,b\n"
                      "+14155550003,c\n+14155550001,a\n")
    target.fake.fail_items(
        {token_for(source, "v2", target, "+14155550001", "a"): "RequestThrottled"}, times=50
    )
    out = tmp_path / "o.jsonl"
    first = cli("put", str(source), *connection, "--out", str(out), "--quiet")
    target.fake.reset_faults()
    assert first.returncode == 1, first.stdout + first.stderr
    assert "CREATED: 2\n" in first.stdout, first.stdout
    by_row = {line["row"]: line for line in outcomes(out)}
    assert by_row[1]["code"] == "RequestThrottled"
    assert by_row[4]["duplicate_of_row"] == 1
    done = cli("put", str(source), *connection, "--resume", str(out), "--quiet")
    assert done.returncode == 0, done.stdout + done.stderr
    assert collections.Counter(r.destination for r in target.requests) == {
        "+14155550001": 1, "+14155550002": 1, "+14155550003": 1
    }
    assert_table(outcomes(out), FIELDS)
    final = cli("outcomes", str(out), "--final")
    settled = {line["row"]: line for line in map(json.loads, final.stdout.splitlines())}
    assert settled[1]["code"] == "CREATED"
    assert settled[1]["job_key"].endswith("/retry-1")
    assert settled[4]["duplicate_of_row"] == 1
    summary = cli("outcomes", str(out))
    assert summary.stdout == done.stdout.split("ALREADY")[0], (summary.stdout, done.stdout)


def v1_token(source: pathlib.Path, target, phone: str, key: str) -> str:
    """The token the CLI sends a v1 row under (its request_identifier is its key)."""
    job_key = derived_job_key(source, Api.V1, target.campaign_id)
    client = DialRequestBatchClient(target.client, campaign_id=target.campaign_id)
    identity = client.operation.fingerprint(DialRequest(phone_number=phone, key=key))
    return JobIdentities(job_key).item_token(identity)


def test_v1_outcomes_final_after_a_retry_pass_is_one_row_each_matching_the_ledger(
    tmp_path, v1
):
    target, connection = v1
    source = tmp_path / "p.csv"
    source.write_text("phone,request_identifier\n+14155550001,a\n+14155550002,b\n"
                      "+14155550003,c\n")
    target.fake.fail_items({v1_token(source, target, "+14155550001", "a"): "RequestThrottled"},
                           times=50)
    out = tmp_path / "o.jsonl"
    first = cli("put", str(source), *connection, "--out", str(out), "--quiet")
    target.fake.reset_faults()
    assert first.returncode == 1, first.stdout + first.stderr
    assert len(target.requests) == 2
    done = cli("put", str(source), *connection, "--resume", str(out), "--quiet")
    assert done.returncode == 0, done.stderr
    assert "ALREADY CREATED: 2 of the 3 CREATED" in done.stdout
    assert_table(outcomes(out), FIELDS)
    final = cli("outcomes", str(out), "--final")
    settled = [json.loads(line) for line in final.stdout.splitlines()]
    assert [line["row"] for line in settled] == [1, 2, 3]
    assert_table(settled, FIELDS)
    ids = {r.destination: r.id for r in target.requests}
    assert [line["id"] for line in settled] == [ids[f"+1415555000{n}"] for n in (1, 2, 3)]
    assert settled[0]["job_key"].endswith("/retry-1")
    assert {line["channel"] for line in settled} == {"telephony"}
