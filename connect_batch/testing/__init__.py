"""Test your code against simulated Connect batch APIs, in-process or over HTTP.

moto 5 implements Amazon Connect instances but not BatchPutContact, and v1 outbound campaigns
but neither PutDialRequestBatch nor anything of v2's PutOutboundRequestBatch; this package
adds all three, each with a ledger of what the service created and knobs for throttling,
500s, lost answers and per-item failure codes (``FakeConnect`` for BatchPutContact,
``FakeCampaigns`` for the two campaign APIs).

    from connect_batch.testing import mock_connect

    with mock_connect() as double:
        client = boto3.client("connect", region_name="us-east-1")
        ...                                  # your code under test
        assert len(double.fake().contacts) == 3

Under pytest, the ``fake_connect`` fixture does all of this and hands you a ready instance,
and a Running v2 and v1 campaign beside it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import logging
import os
import threading
import urllib.parse
from collections.abc import Iterator
from types import TracebackType
from typing import Any

import attrs
import boto3
import botocore.session

from connect_batch._errors import MissingExtraError

# First, before the modules below import moto: without it, one line naming the extra.
with MissingExtraError.guard("connect_batch.testing", "testing"):
    from moto import mock_aws

from connect_batch._campaign_clients import DialRequestBatchClient, OutboundRequestBatchClient
from connect_batch._contact_clients import ContactBatchClient
from connect_batch.testing._campaign_rules import CreatedRequest
from connect_batch.testing._campaigns import CampaignCall, FakeCampaigns, install_campaigns
from connect_batch.testing._fake import (
    CallRecord,
    CreatedContact,
    FakeConnect,
    Fault,
    install_connect,
)
from connect_batch.testing._routes import Created, FakeBatch, Route, RouteCall, add_route

__all__ = [
    "CallRecord",
    "CampaignCall",
    "ConnectDouble",
    "Created",
    "CreatedContact",
    "CreatedRequest",
    "FakeBatch",
    "FakeCampaigns",
    "FakeConnect",
    "Fault",
    "MockConnect",
    "Route",
    "RouteCall",
    "add_route",
    "async_no_sleep",
    "dummy_credentials",
    "install",
    "mock_connect",
    "moto_server",
    "no_sleep",
]

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "123456789012"


def install() -> None:
    """Teach moto BatchPutContact, PutDialRequestBatch and PutOutboundRequestBatch (idempotent).

    The last two go to moto's connectcampaigns backend. In server mode, call this in the
    server's process before its first Connect or campaigns request.
    """
    install_connect()
    install_campaigns()


def no_sleep(_seconds: float) -> None:
    """A ``sleep`` for the batch clients that returns at once, so tests never wait."""


async def async_no_sleep(_seconds: float) -> None:
    """``no_sleep`` for the async clients: returns at once (it still yields to the loop)."""
    await asyncio.sleep(0)


@contextlib.contextmanager
def dummy_credentials(region: str = DEFAULT_REGION) -> Iterator[None]:
    """Set fake AWS credentials and Region in the environment for the block."""
    names = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": region,
    }
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update(names)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class MockConnect(contextlib.ContextDecorator):
    """``mock_aws`` with the three batch APIs installed; a context manager and a decorator."""

    def __init__(self, **mock_aws_options: Any) -> None:
        self._options = mock_aws_options
        self._mock: Any = None

    def __enter__(self) -> MockConnect:
        install()
        self._mock = mock_aws(**self._options)
        self._mock.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._mock.stop()

    @staticmethod
    def fake(account_id: str = DEFAULT_ACCOUNT, region: str = DEFAULT_REGION) -> FakeConnect:
        """The fake service for ``account_id`` and ``region``: its ledger and knobs."""
        return FakeConnect.of(account_id, region)

    @staticmethod
    def campaigns(account_id: str = DEFAULT_ACCOUNT, region: str = DEFAULT_REGION) -> FakeCampaigns:
        """The fake campaign batch APIs for ``account_id`` and ``region``."""
        return FakeCampaigns.of(account_id, region)


def mock_connect(**mock_aws_options: Any) -> MockConnect:
    """Start moto's ``mock_aws`` with the batch APIs added; use with ``with`` or as a decorator."""
    return MockConnect(**mock_aws_options)


@attrs.define
class ConnectDouble:
    """What the ``fake_connect`` fixture gives a test.

    ``client`` is a boto3 Connect client, ``instance_id`` an instance that exists, ``fake``
    BatchPutContact's ledger (``fake.contacts``, ``fake.calls``) and knobs
    (``fake.throttle``, ``fake.plan``, ``fake.fail_calls``, ``fake.fail_items``).

    For the campaign APIs: ``campaigns`` is a boto3 ``connectcampaignsv2`` client and
    ``campaign_id`` a v2 campaign in state Running; ``campaigns_v1`` a boto3
    ``connectcampaigns`` client and ``v1_campaign_id`` a moto v1 campaign on the instance,
    created and started. ``fake_campaigns`` holds their ledger (``requests``, ``calls``)
    and knobs, the same as ``fake``'s.
    """

    client: Any
    instance_id: str
    fake: FakeConnect
    campaigns: Any = attrs.field(kw_only=True)
    campaigns_v1: Any = attrs.field(kw_only=True)
    campaign_id: str = attrs.field(kw_only=True)
    v1_campaign_id: str = attrs.field(kw_only=True)
    fake_campaigns: FakeCampaigns = attrs.field(kw_only=True)

    @property
    def endpoint_url(self) -> str | None:
        """The moto server's URL when the double runs in server mode (the
        ``fake_connect_server`` fixture), for clients built outside it (aiobotocore's);
        ``None`` in process."""
        return _custom_endpoint(self.client)

    @property
    def contacts(self) -> list[CreatedContact]:
        """The ledger: every contact the service created in this instance."""
        return [c for c in self.fake.contacts if c.instance_id == self.instance_id]

    @property
    def calls(self) -> list[CallRecord]:
        """Every HTTP attempt that reached the service for this instance."""
        return [c for c in self.fake.calls if c.instance_id == self.instance_id]

    def duplicates(self) -> dict[str, int]:
        """RequestIdentifiers this instance created more than one contact for."""
        counts = collections.Counter(c.request_identifier for c in self.contacts)
        return {rid: n for rid, n in counts.items() if n > 1}

    @property
    def requests(self) -> list[CreatedRequest]:
        """The campaigns' ledger: every request created in this double's two campaigns."""
        mine = {self.campaign_id, self.v1_campaign_id}
        return [r for r in self.fake_campaigns.requests if r.campaign_id in mine]

    def batch_client(self, **options: Any) -> ContactBatchClient:
        """A ``ContactBatchClient`` for this instance that never sleeps between retries."""
        options.setdefault("sleep", no_sleep)
        return ContactBatchClient(self.client, instance_id=self.instance_id, **options)

    def outbound_client(self, **options: Any) -> OutboundRequestBatchClient:
        """An ``OutboundRequestBatchClient`` for the v2 campaign that never sleeps."""

        options.setdefault("sleep", no_sleep)
        return OutboundRequestBatchClient(self.campaigns, campaign_id=self.campaign_id, **options)

    def dial_client(self, **options: Any) -> DialRequestBatchClient:
        """A ``DialRequestBatchClient`` for the v1 campaign that never sleeps."""

        options.setdefault("sleep", no_sleep)
        return DialRequestBatchClient(self.campaigns_v1, campaign_id=self.v1_campaign_id, **options)

    @classmethod
    def create(cls, client: Any, region: str = DEFAULT_REGION) -> ConnectDouble:
        """Create an instance through ``client``, and a v2 and a v1 campaign, all Running.

        The campaign clients go to ``client``'s endpoint when it is not AWS's (a moto server).
        """
        instance = client.create_instance(
            IdentityManagementType="CONNECT_MANAGED",
            InstanceAlias="connect-batch-tests",
            InboundCallsEnabled=True,
            OutboundCallsEnabled=True,
        )
        endpoint = _custom_endpoint(client)
        campaigns = _boto3_client("connectcampaignsv2", region, endpoint)
        campaigns_v1 = _boto3_client("connectcampaigns", region, endpoint)
        fake_campaigns = FakeCampaigns.of(DEFAULT_ACCOUNT, region)
        v1_campaign = campaigns_v1.create_campaign(
            name="connect-batch-tests",
            connectInstanceId=instance["Id"],
            dialerConfig={"progressiveDialerConfig": {"bandwidthAllocation": 1.0}},
            outboundCallConfig={
                "connectContactFlowId": "connect-batch-tests-flow",
                "connectQueueId": "connect-batch-tests-queue",
            },
        )
        campaigns_v1.start_campaign(id=v1_campaign["id"])
        return cls(
            client,
            instance["Id"],
            FakeConnect.of(DEFAULT_ACCOUNT, region),
            campaigns=campaigns,
            campaigns_v1=campaigns_v1,
            campaign_id=fake_campaigns.create_campaign_v2(state="Running"),
            v1_campaign_id=v1_campaign["id"],
            fake_campaigns=fake_campaigns,
        )


def _custom_endpoint(client: Any) -> str | None:
    """``client``'s endpoint URL if it was given one (a moto server), else ``None``."""
    url = str(client.meta.endpoint_url)
    host = urllib.parse.urlsplit(url).hostname or ""
    aws = host.endswith((".amazonaws.com", ".amazonaws.com.cn", ".api.aws"))
    return None if aws else url


@contextlib.contextmanager
def moto_server(host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Run moto's server, the batch APIs installed, on loopback; yield its endpoint URL.

    The server runs in this process, so ``FakeConnect.of()``, ``FakeCampaigns.of()`` (and
    ``ConnectDouble``) reach the same ledgers and knobs as its clients do over HTTP.
    ``port=0`` picks a free port.
    """
    # Only server mode needs these. moto's own ThreadedMotoServer is this, but for its
    # request handler: it sends werkzeug's Server header as well as moto's, and strict HTTP
    # parsers (aiohttp's, under asyncio debug mode or -X dev) refuse a repeated Server.
    from moto.moto_server.werkzeug_app import (  # noqa: PLC0415
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server  # noqa: PLC0415

    class OneServerHeader(MotoRequestHandler):
        def send_response(self, code: int, message: str | None = None) -> None:
            self.log_request(code)
            self.send_response_only(code, message)
            self.send_header("Date", self.date_time_string())  # the Server is moto's

    install()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = make_server(
        host, port, DomainDispatcherApplication(create_backend_app), threaded=True,
        request_handler=OneServerHeader,
    )
    thread = threading.Thread(target=server.serve_forever, name="moto_server", daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()


def new_double(region: str = DEFAULT_REGION) -> ConnectDouble:
    """A Connect client and instance, and Running campaigns, under an active ``mock_connect``."""
    return ConnectDouble.create(_boto3_client("connect", region), region)


_SESSION_LOCK = threading.Lock()


@functools.cache
def _session() -> boto3.Session:
    core = botocore.session.get_session()
    core.set_credentials("testing", "testing", "testing")
    return boto3.Session(botocore_session=core)


def _boto3_client(service: str, region: str, endpoint_url: str | None = None) -> Any:
    """``boto3.client`` with the double's dummy credentials, from one session per process.

    moto's mock resets boto3's default session each time it starts, and a new session
    registers its handlers and reads the models' JSON again (about 0.2 s for the double's
    three clients, in every test); one session, which caches what it reads, is kept instead.
    A session is not safe to share between threads while it makes clients: a lock is held.
    """
    with _SESSION_LOCK:
        make: Any = _session().client
        return make(service, region_name=region, endpoint_url=endpoint_url)
