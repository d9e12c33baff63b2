"""Moved to ``connect_batch._engine.identity``; this path stays importable until the issue-19
branches are merged (a shim for the coordinator to remove)."""

from connect_batch._engine.identity import (
    Identities,
    JobIdentities,
    RandomIdentities,
)

__all__ = [
    "Identities",
    "JobIdentities",
    "RandomIdentities",
]
