"""Moved: this path stays importable until the issue-19 branches are merged (a shim for the
coordinator to remove). ``BatchClient``, ``OutcomeStream`` and ``Batcher`` are in
``connect_batch._sync_client``; what sync and async clients share (``ClientCore``, the error
mapping) in ``connect_batch._client_core``; ``ContactBatchClient`` in
``connect_batch._contact_clients``."""

from connect_batch._client_core import (
    ClientCore,
    KeyedOutcomes,
    aborted_error,
    attach_result,
    batcher_result,
    raise_stopped,
    result_of,
    start_at_operation_pace,
    type_check,
    warn_dropped,
)
from connect_batch._contact_clients import (
    CHECK_CONTACT,
    MAX_INSTANCE_ID_LENGTH,
    ContactBatchClient,
    instance_id_checked,
)
from connect_batch._sync_client import BatchClient, Batcher, OutcomeStream

__all__ = [
    "CHECK_CONTACT",
    "MAX_INSTANCE_ID_LENGTH",
    "BatchClient",
    "Batcher",
    "ClientCore",
    "ContactBatchClient",
    "KeyedOutcomes",
    "OutcomeStream",
    "aborted_error",
    "attach_result",
    "batcher_result",
    "instance_id_checked",
    "raise_stopped",
    "result_of",
    "start_at_operation_pace",
    "type_check",
    "warn_dropped",
]
