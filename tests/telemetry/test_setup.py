"""Configuration: nothing set means no provider at all; an exporter setting builds one."""

from __future__ import annotations

from opentelemetry.sdk.trace.export import BatchSpanProcessor

from runtime import telemetry
from runtime.settings import Settings


def _settings(**kw) -> Settings:
    return Settings(environment="test", _env_file=None, **kw)


def test_nothing_configured_means_no_provider():
    assert telemetry._sdk_provider(_settings(), "autovideo") is None


def test_exporters_and_sampling_from_settings():
    provider = telemetry._sdk_provider(
        _settings(
            otel_exporter_otlp_endpoint="http://collector:4318", otel_console=True, otel_sample_ratio=0.25
        ),
        "autovideo-worker",
    )
    assert provider is not None
    try:
        assert provider.resource.attributes["service.name"] == "autovideo-worker"
        assert "0.25" in provider.sampler.get_description()
        exporters = []
        for p in provider._active_span_processor._span_processors:
            assert isinstance(p, BatchSpanProcessor)
            exporters.append(p.span_exporter)
        endpoints = [getattr(e, "_endpoint", None) for e in exporters]
        assert "http://collector:4318/v1/traces" in endpoints and len(exporters) == 2
    finally:
        provider.shutdown()


def test_masking_keeps_the_shape_of_documents():
    from graphql_runtime.tracing import mask_literals

    doc = 'mutation { login(input: {login: "ada", password: "s3cr\\"et"}) { accessToken } }'
    assert mask_literals(doc) == 'mutation { login(input: {login: "?", password: "?"}) { accessToken } }'
    assert mask_literals('{ a(s: """block\n"secret" text""") }') == '{ a(s: "?") }'
