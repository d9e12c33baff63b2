"""Moved: this path stays importable until the issue-19 branches are merged (a shim for the
coordinator to remove). The asyncio driver is ``connect_batch._asyncio``; the async clients'
common part ``connect_batch._async_client``; the API clients ``connect_batch._contact_clients``
and ``connect_batch._campaign_async_clients``."""

from connect_batch._async_client import (
    AsyncBatchClient,
    AsyncBatcher,
    AsyncOptions,
    AsyncOutcomeStream,
    one_attempt_per_send,
)
from connect_batch._asyncio import AsyncRun, AsyncSleep
from connect_batch._campaign_async_clients import (
    AsyncDialRequestBatchClient,
    AsyncOutboundRequestBatchClient,
)
from connect_batch._contact_clients import AsyncContactBatchClient

__all__ = [
    "AsyncBatchClient",
    "AsyncBatcher",
    "AsyncContactBatchClient",
    "AsyncDialRequestBatchClient",
    "AsyncOptions",
    "AsyncOutboundRequestBatchClient",
    "AsyncOutcomeStream",
    "AsyncRun",
    "AsyncSleep",
    "one_attempt_per_send",
]
