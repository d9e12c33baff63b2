"""Moved to ``connect_batch._engine.pacing``; this path stays importable until the issue-19
branches are merged (a shim for the coordinator to remove)."""

from connect_batch._engine.pacing import (
    DEFAULT_QUOTA,
    AdaptiveRateLimiter,
    AsyncRateLimiter,
    NoLimit,
    RateLimiter,
)

__all__ = [
    "DEFAULT_QUOTA",
    "AdaptiveRateLimiter",
    "AsyncRateLimiter",
    "NoLimit",
    "RateLimiter",
]
