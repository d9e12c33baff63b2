"""The ``fake_connect`` pytest fixture, registered through the ``pytest11`` entry point."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connect_batch.testing import ConnectDouble, dummy_credentials, mock_connect, new_double


@pytest.fixture
def fake_connect() -> Iterator[ConnectDouble]:
    """A simulated Amazon Connect with BatchPutContact: a client, an instance, a ledger.

    Dummy credentials are set for the test; nothing leaves the process.
    """
    with dummy_credentials(), mock_connect():
        yield new_double()
