"""The batch APIs, one module each, and the public way to describe and run one more.

``contacts`` (BatchPutContact), ``campaigns_v2`` (PutOutboundRequestBatch) and
``campaigns_v1`` (PutDialRequestBatch) each hold their request builders and their
``BatchOperation``. To run another 25-item API, describe it with the names exported here
and run it with ``OperationClient`` or ``AsyncOperationClient`` (``generic``); no other
module changes. This package must not know how the engine schedules calls.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from connect_batch._errors import CallFault
from connect_batch.operations.base import (
    Answer,
    AnswerShape,
    BatchOperation,
    Idempotency,
    ItemAnswer,
    ItemKind,
    transient_call,
)

if TYPE_CHECKING:
    from connect_batch.operations.generic import (
        AsyncOperationClient,
        OperationClient,
        OperationOptions,
    )

__all__ = [
    "Answer",
    "AnswerShape",
    "AsyncOperationClient",
    "BatchOperation",
    "CallFault",
    "Idempotency",
    "ItemAnswer",
    "ItemKind",
    "OperationClient",
    "OperationOptions",
    "transient_call",
]

_GENERIC = frozenset({"AsyncOperationClient", "OperationClient", "OperationOptions"})


def __getattr__(name: str) -> Any:
    # Imported on first use: the engine's modules import ``operations.base``, and the
    # generic clients import the engine, so an eager import here would be a cycle.
    if name in _GENERIC:
        from connect_batch.operations import generic  # noqa: PLC0415

        return getattr(generic, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
