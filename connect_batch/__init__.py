"""Typed clients for Amazon Connect's outbound batch APIs.

Outbound campaigns v2 ``PutOutboundRequestBatch`` (``OutboundRequestBatchClient``), v1
``PutDialRequestBatch`` (``DialRequestBatchClient``) and Connect's ``BatchPutContact``
(``ContactBatchClient``), on one engine: each validates every input before sending, sends at
most 25 per call, retries what can be retried without creating anything twice, paces itself,
and answers every input exactly once.
"""

import logging

from connect_batch._aio import (
    AsyncBatchClient,
    AsyncBatcher,
    AsyncContactBatchClient,
    AsyncDialRequestBatchClient,
    AsyncOptions,
    AsyncOutboundRequestBatchClient,
    AsyncOutcomeStream,
)
from connect_batch._botocore import redact_botocore_logs
from connect_batch._campaign_models import (
    DEFAULT_EXPIRES,
    AnswerMachineDetection,
    Channel,
    DialRequest,
    OutboundRequest,
)
from connect_batch._campaigns import (
    DEFAULT_CAMPAIGN_RATE,
    DialRequestBatchClient,
    OutboundRequestBatchClient,
)
from connect_batch._client import (
    BatchClient,
    Batcher,
    ContactBatchClient,
    OutcomeStream,
    result_of,
)
from connect_batch._errors import (
    AccessDeniedError,
    CampaignNotFoundError,
    CampaignStateError,
    ConfigurationError,
    ConnectBatchError,
    ContactValidationError,
    DeadlineExceededError,
    InputError,
    InstanceNotFoundError,
    NotSentError,
    PhoneNumberError,
    RunAbortedError,
)
from connect_batch._models import (
    AllowedUserAction,
    ContactRequest,
    Endpoint,
    EndpointType,
    OutboundStrategy,
)
from connect_batch._outcomes import BatchResult, Failure, FailureCode, Outcome, Success
from connect_batch._pacing import AdaptiveRateLimiter, AsyncRateLimiter, NoLimit, RateLimiter
from connect_batch._redis_async import AsyncRedisRateLimiter
from connect_batch._redis_limiter import RedisRateLimiter, fleet_key
from connect_batch._retry import RetryPolicy
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
    "DeadlineExceededError",
    "DialRequest",
    "DialRequestBatchClient",
    "Endpoint",
    "EndpointType",
    "Failure",
    "FailureCode",
    "InputError",
    "InstanceNotFoundError",
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
