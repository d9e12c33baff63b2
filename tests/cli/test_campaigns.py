"""The connect-batch command on the outbound campaigns APIs (v2 and v1), and the options
that choose columns; checked against the double's ledger over real HTTP."""

from __future__ import annotations

import collections
import datetime
import json
import os
import pathlib

import pytest

from connect_batch import OutboundRequest, OutboundRequestBatchClient
from connect_batch._engine.identity import JobIdentities
from connect_batch.cli.api import Api
from connect_batch.cli.outcome_file import derived_job_key as _job_key
from connect_batch.testing import Fault
from tests.cli.test_contacts import cli, outcomes
from tests.faults.campaign_harness import campaign

ARN = "arn:aws:connect:us-east-1:123456789012:instance/abc/template/1"


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
    assert "columns read: phone, request_identifier; sent as" in done.stderr
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
    assert "sent as template parameters: first_name, vip" in done.stderr


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
    refused = cli("put", str(source), *connection, "--expires-in", "1200")
    assert refused.returncode == 2  # nothing sent
    assert "at most 900 seconds" in refused.stderr
    assert target.requests == []
    done = cli("put", str(source), *connection, "--expires-in", "120", "--quiet")
    assert done.returncode == 0, done.stderr
    assert len(target.requests) == 2
    for request in target.requests:  # about 120 s after the call was sent
        expires = datetime.datetime.fromisoformat(request.expiration_time.replace("Z", "+00:00"))
        left = (expires - datetime.datetime.now(datetime.UTC)).total_seconds()
        assert 100 < left <= 120


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


# Resumes that must not contact anyone twice (found by review).
def token_for(source: pathlib.Path, api: str, target, phone: str, key: str) -> str:
    """The token the CLI sends a row under: its request_identifier is the request's key."""
    job_key = _job_key(source, Api(api), target.campaign_id)
    client = OutboundRequestBatchClient(target.client, campaign_id=target.campaign_id)
    identity = client.operation.fingerprint(OutboundRequest.telephony(phone, key=key))
    return JobIdentities(job_key).item_token(identity)


def test_a_resume_does_not_resend_rows_known_not_created_then_retry_them_again(tmp_path, v2):
    target, connection = v2
    source = tmp_path / "p.csv"
    source.write_text("phone,request_identifier\n+14155550001,a\n+14155550002,b\n"
                      "+14155550003,c\n")
    # Row a is refused for capacity every time (known not created), row b's outcome stays
    # unknown: the resume must settle b under its token without sending a again, and then
    # retry a once, in a pass of its own.
    target.fake.fail_items(
        {token_for(source, "v2", target, "+14155550001", "a"): "RequestThrottled",
         token_for(source, "v2", target, "+14155550002", "b"): "UnknownError"},
        times=50,
    )
    out = tmp_path / "o.jsonl"
    first = cli("put", str(source), *connection, "--out", str(out), "--quiet")
    assert first.returncode == 1
    by_row = {line["row"]: line for line in outcomes(out)}
    assert (by_row[1]["retryable"], by_row[1]["outcome_unknown"]) == (True, False)
    assert by_row[2]["outcome_unknown"]
    target.fake.reset_faults()
    again = cli("put", str(source), *connection, "--resume", str(out), "--quiet")
    assert again.returncode == 0, again.stderr
    per_person = collections.Counter(r.destination for r in target.requests)
    assert per_person == {"+14155550001": 1, "+14155550002": 1, "+14155550003": 1}
    latest = {line["row"]: line for line in outcomes(out)}
    ids = {r.destination: r.id for r in target.requests}
    assert [latest[n]["id"] for n in (1, 2, 3)] == [
        ids["+14155550001"], ids["+14155550002"], ids["+14155550003"]
    ]


@pytest.mark.parametrize(
    ("changed", "message"),
    [
        (["--channel", "sms", "--template-arn", ARN], "--channel was 'telephony'"),
        (["--phone-column", "mobile"], "--phone-column was None"),
        (["--job-key", "june"], "the job key was"),
        (["--default-region", "US"], "--default-region was None"),
    ],
)
def test_a_resume_with_other_options_is_refused(tmp_path, v2, changed, message):
    target, connection = v2
    source = tmp_path / "p.csv"
    source.write_text("phone,mobile\n+14155550001,+14155550101\n")
    out = tmp_path / "o.jsonl"
    target.fake.plan(Fault.dropped())  # created, answer lost: unknown
    first = cli("put", str(source), *connection, "--out", str(out), "--quiet",
                "--max-attempts", "1")
    assert first.returncode == 1
    refused = cli("put", str(source), *connection, "--resume", str(out), *changed)
    assert refused.returncode == 2
    assert message in refused.stderr
    assert "could contact people twice" in refused.stderr
    assert len(target.requests) == 1


def test_a_resume_of_an_edited_file_or_another_campaign_is_refused_even_with_a_job_key(
    tmp_path, v2, moto_server
):
    target, connection = v2
    source = people(tmp_path / "p.csv", 30)
    out = tmp_path / "o.jsonl"
    target.fake.plan(None, Fault.reset())  # the second batch never arrives: unknown
    first = cli("put", str(source), *connection, "--out", str(out), "--quiet",
                "--max-attempts", "1", "--concurrency", "1", "--job-key", "july")
    assert first.returncode == 1
    text = source.read_text().splitlines()
    source.write_text("\n".join([text[0], *text[2:]]) + "\n")  # row 1 deleted
    edited = cli("put", str(source), *connection, "--resume", str(out), "--job-key", "july")
    assert edited.returncode == 2
    assert "the input file changed" in edited.stderr
    people(source, 30)  # as it was
    other = campaign("v2", moto_server)
    elsewhere = cli("put", str(source), "--endpoint-url", moto_server, "--region", "us-east-1",
                    "--campaign-id", other.campaign_id, "--resume", str(out), "--job-key",
                    "july")
    assert elsewhere.returncode == 2
    assert "the campaign or instance was" in elsewhere.stderr
    assert other.requests == []
    done = cli("put", str(source), *connection, "--resume", str(out), "--job-key", "july")
    assert done.returncode == 0, done.stderr
    assert len(target.requests) == len({r.destination for r in target.requests}) == 30


def test_a_file_without_a_header_shows_no_personal_data(tmp_path):
    source = tmp_path / "p.csv"
    source.write_text("+14155550001,Ann Smith,ann@example.com\n+14155550002,Bo,bo@example.com\n")
    done = cli("put", str(source), "--simulate")
    assert done.returncode == 2
    assert "columns found" in done.stderr
    assert "+14155550001" not in done.stderr
    assert "ann@example.com" not in done.stderr


def test_phone_column_reads_another_column_and_the_phone_column_is_not_sent(tmp_path, v2):
    target, connection = v2
    source = tmp_path / "p.csv"
    source.write_text("Phone,Mobile,name,,\n+14155550001,+14155550101,Ann,,\n")
    done = cli("put", str(source), *connection, "--phone-column", "Mobile")
    assert done.returncode == 0, done.stderr
    (created,) = target.requests
    assert created.destination == "+14155550101"
    assert created.parameters == {"name": "Ann"}  # the landline is not sent as an attribute
    assert "columns not sent: Phone, '', ''" in done.stderr
    misspelt = cli("put", str(source), *connection, "--phone-column", "Mobil", "--job-key", "b")
    assert misspelt.returncode == 2
    assert "--phone-column mobil" in misspelt.stderr
    assert "no such column" in misspelt.stderr
    email = tmp_path / "e.jsonl"
    email.write_text(json.dumps({"Mail": "a@example.com"}) + "\n")
    wrong = cli("put", str(email), *connection, "--channel", "email", "--email-column", "mail2")
    assert wrong.returncode == 2
    assert "--email-column mail2" in wrong.stderr
    assert len(target.requests) == 1


def test_a_byte_order_mark_is_read_whatever_the_encoding_given(tmp_path, v2):
    target, connection = v2
    source = tmp_path / "p.csv"
    source.write_bytes("\ufeffphone,name\n+14155550001,Ann\n".encode())
    done = cli("put", str(source), *connection, "--encoding", "utf-8", "--quiet")
    assert done.returncode == 0, done.stderr
    assert [r.parameters for r in target.requests] == [{"name": "Ann"}]


def test_a_crm_source_column_is_not_taken_for_the_caller_id(tmp_path, v2):
    target, connection = v2
    source = tmp_path / "p.csv"
    source.write_text("phone,Source\n+14155550001,Website\n")
    done = cli("put", str(source), *connection)
    assert done.returncode == 0, done.stderr
    (created,) = target.requests
    assert created.parameters == {"Source": "Website"}
    caller = tmp_path / "c.csv"
    caller.write_text("phone,connect_source\n+14155550001,Website\n+14155550002,+14155550199\n")
    out = tmp_path / "o.jsonl"
    checked = cli("put", str(caller), *connection, "--out", str(out), "--quiet")
    assert checked.returncode == 1
    by_row = {line["row"]: line for line in outcomes(out)}
    assert "connect_source" in by_row[1]["message"]
    assert by_row[2]["code"] == "CREATED"
    assert by_row[2]["id"]


def test_no_credentials_is_a_usage_error_before_anything_is_sent(tmp_path, v2):
    target, connection = v2
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_CONFIG_FILE=str(tmp_path / "none"),
               AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
               AWS_EC2_METADATA_DISABLED="true")
    done = cli("put", str(people(tmp_path / "p.csv", 3)), *connection, env=env)
    assert done.returncode == 2, done.stderr
    assert "no AWS credentials" in done.stderr
    assert target.requests == []


@pytest.mark.parametrize(("api", "seconds"), [("v2", "5"), ("v1", "20"), ("v1", "1200")])
def test_an_expiry_the_api_cannot_take_is_a_usage_error(tmp_path, api, seconds):
    done = cli("put", str(people(tmp_path / "p.csv", 1)), "--api", api, "--campaign-id", "c",
               "--expires-in", seconds)
    assert done.returncode == 2
    assert "--expires-in" in done.stderr


def test_rows_reaching_the_same_person_are_each_sent_and_counted_aloud(tmp_path, v2):
    target, connection = v2
    source = tmp_path / "p.csv"
    source.write_text("phone,name\n+14155550001,A\n+14155550001,B\n+14155550002,C\n")
    done = cli("put", str(source), *connection)
    assert done.returncode == 0, done.stderr
    assert "1 row(s) reach a person an earlier row reaches" in done.stderr
    assert len(target.requests) == 3


def test_a_row_repeating_an_earlier_rows_request_is_sent_once(tmp_path, v2):
    target, connection = v2
    source = tmp_path / "p.csv"
    source.write_text(
        "phone,first_name,topic\n"
        "+14155550001,Ann,reminder\n"
        "+14155550002,Bob,reminder\n"
        "+14155550001,Ann,reminder\n"  # row 3: the same request as row 1
        "+14155550001,Ann,payment-due\n"  # row 4: another request to Ann: sent
    )
    out = tmp_path / "o.jsonl"
    done = cli("put", str(source), *connection, "--out", str(out))
    assert done.returncode == 0, done.stderr  # row 3's request was created (as row 1)
    assert "1 row(s) repeat an earlier row's request" in done.stderr
    assert "1 row(s) reach a person an earlier row reaches" in done.stderr
    assert len(target.requests) == 3
    by_row = {line["row"]: line for line in outcomes(out)}
    assert by_row[3]["code"] == "DUPLICATE_IN_JOB"
    assert by_row[3]["duplicate_of_row"] == 1
    assert "row 1" in by_row[3]["message"]
    assert "+1415" not in by_row[3]["message"]
    ids = {(r.destination, r.parameters["topic"]): r.id for r in target.requests}
    assert by_row[1]["id"] == ids[("+14155550001", "reminder")]
    assert by_row[4]["id"] == ids[("+14155550001", "payment-due")]
    again = cli("put", str(source), *connection, "--resume", str(out), "--quiet")
    assert again.returncode == 0, again.stderr
    assert len(target.requests) == 3


def test_a_rows_request_identifier_is_its_key_so_an_edited_row_replays(tmp_path, v2):
    target, connection = v2
    first = tmp_path / "monday.csv"
    first.write_text("phone,request_identifier,first_name\n+14155550001,crm-1,Ann\n")
    edited = tmp_path / "tuesday.csv"
    edited.write_text("phone,request_identifier,first_name\n+14155550001,crm-1,Annie\n")
    for source in (first, edited):
        done = cli("put", str(source), *connection, "--job-key", "reminders-1", "--quiet")
        assert done.returncode == 0, done.stderr
    assert len(target.requests) == 1
    assert target.requests[0].parameters["first_name"] == "Ann"
