"""What both scheduling loops share: reading the input a batch at a time, and answering what
was read but never sent.

The loops themselves (keep up to ``concurrency`` batches in flight, hand outcomes over,
drain on a stop) are the drivers': ``connect_batch._threads`` on a thread pool,
``connect_batch._asyncio`` on an event loop. Every rule they apply to the input is here, so
that the two cannot disagree: reading stops early once the deadline can no longer be met,
an input that repeats an earlier one of the job is answered at once and never sent, a
failing iterable stops the run only after what it yielded is answered, and what the
deadline left unsent is answered ``DEADLINE_EXCEEDED``.

Must not know: threads, event loops (the asyncio driver reads an async iterable itself,
through ``reading``), or any API.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import logging
from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

from connect_batch._engine.control import AbortRun, Stop
from connect_batch._engine.deadline import Deadline
from connect_batch._engine.instrument import Instrument
from connect_batch._engine.intake import Intake, Pending
from connect_batch._engine.interrupts import Interrupts
from connect_batch._engine.verdicts import Verdicts
from connect_batch._errors import ContactValidationError

ItemT = TypeVar("ItemT")
OutT = TypeVar("OutT")
logger = logging.getLogger("connect_batch")


class Schedule(Generic[ItemT, OutT]):
    """One run's reading rules, for whichever loop drives it."""

    def __init__(
        self,
        name: str,
        intake: Intake[ItemT],
        deadline: Deadline,
        *,
        verdicts: Verdicts[ItemT, OutT],
        instrument: Instrument,
        interrupts: Interrupts,
    ) -> None:
        self._name = name
        self._intake = intake
        self._deadline = deadline
        self._verdicts = verdicts
        self._instrument = instrument
        self._interrupts = interrupts

    def take(
        self, keyed: Iterator[Pending[ItemT]], count: int, ready: collections.deque[OutT]
    ) -> list[Pending[ItemT]]:
        """Read up to ``count`` inputs; if reading fails, answer what was read, then raise.

        Reading stops early once the deadline can no longer be met.
        """
        batch: list[Pending[ItemT]] = []
        with self.reading(batch, ready), self._interrupts.direct():
            if self._deadline.at is None and not self._intake.may_repeat:
                batch.extend(itertools.islice(keyed, count))
            else:
                deadline = self._deadline.at is not None
                past, duplicate = self._deadline.past, self._verdicts.duplicate
                for pending in keyed:
                    if pending.duplicate_of is not None:
                        ready.append(duplicate(pending))  # answered now, never sent
                        continue
                    batch.append(pending)
                    if len(batch) >= count or (deadline and past()):
                        break
        return batch

    @contextlib.contextmanager
    def reading(
        self, batch: list[Pending[ItemT]], ready: collections.deque[OutT]
    ) -> Iterator[None]:
        """A block that reads the caller's input into ``batch``. If reading raises, what was
        read is answered (not sent) first; an ordinary exception from the caller's iterable
        becomes ``AbortRun(INPUT_FAILED)``: the run cannot go on, but what it did stands."""
        try:
            yield
        except ContactValidationError:
            self.answer_unsent(batch, ready)
            raise
        except Exception as exc:
            self.answer_unsent(batch, ready)
            raise AbortRun(Stop.INPUT_FAILED, cause=exc) from exc
        except BaseException:
            self.answer_unsent(batch, ready)  # interrupted while reading
            raise

    def answer_unsent(
        self, pending: Iterable[Pending[ItemT]], ready: collections.deque[OutT]
    ) -> None:
        """Answer inputs read but never sent (the run stopped first)."""
        ready.extend(self._verdicts.unsent(p) for p in pending)

    def hand_over(self, ready: collections.deque[OutT]) -> list[OutT]:
        """What is ready, as one chunk; a safe point first."""
        self._interrupts.check()
        chunk = list(ready)
        ready.clear()
        self._instrument.count(chunk)
        return chunk

    def past_deadline_answers(
        self,
        late: list[Pending[ItemT]],
        rest: list[Pending[ItemT]],
        ready: collections.deque[OutT],
        *,
        in_memory: bool,
    ) -> None:
        """Answer what was read once the deadline could no longer be met, ``DEADLINE_EXCEEDED``:
        ``late`` (a batch read, not sent) and ``rest`` (what a sequence holds that was not
        read: the library holds it, so it is answered). An iterator is read no further: what
        it has not yielded stays in it, the caller's, unanswered. The run ends normally."""
        exceeded = self._verdicts.deadline_exceeded
        ready.extend(exceeded(p) for p in late)
        ready.extend(exceeded(p) for p in rest)
        if not (late or rest or not in_memory):
            return  # a sequence sent whole: nothing to say
        logger.warning(
            "%s: the run's deadline can no longer be met; %d unsent item(s) reported "
            "DEADLINE_EXCEEDED%s", self._name, len(late) + len(rest),
            "" if in_memory else "; what the input iterator has not yielded stays in it",
        )
