"""Instrumentation events, over real HTTP: what subscribers are told, against the double."""

from __future__ import annotations

import collections
import logging
import threading

from connect_batch._cli import Progress
from connect_batch.events import BatchSettled, ItemsResubmitted, RetryScheduled
from connect_batch.testing import Fault
from tests.builders import contacts, outbound


class Recorder:
    def __init__(self) -> None:
        self.events: list[object] = []
        self.threads: set[int] = set()
        self._lock = threading.Lock()

    def __call__(self, event: object) -> None:
        with self._lock:
            self.events.append(event)
            self.threads.add(threading.get_ident())

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
    assert threading.get_ident() not in recorder.threads  # told on the call threads


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
