"""Ctrl-C in ``connect-batch put`` on the outbound campaigns APIs, over real HTTP.

A real ``connect-batch`` process puts a file through the double in server mode, 8 calls in
flight, each answered late. A real SIGINT must leave an outcomes file with one line per row
that accounts for every request the service created (its id, or unknown), and print the
command that resumes; a second SIGINT must exit at once. Resuming then settles every row
with nobody contacted twice, counted on the double's ledger.
"""

from __future__ import annotations

import collections
import json
import pathlib
import re
import shlex
import signal
import subprocess
import sys
import time
from typing import Any

import pytest

from tests.faults.campaign_harness import APIS, Campaign, campaign
from tests.faults.test_interrupts import ROOT, outcome_lines, run_cli, subprocess_env, wait_for

# Real processes, signals, Redis or terminals in real time: the slow tier (pytest -m slow).
pytestmark = pytest.mark.slow

COUNT = 600
LATENCY = 0.3
SLOW = 3.0


def phone(row: int) -> str:
    return f"+1415555{row:04d}"


def write_people(path: pathlib.Path) -> pathlib.Path:
    lines = ["phone,request_identifier,first_name"]
    lines += [f"{phone(i)},crm-{i},Person {i}" for i in range(1, COUNT + 1)]
    path.write_text("\n".join(lines) + "\n")
    return path


def command_for(api: str, target: Campaign, endpoint: str, tmp_path: pathlib.Path) -> list[str]:
    return [
        "put", str(write_people(tmp_path / "people.csv")), "--endpoint-url", endpoint,
        "--region", "us-east-1", "--api", api, "--campaign-id", target.campaign_id,
        "--out", str(tmp_path / "o.jsonl"), "--concurrency", "8", "--max-rps", "50",
    ]


def interrupt(command: list[str], target: Campaign, signals: int) -> tuple[int, str, float]:
    """Start the CLI, SIGINT it ``signals`` times (0.3 s apart) once 50 requests exist;
    the exit status, stderr, and how long it took to exit after the last signal."""
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "connect_batch", *command], cwd=ROOT, env=subprocess_env(),
        text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        wait_for(lambda: len(target.requests) >= 50, 30, "the first requests")
        for n in range(signals):
            if n:
                time.sleep(0.3)
            process.send_signal(signal.SIGINT)
        last = time.monotonic()
        _stdout, stderr = process.communicate(timeout=20)
        took = time.monotonic() - last
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return process.returncode, stderr, took


def assert_lines_account_for_ledger(target: Campaign, lines: list[dict[str, Any]]) -> None:
    """One line per row; every request created has a line with its id, or unknown."""
    rows = collections.Counter(line["row"] for line in lines)
    assert max(rows.values()) == 1, "a row answered twice"
    assert sorted(rows) == list(range(1, COUNT + 1)), f"{COUNT - len(rows)} rows unanswered"
    created = {r.destination: r for r in target.requests}
    assert len(created) == len(target.requests), "someone got two requests"
    by_phone = {phone(line["row"]): line for line in lines}
    for destination, request in created.items():
        line = by_phone[destination]
        if line["id"]:
            assert line["id"] == request.id
            assert line["client_token"] == request.client_token
        else:
            assert line["outcome_unknown"], "a created request was reported known not created"


def assert_unknown_said_in_words(stderr: str, lines: list[dict[str, Any]]) -> None:
    """NOT_SENT and INTERRUPTED under the job key are said to be unknown until the resume
    (not failed), before the command that resumes."""
    unknown = collections.Counter(line["code"] for line in lines if line.get("outcome_unknown"))
    assert unknown, "an interrupted run leaves rows unknown"
    said = re.search(r"(\d+) row\(s\) are unknown until the resume \(([^)]*)\), not failed",
                     stderr)
    assert said is not None, stderr[-2000:]
    assert int(said.group(1)) == sum(unknown.values())
    assert said.group(2) == ", ".join(f"{c} {n}" for c, n in sorted(unknown.items()))
    assert stderr.index("unknown until the resume") < stderr.index("To settle the rest")


def settle(command: list[str], target: Campaign, out: pathlib.Path) -> None:
    target.fake.latency = 0.0
    done = run_cli(*command, "--resume", str(out))
    assert done.returncode == 0, done.stderr[-2000:]
    created = {r.destination: r for r in target.requests}
    assert len(target.requests) == len(created) == COUNT
    latest = {line["row"]: line for line in outcome_lines(out) if "row" in line}
    assert sorted(latest) == list(range(1, COUNT + 1))
    for row, line in latest.items():
        assert created[phone(row)].id == line["id"]


@pytest.mark.parametrize("api", APIS)
def test_sigint_writes_a_line_for_every_row_and_resume_settles_each_once(
    api, moto_server, tmp_path
):
    target = campaign(api, moto_server)
    target.fake.latency = LATENCY
    command = command_for(api, target, moto_server, tmp_path)
    out = tmp_path / "o.jsonl"
    returncode, stderr, _took = interrupt(command, target, signals=1)
    assert returncode == 130, stderr[-2000:]
    # The exact command that resumes: the same, with --resume in place of --out.
    printed = re.search(r"To settle the rest, run: (.+)$", stderr, re.MULTILINE)
    assert printed is not None, stderr[-2000:]
    words = shlex.split(printed.group(1))
    assert words[0] == "connect-batch"
    assert words[1:] == [
        *[w for w in command if w not in ("--out", str(out))], "--resume", str(out)
    ]
    time.sleep(LATENCY * 2)  # nothing is still being answered
    assert 0 < len(target.requests) < COUNT, "the interrupt should land mid-run"
    assert_lines_account_for_ledger(target, outcome_lines(out))
    assert_unknown_said_in_words(stderr, outcome_lines(out))
    settle(command, target, out)


def test_a_second_sigint_exits_at_once_and_resume_settles_the_rest(moto_server, tmp_path):
    target = campaign("v2", moto_server)
    command = command_for("v2", target, moto_server, tmp_path)
    out = tmp_path / "o.jsonl"
    target.fake.latency = SLOW  # a call takes 3 s: the signals land with calls in flight
    returncode, stderr, took = interrupt(command, target, signals=2)
    assert returncode == 130, stderr[-2000:]
    assert took < SLOW / 2, (
        f"exited {took:.1f} s after the second SIGINT: it waited for calls {SLOW:.0f} s late"
    )
    time.sleep(SLOW + 0.5)  # the calls it stopped waiting for are answered by now
    lines = outcome_lines(out)
    assert_lines_account_for_ledger(target, lines)
    assert any(line.get("code") == "INTERRUPTED" for line in lines)
    assert_unknown_said_in_words(stderr, lines)
    settle(command, target, out)
    assert json.loads(out.read_text().splitlines()[-1])["row"]  # the file ends with a whole line
