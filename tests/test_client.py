"""ContactBatchClient against the double: chunking, identifiers, tokens, outcomes."""

from __future__ import annotations

import pytest

from connect_batch import (
    ConfigurationError,
    ContactBatchClient,
    ContactValidationError,
    Failure,
    FailureCode,
    Success,
)
from tests.builders import contact, contacts


def test_every_input_is_created_once_and_answered_in_order(fake_connect):
    inputs = contacts(60)
    result = fake_connect.batch_client().put_contacts(inputs)
    assert [s.request for s in result.succeeded] == inputs
    assert [s.position for s in result.succeeded] == list(range(60))
    assert result.failed == ()
    ledger = {c.request_identifier: c.contact_id for c in fake_connect.contacts}
    assert {s.request_identifier: s.contact_id for s in result.succeeded} == ledger


def test_batches_hold_at_most_25_items(fake_connect):
    fake_connect.batch_client().put_contacts(contacts(60))
    assert [len(c.request_identifiers) for c in fake_connect.calls] == [25, 25, 10]


def test_empty_input_sends_nothing(fake_connect):
    result = fake_connect.batch_client().put_contacts([])
    assert len(result) == 0
    assert fake_connect.calls == []


def test_input_is_read_lazily_one_batch_ahead_at_most(fake_connect):
    pulled_at_call: list[int] = []
    pulled = 0

    def source():
        nonlocal pulled
        for item in contacts(60):
            pulled += 1
            yield item

    client = fake_connect.batch_client()
    original = fake_connect.client.batch_put_contact

    def spy(**kwargs):
        pulled_at_call.append(pulled)
        return original(**kwargs)

    fake_connect.client.batch_put_contact = spy
    result = client.put_contacts(source())
    assert len(result.succeeded) == 60
    # Each call is made after reading at most one more item than its own 25.
    assert pulled_at_call == [25, 50, 60]


def test_given_request_identifiers_are_kept(fake_connect):
    inputs = [contact(i, request_identifier=f"crm-{i}") for i in range(3)]
    result = fake_connect.batch_client().put_contacts(inputs)
    assert [s.request_identifier for s in result.succeeded] == ["crm-0", "crm-1", "crm-2"]
    assert sorted(c.request_identifier for c in fake_connect.contacts) == [
        "crm-0",
        "crm-1",
        "crm-2",
    ]


def test_missing_request_identifiers_are_generated_unique_and_short(fake_connect):
    result = fake_connect.batch_client().put_contacts(contacts(100))
    identifiers = [s.request_identifier for s in result.succeeded]
    assert len(set(identifiers)) == 100
    assert all(0 < len(rid) <= 80 for rid in identifiers)
    assert {c.request_identifier for c in fake_connect.contacts} == set(identifiers)


def test_a_repeated_identifier_is_refused_before_anything_is_sent(fake_connect):
    repeated = [contact(99, request_identifier="x"), contact(98, request_identifier="x")]
    inputs = [*contacts(30), *repeated]
    with pytest.raises(ContactValidationError) as caught:
        fake_connect.batch_client().put_contacts(inputs)
    assert caught.value.position == 31
    assert caught.value.field == "request_identifier"
    assert fake_connect.calls == []


def test_a_non_request_input_is_refused_with_its_position(fake_connect):
    with pytest.raises(ContactValidationError) as caught:
        fake_connect.batch_client().put_contacts([contact(0), {"phone": "+14155550100"}])  # type: ignore[list-item]
    assert caught.value.position == 1
    assert "position 1" in str(caught.value)
    assert fake_connect.calls == []


def test_a_bad_item_late_in_a_stream_stops_the_run_answering_what_it_consumed(fake_connect):
    def source():
        yield from contacts(30)
        yield contact(1, request_identifier="dup")
        yield contact(2, request_identifier="dup")

    with pytest.raises(ContactValidationError) as caught:
        fake_connect.batch_client().put_contacts(source())
    error = caught.value
    assert error.position == 31
    assert error.result is not None
    # The first batch went out; the five consumed after it were not sent.
    assert len(error.result.succeeded) == 25
    assert [f.code for f in error.result.failed] == [FailureCode.NOT_SENT] * 6
    assert all(f.retryable for f in error.result.failed)
    assert len(fake_connect.contacts) == 25


def test_each_batch_sends_an_explicit_token_of_its_own(fake_connect):
    sent: list[str] = []
    fake_connect.client.meta.events.register(
        "before-parameter-build.connect.BatchPutContact",
        lambda params, **_: sent.append(params.get("ClientToken")),
    )
    fake_connect.batch_client().put_contacts(contacts(60))
    assert len(sent) == 3
    assert all(sent)
    assert len(set(sent)) == 3
    assert [c.client_token for c in fake_connect.calls] == sent


def test_per_item_failures_that_describe_the_request_are_final(fake_connect):
    inputs = [contact(0), contact(1, campaign_id=None), contact(2)]
    result = fake_connect.batch_client().put_contacts(inputs)
    [failure] = result.failed
    assert failure.code == FailureCode.MISSING_CAMPAIGN
    assert failure.code == "MISSING_CAMPAIGN"
    assert failure.retryable is False
    assert failure.request == inputs[1]
    assert failure.position == 1
    assert len(fake_connect.calls) == 1
    assert len(fake_connect.contacts) == 2


@pytest.mark.parametrize("code", ["REQUEST_THROTTLED", "INTERNAL_ERROR"])
def test_transient_item_failures_are_resubmitted_under_a_new_token(fake_connect, code):
    inputs = [contact(i, request_identifier=f"r{i}") for i in range(5)]
    fake_connect.fake.fail_items({"r1": code, "r3": code}, times=1)
    result = fake_connect.batch_client().put_contacts(inputs)
    assert result.all_succeeded
    first, second = fake_connect.calls
    assert second.request_identifiers == ("r1", "r3")
    assert second.client_token != first.client_token
    assert fake_connect.duplicates() == {}
    assert len(fake_connect.contacts) == 5


def test_item_resubmission_is_bounded(fake_connect):
    fake_connect.fake.fail_items({"r0": "REQUEST_THROTTLED"}, times=100)
    client = fake_connect.batch_client(max_item_retries=2)
    result = client.put_contacts([contact(0, request_identifier="r0"), contact(1)])
    [failure] = result.failed
    assert failure.code == "REQUEST_THROTTLED"
    assert failure.retryable is True
    assert len(fake_connect.calls) == 3
    assert len(fake_connect.contacts) == 1


def test_outcomes_are_success_or_failure_values(fake_connect):
    result = fake_connect.batch_client().put_contacts([contact(0), contact(1, queue_id=None)])
    assert isinstance(result.succeeded[0], Success)
    assert isinstance(result.failed[0], Failure)
    assert result.counts() == {"CREATED": 1, "MISSING_QUEUE_ID_AND_SYSTEM_ENDPOINT": 1}
    assert result.retryable() == []


@pytest.mark.parametrize("instance_id", ["", "i" * 101])
def test_instance_id_must_be_1_to_100_characters(fake_connect, instance_id):
    with pytest.raises(ConfigurationError, match="instance_id"):
        ContactBatchClient(fake_connect.client, instance_id=instance_id)


def test_max_attempts_must_be_positive(fake_connect):
    with pytest.raises(ConfigurationError, match="max_attempts"):
        fake_connect.batch_client(max_attempts=0)
