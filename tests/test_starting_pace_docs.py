"""docs/retries.md states each API's starting pace as the clients start it: BatchPutContact
at its documented 10 calls/s, the campaign APIs at 2 calls/s (none is documented)."""

from __future__ import annotations

import pathlib
import re

import pytest

from connect_batch import DEFAULT_CAMPAIGN_RATE

RETRIES = pathlib.Path(__file__).resolve().parents[1] / "docs" / "retries.md"


def documented() -> dict[str, float]:
    rows = re.findall(r"^\s*\| (\w+)(?: \(v\d\))? \| ([\d.]+) calls/s", RETRIES.read_text(), re.M)
    return {api: float(rate) for api, rate in rows}


@pytest.mark.parametrize(
    ("api", "make"),
    [
        ("BatchPutContact", lambda double: double.batch_client()),
        ("PutOutboundRequestBatch", lambda double: double.outbound_client()),
        ("PutDialRequestBatch", lambda double: double.dial_client()),
    ],
)
def test_each_clients_starting_pace_is_the_documented_one(fake_connect, api, make):
    client = make(fake_connect)
    assert client.rate_limiter.rate == documented()[api]


def test_the_campaign_apis_are_not_said_to_start_at_the_connect_quota():
    assert documented()["PutOutboundRequestBatch"] == DEFAULT_CAMPAIGN_RATE == 2.0
    assert "the pace starts at the default quota (10 calls/s)" not in RETRIES.read_text()
