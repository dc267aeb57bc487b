"""Every job function and cron the worker runs, in one list."""

from __future__ import annotations

from typing import Any

from arq import cron


def functions() -> list[Any]:
    from jobs import analytics, maintenance, publishing, video

    return [
        maintenance.ping,
        video.run_stage,
        video.reconcile,
        publishing.publish_video,
        publishing.publish_due,
        analytics.refresh_statistics,
    ]


def crons(reconcile_every: int = 60) -> list[Any]:
    from jobs import analytics, publishing, video

    every = max(1, reconcile_every)
    seconds = set(range(0, 60, every)) if every < 60 else {0}
    return [
        cron(video.reconcile, second=seconds, run_at_startup=True, unique=True),
        # Due scheduled publications whose job is gone (lost enqueue, crashed worker).
        cron(publishing.publish_due, second={30}, run_at_startup=True, unique=True),
        # Platform statistics twice an hour.
        cron(analytics.refresh_statistics, minute={7, 37}, second={15}, unique=True),
    ]
