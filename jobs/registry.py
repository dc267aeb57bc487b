"""Every job function and cron the worker runs, in one list."""

from __future__ import annotations

from typing import Any

from arq import cron


def functions() -> list[Any]:
    from jobs import maintenance, video

    return [maintenance.ping, video.run_stage, video.reconcile]


def crons() -> list[Any]:
    from jobs import video

    return [cron(video.reconcile, second={0}, run_at_startup=True, unique=True)]
