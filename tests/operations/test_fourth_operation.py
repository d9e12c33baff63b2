"""A fourth 25-item API, run through the generic clients against the double over HTTP.

``tests/operations/things.py`` defines "PutThingBatch" (and a per-call-token twin) in the
test suite alone; ``connect_batch.testing.add_route`` serves it with the double's ledger and
fault model. Real boto3 and aiobotocore clients speak HTTP on loopback to a moto server.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from connect_batch import BatchResult
from connect_batch.operations import AsyncOperationClient, Idempotency, OperationClient
from connect_batch.testing import (
    FakeBatch,
    Fault,
    add_route,
    async_no_sleep,
    moto_server,
    no_sleep,
)
from tests.operations.things import (
    GROUP,
    ROUTES,
    SERVICE,
    Thing,
    ThingOperation,
    aio_session,
    botocore_session,
)

KINDS = [Idempotency.PER_ITEM, Idempotency.PER_CALL]
MAX_ATTEMPTS = 5
OPTIONS: dict[str, Any] = {"max_requests_per_second": 1000, "max_attempts": MAX_ATTEMPTS}


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    """A moto server of its own, started after the routes are added (moto builds a
    service's routes on its first request)."""
    for route in ROUTES.values():
        add_route(route)
    with moto_server() as url:
        yield url


@pytest.fixture
def fake(request: pytest.FixtureRequest, endpoint: str) -> Iterator[FakeBatch]:
    del endpoint
    kind: Idempotency = request.param
    state = FakeBatch.of(ROUTES[kind])
    state.reset_faults()
    state.created.clear()
    state.calls.clear()
    yield state
    assert state.wait_idle(30)


def things(count: int, *, keyed: bool = True) -> list[Thing]:
    # Fresh keys and names per test: the route's service remembers tokens across tests.
    _RUNS.append(len(_RUNS))
    run = _RUNS[-1]
    return [
        Thing(name=f"thing {run}-{n}", key=f"k-{run}-{n}" if keyed else None)
        for n in range(count)
    ]


def key(index: int) -> str:
    """The key ``things`` gave the last run's input ``index``."""
    return f"k-{_last_run()}-{index}"


_RUNS: list[int] = []


def _last_run() -> int:
    return _RUNS[-1]


def put(endpoint: str, kind: Idempotency, items: list[Thing], **options: Any) -> BatchResult[Thing]:
    boto = botocore_session().create_client(SERVICE, region_name="us-east-1", endpoint_url=endpoint)
    job_key = options.pop("job_key", None)
    deadline = options.pop("call_deadline", None)
    client = OperationClient(
        boto, ThingOperation(GROUP, kind), item_type=Thing, sleep=no_sleep, **OPTIONS, **options
    )
    return client.put(items, job_key=job_key, deadline=deadline)


def aput(
    endpoint: str, kind: Idempotency, items: list[Thing], **options: Any
) -> BatchResult[Thing]:
    async def main() -> BatchResult[Thing]:
        async with aio_session().create_client(
            SERVICE, region_name="us-east-1", endpoint_url=endpoint
        ) as aio:
            job_key = options.pop("job_key", None)
            deadline = options.pop("call_deadline", None)
            client = AsyncOperationClient(
                aio, ThingOperation(GROUP, kind), item_type=Thing, sleep=async_no_sleep,
                **OPTIONS, **options,
            )  # fmt: skip
            return await client.put(items, job_key=job_key, deadline=deadline)

    return asyncio.run(main())


RUNNERS = {"sync": put, "async": aput}


def check(fake: FakeBatch, items: list[Thing], result: BatchResult[Thing]) -> None:
    """The invariants of the fault matrix (tests/faults/harness.py), on this ledger."""
    positions = sorted(o.position for o in (*result.succeeded, *result.failed))
    assert positions == list(range(len(items))), "an input answered zero or several times"
    assert fake.duplicates() == {}
    created = {c.id for c in fake.created}
    assert {s.id for s in result.succeeded} <= created, "a success the service never created"
    unknown = [f for f in result.failed if f.outcome_unknown]
    assert len(created) == len(result.succeeded) + len(unknown) or unknown
    assert len(created) >= len(result.succeeded)
    assert max(fake.attempts_by_token().values(), default=0) <= MAX_ATTEMPTS


@pytest.mark.parametrize("fake", KINDS, indirect=True, ids=lambda k: k.value)
@pytest.mark.parametrize("mode", RUNNERS)
def test_every_item_created_once(fake: FakeBatch, endpoint: str, mode: str) -> None:
    kind = Idempotency.PER_CALL if fake.route.token else Idempotency.PER_ITEM
    items = things(60)
    result = RUNNERS[mode](endpoint, kind, items)
    assert len(result.succeeded) == 60
    assert result.failed == ()
    assert len(fake.created) == 60
    assert {c.path["GroupId"] for c in fake.created} == {GROUP}
    assert len(fake.calls) == 3  # 25 + 25 + 10
    check(fake, items, result)


@pytest.mark.parametrize("fake", KINDS, indirect=True, ids=lambda k: k.value)
@pytest.mark.parametrize("mode", RUNNERS)
def test_a_spent_call_deadline_answers_everything_and_sends_nothing(
    fake: FakeBatch, endpoint: str, mode: str
) -> None:
    """``deadline=`` per call on the generic clients: over the client's (none here), and a
    budget already spent sends nothing; the list is answered, the call does not raise."""
    kind = Idempotency.PER_CALL if fake.route.token else Idempotency.PER_ITEM
    items = things(30)
    result = RUNNERS[mode](endpoint, kind, items, call_deadline=-1.0, deadline=60)
    assert [f.code for f in result.failed] == ["DEADLINE_EXCEEDED"] * 30
    assert fake.calls == []
    assert fake.created == []


@pytest.mark.parametrize("fake", KINDS, indirect=True, ids=lambda k: k.value)
@pytest.mark.parametrize("mode", RUNNERS)
def test_per_item_failures(fake: FakeBatch, endpoint: str, mode: str) -> None:
    kind = Idempotency.PER_CALL if fake.route.token else Idempotency.PER_ITEM
    items = things(5)
    fake.fail_items({key(1): "InvalidThing", key(2): "RequestThrottled"})
    result = RUNNERS[mode](endpoint, kind, items)
    failed = [(f.position, f.code, f.retryable) for f in result.failed]
    assert failed == [(1, "InvalidThing", False)]
    assert sorted(s.position for s in result.succeeded) == [0, 2, 3, 4]
    assert len(fake.created_for(key(2))) == 1
    assert fake.created_for(key(1)) == []
    check(fake, items, result)


FAULTS = {
    "throttle": Fault.throttle(),
    "error": Fault.error(),
    "error_after_commit": Fault.error(after_commit=True),
    "dropped": Fault.dropped(),
    "reset": Fault.reset(),
    "garbled": Fault.garbled(),
    "truncated": Fault.truncated(),
}


@pytest.mark.parametrize("fake", KINDS, indirect=True, ids=lambda k: k.value)
@pytest.mark.parametrize("mode", RUNNERS)
@pytest.mark.parametrize("fault", FAULTS)
def test_fault_matrix(fake: FakeBatch, endpoint: str, mode: str, fault: str) -> None:
    """Each whole-call fault, twice in a row, on the first call: every item created once,
    under the same token(s), and answered once."""
    kind = Idempotency.PER_CALL if fake.route.token else Idempotency.PER_ITEM
    fake.plan(FAULTS[fault], FAULTS[fault])
    items = things(30, keyed=False)
    result = RUNNERS[mode](endpoint, kind, items)
    assert len(result.succeeded) == 30, [f.code for f in result.failed]
    assert len(fake.created) == 30
    check(fake, items, result)


@pytest.mark.parametrize("fake", KINDS, indirect=True, ids=lambda k: k.value)
@pytest.mark.parametrize("mode", RUNNERS)
def test_job_key_rerun_replays(fake: FakeBatch, endpoint: str, mode: str) -> None:
    """Run the same job twice: the second run is answered with the first run's ids and the
    service creates nothing new (the double's ledger says so)."""
    kind = Idempotency.PER_CALL if fake.route.token else Idempotency.PER_ITEM
    items = things(40, keyed=False)
    job = f"job-{_last_run()}"  # a job key names one input: a new one per test
    first = RUNNERS[mode](endpoint, kind, items, job_key=job)
    fake.plan(Fault.error(after_commit=True))
    second = RUNNERS[mode](endpoint, kind, items, job_key=job)
    assert len(first.succeeded) == len(second.succeeded) == 40
    assert len(fake.created) == 40
    ids = {s.position: s.id for s in first.succeeded}
    assert {s.position: s.id for s in second.succeeded} == ids
    check(fake, items, second)


@pytest.mark.parametrize("fake", [Idempotency.PER_ITEM], indirect=True, ids=["per_item"])
def test_capacity_answers_then_created(fake: FakeBatch, endpoint: str) -> None:
    fake.plan(Fault.items_failed("Busy"))
    items = things(3)
    result = put(endpoint, Idempotency.PER_ITEM, items)
    assert len(result.succeeded) == 3
    check(fake, items, result)

