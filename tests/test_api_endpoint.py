"""The FastAPI endpoint of ``examples/api_endpoint.py`` over the campaigns double: what a
caller's POST and its retries create, checked on the double's ledger."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient

from connect_batch.testing import Fault
from examples.api_endpoint import create_app
from tests.faults.campaign_harness import campaign


def body(count: int, start: int = 0) -> dict[str, Any]:
    return {"requests": [
        {"key": f"crm-{i}", "phone": f"+1415555{i:04d}", "attributes": {"order": f"o-{i}"}}
        for i in range(start, start + count)
    ]}


def post(http: TestClient, sent: dict[str, Any], key: str) -> httpx2.Response:
    return http.post("/outbound-requests", json=sent, headers={"Idempotency-Key": key})


@pytest.fixture
def v2_app(moto_server):
    target = campaign("v2", moto_server)
    target.fake.reset_faults()
    app = create_app(target.campaign_id, endpoint_url=moto_server, concurrency=4,
                     max_attempts=3)
    with TestClient(app) as http:
        yield target, http
    target.fake.reset_faults()


def test_a_post_creates_each_request_once_and_its_retry_replays(v2_app):
    target, http = v2_app
    first = post(http, body(60), "order-batch-0001")
    assert first.status_code == 200, first.text
    ids = {r.client_token: r.id for r in target.requests}
    assert len(ids) == 60
    outcomes = first.json()["outcomes"]
    assert [o["key"] for o in outcomes] == [f"crm-{i}" for i in range(60)]
    assert {o["id"] for o in outcomes} == set(ids.values())
    # The caller's retry (its first answer timed out), reordered: nobody contacted twice.
    again = body(60)
    again["requests"].reverse()
    second = post(http, again, "order-batch-0001")
    assert second.status_code == 200, second.text
    assert len(target.requests) == 60
    by_key = {o["key"]: o["id"] for o in outcomes}
    assert all(by_key[o["key"]] == o["id"] for o in second.json()["outcomes"])


def test_lost_answers_are_a_503_and_the_same_post_settles_them(v2_app):
    target, http = v2_app
    target.fake.fail_calls(3, Fault.dropped())  # created, then every answer lost: 3 attempts
    lost = post(http, body(25), "order-batch-0002")
    assert lost.status_code == 503, lost.text
    assert lost.headers["Retry-After"] == "5"
    assert {o["status"] for o in lost.json()["outcomes"]} == {"unknown"}
    assert len(target.requests) == 25  # they were created: unknown, not failed
    settled = post(http, body(25), "order-batch-0002")
    assert settled.status_code == 200, settled.text
    assert len(target.requests) == 25
    assert {o["id"] for o in settled.json()["outcomes"]} == {r.id for r in target.requests}


def test_an_invalid_request_is_a_422_naming_its_position_and_nothing_is_sent(v2_app):
    target, http = v2_app
    sent = body(30)
    sent["requests"][17]["phone"] = "0113 496 0000"  # national: no + and no region
    answer = post(http, sent, "order-batch-0003")
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"]
    assert detail["position"] == 17
    assert detail["field"] == "phone"
    assert "0113" not in answer.text
    assert target.requests == []


def test_a_paused_campaign_is_a_409(v2_app):
    target, http = v2_app
    target.fake.set_campaign_state(target.campaign_id, "Paused")
    answer = post(http, body(5), "order-batch-0004")
    assert answer.status_code == 409, answer.text
    assert "Paused" in answer.json()["detail"]
    assert target.requests == []


def test_a_body_of_the_wrong_shape_is_a_422_that_echoes_no_value(v2_app):
    target, http = v2_app
    sent = body(3)
    sent["requests"][1]["phone"] = 14155550123  # a number, not text
    sent["requests"][2]["attributes"] = {"note": ["Ann Smith, 12 Main St"]}
    answer = post(http, sent, "order-batch-0005")
    assert answer.status_code == 422, answer.text
    where = [e["loc"] for e in answer.json()["detail"]]
    assert ["body", "requests", 1, "phone"] in where
    assert "14155550123" not in answer.text
    assert "Main St" not in answer.text
    assert target.requests == []
