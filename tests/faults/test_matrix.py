"""One scenario per fault, and a random mix, each over real HTTP, each keeping the invariants."""

from __future__ import annotations

import random

import boto3
import pytest

from connect_batch import ContactBatchClient
from connect_batch.testing import ConnectDouble
from tests.faults.harness import MAX_ATTEMPTS, SCENARIOS, Doorway, measure, mixed_inputs, run
from tests.faults.sequences import SEQUENCES, run_sequence


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_scenario_keeps_every_invariant(moto_server, scenario, seed):
    report = run(scenario, moto_server, seed)
    report.check()
    assert report.inputs == scenario.count


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("sequence", SEQUENCES, ids=lambda s: s.name)
def test_sequence_of_runs_creates_nobody_twice(moto_server, sequence, seed):
    report = run_sequence(sequence, moto_server, seed)
    report.check()
    assert report.created <= report.inputs


def behind_a_doorway(moto_server):
    """A double on the server, and a client that reaches it through a closed doorway."""
    host, port = moto_server.removeprefix("http://").split(":")
    doorway = Doorway((host, int(port)))
    setup_client = boto3.client("connect", region_name="us-east-1", endpoint_url=moto_server)
    client = boto3.client(
        "connect", region_name="us-east-1", endpoint_url=f"http://127.0.0.1:{doorway.port}"
    )
    return doorway, ConnectDouble.create(setup_client), client


def test_connection_refused_until_the_service_comes_up(moto_server):
    doorway, double, client = behind_a_doorway(moto_server)
    # The first wait between attempts is when the service "comes up".
    batch_client = ContactBatchClient(
        client,
        instance_id=double.instance_id,
        max_attempts=MAX_ATTEMPTS,
        sleep=lambda _seconds: doorway.open(),
    )
    inputs = mixed_inputs(random.Random(0), 30)
    try:
        result = batch_client.put_contacts(inputs)
    finally:
        doorway.close()
    report = measure(double, inputs, result)
    report.check()
    assert report.succeeded == 30
    # The refused attempt never reached the service.
    assert len(double.calls) == 2


def test_connection_refused_throughout_reports_failures_that_did_not_happen(moto_server):
    _doorway, double, client = behind_a_doorway(moto_server)
    result = ContactBatchClient(
        client, instance_id=double.instance_id, max_attempts=2, sleep=lambda _s: None
    ).put_contacts(mixed_inputs(random.Random(1), 5))
    assert {(f.code, f.retryable, f.outcome_unknown) for f in result.failed} == {
        ("EndpointConnectionError", True, False)
    }
    assert double.calls == []
