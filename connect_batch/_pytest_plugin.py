"""The ``fake_connect`` pytest fixture, registered through the ``pytest11`` entry point.

pytest loads this module at every start, in every project of an environment where
connect-batch is installed, whether or not it was installed with the ``testing`` extra. So it
imports nothing heavy: moto, boto3 and ``connect_batch.testing`` are imported by the fixture,
when a test asks for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from connect_batch.testing import ConnectDouble



@pytest.fixture
def fake_connect() -> Iterator[ConnectDouble]:
    """A simulated Amazon Connect and outbound campaigns service, with a ledger of each.

    ``outbound_client()`` and ``dial_client()`` give clients for a Running v2 and v1
    campaign (``requests`` is their ledger), ``batch_client()`` one for BatchPutContact
    (``contacts``). Dummy credentials are set for the test; nothing leaves the process.
    """
    # Imported here, not at module level: see the module docstring.
    from connect_batch import MissingExtraError  # noqa: PLC0415

    try:
        with MissingExtraError.guard("the fake_connect fixture", "testing"):
            from connect_batch.testing import (  # noqa: PLC0415
                dummy_credentials,
                mock_connect,
                new_double,
            )
    except MissingExtraError as missing:
        # pytest.fail(), without the ModuleNotFoundError's traceback chained before it.
        raise pytest.fail.Exception(str(missing), pytrace=False) from None
    with dummy_credentials(), mock_connect():
        yield new_double()


@pytest.fixture
def fake_connect_server() -> Iterator[ConnectDouble]:
    """``fake_connect`` over real HTTP: moto's server on a loopback port, at
    ``endpoint_url``. For clients that moto's in-process mock cannot serve, such as
    aiobotocore's (the async clients): build them with ``endpoint_url=double.endpoint_url``.
    """
    from connect_batch import MissingExtraError  # noqa: PLC0415

    try:
        with MissingExtraError.guard("the fake_connect_server fixture", "testing"):
            from connect_batch.testing import (  # noqa: PLC0415
                DEFAULT_REGION,
                ConnectDouble,
                dummy_credentials,
                moto_server,
            )
    except MissingExtraError as missing:
        raise pytest.fail.Exception(str(missing), pytrace=False) from None
    import boto3  # noqa: PLC0415 - a dependency of the library, light enough once moto is in
    from moto.moto_api._internal.models import moto_api_backend  # noqa: PLC0415

    with dummy_credentials(), moto_server() as endpoint:
        # moto keeps its state in the process, not in the server: start from a clean world,
        # as fake_connect does (what an earlier test created or planned is gone).
        moto_api_backend.reset()
        client = boto3.client("connect", region_name=DEFAULT_REGION, endpoint_url=endpoint)
        try:
            yield ConnectDouble.create(client)
        finally:
            moto_api_backend.reset()
