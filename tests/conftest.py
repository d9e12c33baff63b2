"""Shared builders and the moto server for tests that go over real HTTP on loopback."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import boto3
import pytest
from moto.server import ThreadedMotoServer

from connect_batch import ContactRequest, Endpoint
from connect_batch.testing import ConnectDouble, dummy_credentials, install


def contact(i: int, **changes: object) -> ContactRequest:
    """A valid contact whose phone number and attribute value are unique to ``i``."""
    fields: dict[str, object] = {
        "customer_endpoint": Endpoint.phone(f"+1415{i:07d}"),
        "campaign_id": "campaign-1",
        "queue_id": "queue-1",
        "attributes": {"customer_name": f"Person {i}"},
    }
    fields.update(changes)
    return ContactRequest(**fields)  # type: ignore[arg-type]


def contacts(n: int, start: int = 0) -> list[ContactRequest]:
    return [contact(i) for i in range(start, start + n)]


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """A moto server on a free loopback port, with BatchPutContact installed first."""
    install()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def http_connect(moto_server: str) -> Iterator[ConnectDouble]:
    """Like ``fake_connect``, but every call crosses real HTTP to the moto server."""
    with dummy_credentials():
        client = boto3.client("connect", region_name="us-east-1", endpoint_url=moto_server)
        double = ConnectDouble.create(client)
        double.fake.reset_faults()
        yield double
