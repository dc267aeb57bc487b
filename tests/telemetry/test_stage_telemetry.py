"""A short pipeline: a span per stage, in the trace of the request that queued the video."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from persistence.enums import PipelineStage
from runtime.telemetry import tracer
from tests.factories import make_user, principal_for
from tests.gql import execute
from tests.pipeline.conftest import drain

CREATE = """mutation($input: CreateVideoInput!) { createVideo(input: $input) { id } }"""


def runs(stage: str) -> float:
    return REGISTRY.get_sample_value("autovideo_stage_runs_total", {"stage": stage, "outcome": "done"}) or 0.0


@pytest.mark.slow
async def test_stage_spans_continue_the_request_trace(spans, live_resources):
    async with live_resources.sessionmaker() as s, s.begin():
        owner = await make_user(s)
    before = runs("assembly")
    with tracer("tests").start_as_current_span("request") as request:
        r = await execute(
            live_resources,
            CREATE,
            {
                "input": {
                    "title": "Tea",
                    "prompt": "tea",
                    "script": "Tea comes from one plant. Green and black tea differ only in processing.",
                    "targetDurationSeconds": 10,
                }
            },
            principal_for(owner),
        )
    assert r.errors is None, r.errors
    await drain(live_resources)

    stages = {s.name: s for s in spans.get_finished_spans() if s.name.startswith("stage.")}
    assert set(stages) == {f"stage.{st.value}" for st in PipelineStage}, set(stages)
    for span in stages.values():
        assert span.context.trace_id == request.get_span_context().trace_id
        assert span.attributes["outcome"] == "done" and span.attributes["run"] == 1
        assert span.attributes["attempt"] == 1 and span.attributes["video.id"]
    assert runs("assembly") == before + 1
    assert REGISTRY.get_sample_value(
        "autovideo_stage_duration_seconds_count", {"stage": "assembly", "outcome": "done"}
    )
