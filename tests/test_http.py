"""The same guarantees over real HTTP, against moto's server on loopback."""

from __future__ import annotations

from connect_batch import FailureCode
from connect_batch.testing import Fault
from tests.builders import contacts


def test_faults_over_http_create_each_contact_exactly_once(http_connect):
    http_connect.fake.plan(
        Fault.throttle(),
        Fault.error(after_commit=True),
        None,
        Fault.dropped(),
        Fault.error(),
    )
    inputs = contacts(100)
    result = http_connect.batch_client(max_attempts=5).put_contacts(inputs)

    assert [s.request for s in result.succeeded] == inputs
    assert http_connect.duplicates() == {}
    assert {s.contact_id for s in result.succeeded} == {c.contact_id for c in http_connect.contacts}
    outcomes = [c.outcome for c in http_connect.calls]
    assert outcomes.count("dropped") == 1
    assert outcomes.count("replayed") == 2


def test_permanent_throttling_over_http_makes_exactly_max_attempts(http_connect):
    http_connect.fake.throttle(rate=0, burst=0)
    try:
        result = http_connect.batch_client(max_attempts=3).put_contacts(contacts(4))
    finally:
        http_connect.fake.reset_faults()
    assert len(http_connect.calls) == 3
    assert {f.code for f in result.failed} == {FailureCode.LIMIT_EXCEEDED}
    assert http_connect.contacts == []


def test_a_connection_cut_after_commit_is_settled_by_replay(http_connect):
    http_connect.fake.plan(Fault.dropped(), Fault.dropped())
    result = http_connect.batch_client(max_attempts=3).put_contacts(contacts(7))
    # The second cut hits the replay; the third attempt, same token, replays again.
    assert [c.outcome for c in http_connect.calls] == ["dropped", "dropped", "replayed"]
    assert len({c.client_token for c in http_connect.calls}) == 1
    assert len(result.succeeded) == 7
    assert len(http_connect.contacts) == 7
