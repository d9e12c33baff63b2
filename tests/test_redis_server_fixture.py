"""The suite's own redis-server never outlives the test run that started it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.faults.harness import ROOT

START = """
import sys, threading, time
from tests.redis_server import RedisServer
server = RedisServer.start()
if sys.argv[1] == "restarted-by-a-thread":  # as a test's outage thread does
    thread = threading.Thread(target=lambda: (server.stop(), server.ensure_running()))
    thread.start()
    thread.join()
    assert server.running() and server.client().ping()  # alive after its thread ended
print(server.process.pid, flush=True)
time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie of ours would still answer; redis-server is not our child here.
    return True


@pytest.mark.slow  # a real process killed, and a real server's shutdown waited for
@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGTERM])
@pytest.mark.parametrize("started", ["on-the-main-thread", "restarted-by-a-thread"])
def test_a_stopped_test_run_takes_its_redis_server_with_it(stop, started):
    run = subprocess.Popen(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", START, started], cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert run.stdout is not None
        server_pid = int(run.stdout.readline())
        assert _alive(server_pid)
        run.send_signal(stop)
        run.wait(timeout=10)
        deadline = time.monotonic() + 10
        while _alive(server_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(server_pid), "redis-server outlived the run that started it"
    finally:
        run.kill()
        run.wait()
        if run.stdout is not None:
            run.stdout.close()
