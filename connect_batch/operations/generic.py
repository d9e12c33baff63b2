"""Run any ``BatchOperation`` through the library's engine: a fourth API needs no change here.

``OperationClient`` (threads, a boto3 client) and ``AsyncOperationClient`` (asyncio, an
aiobotocore client) take an operation described in the terms of ``connect_batch.operations``
(``BatchOperation``, ``Idempotency``, ``ItemKind``, ``Answer``/``AnswerShape``) and the
type of its items, with the options and defaults of the API-specific clients. Each offers
``put(items)``, ``iter_put(items)`` and ``batcher()``. This module must not know any API.

    client = OperationClient(boto_client, MyOperation(...), item_type=MyItem)
    result = client.put(items, job_key="import-42")
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterable, Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar

from connect_batch._async_client import AsyncBatchClient, AsyncOptions, AsyncOutcomeStream
from connect_batch._client_core import type_check
from connect_batch._engine.pacing import RateLimiter
from connect_batch._engine.retry import Duration
from connect_batch._errors import ConfigurationError
from connect_batch._outcomes import BatchResult
from connect_batch._sync_client import BatchClient, OutcomeStream
from connect_batch.events import Subscriber
from connect_batch.operations.base import BatchOperation

if TYPE_CHECKING:
    from typing_extensions import Unpack

ItemT = TypeVar("ItemT")

__all__ = ["AsyncOperationClient", "OperationClient", "OperationOptions"]


class OperationOptions(TypedDict, total=False):
    """The options of the sync clients (``ContactBatchClient``'s keywords and defaults)."""

    max_attempts: int
    deadline: Duration | None
    initial_backoff: Duration
    max_backoff: Duration
    max_item_retries: int
    job_key: str | None
    concurrency: int
    max_requests_per_second: float | None
    rate_limiter: RateLimiter | None
    on_retry: Callable[[str], None] | None
    sleep: Callable[[float], None]
    subscribers: Sequence[Subscriber]


class OperationClient(BatchClient[ItemT]):
    """A sync client for any ``BatchOperation`` over a boto3 client.

    ``operation.request`` names the boto3 method each call uses, so ``boto_client`` must
    know the operation (its service model, perhaps one added through botocore's data path).
    Only items of ``item_type`` are accepted. Options are ``OperationOptions``, with the
    defaults of ``ContactBatchClient``.
    """

    def __init__(
        self,
        boto_client: Any,
        operation: BatchOperation[ItemT],
        *,
        item_type: type[ItemT],
        **options: Unpack[OperationOptions],
    ) -> None:
        unknown = set(options) - set(OperationOptions.__annotations__)
        if unknown:
            raise ConfigurationError(f"unknown option(s): {', '.join(sorted(unknown))}")
        self._described = operation
        super().__init__(
            boto_client,
            operation,
            type_check(item_type, "item"),
            max_attempts=options.get("max_attempts", 5),
            deadline=options.get("deadline"),
            initial_backoff=options.get("initial_backoff", 0.2),
            max_backoff=options.get("max_backoff", 20.0),
            max_item_retries=options.get("max_item_retries", 3),
            job_key=options.get("job_key"),
            concurrency=options.get("concurrency", 1),
            max_requests_per_second=options.get("max_requests_per_second"),
            rate_limiter=options.get("rate_limiter"),
            on_retry=options.get("on_retry"),
            sleep=options.get("sleep", time.sleep),
            subscribers=options.get("subscribers", ()),
        )

    @property
    def operation(self) -> BatchOperation[ItemT]:
        """The operation this client runs."""
        return self._described

    def put(
        self,
        items: Iterable[ItemT],
        *,
        job_key: str | None = None,
        deadline: Duration | None = None,
    ) -> BatchResult[ItemT]:
        """Put every item and answer each exactly once (see ``ContactBatchClient``);
        ``deadline`` bounds this call alone (see ``ContactBatchClient.put_contacts``)."""
        return self._put(items, job_key, deadline)

    def iter_put(
        self,
        items: Iterable[ItemT],
        *,
        job_key: str | None = None,
        deadline: Duration | None = None,
    ) -> OutcomeStream[ItemT]:
        """Like ``put``, yielding each outcome as its batch ends (see ``OutcomeStream``)."""
        return self._iter(items, job_key, deadline)


class AsyncOperationClient(AsyncBatchClient[ItemT]):
    """``OperationClient`` on asyncio, over an aiobotocore client. Options are
    ``AsyncOptions``."""

    def __init__(
        self,
        aio_client: Any,
        operation: BatchOperation[ItemT],
        *,
        item_type: type[ItemT],
        **options: Unpack[AsyncOptions],
    ) -> None:
        self._described = operation
        super().__init__(aio_client, operation, type_check(item_type, "item"), options)

    @property
    def operation(self) -> BatchOperation[ItemT]:
        """The operation this client runs."""
        return self._described

    async def put(
        self,
        items: Iterable[ItemT] | AsyncIterable[ItemT],
        *,
        job_key: str | None = None,
        deadline: Duration | None = None,
    ) -> BatchResult[ItemT]:
        """Put every item and answer each exactly once."""
        return await self._put(items, job_key, deadline)

    def iter_put(
        self,
        items: Iterable[ItemT] | AsyncIterable[ItemT],
        *,
        job_key: str | None = None,
        deadline: Duration | None = None,
    ) -> AsyncOutcomeStream[ItemT]:
        """Like ``put``, yielding each outcome as its batch ends."""
        return self._iter(items, job_key, deadline)
