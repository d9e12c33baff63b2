"""A worker killed with SIGKILL at any moment, then run again with the same job key,
creates every contact exactly once and reports the ContactIds of the first run."""

from __future__ import annotations

import pytest

from tests.faults.harness import KILL_COUNT, WORKER_MAX_ATTEMPTS, kill_and_rerun

# Real processes, signals, Redis or terminals in real time: the slow tier (pytest -m slow).
pytestmark = pytest.mark.slow

KILL_POINTS = [0.0, 0.04, 0.08, 0.12, 0.16, 0.2, 0.25, 0.3, 0.35, 0.45]


@pytest.mark.parametrize("first_kill", KILL_POINTS)
def test_rerun_after_sigkill_creates_nothing_twice_and_misses_nothing(
    moto_server, tmp_path, first_kill
):
    # Killed twice, at different points, then left to finish.
    report = kill_and_rerun(
        moto_server, (first_kill, first_kill / 2 + 0.05), tmp_path / "result.json"
    )
    report.check(max_attempts=WORKER_MAX_ATTEMPTS)
    assert report.succeeded == report.created == KILL_COUNT
