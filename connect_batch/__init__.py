"""A typed client for Amazon Connect's BatchPutContact.

Validates each contact, sends at most 25 per call under one ClientToken per batch, retries
what can be retried without creating a contact twice, and answers every input exactly once.
"""

import logging

from connect_batch._client import Batcher, ContactBatchClient, OutcomeStream
from connect_batch._errors import (
    AccessDeniedError,
    ConfigurationError,
    ConnectBatchError,
    ContactValidationError,
    DeadlineExceededError,
    InputError,
    InstanceNotFoundError,
    NotSentError,
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
from connect_batch._pacing import AdaptiveRateLimiter, NoLimit, RateLimiter
from connect_batch._retry import RetryPolicy

# A library's loggers print nothing unless the application configures logging: without a
# handler here, a run's WARNING would reach stderr through logging.lastResort.
logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "AccessDeniedError",
    "AdaptiveRateLimiter",
    "AllowedUserAction",
    "BatchResult",
    "Batcher",
    "ConfigurationError",
    "ConnectBatchError",
    "ContactBatchClient",
    "ContactRequest",
    "ContactValidationError",
    "DeadlineExceededError",
    "Endpoint",
    "EndpointType",
    "Failure",
    "FailureCode",
    "InputError",
    "InstanceNotFoundError",
    "NoLimit",
    "NotSentError",
    "OutboundStrategy",
    "Outcome",
    "OutcomeStream",
    "RateLimiter",
    "RetryPolicy",
    "RunAbortedError",
    "Success",
]
