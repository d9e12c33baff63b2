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

MISSING_EXTRA = (
    "the fake_connect fixture needs the 'testing' extra: pip install 'connect-batch[testing]' "
    "(importing connect_batch.testing failed: {error})"
)


@pytest.fixture
def fake_connect() -> Iterator[ConnectDouble]:
    """A simulated Amazon Connect and outbound campaigns service, with a ledger of each.

    ``outbound_client()`` and ``dial_client()`` give clients for a Running v2 and v1
    campaign (``requests`` is their ledger), ``batch_client()`` one for BatchPutContact
    (``contacts``). Dummy credentials are set for the test; nothing leaves the process.
    """
    try:
        # Imported here, not at module level: see the module docstring.
        from connect_batch.testing import (  # noqa: PLC0415
            dummy_credentials,
            mock_connect,
            new_double,
        )
    except ModuleNotFoundError as missing:
        # pytest.fail(), without the ModuleNotFoundError's traceback chained before it.
        message = MISSING_EXTRA.format(error=missing)
        raise pytest.fail.Exception(message, pytrace=False) from None
    with dummy_credentials(), mock_connect():
        yield new_double()
