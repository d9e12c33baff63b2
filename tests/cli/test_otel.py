"""``connect-batch put --otel`` through the real process: what it exports over OTLP/HTTP to a
collector on loopback (the protobuf bodies decoded), and to the console exporters."""

from __future__ import annotations

import http.server
import os
import threading
from collections.abc import Iterator

import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.cli.test_contacts import ROOT, cli, outcomes, write_csv


class Collector(http.server.ThreadingHTTPServer):
    """An OTLP/HTTP collector that keeps every export request it is sent."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.received: list[tuple[str, bytes]] = []
        self.lock = threading.Lock()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def metrics(self) -> dict[str, list]:
        """Every data point exported, by metric name."""
        found: dict[str, list] = {}
        for path, body in self.received:
            if path != "/v1/metrics":
                continue
            for resource in ExportMetricsServiceRequest.FromString(body).resource_metrics:
                for scope in resource.scope_metrics:
                    for metric in scope.metrics:
                        data = getattr(metric, metric.WhichOneof("data"))
                        found.setdefault(metric.name, []).extend(data.data_points)
        return found

    def spans(self) -> list:
        spans = []
        for path, body in self.received:
            if path == "/v1/traces":
                for resource in ExportTraceServiceRequest.FromString(body).resource_spans:
                    for scope in resource.scope_spans:
                        spans.extend(scope.spans)
        return spans

    def service_names(self) -> set[str]:
        names = set()
        for path, body in self.received:
            request = (
                ExportMetricsServiceRequest.FromString(body).resource_metrics
                if path == "/v1/metrics"
                else ExportTraceServiceRequest.FromString(body).resource_spans
            )
            for resource in request:
                names.update(
                    a.value.string_value for a in resource.resource.attributes
                    if a.key == "service.name"
                )
        return names


class _Handler(http.server.BaseHTTPRequestHandler):
    server: Collector

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with self.server.lock:
            self.server.received.append((self.path, body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        """Quiet: pytest's output is for the test."""


@pytest.fixture
def collector() -> Iterator[Collector]:
    server = Collector()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def otel_env(**variables: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env["PYTHONPATH"] = str(ROOT)
    # A periodic export would never come round in this run: what arrives is the final one.
    env["OTEL_METRIC_EXPORT_INTERVAL"] = "600000"
    env.update(variables)
    return env


def attributes(point) -> dict[str, object]:
    return {a.key: a.value.string_value or a.value.bool_value for a in point.attributes}


def test_a_run_exports_its_counts_pace_and_spans_to_the_collector_before_it_exits(
    tmp_path, served, collector
):
    double, connection = served
    double.fake.latency = 0.0
    out = tmp_path / "o.jsonl"
    source = write_csv(tmp_path / "c.csv", 60, bad_rows=(7,))
    done = cli("put", str(source), *connection, "--otel", "--out", str(out), "--quiet",
               env=otel_env(OTEL_EXPORTER_OTLP_ENDPOINT=collector.endpoint))
    assert done.returncode == 1, done.stderr  # row 7 is invalid
    assert "Traceback" not in done.stderr
    created = [c for c in double.contacts if c.instance_id == double.instance_id]
    assert len(created) == 59 == sum(1 for line in outcomes(out) if line["contact_id"])

    found = collector.metrics()
    items = {attributes(p)["outcome"]: p.as_int for p in found["connect_batch.items"]}
    # The inputs the client ran (the invalid row never reaches it), as the ledger has them.
    assert items == {"CREATED": len(created)}
    calls = found["connect_batch.calls"]
    assert sum(p.as_int for p in calls) == 3  # 59 rows: batches of 25, 25 and 9
    (pace,) = found["connect_batch.pace"]
    assert attributes(pace) == {"operation": "BatchPutContact"}
    assert pace.as_double > 0
    spans = collector.spans()
    assert len(spans) == 3
    assert {s.name for s in spans} == {"connect_batch BatchPutContact"}
    assert collector.service_names() == {"connect-batch"}


def test_a_long_run_exports_its_counts_while_it_goes(tmp_path, served, collector):
    double, connection = served
    double.fake.latency = 0.15  # 8 calls one after another: over a second of run
    source = write_csv(tmp_path / "c.csv", 200)
    done = cli("put", str(source), *connection, "--otel", "--quiet", "--concurrency", "1",
               env=otel_env(OTEL_EXPORTER_OTLP_ENDPOINT=collector.endpoint,
                            OTEL_METRIC_EXPORT_INTERVAL="100", OTEL_TRACES_EXPORTER="none"))
    assert done.returncode == 0, done.stderr
    exported = []
    for path, body in collector.received:
        assert path == "/v1/metrics"
        request = ExportMetricsServiceRequest.FromString(body)
        exported.append(sum(
            point.as_int
            for resource in request.resource_metrics for scope in resource.scope_metrics
            for metric in scope.metrics if metric.name == "connect_batch.items"
            for point in metric.sum.data_points
        ))
    # Cumulative counts: some export came mid-run, with part of the rows; the last has all.
    assert any(0 < items < 200 for items in exported), exported
    assert exported == sorted(exported)
    assert exported[-1] == 200


def test_service_name_and_console_exporters_come_from_the_environment(tmp_path, served):
    _double, connection = served
    source = write_csv(tmp_path / "c.csv", 5)
    done = cli("put", str(source), *connection, "--otel", "--quiet",
               env=otel_env(OTEL_TRACES_EXPORTER="console", OTEL_METRICS_EXPORTER="console",
                            OTEL_SERVICE_NAME="nightly-reminders"))
    assert done.returncode == 0, done.stderr
    # Exported on stderr; stdout keeps the summary alone.
    assert done.stdout.strip() == "CREATED: 5"
    assert '"name": "connect_batch.items"' in done.stderr
    assert '"name": "connect_batch BatchPutContact"' in done.stderr
    assert '"service.name": "nightly-reminders"' in done.stderr


def test_an_exporter_it_does_not_know_is_one_line_before_anything_is_sent(tmp_path, served):
    double, connection = served
    source = write_csv(tmp_path / "c.csv", 5)
    done = cli("put", str(source), *connection, "--otel",
               env=otel_env(OTEL_METRICS_EXPORTER="prometheus"))
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "connect-batch: --otel: OTEL_METRICS_EXPORTER=prometheus: connect-batch exports "
        "with otlp, console or none"
    )
    assert not [c for c in double.contacts if c.instance_id == double.instance_id]
