"""``Instrument``'s bookkeeping for live counts: each input told once, by ``BatchSettled`` or
by ``RunFinished.unbatched``, and the pace told only when it moves."""

from __future__ import annotations

import collections

from connect_batch._engine.instrument import Instrument
from connect_batch.events import BatchSettled, PaceChanged, Publisher, RunFinished


class Limiter:
    def __init__(self, rate: float) -> None:
        self.rate = rate


def instrument() -> tuple[Instrument, list[object]]:
    told: list[object] = []
    return Instrument(Publisher([told.append]), "Op", str), told


def test_a_batch_settling_after_its_run_finished_is_not_told_twice():
    subject, told = instrument()
    started = subject.begin_run()
    subject.batch_settled(1, 2, ["CREATED", "CREATED"])
    subject.count(["CREATED", "CREATED"])
    # A second Ctrl-C stopped the wait for batch 2: answered unknown, counted in the run.
    subject.count(["INTERRUPTED", "INTERRUPTED", "NOT_SENT"])
    subject.finished(started, "INTERRUPTED")
    subject.batch_settled(2, 2, ["INTERRUPTED", "INTERRUPTED"])  # its thread, later
    assert [type(e) for e in told] == [BatchSettled, RunFinished]
    run = told[-1]
    assert isinstance(run, RunFinished)
    assert dict(run.unbatched) == {"INTERRUPTED": 2, "NOT_SENT": 1}
    total = collections.Counter(told[0].codes) + collections.Counter(run.unbatched)
    assert total == collections.Counter(run.counts)


def test_the_pace_is_told_when_it_moves_and_again_for_the_next_run():
    subject, told = instrument()
    limiter = Limiter(10)
    subject.begin_run()
    subject.paced(limiter)
    subject.paced(limiter)
    limiter.rate = 8.5
    subject.paced(limiter)
    subject.paced(object())  # a limiter without a pace tells nothing
    subject.begin_run()
    subject.paced(limiter)
    assert told == [PaceChanged("Op", 10.0), PaceChanged("Op", 8.5), PaceChanged("Op", 8.5)]


def test_nothing_is_built_without_a_subscriber():
    subject = Instrument(Publisher([]), "Op", str)
    started = subject.begin_run()
    subject.paced(Limiter(5))
    subject.batch_settled(1, 1, ["CREATED"])
    subject.finished(started, None)
    assert subject._pace is None
    assert not subject._settled
