"""The outbound campaigns' async clients: ``AsyncOutboundRequestBatchClient`` (v2
``PutOutboundRequestBatch``) and ``AsyncDialRequestBatchClient`` (v1 ``PutDialRequestBatch``).

Each adds to ``AsyncBatchClient`` only its operation's description, its input check and the
names of its methods (``put_requests``, ``iter_put_requests``); the sync clients are in
``connect_batch._campaign_clients``. The engine and drivers never learn which API they run.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from connect_batch._async_client import AsyncBatchClient, AsyncOptions, AsyncOutcomeStream
from connect_batch._client_core import type_check
from connect_batch._engine.retry import Duration
from connect_batch._outcomes import BatchResult
from connect_batch.operations._campaign import campaign_id_checked
from connect_batch.operations.campaigns_v1 import DialRequest, PutDialRequestBatchOperation
from connect_batch.operations.campaigns_v2 import OutboundRequest, PutOutboundRequestBatchOperation

if TYPE_CHECKING:
    from types_aiobotocore_connectcampaigns import ConnectCampaignServiceClient
    from types_aiobotocore_connectcampaignsv2 import ConnectCampaignServiceV2Client
    from typing_extensions import Unpack

RequestT = TypeVar("RequestT")


class _AsyncCampaignClient(AsyncBatchClient[RequestT]):
    def __init__(
        self,
        client: Any,
        operation: PutOutboundRequestBatchOperation | PutDialRequestBatchOperation,
        request_type: type[RequestT],
        options: AsyncOptions,
    ) -> None:
        self._campaign = operation
        super().__init__(
            client, operation, type_check(request_type, "request"), options  # type: ignore[arg-type]
        )

    @property
    def campaign_id(self) -> str:
        """The campaign the requests go to."""
        return self._campaign.campaign_id

    async def put_requests(
        self,
        requests: Iterable[RequestT] | AsyncIterable[RequestT],
        *,
        job_key: str | None = None,
        deadline: Duration | None = None,
    ) -> BatchResult[RequestT]:
        """The sync client's ``put_requests``, awaited; ``requests`` may be async."""
        return await self._put(requests, job_key, deadline)

    def iter_put_requests(
        self,
        requests: Iterable[RequestT] | AsyncIterable[RequestT],
        *,
        job_key: str | None = None,
        deadline: Duration | None = None,
    ) -> AsyncOutcomeStream[RequestT]:
        """``async for outcome in client.iter_put_requests(requests)``; see
        ``AsyncOutcomeStream``."""
        return self._iter(requests, job_key, deadline)


class AsyncOutboundRequestBatchClient(_AsyncCampaignClient[OutboundRequest]):
    """``OutboundRequestBatchClient`` on asyncio: v2 ``PutOutboundRequestBatch`` over an
    aiobotocore ``connectcampaignsv2`` client. Options are ``AsyncOptions``."""

    def __init__(
        self,
        campaigns_client: ConnectCampaignServiceV2Client | Any,
        *,
        campaign_id: str,
        **options: Unpack[AsyncOptions],
    ) -> None:
        operation = PutOutboundRequestBatchOperation(campaign_id_checked(campaign_id, "v2"))
        super().__init__(campaigns_client, operation, OutboundRequest, options)


class AsyncDialRequestBatchClient(_AsyncCampaignClient[DialRequest]):
    """``DialRequestBatchClient`` on asyncio: v1 ``PutDialRequestBatch`` over an
    aiobotocore ``connectcampaigns`` client. Options are ``AsyncOptions``."""

    def __init__(
        self,
        campaigns_client: ConnectCampaignServiceClient | Any,
        *,
        campaign_id: str,
        **options: Unpack[AsyncOptions],
    ) -> None:
        operation = PutDialRequestBatchOperation(campaign_id_checked(campaign_id, "v1"))
        super().__init__(campaigns_client, operation, DialRequest, options)
