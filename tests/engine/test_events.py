"""Instrumentation events, over real HTTP: what subscribers are told, against the double."""

from __future__ import annotations

import collections
import logging
import threading

import pytest

from connect_batch import AccessDeniedError, ContactValidationError
from connect_batch.cli.progress import Progress
from connect_batch.events import (
    BatchSettled,
    CallAnswered,
    CallSent,
    CapacityBackoff,
    ItemsResubmitted,
    LoggingSubscriber,
    RetryScheduled,
    RunFinished,
)
from connect_batch.testing import Fault
from tests.builders import contact, contacts, outbound


class Recorder:
    def __init__(self) -> None:
        self.events: list[object] = []
        self.threads_of: dict[type, set[int]] = {}
        self._lock = threading.Lock()

    def __call__(self, event: object) -> None:
        with self._lock:
            self.events.append(event)
            self.threads_of.setdefault(type(event), set()).add(threading.get_ident())

    def of(self, kind: type) -> list:
        return [e for e in self.events if isinstance(e, kind)]


def test_retries_and_settled_batches_are_published(http_connect):
    recorder = Recorder()
    http_connect.fake.plan(Fault.throttle(), None, Fault.error(503, "ServiceUnavailable"))
    client = http_connect.batch_client(subscribers=[recorder])
    result = client.put_contacts(contacts(60))
    assert len(result.succeeded) == 60
    retries = recorder.of(RetryScheduled)
    # One retry per failed attempt the double saw, each naming its code.
    failed = [c for c in http_connect.calls if c.outcome != "answered"]
    assert len(retries) == len(failed) == 2
    assert {r.code for r in retries} == {"LimitExceededException", "ServiceUnavailable"}
    assert all(r.operation == "BatchPutContact" and r.attempt == 1 for r in retries)
    assert all(r.wait >= 0 for r in retries)
    assert sorted(r.items for r in retries) == [25, 25]
    settled = recorder.of(BatchSettled)
    assert sorted(e.batch for e in settled) == [1, 2, 3]
    assert sum(e.items for e in settled) == 60
    # Told on the call threads; RunFinished on the thread that drove the run.
    assert recorder.threads_of[RunFinished] == {threading.get_ident()}
    assert threading.get_ident() not in recorder.threads_of[BatchSettled]


def test_capacity_refusals_publish_items_resubmitted(http_connect):
    recorder = Recorder()
    requests = [outbound(i, client_token=f"t-{i}") for i in range(10)]
    http_connect.fake_campaigns.fail_items({"t-1": "RequestThrottled", "t-2": "RequestThrottled"})
    client = http_connect.outbound_client(subscribers=[recorder])
    result = client.put_requests(requests)
    assert len(result.succeeded) == 10
    (resubmitted,) = recorder.of(ItemsResubmitted)
    assert (resubmitted.batch, resubmitted.round, resubmitted.items) == (1, 1, 2)
    assert resubmitted.capacity
    assert resubmitted.operation == "PutOutboundRequestBatch"
    assert len({r.client_token for r in http_connect.requests}) == 10


def test_a_subscriber_that_raises_changes_nothing_and_is_logged_once(http_connect, caplog):
    def broken(_event: object) -> None:
        raise RuntimeError("subscriber bug")

    recorder = Recorder()
    http_connect.fake.plan(Fault.throttle(), Fault.throttle())
    client = http_connect.batch_client(subscribers=[broken, recorder])
    result = client.put_contacts(contacts(50))
    assert len(result.succeeded) == 50
    assert len(http_connect.contacts) == 50
    assert recorder.of(BatchSettled)  # the next subscriber is still told
    warnings = [r for r in caplog.records if "subscriber" in r.getMessage()]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING


def test_events_carry_no_personal_data(http_connect):
    recorder = Recorder()
    http_connect.fake.plan(Fault.throttle())
    people = contacts(30)
    http_connect.batch_client(subscribers=[recorder]).put_contacts(people)
    text = repr(recorder.events)
    assert recorder.events
    for person in people:
        assert person.customer_endpoint.address not in text
        assert person.attributes["customer_name"] not in text


def test_the_cli_progress_counts_rows_waiting_to_go_again():
    progress = Progress(100, quiet=True, stream=None)  # type: ignore[arg-type]
    progress.event(RetryScheduled("Op", 1, 1, "Throttled", 0.1, 25))
    progress.event(ItemsResubmitted("Op", 2, 1, 3, 1.0, capacity=True))
    assert progress.retrying == 28
    progress.event(RetryScheduled("Op", 1, 2, "Throttled", 0.2, 25))  # the same batch again
    assert progress.retrying == 28
    progress.event(BatchSettled("Op", 1, 25))
    assert progress.retrying == 3
    progress.event(BatchSettled("Op", 2, 25))
    progress.event(BatchSettled("Op", 3, 25))  # never retried
    assert progress.retrying == 0
    assert collections.Counter() == progress.counts


def test_every_attempt_is_sent_and_answered_and_the_run_finishes(http_connect):
    recorder = Recorder()
    http_connect.fake.plan(Fault.throttle(), Fault.dropped(), None)
    client = http_connect.batch_client(subscribers=[recorder], max_attempts=3)
    result = client.put_contacts(contacts(75))
    sent, answered = recorder.of(CallSent), recorder.of(CallAnswered)
    assert len(sent) == len(answered) == len(http_connect.calls) == 5
    by_outcome = collections.Counter(
        (a.status, a.code, a.throttled) for a in answered
    )
    assert by_outcome == {
        (429, "LimitExceededException", True): 1,
        (None, "ConnectionClosedError", False): 1,
        (200, None, False): 3,
    }
    assert all(a.duration >= 0 for a in answered)
    (finished,) = recorder.of(RunFinished)
    assert finished.items == 75
    assert finished.counts == {"CREATED": len(result.succeeded)} == {"CREATED": 75}
    assert finished.goodput == finished.counts["CREATED"] / finished.duration
    assert finished.stopped is None
    settled = recorder.of(BatchSettled)
    assert sum(s.codes.get("CREATED", 0) for s in settled) == 75


def test_the_result_counts_successes_under_the_name_events_give_them(http_connect):
    # One name for success: BatchResult.counts(), RunFinished.counts, the metrics' outcome
    # label and the command line's summary all say CREATED.
    recorder = Recorder()
    http_connect.fake.fail_items({"r3": "INVALID_CAMPAIGN_ID"})
    client = http_connect.batch_client(subscribers=[recorder])
    requests = [contact(i, request_identifier=f"r{i}") for i in range(5)]
    result = client.put_contacts(requests)
    (finished,) = recorder.of(RunFinished)
    assert result.counts() == dict(finished.counts) == {"CREATED": 4, "INVALID_CAMPAIGN_ID": 1}


def test_capacity_back_off_is_its_own_event(http_connect):
    recorder = Recorder()
    requests = [outbound(i, client_token=f"t-{i}") for i in range(5)]
    http_connect.fake_campaigns.fail_items({"t-3": "BufferLimitExceeded"})
    http_connect.outbound_client(subscribers=[recorder]).put_requests(requests)
    (backoff,) = recorder.of(CapacityBackoff)
    assert (backoff.batch, backoff.round, backoff.items) == (1, 1, 1)
    assert backoff.wait > 0
    (answered_first, *_rest) = recorder.of(CallAnswered)
    assert answered_first.throttled  # the answer refused an item for capacity


def test_a_stopped_run_says_why_in_run_finished(http_connect):
    recorder = Recorder()
    http_connect.fake.plan(None, Fault.error(403, "AccessDeniedException"))
    client = http_connect.batch_client(subscribers=[recorder])
    with pytest.raises(AccessDeniedError):
        client.put_contacts(contacts(60))
    (finished,) = recorder.of(RunFinished)
    assert finished.stopped == "REFUSED"
    assert finished.items == 60
    assert finished.counts["CREATED"] == 25


def test_the_logging_subscriber_logs_fields_in_extra(http_connect, caplog):
    caplog.set_level(logging.DEBUG, logger="connect_batch.events")
    http_connect.fake.plan(Fault.throttle())
    client = http_connect.batch_client(subscribers=[LoggingSubscriber()])
    client.put_contacts(contacts(30))
    records = [r for r in caplog.records if r.name == "connect_batch.events"]
    names = [r.event for r in records]
    assert names.count("CallSent") == names.count("CallAnswered") == 3
    assert names.count("RunFinished") == 1
    retry = next(r for r in records if r.event == "RetryScheduled")
    assert retry.levelno == logging.INFO
    assert retry.fields["code"] == "LimitExceededException"
    assert "LimitExceededException" in retry.getMessage()


# Found by review.
def test_a_batcher_block_finishes_its_run(http_connect):
    recorder = Recorder()
    client = http_connect.batch_client(subscribers=[recorder])
    with client.batcher() as batcher:
        for person in contacts(30):
            batcher.put(person)
    (finished,) = recorder.of(RunFinished)
    assert (finished.items, dict(finished.counts), finished.stopped) == (
        30, {"CREATED": 30}, None
    )
    # Each batch is settled before the run is finished.
    assert isinstance(recorder.events[-1], RunFinished)


def test_run_finished_says_why_a_run_stopped_and_counts_inputs_never_sent(http_connect):
    recorder = Recorder()
    client = http_connect.batch_client(subscribers=[recorder])
    with pytest.raises(ContactValidationError):
        client.put_contacts([*contacts(3), "not a contact"])
    assert recorder.of(RunFinished)[-1].stopped == "INVALID_INPUT"
    http_connect.fake.plan(None, Fault.error(403, "AccessDeniedException"))
    with pytest.raises(AccessDeniedError):
        client.put_contacts(contacts(100))
    finished = recorder.of(RunFinished)[-1]
    assert finished.stopped == "REFUSED"
    assert finished.counts["CREATED"] == 25
    assert sum(finished.counts.values()) == 100  # the 50 never sent are counted too
    settled = sum(b.items for b in recorder.of(BatchSettled)[-2:])
    assert settled == 50  # only the batches sent


def test_a_broken_subscriber_is_logged_once_per_client_not_per_run(http_connect, caplog):
    def broken(_event: object) -> None:
        raise RuntimeError("subscriber bug")

    client = http_connect.batch_client(subscribers=[broken])
    for _ in range(3):
        client.put_contacts(contacts(5))
    warnings = [r for r in caplog.records if "subscriber" in r.getMessage()]
    assert len(warnings) == 1


def test_counts_are_read_only(http_connect):
    recorder = Recorder()
    http_connect.batch_client(subscribers=[recorder]).put_contacts(contacts(5))
    (finished,) = recorder.of(RunFinished)
    with pytest.raises(TypeError):
        finished.counts["CREATED"] = 99  # type: ignore[index]
