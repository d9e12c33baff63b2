"""For any contacts and any fault schedule: every input answered once, nothing created twice."""

from __future__ import annotations

import collections

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connect_batch import BatchResult, ContactRequest, RunAbortedError
from connect_batch.testing import Fault, dummy_credentials, mock_connect, new_double
from tests.builders import contact

CALL_FAULTS = st.sampled_from(
    [
        None,
        Fault.throttle(),
        Fault.error(),
        Fault.error(after_commit=True),
        Fault.dropped(),
        Fault.reset(),
        Fault.error(400, "InvalidRequestException"),
        Fault.error(409, "IdempotencyException"),
        Fault.error(403, "AccessDeniedException"),
    ]
)
ITEM_CODES = st.sampled_from(["REQUEST_THROTTLED", "INTERNAL_ERROR", "INVALID_QUEUE"])


@st.composite
def runs(draw: st.DrawFn) -> tuple[list[ContactRequest], dict[str, str], int, list[str]]:
    size = draw(st.integers(0, 80))
    inputs: list[ContactRequest] = []
    for i in range(size):
        kind = draw(st.sampled_from(["generated", "given", "no-campaign"]))
        if kind == "given":
            inputs.append(contact(i, request_identifier=f"id-{i}"))
        elif kind == "no-campaign":
            inputs.append(contact(i, campaign_id=None))
        else:
            inputs.append(contact(i))
    given_ids = [c.request_identifier for c in inputs if c.request_identifier]
    ids = st.sampled_from(given_ids) if given_ids else st.nothing()
    item_faults = draw(st.dictionaries(ids, ITEM_CODES)) if given_ids else {}
    omitted = draw(st.lists(ids, max_size=3)) if given_ids else []
    times = draw(st.integers(1, 4))
    return inputs, item_faults, times, omitted


@pytest.mark.slow  # 80 runs over the double: half a minute
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    run=runs(),
    schedule=st.lists(CALL_FAULTS, max_size=20),
    as_iterator=st.booleans(),
    max_attempts=st.integers(1, 4),
    max_item_retries=st.integers(0, 3),
)
def test_every_input_answered_once_and_nothing_created_twice(
    run, schedule, as_iterator, max_attempts, max_item_retries
):
    inputs, item_faults, times, omitted = run
    with dummy_credentials(), mock_connect():
        double = new_double()
        double.fake.fail_items(item_faults, times=times)
        double.fake.omit_items(omitted)
        double.fake.plan(*schedule)
        client = double.batch_client(max_attempts=max_attempts, max_item_retries=max_item_retries)
        stopped = False
        try:
            result = client.put_contacts(iter(inputs) if as_iterator else inputs)
        except RunAbortedError as error:
            result, stopped = error.result, True
        assert isinstance(result, BatchResult)

        positions = sorted(o.position for o in (*result.succeeded, *result.failed))
        if stopped and as_iterator:
            # An iterator is read a batch at a time: what was read, and only that, is answered.
            assert positions == list(range(len(positions)))
        else:
            assert positions == list(range(len(inputs)))
        for outcome in (*result.succeeded, *result.failed):
            assert outcome.request is inputs[outcome.position]

        assert double.duplicates() == {}
        ledger = {c.request_identifier: c.contact_id for c in double.contacts}
        for success in result.succeeded:
            assert ledger[success.request_identifier] == success.contact_id
        # Whatever was created is a success, or a failure that says it may exist.
        unknown = {f.request_identifier for f in result.failed if f.outcome_unknown}
        succeeded = {s.request_identifier for s in result.succeeded}
        assert set(ledger) <= succeeded | unknown
        if not unknown:
            assert len(ledger) == len(result.succeeded)

        attempts = collections.Counter(c.client_token for c in double.calls)
        assert all(n <= max_attempts for n in attempts.values())
