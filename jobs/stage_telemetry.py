"""A span and two metrics per executed pipeline stage.

`stage.<NAME>` spans are children of the request that queued the video: the job carries the
request's W3C traceparent (see jobs/video.py enqueue_stage), so a whole pipeline shows up under
the createVideo / retryVideo / regenerateVideo request in one trace."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import Any

from arq import Retry
from opentelemetry.trace import Status, StatusCode
from prometheus_client import Counter, Histogram

from runtime.telemetry import metric, tracer

STAGE_SECONDS = metric(
    Histogram,
    "autovideo_stage_duration_seconds",
    "Pipeline stage execution time by outcome",
    ["stage", "outcome"],
    buckets=(0.5, 1, 2.5, 5, 10, 20, 40, 60, 120, 300, 600, 900),
)
STAGE_RUNS = metric(
    Counter, "autovideo_stage_runs_total", "Pipeline stage executions by outcome", ["stage", "outcome"]
)


async def observe_stage(work: Awaitable[str], *, video_id: Any, run: int, stage: str, attempt: int) -> str:
    """Await one stage's work inside its span, recording how it ended.

    Outcomes: what the work returns (done, failed, cancelled, stale), or retry (a transient
    failure ARQ runs again), aborted (the job was cancelled: timeout or shutdown), error."""
    outcome = "error"
    start = time.perf_counter()
    with tracer("autovideo.jobs").start_as_current_span(
        f"stage.{stage}",
        attributes={"video.id": str(video_id), "run": run, "stage": stage, "attempt": attempt},
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        try:
            outcome = await work
            return outcome
        except Retry:
            outcome = "retry"
            raise
        except asyncio.CancelledError:
            outcome = "aborted"
            raise
        except BaseException as exc:
            span.record_exception(exc)
            raise
        finally:
            span.set_attribute("outcome", outcome)
            if outcome not in ("done", "cancelled", "stale"):
                span.set_status(Status(StatusCode.ERROR, outcome))
            STAGE_SECONDS.labels(stage, outcome).observe(time.perf_counter() - start)
            STAGE_RUNS.labels(stage, outcome).inc()
