"""Compatibility shim: BatchPutContact's request builder now lives in
``connect_batch.operations.contacts``. Removed once every importer uses the new module.
"""

from __future__ import annotations

from connect_batch.operations.contacts import (
    E164,
    MAX_ADDRESS_LENGTH,
    MAX_ATTRIBUTE_LENGTH,
    MAX_CAMPAIGN_ID_LENGTH,
    MAX_REQUEST_IDENTIFIER_LENGTH,
    AllowedUserAction,
    ContactRequest,
    Endpoint,
    EndpointType,
    OutboundStrategy,
    mask,
)

__all__ = [
    "E164",
    "MAX_ADDRESS_LENGTH",
    "MAX_ATTRIBUTE_LENGTH",
    "MAX_CAMPAIGN_ID_LENGTH",
    "MAX_REQUEST_IDENTIFIER_LENGTH",
    "AllowedUserAction",
    "ContactRequest",
    "Endpoint",
    "EndpointType",
    "OutboundStrategy",
    "mask",
]
