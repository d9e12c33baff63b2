"""``connect-batch put -`` resumed: a first run whose answers were lost (every row unknown)
is settled by piping the same bytes in again, a UTF-8 byte-order mark and a UTF-16 file
included; the same rows in other bytes (the mark dropped, UTF-32 for UTF-16) are refused
before anything is sent. Checked on the double's ledger."""

from __future__ import annotations

import collections

import pytest

from connect_batch.cli.outcome_file import FIELDS
from connect_batch.testing import Fault
from tests.cli.test_contacts import cli_in_process, outcomes
from tests.cli.test_stdin import piped

ROWS = "phone,request_identifier,first_name\r\n" + "".join(
    f"+1415555{i:04d},crm-{i},Zoë {i}\r\n" for i in range(1, 31)
)
ENCODED = {"utf-8-sig": ROWS.encode("utf-8-sig"), "utf-16": ROWS.encode("utf-16")}
OTHER = {"utf-8-sig": ROWS.encode(), "utf-16": ROWS.encode("utf-32")}


@pytest.mark.parametrize("encoding", sorted(ENCODED))
def test_an_unknown_stdin_run_resumes_from_the_same_bytes_only(
    tmp_path, v2, monkeypatch, encoding
):
    target, connection = v2
    out = tmp_path / "o.jsonl"
    target.fake.plan(*[Fault.dropped()] * 2)  # created, every answer lost
    piped(monkeypatch, ENCODED[encoding])
    first = cli_in_process("put", "-", *connection, "--out", str(out), "--quiet",
                           "--max-attempts", "1")
    target.fake.reset_faults()
    assert first.returncode == 1, first.stderr
    assert "unknown until the resume" in first.stderr
    lines = outcomes(out)
    assert {tuple(line) for line in lines} == {FIELDS}
    assert {line["outcome_unknown"] for line in lines} == {True}
    assert len(target.requests) == 30

    calls = len(target.fake.calls)
    piped(monkeypatch, OTHER[encoding])  # the same rows, other bytes
    refused = cli_in_process("put", "-", *connection, "--resume", str(out), "--quiet")
    assert refused.returncode == 2, refused.stderr
    assert "the input file changed" in refused.stderr
    assert len(target.fake.calls) == calls

    piped(monkeypatch, ENCODED[encoding])
    done = cli_in_process("put", "-", *connection, "--resume", str(out), "--quiet")
    assert done.returncode == 0, done.stderr
    assert "CREATED: 30" in done.stdout
    people = collections.Counter(r.destination for r in target.requests)
    assert people == {f"+1415555{i:04d}": 1 for i in range(1, 31)}
    assert {r.parameters["first_name"] for r in target.requests} == {
        f"Zoë {i}" for i in range(1, 31)
    }
    ids = {r.destination: r.id for r in target.requests}
    final = {line["row"]: line for line in outcomes(out) if line["code"] == "CREATED"}
    assert {row: line["id"] for row, line in final.items()} == {
        i: ids[f"+1415555{i:04d}"] for i in range(1, 31)
    }
