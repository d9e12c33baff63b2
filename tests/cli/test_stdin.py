"""``connect-batch put -``: the rows from standard input, CSV or JSONL, read once; a resume
reads the same bytes again or is refused."""

from __future__ import annotations

import io
import json
import sys

import pytest

from connect_batch.cli.rows import sniff_format
from tests.cli.test_contacts import cli_in_process, cli_process, outcomes

CSV = "phone,campaign_id,queue_id,first_name\n+14155550101,c,q,Ann\n+14155550102,c,q,Bo\n"
JSONL = (
    json.dumps({"phone": "+14155550103", "campaign_id": "c", "queue_id": "q", "tier": "gold"})
    + "\n\n"
    + json.dumps({"phone": "+14155550104", "campaign_id": "c", "queue_id": "q", "tier": "red"})
    + "\n"
)


def piped(monkeypatch, data: bytes) -> None:
    """Standard input as a pipe holding ``data``, for the command run in this process."""
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))


def test_csv_on_standard_input_through_the_real_process(tmp_path, served):
    double, connection = served
    out = tmp_path / "o.jsonl"
    done = cli_process("put", "-", *connection, "--out", str(out), input=CSV)
    assert done.returncode == 0, done.stderr
    assert sorted(c.customer_address for c in double.contacts) == ["+14155550101",
                                                                   "+14155550102"]
    ledger = {c.request_identifier: c.contact_id for c in double.contacts}
    assert {line["request_identifier"]: line["contact_id"] for line in outcomes(out)} == ledger
    assert "CREATED: 2" in done.stdout


def test_jsonl_on_standard_input_is_told_by_its_first_character(tmp_path, served):
    double, connection = served
    done = cli_process("put", "-", *connection, "--quiet", input=JSONL)
    assert done.returncode == 0, done.stderr
    assert sorted(c.attributes["tier"] for c in double.contacts) == ["gold", "red"]


def test_format_overrides_the_sniff(served):
    _double, connection = served
    # Read as CSV, a JSON line is a header without a phone column: stopped, nothing sent.
    done = cli_process("put", "-", *connection, "--format", "csv", input=JSONL)
    assert done.returncode == 2
    assert "phone" in done.stderr


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"phone,name\n", "csv"),
        (b'\n  {"phone": "+1"}\n', "jsonl"),
        (b'\xef\xbb\xbf{"phone": 1}\n', "jsonl"),
        ('{"phone": 1}\n'.encode("utf-16"), "jsonl"),
        ("phone\n".encode("utf-16"), "csv"),
        (b"", "csv"),
    ],
)
def test_sniff_format(data, expected):
    assert sniff_format(data) == expected


def test_standard_input_bytes_are_decoded_by_their_bom(tmp_path, served, monkeypatch):
    double, connection = served
    piped(monkeypatch, CSV.replace("Ann", "Zoë").encode("utf-16"))
    done = cli_in_process("put", "-", *connection, "--quiet")
    assert done.returncode == 0, done.stderr
    assert sorted(c.attributes["first_name"] for c in double.contacts) == ["Bo", "Zoë"]


def test_a_resume_of_standard_input_needs_the_same_bytes(tmp_path, served, monkeypatch):
    double, connection = served
    out = tmp_path / "o.jsonl"
    piped(monkeypatch, CSV.encode())
    first = cli_in_process("put", "-", *connection, "--out", str(out), "--quiet")
    assert first.returncode == 0, first.stderr
    # The same rows again: the derived key (from the content) replays, creating nothing.
    piped(monkeypatch, CSV.encode())
    again = cli_in_process("put", "-", *connection, "--resume", str(out), "--quiet")
    assert again.returncode == 0, again.stderr
    assert len(double.contacts) == 2
    assert double.duplicates() == {}
    # Other rows under the same outcomes file are refused before anything is sent.
    calls = len(double.calls)
    piped(monkeypatch, CSV.replace("Bo", "Bob").encode())
    other = cli_in_process("put", "-", *connection, "--resume", str(out), "--quiet")
    assert other.returncode == 2
    assert "the input file changed" in other.stderr
    assert len(double.calls) == calls


def test_a_terminal_on_standard_input_is_refused(served, monkeypatch):
    double, connection = served

    class Terminal(io.TextIOWrapper):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", Terminal(io.BytesIO(CSV.encode())))
    done = cli_in_process("put", "-", *connection)
    assert done.returncode == 2
    assert "terminal" in done.stderr
    assert double.calls == []
