"""Tracing into memory: a provider of the test's own, installed and removed around each test
(never the global one, which OpenTelemetry lets a process set only once)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from runtime.telemetry import reset_telemetry, setup_telemetry
from tests.pipeline.conftest import live_resources  # noqa: F401  (the stage test's fixture)


@pytest.fixture
def spans(settings) -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    setup_telemetry(settings, provider=provider)
    try:
        yield exporter
    finally:
        reset_telemetry()
        provider.shutdown()


def metric_samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    from prometheus_client.parser import text_string_to_metric_families

    return [
        (s.name, dict(s.labels), s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
    ]
