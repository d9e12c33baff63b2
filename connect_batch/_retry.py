"""Moved to ``connect_batch._engine.retry``; this path stays importable until the issue-19
branches are merged (a shim for the coordinator to remove)."""

from connect_batch._engine.retry import (
    CAPACITY_BACKOFF,
    Duration,
    RetryPolicy,
)

__all__ = [
    "CAPACITY_BACKOFF",
    "Duration",
    "RetryPolicy",
]
