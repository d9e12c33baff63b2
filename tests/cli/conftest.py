"""The command line's fixtures: a Connect instance (``served``) or a Running v2 or v1
campaign on the shared moto server, and the options that point the command at it."""

from __future__ import annotations

import boto3
import pytest

from connect_batch.testing import ConnectDouble
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


@pytest.fixture
def served(moto_server):
    client = boto3.client("connect", region_name="us-east-1", endpoint_url=moto_server)
    double = ConnectDouble.create(client)
    double.fake.reset_faults()
    yield double, ["--endpoint-url", moto_server, "--region", "us-east-1",
                   "--instance-id", double.instance_id]
    double.fake.reset_faults()
