"""Compatibility shim: the campaigns' request builders now live in
``connect_batch.operations`` (``campaigns_v2``, ``campaigns_v1``, and the shared checks in
``_campaign_checks``). Removed once every importer uses the new modules.
"""

from __future__ import annotations

from connect_batch.operations._campaign_checks import (
    ARN,
    DEFAULT_EXPIRES,
    EMAIL,
    MAX_ARN_LENGTH,
    MAX_EMAIL_LENGTH,
    MAX_EXPIRES_DELTA,
    MAX_KEY_LENGTH,
    MAX_PARAMETER_LENGTH,
    MAX_RING_TIMEOUT,
    MAX_SOURCE_PHONE_LENGTH,
    MAX_TOKEN_LENGTH,
    MIN_ARN_LENGTH,
    MIN_RING_TIMEOUT,
    MODEL_ARN_PATTERN,
    PARAMETER_KEY,
    TOKEN,
    V1_MAX_LEAD,
    V1_MIN_LEAD,
    V1_MIN_SEND_LEAD,
    Channel,
)
from connect_batch.operations.campaigns_v1 import DialRequest
from connect_batch.operations.campaigns_v2 import AnswerMachineDetection, OutboundRequest

__all__ = [
    "ARN",
    "DEFAULT_EXPIRES",
    "EMAIL",
    "MAX_ARN_LENGTH",
    "MAX_EMAIL_LENGTH",
    "MAX_EXPIRES_DELTA",
    "MAX_KEY_LENGTH",
    "MAX_PARAMETER_LENGTH",
    "MAX_RING_TIMEOUT",
    "MAX_SOURCE_PHONE_LENGTH",
    "MAX_TOKEN_LENGTH",
    "MIN_ARN_LENGTH",
    "MIN_RING_TIMEOUT",
    "MODEL_ARN_PATTERN",
    "PARAMETER_KEY",
    "TOKEN",
    "V1_MAX_LEAD",
    "V1_MIN_LEAD",
    "V1_MIN_SEND_LEAD",
    "AnswerMachineDetection",
    "Channel",
    "DialRequest",
    "OutboundRequest",
]
