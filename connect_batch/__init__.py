"""Typed clients for Amazon Connect's outbound batch APIs.

Outbound campaigns v2 ``PutOutboundRequestBatch`` (``OutboundRequestBatchClient``), v1
``PutDialRequestBatch`` (``DialRequestBatchClient``) and Connect's ``BatchPutContact``
(``ContactBatchClient``), on one engine: each validates every input before sending, sends at
most 25 per call, retries what can be retried without creating anything twice, paces itself,
and answers every input exactly once.
"""

import logging

from connect_batch._async_client import (
    AsyncBatchClient,
    AsyncBatcher,
    AsyncOptions,
    AsyncOutcomeStream,
)
from connect_batch._botocore import redact_botocore_logs
from connect_batch._campaign_async_clients import (
    AsyncDialRequestBatchClient,
    AsyncOutboundRequestBatchClient,
)
from connect_batch._campaign_clients import DialRequestBatchClient, OutboundRequestBatchClient
from connect_batch._client_core import result_of
from connect_batch._contact_clients import AsyncContactBatchClient, ContactBatchClient
from connect_batch._engine.pacing import AdaptiveRateLimiter, AsyncRateLimiter, NoLimit, RateLimiter
from connect_batch._engine.retry import RetryPolicy
from connect_batch._errors import (
    AccessDeniedError,
    CampaignNotFoundError,
    CampaignStateError,
    ConfigurationError,
    ConnectBatchError,
    ContactValidationError,
    InputError,
    InstanceNotFoundError,
    MissingExtraError,
    NotSentError,
    PhoneNumberError,
    RunAbortedError,
)
from connect_batch._outcomes import BatchResult, Failure, FailureCode, Outcome, Success
from connect_batch._redis_async import AsyncRedisRateLimiter
from connect_batch._redis_limiter import RedisRateLimiter, fleet_key
from connect_batch._sync_client import BatchClient, Batcher, OutcomeStream
from connect_batch.operations._campaign import DEFAULT_CAMPAIGN_RATE
from connect_batch.operations._campaign_checks import DEFAULT_EXPIRES, Channel
from connect_batch.operations.campaigns_v1 import DialRequest
from connect_batch.operations.campaigns_v2 import AnswerMachineDetection, OutboundRequest
from connect_batch.operations.contacts import (
    AllowedUserAction,
    ContactRequest,
    Endpoint,
    EndpointType,
    OutboundStrategy,
)
from connect_batch.phones import to_e164

# A library's loggers print nothing unless the application configures logging: without a
# handler here, a run's WARNING would reach stderr through logging.lastResort.
logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [  # noqa: RUF022 - plain sorted order, checked by tests/test_public_docs.py
    "AccessDeniedError",
    "AdaptiveRateLimiter",
    "AllowedUserAction",
    "AnswerMachineDetection",
    "AsyncBatchClient",
    "AsyncBatcher",
    "AsyncContactBatchClient",
    "AsyncDialRequestBatchClient",
    "AsyncOptions",
    "AsyncOutboundRequestBatchClient",
    "AsyncOutcomeStream",
    "AsyncRateLimiter",
    "AsyncRedisRateLimiter",
    "BatchClient",
    "BatchResult",
    "Batcher",
    "CampaignNotFoundError",
    "CampaignStateError",
    "Channel",
    "ConfigurationError",
    "ConnectBatchError",
    "ContactBatchClient",
    "ContactRequest",
    "ContactValidationError",
    "DEFAULT_CAMPAIGN_RATE",
    "DEFAULT_EXPIRES",
    "DialRequest",
    "DialRequestBatchClient",
    "Endpoint",
    "EndpointType",
    "Failure",
    "FailureCode",
    "InputError",
    "InstanceNotFoundError",
    "MissingExtraError",
    "NoLimit",
    "NotSentError",
    "OutboundRequest",
    "OutboundRequestBatchClient",
    "OutboundStrategy",
    "Outcome",
    "OutcomeStream",
    "PhoneNumberError",
    "RateLimiter",
    "RedisRateLimiter",
    "RetryPolicy",
    "RunAbortedError",
    "Success",
    "fleet_key",
    "redact_botocore_logs",
    "result_of",
    "to_e164",
]
