"""Moved to ``connect_batch._engine.steps``; this path stays importable until the issue-19
branches are merged (a shim for the coordinator to remove)."""

from connect_batch._engine.steps import (
    Steps,
    drive,
    drive_async,
)

__all__ = [
    "Steps",
    "drive",
    "drive_async",
]
