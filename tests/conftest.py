"""Shared builders and the moto server for tests that go over real HTTP on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest

from connect_batch.testing import ConnectDouble, FakeCampaigns, FakeConnect, dummy_credentials
from connect_batch.testing import moto_server as serve
from tests.builders import contact, contacts
from tests.redis_server import RedisServer

__all__ = ["contact", "contacts"]


@pytest.fixture(autouse=True)
def _dummy_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may find real credentials, or reach AWS with them."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """A moto server on a free loopback port, with BatchPutContact installed first."""
    with serve() as endpoint:
        yield endpoint


@pytest.fixture(autouse=True)
def _shared_server_left_idle(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test on the shared moto server leaves it answering no call: a call the test stopped
    waiting for (a cancellation, a second Ctrl-C) would otherwise reach the fakes during
    the next test and take the faults it planned."""
    yield
    if "moto_server" in request.fixturenames:
        for fake in (FakeConnect.of(), FakeCampaigns.of()):
            assert fake.wait_idle(30), "a call to the shared moto server never finished"
            # Faults a test planned and did not use (a slow call, a latency) are not the
            # next test's: the shared server is left as the test found it.
            fake.reset_faults()


@pytest.fixture
def http_connect(moto_server: str) -> Iterator[ConnectDouble]:
    """Like ``fake_connect``, but every call crosses real HTTP to the moto server."""
    with dummy_credentials():
        client = boto3.client("connect", region_name="us-east-1", endpoint_url=moto_server)
        double = ConnectDouble.create(client)
        double.fake.reset_faults()
        double.fake_campaigns.reset_faults()
        yield double


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A real redis-server on a free loopback port, for the session (Debian's package)."""
    server = RedisServer.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The server's URL, emptied before each test (and started again if a test stopped it)."""
    redis_server.ensure_running()
    redis_server.client().flushall()
    return redis_server.url
