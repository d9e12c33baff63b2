"""``--otel``: OpenTelemetry's SDK, set up from the standard ``OTEL_*`` variables for one run
of the command, and shut down (everything exported) before the process ends.

A cron job exits as soon as its run is over, before a periodic export would come round: the
providers are flushed and shut down on the way out, whatever ends the run, so its metrics
and spans reach the collector. The exporters are chosen as the SDK's own auto-configuration
chooses them (``OTEL_TRACES_EXPORTER``, ``OTEL_METRICS_EXPORTER``: ``otlp`` by default,
``console`` or ``none``), and configure themselves (``OTEL_EXPORTER_OTLP_ENDPOINT``,
``..._HEADERS``, ``..._TIMEOUT``, ``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``,
``OTEL_METRIC_EXPORT_INTERVAL``...). Knows nothing of rows or APIs: it hands the run a
subscriber.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import sys
from collections.abc import Iterator
from typing import Any

from connect_batch import MissingExtraError
from connect_batch.cli.api import UsageError
from connect_batch.events import Subscriber

logger = logging.getLogger("connect_batch")
SERVICE_NAME = "connect-batch"  # unless OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES names one
KNOWN = ("otlp", "console", "none")


def _chosen(variable: str) -> list[str]:
    """The exporters ``variable`` names (comma-separated; ``otlp`` when unset)."""
    names = [n.strip().lower() for n in os.environ.get(variable, "otlp").split(",") if n.strip()]
    unknown = [n for n in names if n not in KNOWN]
    if unknown:
        raise UsageError(
            f"--otel: {variable}={os.environ[variable]}: connect-batch exports with "
            f"{', '.join(KNOWN[:-1])} or {KNOWN[-1]}"
        )
    return [n for n in names if n != "none"]


def _protocol(signal: str) -> str:
    protocol = (
        os.environ.get(f"OTEL_EXPORTER_OTLP_{signal}_PROTOCOL")
        or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or "http/protobuf"
    )
    if protocol not in ("http/protobuf", "grpc"):
        raise UsageError(f"--otel: OTLP protocol {protocol!r}: use http/protobuf or grpc")
    return protocol


def _otlp(signal: str) -> Any:
    """The OTLP exporter for ``signal`` (``TRACES`` or ``METRICS``), over the protocol the
    environment asks for: HTTP (the otel extra), or gRPC if its exporter is installed."""
    kind = "trace_exporter" if signal == "TRACES" else "metric_exporter"
    name = "OTLPSpanExporter" if signal == "TRACES" else "OTLPMetricExporter"
    if _protocol(signal) == "grpc":
        try:
            module = importlib.import_module(f"opentelemetry.exporter.otlp.proto.grpc.{kind}")
        except ImportError:
            raise UsageError(
                "--otel: OTLP over gRPC needs opentelemetry-exporter-otlp-proto-grpc "
                "installed (the otel extra exports over HTTP: "
                "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf)"
            ) from None
    else:
        module = importlib.import_module(f"opentelemetry.exporter.otlp.proto.http.{kind}")
    return getattr(module, name)()


@contextlib.contextmanager
def telemetry() -> Iterator[Subscriber | None]:
    """An ``OpenTelemetrySubscriber`` on providers of its own, exporting as the ``OTEL_*``
    variables say; the providers are shut down (flushed) when the block ends. ``None`` when
    ``OTEL_SDK_DISABLED`` is true. A missing extra, or an exporter name it does not know, is
    an error before anything is sent."""
    with MissingExtraError.guard("--otel", "otel"):
        from opentelemetry.exporter.otlp.proto.http import metric_exporter, trace_exporter
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import (
            ConsoleMetricExporter,
            PeriodicExportingMetricReader,
        )
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

        from connect_batch.otel import OpenTelemetrySubscriber
    del metric_exporter, trace_exporter  # imported to name the extra if they are missing
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        yield None
        return
    traces, metrics = _chosen("OTEL_TRACES_EXPORTER"), _chosen("OTEL_METRICS_EXPORTER")
    resource = Resource.create()
    if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
        resource = resource.merge(Resource({"service.name": SERVICE_NAME}))
    # Console exporters write to stderr: stdout holds the run's summary.
    readers = [
        PeriodicExportingMetricReader(
            ConsoleMetricExporter(out=sys.stderr) if name == "console" else _otlp("METRICS")
        )
        for name in metrics
    ]
    meter_provider = MeterProvider(resource=resource, metric_readers=readers)
    tracer_provider = TracerProvider(resource=resource)
    for name in traces:
        tracer_provider.add_span_processor(BatchSpanProcessor(
            ConsoleSpanExporter(out=sys.stderr) if name == "console" else _otlp("TRACES")
        ))
    try:
        yield OpenTelemetrySubscriber(
            meter_provider=meter_provider, tracer_provider=tracer_provider
        )
    finally:
        # Spans first: the metrics' last export then carries the run's final counts. An
        # exporter that cannot reach its collector logs it (the SDK does); the run's exit
        # status stays that of the run.
        for provider in (tracer_provider, meter_provider):
            try:
                provider.shutdown()
            except Exception:  # telemetry never changes the run's outcome
                logger.warning("--otel: shutting down %s failed", type(provider).__name__,
                               exc_info=True)
