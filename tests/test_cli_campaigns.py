"""The connect-batch command on the outbound campaigns APIs (v2 and v1), and the options
that choose columns; checked against the double's ledger over real HTTP."""

from __future__ import annotations

import json
import os
import pathlib

import pytest

from connect_batch.testing import Fault
from tests.faults.campaign_harness import campaign
from tests.test_cli import cli, outcomes

ARN = "arn:aws:connect:us-east-1:123456789012:instance/abc/template/1"


@pytest.fixture
def v2(moto_server):
    target = campaign("v2", moto_server)
    target.fake.reset_faults()
    yield target, ["--endpoint-url", moto_server, "--region", "us-east-1",
                   "--campaign-id", target.campaign_id]
    target.fake.reset_faults()


@pytest.fixture
def v1(moto_server):
    target = campaign("v1", moto_server)
    target.fake.reset_faults()
    yield target, ["--endpoint-url", moto_server, "--region", "us-east-1", "--api", "v1",
                   "--campaign-id", target.campaign_id]
    target.fake.reset_faults()


def people(path: pathlib.Path, count: int, header: str = "phone,request_identifier,first_name",
           ) -> pathlib.Path:
    lines = [header]
    lines += [f"+1415555{i:04d},crm-{i},Person {i}" for i in range(1, count + 1)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("api", ["v2", "v1"])
def test_every_row_becomes_one_request_and_the_outcomes_match_the_ledger(
    tmp_path, api, v2, v1
):
    target, connection = v2 if api == "v2" else v1
    out = tmp_path / "o.jsonl"
    done = cli("put", str(people(tmp_path / "p.csv", 60)), *connection, "--out", str(out))
    assert done.returncode == 0, done.stderr
    created = {r.destination: r for r in target.requests}
    assert len(target.requests) == len(created) == 60
    assert created["+14155550007"].parameters == {"first_name": "Person 7"}
    lines = outcomes(out)
    assert sorted(line["row"] for line in lines) == list(range(1, 61))
    by_token = {r.client_token: r.id for r in target.requests}
    for line in lines:
        assert by_token[line["client_token"]] == line["id"]
        assert line["request_identifier"] == f"crm-{line['row']}"
    assert "columns sent as" in done.stderr
    assert "first_name" in done.stderr


def test_channels_per_row_with_template_parameters_from_columns(tmp_path, v2):
    target, connection = v2
    source = tmp_path / "p.csv"
    source.write_text(
        "channel,phone,email,code,request_identifier\n"
        "telephony,+14155550001,,A1,r1\n"
        "SMS,+14155550002,,A2,r2\n"
        "email,,someone@example.com,A3,r3\n"
        "whatsapp,+14155550004,,A4,r4\n"
        "fax,+14155550005,,A5,r5\n"
        "email,+14155550006,,A6,r6\n"
    )
    out = tmp_path / "o.jsonl"
    done = cli("put", str(source), *connection, "--template-arn", ARN, "--out", str(out),
               "--quiet")
    assert done.returncode == 1, done.stderr
    by_channel = {str(r.channel): r for r in target.requests}
    assert sorted(by_channel) == ["email", "sms", "telephony", "whatsapp"]
    assert by_channel["email"].destination == "someone@example.com"
    assert by_channel["sms"].parameters == {"code": "A2"}
    assert by_channel["telephony"].parameters == {"code": "A1"}
    by_row = {line["row"]: line for line in outcomes(out)}
    assert "channel" in by_row[5]["message"]
    assert "email" in by_row[6]["message"]
    assert by_row[6]["request_identifier"] == "r6"
    assert "someone@example.com" not in done.stderr + out.read_text()


def test_one_channel_for_the_file_and_an_email_column_of_another_name(tmp_path, v2):
    target, connection = v2
    source = tmp_path / "p.jsonl"
    source.write_text("".join(
        json.dumps({"Mail": f"p{i}@example.com", "first_name": f"P{i}", "vip": i == 1}) + "\n"
        for i in range(1, 4)
    ))
    done = cli("put", str(source), *connection, "--channel", "email", "--email-column", "Mail",
               "--template-arn", ARN)
    assert done.returncode == 0, done.stderr
    assert sorted(r.destination for r in target.requests) == [
        "p1@example.com", "p2@example.com", "p3@example.com"
    ]
    assert {str(r.channel) for r in target.requests} == {"email"}
    first = next(r for r in target.requests if r.destination == "p1@example.com")
    assert first.parameters == {"first_name": "P1", "vip": "true"}
    assert "template parameters: first_name, vip" in done.stderr


def test_attributes_and_phone_column_give_an_explicit_mapping(tmp_path, v2):
    target, connection = v2
    source = tmp_path / "p.csv"
    source.write_text("Mobile,first_name,ssn,notes\n+14155550001,Ann,123,x\n")
    done = cli("put", str(source), *connection, "--phone-column", "mobile",
               "--attributes", "first_name")
    assert done.returncode == 0, done.stderr
    (created,) = target.requests
    assert created.destination == "+14155550001"
    assert created.parameters == {"first_name": "Ann"}  # ssn and notes never left
    assert "columns not sent: ssn, notes" in done.stderr
    missing = cli("put", str(source), *connection, "--phone-column", "mobile",
                  "--attributes", "first_name,age", "--job-key", "another")
    assert missing.returncode == 2
    assert "'age'" in missing.stderr
    assert "columns found" in missing.stderr
    assert len(target.requests) == 1


def test_columns_another_api_reads_stop_the_run_unless_attributes_are_chosen(tmp_path, v2):
    target, connection = v2
    source = tmp_path / "p.csv"
    source.write_text("phone,Campaign_ID,queue_id,name\n+14155550001,c,q,Ann\n")
    refused = cli("put", str(source), *connection)
    assert refused.returncode == 2
    assert "'Campaign_ID'" in refused.stderr
    assert "--attributes" in refused.stderr
    assert target.requests == []
    chosen = cli("put", str(source), *connection, "--attributes", "name", "--quiet")
    assert chosen.returncode == 0, chosen.stderr
    assert [r.parameters for r in target.requests] == [{"name": "Ann"}]


@pytest.mark.parametrize("api", ["v2", "v1", "connect"])
def test_simulate_runs_each_api_and_resumes_its_own_file(tmp_path, api):
    source = people(tmp_path / "p.csv", 30)
    extra = ["--campaign-id", "c", "--queue-id", "q"] if api == "connect" else []
    out = tmp_path / "o.jsonl"
    done = cli("put", str(source), "--simulate", "--api", api, *extra, "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "CREATED: 30" in done.stdout
    assert all(line["id"] for line in outcomes(out))
    again = cli("put", str(source), "--simulate", "--api", api, *extra, "--resume", str(out))
    assert again.returncode == 0, again.stderr
    assert len(outcomes(out)) == 30  # nothing left to settle: no line added


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--api", "v2", "--campaign-id", "c", "--instance-id", "i"],
         "--instance-id is for BatchPutContact"),
        (["--api", "v1", "--campaign-id", "c", "--channel", "sms"],
         "only outbound campaigns v2"),
        (["--api", "v1", "--campaign-id", "c", "--email-column", "m"],
         "only outbound campaigns v2"),
        (["--campaign-id", "c", "--queue-id", "q"], "--queue-id is for BatchPutContact"),
        ([], "--campaign-id is required"),
        (["--api", "connect"], "--instance-id is required"),
        (["--instance-id", "i", "--expires-in", "60"], "do not expire"),
    ],
)
def test_options_for_another_api_are_usage_errors(tmp_path, options, message):
    done = cli("put", str(people(tmp_path / "p.csv", 2)), *options, "--quiet")
    assert done.returncode == 2
    assert message in done.stderr
    assert done.stdout == ""  # no summary, no progress
    assert done.stderr.count("\n") == 1


def test_a_missing_region_says_how_to_give_one(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_CONFIG_FILE=str(tmp_path / "none"), AWS_SHARED_CREDENTIALS_FILE=str(
        tmp_path / "none"))
    done = cli("put", str(people(tmp_path / "p.csv", 1)), "--campaign-id", "c", env=env)
    assert done.returncode == 2
    assert "--region" in done.stderr
    assert done.stderr.startswith("connect-batch: no AWS Region")
    assert done.stderr.count("\n") == 1  # no announcement or progress before it


def test_a_field_over_the_csv_limit_names_the_line(tmp_path, v2):
    target, connection = v2
    source = tmp_path / "p.csv"
    source.write_text("phone,note\n+14155550001,ok\n+14155550002," + "x" * 140_000 + "\n")
    done = cli("put", str(source), *connection)
    assert done.returncode == 2
    assert "the row starting on line 3 " in done.stderr
    assert "131,072" in done.stderr
    assert target.requests == []


def test_expires_in_is_sent_and_v1_holds_it_to_its_window(tmp_path, v1):
    target, connection = v1
    source = people(tmp_path / "p.csv", 2)
    out = tmp_path / "o.jsonl"
    refused = cli("put", str(source), *connection, "--expires-in", "1200", "--out", str(out))
    assert refused.returncode == 1  # every row refused by the builder, nothing sent
    assert {line["code"] for line in outcomes(out)} == {"INVALID_INPUT"}
    assert all("expires" in line["message"] for line in outcomes(out))
    assert target.requests == []
    done = cli("put", str(source), *connection, "--expires-in", "120", "--quiet",
               "--job-key", "two")
    assert done.returncode == 0, done.stderr
    assert len(target.requests) == 2


def test_a_paused_campaign_stops_the_run_with_exit_3(tmp_path, v2):
    target, connection = v2
    target.fake.plan(None, Fault.error(409, "InvalidCampaignStateException"))
    out = tmp_path / "o.jsonl"
    done = cli("put", str(people(tmp_path / "p.csv", 60)), *connection, "--out", str(out),
               "--concurrency", "1", "--quiet")
    assert done.returncode == 3, done.stderr
    assert "--resume" in done.stderr or "campaign" in done.stderr.lower()
    assert len(target.requests) == 25
    assert len(outcomes(out)) == 60


def test_debug_logs_every_call_with_the_bodies_redacted(tmp_path, v2):
    target, connection = v2
    done = cli("put", str(people(tmp_path / "p.csv", 30)), *connection, "--debug")
    assert done.returncode == 0, done.stderr
    assert len(target.requests) == 30
    assert "Making request" in done.stderr
    assert "redacted by connect_batch" in done.stderr
    assert "+1415555" not in done.stderr
    assert "Person 1" not in done.stderr
