"""Compatibility shim: the names that lived here now live in ``connect_batch.operations``.

``base`` holds the protocol and what every operation shares; ``contacts`` holds
``BatchPutContactOperation``. Removed once every importer uses the new modules.
"""

from __future__ import annotations

from connect_batch.operations.base import (
    CONFLICT,
    REQUEST_TIMEOUT,
    SERVER_ERROR,
    THROTTLE_CODES,
    TOO_MANY_REQUESTS,
    TRANSIENT_CALL_CODES,
    TRANSIENT_ITEM_CODES,
    Answer,
    AnswerShape,
    BatchOperation,
    Idempotency,
    ItemAnswer,
    ItemKind,
    ItemT_contra,
    transient_call,
)
from connect_batch.operations.contacts import BatchPutContactOperation

__all__ = [
    "CONFLICT",
    "REQUEST_TIMEOUT",
    "SERVER_ERROR",
    "THROTTLE_CODES",
    "TOO_MANY_REQUESTS",
    "TRANSIENT_CALL_CODES",
    "TRANSIENT_ITEM_CODES",
    "Answer",
    "AnswerShape",
    "BatchOperation",
    "BatchPutContactOperation",
    "Idempotency",
    "ItemAnswer",
    "ItemKind",
    "ItemT_contra",
    "transient_call",
]
