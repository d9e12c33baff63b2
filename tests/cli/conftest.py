"""The command line's campaign fixtures: a Running v2 or v1 campaign on the shared moto
server, and the options that point the command at it."""

from __future__ import annotations

import pytest

from tests.faults.campaign_harness import campaign


@pytest.fixture
def v2(moto_server):
    target = campaign("v2", moto_server)
    target.fake.reset_faults()
    yield target, ["--endpoint-url", moto_server, "--region", "us-east-1",
                   "--campaign-id", target.campaign_id]
    target.fake.reset_faults()


@pytest.fixture
def v1(moto_server):
    target = campaign("v1", moto_server)
    target.fake.reset_faults()
    yield target, ["--endpoint-url", moto_server, "--region", "us-east-1", "--api", "v1",
                   "--campaign-id", target.campaign_id]
    target.fake.reset_faults()
