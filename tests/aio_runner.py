"""Run an async client over aiobotocore, from sync test code: one event loop per call."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiobotocore.session import get_session
from botocore.config import Config

T = TypeVar("T")


def run_async(
    service: str,
    endpoint_url: str,
    use: Callable[[Any], Awaitable[T]],
    config: Config | None = None,
) -> T:
    """``await use(client)`` with an aiobotocore ``service`` client for the loopback server."""

    async def main() -> T:
        async with get_session().create_client(
            service, region_name="us-east-1", endpoint_url=endpoint_url, config=config
        ) as client:
            return await use(client)

    return asyncio.run(main())
