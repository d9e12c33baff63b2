"""Answers that do not add up: the library settles every input and never crashes."""

from __future__ import annotations

import logging
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from connect_batch import ContactBatchClient, FailureCode
from connect_batch.operations.contacts import BatchPutContactOperation
from connect_batch.testing import no_sleep
from tests.builders import contact

SENT = ["a", "b", "c"]


class CannedConnect:
    """A stand-in boto3 client whose BatchPutContact answer is whatever the test says."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.calls: list[dict[str, Any]] = []
        self.meta = _Meta()

    def batch_put_contact(self, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        return self.answer


class _Meta:
    class service_model:  # noqa: N801 - mirrors botocore's attribute
        class service_id:  # noqa: N801
            @staticmethod
            def hyphenize() -> str:
                return "connect"

    class events:  # noqa: N801
        @staticmethod
        def register_first(*_args: Any, **_kwargs: Any) -> None:
            return None


def put(answer: Any, identifiers: list[str] = SENT):
    client = CannedConnect(answer)
    inputs = [contact(i, request_identifier=rid) for i, rid in enumerate(identifiers)]
    result = ContactBatchClient(client, instance_id="i", sleep=no_sleep).put_contacts(inputs)
    return result, client


def test_an_item_in_neither_list_is_unknown_and_never_resent():
    result, client = put(
        {"SuccessfulRequestList": [{"RequestIdentifier": "a", "ContactId": "c-a"}],
         "FailedRequestList": [{"RequestIdentifier": "b", "FailureReasonCode": "INTERNAL_ERROR"}]}
    )
    unknown = [f for f in result.failed if f.request_identifier == "c"]
    assert [(f.code, f.retryable, f.outcome_unknown) for f in unknown] == [
        (FailureCode.UNKNOWN_OUTCOME, False, True)
    ]
    # Only "b" (INTERNAL_ERROR) was sent again; "c" never was.
    resent = [
        [item["RequestIdentifier"] for item in call["ContactDataRequestList"]]
        for call in client.calls[1:]
    ]
    assert resent
    assert all(ids == ["b"] for ids in resent)


def test_an_identifier_nobody_sent_is_ignored_and_logged(caplog):
    caplog.set_level(logging.WARNING, logger="connect_batch")
    result, _ = put(
        {"SuccessfulRequestList": [
            {"RequestIdentifier": rid, "ContactId": f"c-{rid}"} for rid in [*SENT, "stranger"]
        ]}
    )
    assert [s.request_identifier for s in result.succeeded] == SENT
    assert any("not sent" in r.getMessage() for r in caplog.records)
    assert all("stranger" not in r.getMessage() for r in caplog.records)


def test_an_identifier_in_both_lists_is_unknown():
    result, _ = put(
        {"SuccessfulRequestList": [{"RequestIdentifier": rid, "ContactId": "x"} for rid in SENT],
         "FailedRequestList": [{"RequestIdentifier": "a", "FailureReasonCode": "INVALID_QUEUE"}]}
    )
    assert [(f.request_identifier, f.code) for f in result.failed] == [("a", "UNKNOWN_OUTCOME")]
    assert len(result.succeeded) == 2


def test_empty_lists_leave_every_item_unknown():
    result, client = put({"SuccessfulRequestList": [], "FailedRequestList": []})
    assert {f.code for f in result.failed} == {"UNKNOWN_OUTCOME"}
    assert len(result.failed) == 3
    assert len(client.calls) == 1


def test_entries_missing_fields_are_unknown_not_a_crash():
    result, _ = put(
        {"SuccessfulRequestList": [{"RequestIdentifier": "a"}, {"ContactId": "orphan"}],
         "FailedRequestList": [{"RequestIdentifier": "b"}, "garbage", None]}
    )
    assert len(result.failed) == 3
    assert {f.code for f in result.failed} == {"UNKNOWN_OUTCOME"}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5) | st.sampled_from(SENT),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(
        st.sampled_from(
            ["RequestIdentifier", "ContactId", "FailureReasonCode", "FailureReasonMessage", "x"]
        ),
        children,
        max_size=4,
    ),
    max_leaves=12,
)
entries = st.fixed_dictionaries(
    {},
    optional={
        "RequestIdentifier": st.sampled_from([*SENT, "zzz"]) | json_values,
        "ContactId": st.text(max_size=4) | json_values,
        "FailureReasonCode": st.sampled_from(["INVALID_QUEUE", "REQUEST_THROTTLED", ""])
        | json_values,
        "FailureReasonMessage": json_values,
    },
)
responses = st.fixed_dictionaries(
    {},
    optional={
        "SuccessfulRequestList": st.lists(entries | json_values, max_size=6) | json_values,
        "FailedRequestList": st.lists(entries | json_values, max_size=6) | json_values,
    },
) | json_values


@settings(max_examples=300)
@given(responses)
def test_the_parser_never_raises_and_answers_only_what_was_sent(response):
    answer = BatchPutContactOperation("i").read(response, SENT)
    assert set(answer.items) <= set(SENT)
    assert not (set(answer.items) & answer.unclear)
    for item in answer.items.values():
        assert isinstance(item, str) or item.code


@settings(max_examples=150, deadline=None)
@given(responses)
def test_any_answer_settles_every_input_exactly_once(response):
    result, _ = put(response)
    assert sorted(o.position for o in (*result.succeeded, *result.failed)) == [0, 1, 2]
