"""Every job function and cron the worker runs, in one list."""

from __future__ import annotations

from typing import Any

from arq import cron


def functions() -> list[Any]:
    from jobs import maintenance, video

    return [maintenance.ping, video.run_stage, video.reconcile]


def crons(reconcile_every: int = 60) -> list[Any]:
    from jobs import video

    every = max(1, reconcile_every)
    seconds = set(range(0, 60, every)) if every < 60 else {0}
    return [cron(video.reconcile, second=seconds, run_at_startup=True, unique=True)]
