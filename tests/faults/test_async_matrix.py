"""The async clients under the same fault matrix and kill-and-rerun as the sync ones.

Over real HTTP (aiobotocore and aiohttp against the double in server mode), measured on the
double's ledger. The kill tests alternate sync and async workers under one job key, so a
run started by one kind of client is finished by the other: both send the same tokens.
"""

from __future__ import annotations

import pytest

from tests.faults import campaign_harness, harness

KILL_POINTS = [0.0, 0.1, 0.25]
MIXED = [("sync", "async"), ("async", "sync"), ("async",)]


@pytest.mark.parametrize("seed", range(2))
@pytest.mark.parametrize("scenario", harness.SCENARIOS, ids=lambda s: s.name)
def test_batch_put_contact_scenario_keeps_every_invariant(moto_server, scenario, seed):
    report = harness.run(scenario, moto_server, seed, mode="async")
    report.check()
    assert report.inputs == scenario.count


@pytest.mark.parametrize("scenario", campaign_harness.SCENARIOS, ids=lambda s: s.name)
@pytest.mark.parametrize("api", campaign_harness.APIS)
def test_campaign_scenario_keeps_every_invariant(moto_server, api, scenario):
    report = campaign_harness.run(api, scenario, moto_server, 0, mode="async")
    report.check(max_attempts=campaign_harness.MAX_ATTEMPTS_PER_TOKEN)
    assert report.inputs == scenario.count


@pytest.mark.slow
@pytest.mark.parametrize("modes", MIXED, ids="-then-".join)
@pytest.mark.parametrize("first_kill", KILL_POINTS)
def test_batch_put_contact_rerun_across_sync_and_async(moto_server, tmp_path, first_kill, modes):
    report = harness.kill_and_rerun(
        moto_server, (first_kill, first_kill / 2 + 0.05), tmp_path / "result.json", modes
    )
    report.check(max_attempts=harness.WORKER_MAX_ATTEMPTS)
    assert report.succeeded == report.created == harness.KILL_COUNT


@pytest.mark.slow
@pytest.mark.parametrize("modes", MIXED, ids="-then-".join)
@pytest.mark.parametrize("api", campaign_harness.APIS)
def test_campaign_rerun_across_sync_and_async(moto_server, tmp_path, api, modes):
    report = campaign_harness.kill_and_rerun(
        api, moto_server, (0.1, 0.15), tmp_path / "result.json", modes
    )
    report.check(max_attempts=campaign_harness.WORKER_MAX_ATTEMPTS_PER_TOKEN)
    assert report.succeeded == report.created == campaign_harness.KILL_COUNT
