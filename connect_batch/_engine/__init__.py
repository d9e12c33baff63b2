"""The engine: chunk any iterable, give each call a ClientToken, retry, settle every input.

It is told what the operation is (``BatchOperation``) and knows none of its field names, nor
which API it runs. It answers every input it consumes exactly once, whatever happens. It
starts no thread and runs no event loop: the drivers (``connect_batch._threads``,
``connect_batch._asyncio``) carry out what it asks for.

Its modules, top-down:

- ``engine``: ``Engine``, one run's parts wired together; the handle the drivers hold.
- ``schedule``: the reading rules both scheduling loops share (``Schedule``).
- ``settle``: one batch's state machine, round by round, as a generator of ``effects``
  (``Settler``); ``calls``: one round's call, its attempts and retries (``Caller``).
- ``answers``: what one round's answer settles, and what goes again (``AnswerReader``).
- ``verdicts``: every answer given without the service's word, and the one rule for
  ``outcome_unknown`` (``Verdicts.may_exist``).
- ``intake``: keying the input (``Pending``, ``RunKeys``, ``Intake``); ``first_seen``: where
  each key of a run first came, in about 13 bytes a key (``FirstSeen``).
- ``attempts``: one round's record (``Round``); ``work``: one batch's outcomes (``Work``).
- ``control``: why a run stops, and the control-flow signals (``AbortRun``, ``Cancelled``).
- ``deadline``, ``instrument``, ``interrupts``: the run's deadline, events, and Ctrl-C.
- ``retry``, ``pacing``, ``identity``, ``steps``: the retry policy, rate limiters, tokens,
  and the sync/async drivers of any generator of steps.

This package re-exports the names other modules import from ``connect_batch._engine``.
"""

from __future__ import annotations

from connect_batch._engine.control import (
    AbortRun,
    Cancelled,
    Stop,
    stop_reason,
    stopped_by,
)
from connect_batch._engine.effects import Acquire, Call, Effect, Feedback, Sleep
from connect_batch._engine.engine import Engine
from connect_batch._engine.intake import Pending, RunKeys
from connect_batch._engine.verdicts import OutcomeFactory
from connect_batch._engine.work import Work
from connect_batch._outcomes import CREATED  # the code events give a success

__all__ = [
    "CREATED",
    "AbortRun",
    "Acquire",
    "Call",
    "Cancelled",
    "Effect",
    "Engine",
    "Feedback",
    "OutcomeFactory",
    "Pending",
    "RunKeys",
    "Sleep",
    "Stop",
    "Work",
    "stop_reason",
    "stopped_by",
]

