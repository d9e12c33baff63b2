"""The fault matrix and kill-and-rerun for both campaign clients, over real HTTP."""

from __future__ import annotations

import pytest

from tests.faults.campaign_harness import (
    APIS,
    KILL_COUNT,
    MAX_ATTEMPTS_PER_TOKEN,
    SCENARIOS,
    WORKER_MAX_ATTEMPTS_PER_TOKEN,
    kill_and_rerun,
    run,
)

KILL_POINTS = [0.0, 0.1, 0.2, 0.35, 0.5]


@pytest.mark.parametrize("seed", range(2))
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
@pytest.mark.parametrize("api", APIS)
def test_scenario_keeps_every_invariant(moto_server, api, scenario, seed):
    report = run(api, scenario, moto_server, seed)
    report.check(max_attempts=MAX_ATTEMPTS_PER_TOKEN)
    assert report.inputs == scenario.count


@pytest.mark.slow
@pytest.mark.parametrize("first_kill", KILL_POINTS)
@pytest.mark.parametrize("api", APIS)
def test_rerun_after_sigkill_creates_nothing_twice_and_misses_nothing(
    moto_server, tmp_path, api, first_kill
):
    report = kill_and_rerun(
        api, moto_server, (first_kill, first_kill / 2 + 0.05), tmp_path / "result.json"
    )
    report.check(max_attempts=WORKER_MAX_ATTEMPTS_PER_TOKEN)
    assert report.succeeded == report.created == KILL_COUNT
