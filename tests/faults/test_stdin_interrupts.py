"""Ctrl-C in ``connect-batch put -`` (rows on standard input), over real HTTP: the
interrupted run's outcomes file is one table (INTERRUPTED and NOT_SENT lines of the shape
of the others), the hint says to pipe the same bytes in again, and a resume that does so
(a byte-order mark included) settles every row with nobody contacted twice, on the
double's ledger. Other bytes are refused before anything is sent."""

from __future__ import annotations

import collections
import json
import pathlib
import signal
import subprocess
import sys
import time

import pytest

from connect_batch.cli.outcome_file import FIELDS
from tests.faults.campaign_harness import campaign
from tests.faults.test_interrupts import ROOT, subprocess_env, wait_for

pytestmark = pytest.mark.slow

COUNT = 400
LATENCY = 0.3


def phone(row: int) -> str:
    return f"+1415555{row:04d}"


# A CRM export as it comes: a UTF-8 byte-order mark and Windows line ends.
ROWS = ("phone,request_identifier,first_name\r\n" + "".join(
    f"{phone(i)},crm-{i},Zoë {i}\r\n" for i in range(1, COUNT + 1)
)).encode("utf-8-sig")


def run(args: list[str], data: bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "connect_batch", *args], cwd=ROOT, env=subprocess_env(),
        input=data, capture_output=True, timeout=120, check=False,
    )


def lines_of(out: pathlib.Path) -> list[dict]:
    return [json.loads(line) for line in out.read_text().splitlines() if line.strip()]


def interrupted(args: list[str], target) -> tuple[int, str]:
    """Pipe ROWS into the command, SIGINT it once 50 requests exist: exit status, stderr."""
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "connect_batch", *args], cwd=ROOT, env=subprocess_env(),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        assert process.stdin is not None
        process.stdin.write(ROWS)
        process.stdin.close()
        process.stdin = None  # written whole: communicate() has nothing more to send
        wait_for(lambda: len(target.requests) >= 50, 30, "the first requests")
        process.send_signal(signal.SIGINT)
        _stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return process.returncode, stderr.decode()


def test_an_interrupted_stdin_run_resumes_from_the_same_bytes_and_refuses_others(
    moto_server, tmp_path
):
    target = campaign("v2", moto_server)
    target.fake.latency = LATENCY
    out = tmp_path / "o.jsonl"
    command = ["put", "-", "--endpoint-url", moto_server, "--region", "us-east-1",
               "--campaign-id", target.campaign_id, "--concurrency", "8", "--max-rps", "50"]
    returncode, stderr = interrupted([*command, "--out", str(out)], target)
    assert returncode == 130, stderr[-2000:]
    assert "with the same input on standard input" in stderr
    assert f"--resume {out}" in stderr
    time.sleep(LATENCY * 2)  # nothing is still being answered
    assert 0 < len(target.requests) < COUNT, "the interrupt should land mid-run"

    first = lines_of(out)
    assert sorted(line["row"] for line in first) == list(range(1, COUNT + 1))
    assert {tuple(line) for line in first} == {FIELDS}
    codes = collections.Counter(line["code"] for line in first)
    assert set(codes) - {"CREATED"} <= {"INTERRUPTED", "NOT_SENT"}
    assert codes["CREATED"] < COUNT
    for line in first:
        assert type(line["row"]) is int
        assert (line["id"] is not None) is (line["code"] == "CREATED")
        if line["code"] != "CREATED":
            assert line["outcome_unknown"] is True
            assert line["message"]
            assert "+1415" not in line["message"]

    # Other bytes (the same rows without their byte-order mark) are refused, nothing sent.
    calls = len(target.fake.calls)
    other = run([*command, "--resume", str(out), "--quiet"], ROWS.removeprefix(b"\xef\xbb\xbf"))
    assert other.returncode == 2, other.stderr.decode()[-2000:]
    assert len(target.fake.calls) == calls
    assert lines_of(out) == first

    target.fake.latency = 0.0
    done = run([*command, "--resume", str(out), "--quiet"], ROWS)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    created = {r.destination: r for r in target.requests}
    assert len(target.requests) == len(created) == COUNT
    assert {r.parameters["first_name"] for r in target.requests} == {
        f"Zoë {i}" for i in range(1, COUNT + 1)
    }
    lines = lines_of(out)
    assert {tuple(line) for line in lines} == {FIELDS}
    final = run(["outcomes", str(out), "--final"], b"")
    assert final.returncode == 0, final.stderr.decode()
    settled = [json.loads(line) for line in final.stdout.decode().splitlines()]
    assert [line["row"] for line in settled] == list(range(1, COUNT + 1))
    assert {tuple(line) for line in settled} == {FIELDS}
    for line in settled:
        assert line["id"] == created[phone(line["row"])].id
