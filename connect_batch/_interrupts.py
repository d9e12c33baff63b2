"""Moved to ``connect_batch._engine.interrupts``; this path stays importable until the issue-19
branches are merged (a shim for the coordinator to remove)."""

from connect_batch._engine.interrupts import (
    Handler,
    Interrupts,
)

__all__ = [
    "Handler",
    "Interrupts",
]
