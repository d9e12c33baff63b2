"""The OpenTelemetry subscriber against OpenTelemetry's in-memory exporters: names, counts
and attributes, for a run with planned faults over real HTTP."""

from __future__ import annotations

import asyncio
import collections

import pytest
from aiobotocore.session import get_session
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from connect_batch import AccessDeniedError, AsyncOutboundRequestBatchClient
from connect_batch.events import BatchSettled, PaceChanged, RunFinished
from connect_batch.otel import OpenTelemetrySubscriber
from connect_batch.testing import Fault, async_no_sleep
from tests.builders import contacts, outbound, outbounds


@pytest.fixture
def telemetry():
    reader = InMemoryMetricReader()
    spans = InMemorySpanExporter()
    tracing = TracerProvider()
    tracing.add_span_processor(SimpleSpanProcessor(spans))
    subscriber = OpenTelemetrySubscriber(
        meter_provider=MeterProvider(metric_readers=[reader]), tracer_provider=tracing
    )
    return subscriber, reader, spans


def points(reader: InMemoryMetricReader) -> dict[str, list]:
    """Every data point recorded, by instrument name."""
    found: dict[str, list] = collections.defaultdict(list)
    data = reader.get_metrics_data()
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            assert scope.scope.name == "connect_batch"
            for metric in scope.metrics:
                found[metric.name].extend(metric.data.data_points)
    return found


def test_calls_retries_items_and_runs_are_counted_with_their_attributes(
    http_connect, telemetry
):
    subscriber, reader, spans = telemetry
    http_connect.fake.plan(Fault.throttle(), Fault.throttle(), None, Fault.error(503, "X"))
    client = http_connect.batch_client(subscribers=[subscriber], max_attempts=2)
    result = client.put_contacts(contacts(75))
    found = points(reader)
    calls = {
        (p.attributes["http.status_code"], p.attributes["error.code"],
         p.attributes["throttled"]): p.value
        for p in found["connect_batch.calls"]
    }
    assert calls == {
        ("429", "LimitExceededException", True): 2,
        ("503", "X", False): 1,
        ("200", "OK", False): 2,
    }
    assert sum(calls.values()) == len(http_connect.calls)
    retries = {p.attributes["error.code"]: p.value for p in found["connect_batch.retries"]}
    # The first batch's two throttles: one retried, one ran out of attempts; the 503 retried.
    assert retries == {"LimitExceededException": 1, "X": 1}
    items = {p.attributes["outcome"]: p.value for p in found["connect_batch.items"]}
    assert items == {
        "CREATED": len(result.succeeded),
        **collections.Counter(str(f.code) for f in result.failed),
    }
    # The figures docs/observability.md shows for this run.
    assert items == {"CREATED": 50, "LimitExceededException": 25}
    assert {(f.retryable, f.outcome_unknown) for f in result.failed} == {(True, False)}
    (duration,) = found["connect_batch.call.duration"][:1]
    assert sum(p.count for p in found["connect_batch.call.duration"]) == 5
    assert duration.attributes["operation"] == "BatchPutContact"
    (run,) = found["connect_batch.run.duration"]
    assert run.count == 1
    assert run.attributes == {"operation": "BatchPutContact", "stopped": "none"}
    (goodput,) = found["connect_batch.run.goodput"]
    assert goodput.sum > 0
    (pace,) = found["connect_batch.pace"]
    assert pace.value == client.rate_limiter.rate < 10  # the throttles slowed it from 10/s

    finished = spans.get_finished_spans()
    assert len(finished) == 5
    assert {s.name for s in finished} == {"connect_batch BatchPutContact"}
    failed = [s for s in finished if s.status.status_code is StatusCode.ERROR]
    assert len(failed) == 3
    assert {s.attributes["connect_batch.error_code"] for s in failed} == {
        "LimitExceededException", "X"
    }
    assert all(s.attributes["connect_batch.items"] == 25 for s in finished)


def test_capacity_resubmissions_are_counted_for_the_campaign_apis(http_connect, telemetry):
    subscriber, reader, _spans = telemetry
    requests = [outbound(i, client_token=f"t-{i}") for i in range(5)]
    http_connect.fake_campaigns.fail_items({"t-1": "RequestThrottled", "t-2": "RequestThrottled"})
    http_connect.outbound_client(subscribers=[subscriber]).put_requests(requests)
    found = points(reader)
    (resubmitted,) = found["connect_batch.items.resubmitted"]
    assert resubmitted.value == 2
    assert resubmitted.attributes == {"operation": "PutOutboundRequestBatch", "capacity": True}
    throttled = [p for p in found["connect_batch.calls"] if p.attributes["throttled"]]
    assert sum(p.value for p in throttled) == 1  # the answer that refused them


def test_no_attribute_or_span_holds_personal_data(http_connect, telemetry):
    subscriber, reader, spans = telemetry
    people = contacts(30)
    http_connect.fake.plan(Fault.throttle())
    http_connect.batch_client(subscribers=[subscriber]).put_contacts(people)
    text = repr(reader.get_metrics_data().to_json()) + "".join(
        s.to_json() for s in spans.get_finished_spans()
    )
    assert "BatchPutContact" in text
    for person in people:
        assert person.customer_endpoint.address not in text
        assert person.attributes["customer_name"] not in text


def test_concurrent_async_runs_on_one_loop_each_end_their_own_spans(telemetry, http_connect,
                                                                      moto_server):
    """Two runs on one event loop share a thread: spans are told apart by task."""
    subscriber, reader, spans = telemetry
    http_connect.fake_campaigns.latency = 0.05
    limiters = []

    async def both() -> None:
        async with get_session().create_client(
            "connectcampaignsv2", region_name="us-east-1", endpoint_url=moto_server
        ) as aio:
            client = AsyncOutboundRequestBatchClient(
                aio, campaign_id=http_connect.campaign_id, concurrency=2,
                max_requests_per_second=1000, sleep=async_no_sleep, subscribers=[subscriber],
            )
            await asyncio.gather(
                client.put_requests(outbounds(100)), client.put_requests(outbounds(100, 100))
            )
            limiters.append(client.async_rate_limiter)

    asyncio.run(both())
    finished = spans.get_finished_spans()
    campaign = http_connect.campaign_id
    mine = [c for c in http_connect.fake_campaigns.calls if c.campaign_id == campaign]
    assert len(finished) == 8 == len(mine)
    assert all(s.end_time is not None for s in finished)
    # The async driver tells its limiter's pace too (the engine's own is for threads).
    (pace,) = points(reader)["connect_batch.pace"]
    assert pace.attributes == {"operation": "PutOutboundRequestBatch"}
    assert pace.value == limiters[0].rate == 1000 * limiters[0].headroom  # a hair under
    assert sum(items_by_outcome(reader).values()) == 200 == len(mine) * 25


def created(double) -> list:
    """The contacts the double's ledger holds for this test's instance."""
    return [c for c in double.fake.contacts if c.instance_id == double.instance_id]


def items_by_outcome(reader: InMemoryMetricReader) -> dict[str, int]:
    return {p.attributes["outcome"]: p.value for p in points(reader)["connect_batch.items"]}


def test_items_are_counted_as_each_batch_settles_not_when_the_run_ends(
    http_connect, telemetry
):
    subscriber, reader, _spans = telemetry
    seen: list[tuple[str, int]] = []

    def watch(event: object) -> None:
        # Told after the OpenTelemetry subscriber: what a dashboard would read right now.
        if isinstance(event, BatchSettled | RunFinished):
            seen.append((type(event).__name__, sum(items_by_outcome(reader).values())))

    client = http_connect.batch_client(subscribers=[subscriber, watch], concurrency=1)
    client.put_contacts(contacts(75))
    assert seen == [
        ("BatchSettled", 25), ("BatchSettled", 50), ("BatchSettled", 75), ("RunFinished", 75)
    ]
    assert items_by_outcome(reader) == {"CREATED": 75}
    assert len(created(http_connect)) == 75  # the double's ledger agrees


def test_inputs_never_sent_are_counted_once_when_the_run_ends(http_connect, telemetry):
    subscriber, reader, _spans = telemetry
    finished: list[RunFinished] = []
    settled: list[BatchSettled] = []

    def watch(event: object) -> None:
        if isinstance(event, RunFinished):
            finished.append(event)
        elif isinstance(event, BatchSettled):
            settled.append(event)

    http_connect.fake.plan(None, Fault.error(403, "AccessDeniedException"))
    client = http_connect.batch_client(subscribers=[subscriber, watch], concurrency=1)
    with pytest.raises(AccessDeniedError):
        client.put_contacts(contacts(100))
    (run,) = finished
    # BatchSettled codes plus the run's unbatched add up to its counts: each input once.
    told = collections.Counter()
    for batch in settled:
        told.update(batch.codes)
    assert sum(run.unbatched.values()) == 50  # the two batches never sent
    assert told + collections.Counter(run.unbatched) == collections.Counter(run.counts)
    assert items_by_outcome(reader) == dict(run.counts)
    assert sum(items_by_outcome(reader).values()) == 100
    assert items_by_outcome(reader)["CREATED"] == len(created(http_connect)) == 25


def test_the_pace_gauge_follows_the_limiter(http_connect, telemetry):
    subscriber, reader, _spans = telemetry
    paces: list[float] = []

    def watch(event: object) -> None:
        if isinstance(event, PaceChanged):
            paces.append(event.rate)

    http_connect.fake.plan(Fault.throttle())
    client = http_connect.batch_client(
        subscribers=[subscriber, watch], concurrency=1, max_requests_per_second=8
    )
    client.put_contacts(contacts(50))
    # Told when the run starts (the cap less its headroom), then slowed by the throttle.
    start = 8 * client.rate_limiter.headroom
    assert paces[0] == start
    assert min(paces) < start
    assert all(0 < pace <= start for pace in paces)
    (gauge,) = points(reader)["connect_batch.pace"]
    assert gauge.attributes == {"operation": "BatchPutContact"}
    assert gauge.value == paces[-1] == client.rate_limiter.rate
