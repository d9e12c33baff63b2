"""The async clients over real HTTP: aiobotocore and aiohttp against the double in server
mode, every promise checked on the double's ledger."""

from __future__ import annotations

import asyncio
import collections
import gc
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import attrs
import pytest
from aiobotocore.session import get_session

from connect_batch import (
    AdaptiveRateLimiter,
    AsyncContactBatchClient,
    AsyncDialRequestBatchClient,
    AsyncOutboundRequestBatchClient,
    BatchResult,
    CampaignStateError,
    ConfigurationError,
    ContactBatchClient,
    ContactValidationError,
    InputError,
    OutboundRequestBatchClient,
    result_of,
)
from connect_batch._async_client import one_attempt_per_send
from connect_batch.events import CallAnswered, CallSent, RunFinished
from connect_batch.testing import ConnectDouble, Fault, async_no_sleep
from tests.builders import contacts, dials, outbounds

SERVICES = {"v2": "connectcampaignsv2", "v1": "connectcampaigns", "connect": "connect"}


def run(endpoint: str, api: str, use: Callable[[Any], Awaitable[Any]]) -> Any:
    """``await use(aio_client)`` for ``api`` on a fresh event loop."""

    async def main() -> Any:
        async with get_session().create_client(
            SERVICES[api], region_name="us-east-1", endpoint_url=endpoint
        ) as aio:
            return await use(aio)

    return asyncio.run(main())


def client_for(api: str, double: ConnectDouble, aio: Any, **options: Any) -> Any:
    options.setdefault("sleep", async_no_sleep)
    options.setdefault("max_requests_per_second", 1000)
    if api == "v2":
        return AsyncOutboundRequestBatchClient(aio, campaign_id=double.campaign_id, **options)
    if api == "v1":
        return AsyncDialRequestBatchClient(aio, campaign_id=double.v1_campaign_id, **options)
    return AsyncContactBatchClient(aio, instance_id=double.instance_id, **options)


def inputs_for(api: str, n: int, start: int = 0) -> list[Any]:
    return {"v2": outbounds, "v1": dials, "connect": contacts}[api](n, start)


def put(client: Any, items: Any, **kwargs: Any) -> Awaitable[BatchResult[Any]]:
    method = client.put_contacts if isinstance(client, AsyncContactBatchClient) else (
        client.put_requests
    )
    return method(items, **kwargs)  # type: ignore[no-any-return]


def created(api: str, double: ConnectDouble) -> list[str]:
    """Who the service created, by destination (campaigns) or RequestIdentifier."""
    if api == "connect":
        return [c.request_identifier for c in double.contacts]
    return [r.destination for r in double.requests]


def who(api: str, outcome: Any) -> str:
    if api == "connect":
        return str(outcome.request_identifier)
    return str(getattr(outcome.request, "destination", None) or outcome.request.phone_number)


def assert_settled(api: str, double: ConnectDouble, result: BatchResult[Any], count: int) -> None:
    """Each of ``count`` inputs answered once; the ledger agrees with every answer."""
    outcomes = [*result.succeeded, *result.failed]
    assert sorted(o.position for o in outcomes) == list(range(count))
    ledger = collections.Counter(created(api, double))
    assert all(n == 1 for n in ledger.values()), "someone was created twice"
    succeeded = {who(api, s) for s in result.succeeded}
    unknown = {who(api, f) for f in result.failed if f.outcome_unknown}
    assert succeeded <= set(ledger)
    assert set(ledger) <= succeeded | unknown, "created but reported not created"


async def cancel(task: asyncio.Future[Any]) -> tuple[BaseException, float]:
    """Cancel ``task``; the ``CancelledError`` it ends with, and how long that took."""
    started = time.monotonic()
    task.cancel()
    try:
        await task
    except asyncio.CancelledError as cancelled:
        return cancelled, time.monotonic() - started
    raise AssertionError("the run was not cancelled")


async def aiter_of(items: list[Any], pause: float = 0.0) -> AsyncIterator[Any]:
    for item in items:
        if pause:
            await asyncio.sleep(pause)
        yield item


@pytest.mark.parametrize("api", ["v2", "v1", "connect"])
def test_each_api_puts_plain_and_async_iterables(http_connect, moto_server, api):
    async def use(aio: Any) -> tuple[BatchResult[Any], BatchResult[Any]]:
        client = client_for(api, http_connect, aio, concurrency=3)
        first = await put(client, inputs_for(api, 60))
        second = await put(client, aiter_of(inputs_for(api, 40, start=60)))
        return first, second

    first, second = run(moto_server, api, use)
    assert len(first.succeeded) == 60
    assert len(second.succeeded) == 40
    assert sorted(s.position for s in second.succeeded) == list(range(40))
    assert len(created(api, http_connect)) == 100
    ids = {getattr(s, "id", None) or s.contact_id for s in [*first.succeeded, *second.succeeded]}
    assert len(ids) == 100


def test_1000_requests_at_concurrency_8_on_one_loop_without_threads(http_connect, moto_server):
    threads_before = set(threading.enumerate())
    calling_threads: set[int] = set()
    in_flight = 0
    most_in_flight = 0

    def watch(event: object) -> None:
        nonlocal in_flight, most_in_flight
        if isinstance(event, CallSent):
            calling_threads.add(threading.get_ident())
            in_flight += 1
            most_in_flight = max(most_in_flight, in_flight)
        elif isinstance(event, CallAnswered):
            in_flight -= 1

    http_connect.fake_campaigns.latency = 0.02

    async def use(aio: Any) -> BatchResult[Any]:
        client = client_for("v2", http_connect, aio, concurrency=8, subscribers=[watch])
        return await client.put_requests(outbounds(1000))  # type: ignore[no-any-return]

    result = run(moto_server, "v2", use)
    assert len(result.succeeded) == 1000
    assert_settled("v2", http_connect, result, 1000)
    assert calling_threads == {threading.get_ident()}
    assert set(threading.enumerate()) <= threads_before | _server_threads()
    assert 1 < most_in_flight <= 8


def _server_threads() -> set[threading.Thread]:
    """The loopback server's own threads (it answers requests on threads of its own)."""
    return {t for t in threading.enumerate() if t.daemon and "connect_batch" not in t.name}


@pytest.mark.parametrize("api", ["v2", "connect"])
def test_a_job_key_sends_the_same_tokens_sync_and_async(http_connect, moto_server, api):
    """A run started sync can be finished async: under one job key both send the same
    tokens, so the service replays what the first created."""
    inputs = inputs_for(api, 60)
    if api == "v2":
        sync_client: Any = OutboundRequestBatchClient(
            http_connect.campaigns, campaign_id=http_connect.campaign_id,
            job_key="job-7", max_requests_per_second=1000,
        )
        sync_result = sync_client.put_requests(inputs)
    else:
        sync_client = ContactBatchClient(
            http_connect.client, instance_id=http_connect.instance_id, job_key="job-7",
            max_requests_per_second=1000,
        )
        sync_result = sync_client.put_contacts(inputs)
    calls_before = len(_calls(api, http_connect))

    async def use(aio: Any) -> BatchResult[Any]:
        return await put(client_for(api, http_connect, aio, job_key="job-7"), inputs)

    async_result = run(moto_server, api, use)
    assert len(created(api, http_connect)) == 60, "the async rerun created something again"
    sync_ids = {s.position: getattr(s, "id", None) or s.contact_id for s in sync_result.succeeded}
    async_ids = {s.position: getattr(s, "id", None) or s.contact_id for s in async_result.succeeded}
    assert sync_ids == async_ids
    calls = _calls(api, http_connect)
    assert [_tokens(c) for c in calls[:calls_before]] == [_tokens(c) for c in calls[calls_before:]]


def _calls(api: str, double: ConnectDouble) -> list[Any]:
    if api == "connect":
        return double.calls
    return [c for c in double.fake_campaigns.calls if c.campaign_id == double.campaign_id]


def _tokens(call: Any) -> tuple[str, ...]:
    return tuple(getattr(call, "client_tokens", None) or (call.client_token,))


@pytest.mark.parametrize("api", ["v2", "connect"])
def test_cancelling_mid_run_answers_every_consumed_input(http_connect, moto_server, api):
    if api == "connect":
        http_connect.fake.latency = 0.1
    else:
        http_connect.fake_campaigns.latency = 0.1
    consumed = 0

    async def counted(items: list[Any]) -> AsyncIterator[Any]:
        nonlocal consumed
        for item in items:
            consumed += 1
            yield item

    async def use(aio: Any) -> BaseException:
        client = client_for(api, http_connect, aio, concurrency=2)
        task = asyncio.ensure_future(put(client, counted(inputs_for(api, 500))))
        await asyncio.sleep(0.45)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError as cancelled:
            return cancelled
        raise AssertionError("the run was not cancelled")

    cancelled = run(moto_server, api, use)
    result = result_of(cancelled)
    assert result is not None
    assert 0 < consumed < 500
    calls_after = len(_calls(api, http_connect))
    assert_settled(api, http_connect, result, consumed)
    assert result.succeeded, "the calls in flight were not waited for"
    # Nothing was sent after the run stopped.
    time.sleep(0.3)
    assert len(_calls(api, http_connect)) == calls_after


def test_a_second_cancellation_stops_waiting_for_calls_in_flight(http_connect, moto_server):
    http_connect.fake_campaigns.latency = 3.0

    async def use(aio: Any) -> tuple[BaseException, float]:
        client = client_for("v2", http_connect, aio, concurrency=2)
        task = asyncio.ensure_future(client.put_requests(outbounds(100)))
        await asyncio.sleep(0.3)
        task.cancel()
        await asyncio.sleep(0.2)
        return await cancel(task)

    cancelled, waited = run(moto_server, "v2", use)
    result: BatchResult[Any] = cancelled.result  # type: ignore[attr-defined]
    assert waited < 1.0
    assert sorted(f.position for f in result.failed) == list(range(100))
    in_flight = [f for f in result.failed if f.position < 50]
    assert all(f.code == "INTERRUPTED" and f.outcome_unknown for f in in_flight)
    never_sent = [f for f in result.failed if f.position >= 50]
    assert all(f.code == "NOT_SENT" and not f.outcome_unknown for f in never_sent)


def test_iter_put_requests_yields_each_outcome_and_aclose_keeps_the_rest(
    http_connect, moto_server
):
    http_connect.fake_campaigns.latency = 0.05

    async def use(aio: Any) -> tuple[list[Any], BatchResult[Any]]:
        client = client_for("v1", http_connect, aio, concurrency=2)
        seen: list[Any] = []
        async with client.iter_put_requests(aiter_of(dials(200))) as stream:
            async for outcome in stream:
                seen.append(outcome)
                if len(seen) == 30:
                    break
        return seen, stream.rest

    seen, rest = run(moto_server, "v1", use)
    everything = BatchResult.from_outcomes([*seen, *rest.succeeded, *rest.failed])
    answered = len(everything.succeeded) + len(everything.failed)
    assert 30 < answered < 200  # what was read and in flight, no more
    assert sorted(o.position for o in [*seen, *rest.succeeded, *rest.failed]) == list(
        range(answered)
    )
    assert sorted(created("v1", http_connect)) == sorted(
        who("v1", s) for s in everything.succeeded
    )


def test_batcher_sends_every_25_and_the_rest_on_exit(http_connect, moto_server):
    async def use(aio: Any) -> Any:
        client = client_for("v2", http_connect, aio)
        async with client.batcher() as b:
            for request in outbounds(60):
                await b.put(request)
        return b

    b = run(moto_server, "v2", use)
    assert len(b.result.succeeded) == 60
    assert [len(c.client_tokens) for c in _calls("v2", http_connect)] == [25, 25, 10]


def test_a_batcher_block_that_raises_sends_nothing_more(http_connect, moto_server):
    async def use(aio: Any) -> Any:
        client = client_for("v2", http_connect, aio)
        b = client.batcher()

        async def produce() -> None:
            async with b:
                for request in outbounds(40):
                    await b.put(request)
                raise RuntimeError("the producer failed")

        with pytest.raises(RuntimeError):
            await produce()
        return b

    b = run(moto_server, "v2", use)
    assert len(b.result.succeeded) == 25
    assert len(b.unsent) == 15
    assert len(created("v2", http_connect)) == 25


def test_bad_input_in_a_list_stops_the_run_before_anything_is_sent(http_connect, moto_server):
    async def use(aio: Any) -> None:
        client = client_for("v2", http_connect, aio)
        with pytest.raises(ContactValidationError) as raised:
            await client.put_requests([*outbounds(30), "not a request"])
        assert raised.value.position == 30

    run(moto_server, "v2", use)
    assert _calls("v2", http_connect) == []


def test_an_async_iterable_that_raises_stops_the_run_with_what_was_done(
    http_connect, moto_server
):
    async def broken() -> AsyncIterator[Any]:
        for request in outbounds(30):
            yield request
        raise OSError("the queue went away")

    async def use(aio: Any) -> InputError:
        client = client_for("v2", http_connect, aio)
        with pytest.raises(InputError) as raised:
            await client.put_requests(broken())
        return raised.value

    error = run(moto_server, "v2", use)
    assert len(error.result.succeeded) == 25
    assert [f.code for f in error.result.failed] == ["NOT_SENT"] * 5
    assert not any(f.outcome_unknown for f in error.result.failed)
    assert len(created("v2", http_connect)) == 25


def test_a_deadline_answers_what_it_leaves_unsent(http_connect, moto_server):
    http_connect.fake_campaigns.latency = 0.3

    async def use(aio: Any) -> BatchResult[Any]:
        client = client_for("v2", http_connect, aio, deadline=0.5)
        return await client.put_requests(outbounds(100))  # type: ignore[no-any-return]

    result = run(moto_server, "v2", use)
    assert_settled("v2", http_connect, result, 100)
    assert {f.code for f in result.failed} == {"DEADLINE_EXCEEDED"}
    assert 0 < len(result.succeeded) < 100


def test_a_paused_campaign_stops_the_run(http_connect, moto_server):
    http_connect.fake_campaigns.set_campaign_state(http_connect.campaign_id, "Paused")

    async def use(aio: Any) -> None:
        with pytest.raises(CampaignStateError) as raised:
            await client_for("v2", http_connect, aio).put_requests(outbounds(30))
        assert raised.value.state == "Paused"
        codes = collections.Counter(f.code for f in raised.value.result.failed)
        assert codes == {"InvalidCampaignStateException": 25, "NOT_SENT": 5}

    run(moto_server, "v2", use)


def test_retries_back_off_and_publish_events(http_connect, moto_server):
    http_connect.fake_campaigns.plan(Fault.throttle(), Fault.error(), None)
    events: list[object] = []

    async def use(aio: Any) -> BatchResult[Any]:
        client = client_for("v2", http_connect, aio, subscribers=[events.append])
        return await client.put_requests(outbounds(10))  # type: ignore[no-any-return]

    result = run(moto_server, "v2", use)
    assert len(result.succeeded) == 10
    assert [type(e).__name__ for e in events].count("CallSent") == 3
    finished = [e for e in events if isinstance(e, RunFinished)]
    assert len(finished) == 1
    assert finished[0].counts == {"CREATED": 10}


def test_an_unknown_option_is_refused():
    with pytest.raises(ConfigurationError, match="max_attempt"):
        AsyncOutboundRequestBatchClient(object(), campaign_id="c", max_attempt=3)  # type: ignore[call-arg]


def test_the_adaptive_limiter_paces_async_calls_without_blocking_the_loop():
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    now = [0.0]
    # headroom=1: exactly the rate given (the default paces 2% under it).
    limiter = AdaptiveRateLimiter(
        max_rate=10, headroom=1, clock=lambda: now[0], async_sleep=record
    )

    async def acquire_five() -> list[int | None]:
        return [await limiter.acquire_async() for _ in range(5)]

    assert asyncio.run(acquire_five()) == [0] * 5
    assert waits == pytest.approx([0.1, 0.2, 0.3, 0.4])
    assert asyncio.run(limiter.acquire_async(max_wait=0.2)) is None


def test_aiohttp_does_not_resend_a_call_by_itself(http_connect, moto_server):
    """aiohttp resends a PUT once when its connection breaks; with one attempt allowed, the
    service must see one attempt."""
    http_connect.fake_campaigns.plan(Fault.dropped())

    async def use(aio: Any) -> BatchResult[Any]:
        client = client_for("v2", http_connect, aio, max_attempts=1)
        return await client.put_requests(outbounds(5))  # type: ignore[no-any-return]

    result = run(moto_server, "v2", use)
    assert len(_calls("v2", http_connect)) == 1
    assert all(f.outcome_unknown for f in result.failed)
    assert len(result.failed) == 5


def test_turning_off_resends_leaves_unknown_transports_alone():
    assert one_attempt_per_send(object()) is False


# Found by an adversarial review.
def test_a_cancellation_while_a_stream_closes_loses_no_outcome(http_connect, moto_server):
    """aclose() is the first stop: a cancellation while it waits stops the wait, and every
    outcome not yielded is still in ``rest`` and in the cancellation's ``result``."""
    http_connect.fake_campaigns.plan(None, Fault.slow(1.0), Fault.slow(1.0), Fault.slow(1.0))

    async def use(aio: Any) -> tuple[Any, BaseException, BatchResult[Any]]:
        client = client_for("v2", http_connect, aio, concurrency=4)
        stream = client.iter_put_requests(outbounds(300))
        first = await stream.__anext__()
        closer = asyncio.ensure_future(stream.aclose())
        await asyncio.sleep(0.05)
        closer.cancel()
        try:
            await closer
        except asyncio.CancelledError as cancelled:
            await asyncio.sleep(1.2)  # let the slow calls land on the service
            return first, cancelled, stream.rest
        raise AssertionError("aclose() was not cancelled")

    first, cancelled, rest = run(moto_server, "v2", use)
    assert cancelled.result is rest  # type: ignore[attr-defined]
    everything = BatchResult.from_outcomes([first, *rest.succeeded, *rest.failed])
    assert_settled("v2", http_connect, everything, 300)
    in_flight = [f for f in rest.failed if f.code == "INTERRUPTED"]
    assert len(in_flight) == 75
    assert all(f.outcome_unknown for f in in_flight)
    assert len(created("v2", http_connect)) == 100  # the slow calls did create theirs


def test_a_cancelled_run_does_not_wait_for_rate_slots_it_will_not_use(http_connect, moto_server):
    async def use(aio: Any) -> tuple[BaseException, float]:
        client = client_for(
            "v2", http_connect, aio, concurrency=8, max_requests_per_second=1, sleep=asyncio.sleep
        )
        task = asyncio.ensure_future(client.put_requests(outbounds(200)))
        await asyncio.sleep(0.3)
        return await cancel(task)

    cancelled, waited = run(moto_server, "v2", use)
    assert waited < 1.0
    assert_settled("v2", http_connect, cancelled.result, 200)  # type: ignore[attr-defined]
    assert len(created("v2", http_connect)) == 25  # one slot came before the cancellation


def test_the_fake_connect_server_fixture_serves_an_async_worker(fake_connect_server):
    """What docs/async.md shows a user: the plugin's fixture, aiobotocore, the ledger."""

    async def worker() -> BatchResult[Any]:
        async with get_session().create_client(
            "connectcampaignsv2", region_name="us-east-1",
            endpoint_url=fake_connect_server.endpoint_url,
        ) as aio:
            client = AsyncOutboundRequestBatchClient(
                aio, campaign_id=fake_connect_server.campaign_id, sleep=async_no_sleep
            )
            return await client.put_requests(outbounds(30))  # type: ignore[no-any-return]

    result = asyncio.run(worker())
    assert len(fake_connect_server.requests) == len(result.succeeded) == 30


def test_the_in_process_double_has_no_endpoint(fake_connect):
    assert fake_connect.endpoint_url is None


def test_the_server_sends_one_server_header(http_connect):
    """aiohttp refuses a repeated Server header where it parses strictly (asyncio debug
    mode, -X dev): werkzeug's and moto's used to come together."""
    seen: list[list[str]] = []

    def count(http_response: Any, **_: Any) -> None:
        seen.append(http_response.raw.headers.getlist("Server"))

    campaigns = http_connect.campaigns
    campaigns.meta.events.register("after-call.connectcampaignsv2.*", count)
    http_connect.outbound_client().put_requests(outbounds(3))
    assert seen == [["amazon.com"]]


def test_the_fake_connect_server_fixture_forgets_what_an_earlier_test_planned_1(
    fake_connect_server,
):
    fake_connect_server.fake_campaigns.throttle(rate=0, burst=0)  # every call throttled
    fake_connect_server.outbound_client(max_attempts=1).put_requests(outbounds(5))
    assert fake_connect_server.requests == []


def test_the_fake_connect_server_fixture_forgets_what_an_earlier_test_planned_2(
    fake_connect_server,
):
    """Runs after the test above (file order): a fresh fixture starts from a clean world."""
    assert fake_connect_server.fake_campaigns.requests == []
    result = fake_connect_server.outbound_client(max_attempts=1).put_requests(outbounds(5))
    assert len(result.succeeded) == 5


def test_batches_never_started_when_the_run_stops_are_answered_once(http_connect, moto_server):
    """An async iterable that raises SystemExit at once (no await in between) stops the run
    before the batches it already handed over have started: each is answered once, not
    sent, known not created."""

    async def then_exit() -> AsyncIterator[Any]:
        for request in outbounds(60):
            yield request
        raise SystemExit(3)

    async def use(aio: Any) -> BaseException:
        client = client_for("v2", http_connect, aio, concurrency=4)
        with pytest.raises(SystemExit) as stopped:
            await client.put_requests(then_exit())
        return stopped.value

    stopped = run(moto_server, "v2", use)
    result: BatchResult[Any] = stopped.result  # type: ignore[attr-defined]
    assert sorted(f.position for f in result.failed) == list(range(60))
    assert not result.succeeded
    assert not any(f.outcome_unknown for f in result.failed)
    assert _calls("v2", http_connect) == []


def test_an_async_stream_dropped_unfinished_says_so_and_one_closed_does_not(
    http_connect, moto_server, caplog
):
    async def use(aio: Any) -> None:
        client = client_for("v2", http_connect, aio, concurrency=2)
        dropped = client.iter_put_requests(outbounds(100))
        await dropped.__anext__()
        del dropped  # no async with, no aclose(): what was not yielded is lost
        gc.collect()
        closed = client.iter_put_requests(outbounds(100, 100))
        await closed.__anext__()
        await closed.aclose()
        del closed
        gc.collect()

    run(moto_server, "v2", use)
    dropped = [r for r in caplog.records if "dropped before it ended" in r.getMessage()]
    assert len(dropped) == 1


def test_a_batcher_stopped_by_the_service_counts_other_tasks_answers(http_connect, moto_server):
    """Found by review: the block's last call is refused (the campaign paused) while another
    task's call is in flight, its answer late. The block waits for it and its answer
    counts, instead of reporting those inputs unknown."""
    http_connect.fake_campaigns.plan(Fault.slow(1.0))  # the first call: created, late

    async def use(aio: Any) -> tuple[Any, BaseException]:
        client = client_for("v2", http_connect, aio)
        b = client.batcher()

        async def producer() -> None:
            for request in outbounds(25):
                await b.put(request)

        async def block() -> None:
            async with b:
                task = asyncio.ensure_future(producer())
                while not http_connect.requests:
                    await asyncio.sleep(0.01)  # its call reached the service
                http_connect.fake_campaigns.set_campaign_state(http_connect.campaign_id, "Paused")
                for request in outbounds(5, 100):
                    await b.put(request)
            await task

        with pytest.raises(CampaignStateError) as stopped:
            await block()
        return b, stopped.value

    b, stopped = run(moto_server, "v2", use)
    assert len(b.result.succeeded) == 25
    assert {f.code for f in b.result.failed} == {"InvalidCampaignStateException"}
    assert len(b.result.failed) == 5
    assert stopped.result.counts() == b.result.counts()  # type: ignore[attr-defined]
    assert len(http_connect.requests) == 25


def test_result_of_reads_what_an_exception_carries():
    assert result_of(KeyboardInterrupt()) is None
    error = RuntimeError("yours")
    error.result = "not a result"  # type: ignore[attr-defined]
    assert result_of(error) is None


class ClockPerCall:
    """A clock that moves 10 s per campaigns call the double answers (a fake clock)."""

    def __init__(self, double: ConnectDouble) -> None:
        self.double = double

    def __call__(self) -> float:
        return 1000.0 + 10 * len(self.double.fake_campaigns.calls)


@pytest.mark.parametrize("shape", ["list", "iterator", "async iterator"])
def test_a_call_deadline_returns_what_it_read_for_any_input(http_connect, moto_server, shape):
    """One behaviour, async as sync: a deadline given to the call ends it without an error;
    a list's unread requests are answered, an iterator's are left in it."""
    items = outbounds(100)
    source: Any = {
        "list": items, "iterator": iter(items), "async iterator": aiter_of(items)
    }[shape]

    async def use(aio: Any) -> tuple[BatchResult[Any], list[Any]]:
        client = client_for("v2", http_connect, aio, job_key="lambda/run-1", deadline=1000)
        client.policy = attrs.evolve(client.policy, clock=ClockPerCall(http_connect))
        result = await client.put_requests(source, deadline=15)  # 2 calls of 10 s
        left = [] if shape == "list" else (
            list(source) if shape == "iterator" else [r async for r in source]
        )
        return result, left

    result, left = run(moto_server, "v2", use)
    assert len(http_connect.requests) == 50
    assert len(result.succeeded) == 50
    if shape == "list":
        assert [f.position for f in result.failed] == list(range(50, 100))
        assert {f.code for f in result.failed} == {"DEADLINE_EXCEEDED"}
        # Under a job key a request not sent may have been sent by an earlier run.
        assert all(f.outcome_unknown and f.retryable for f in result.failed)
        assert left == []
    else:
        assert result.failed == ()
        assert left == items[50:]
    assert_settled("v2", http_connect, result, len(result))
