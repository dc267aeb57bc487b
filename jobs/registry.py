"""Every job function and cron the worker runs, in one list."""

from __future__ import annotations

from typing import Any


def functions() -> list[Any]:
    from jobs import maintenance

    return [maintenance.ping]


def crons() -> list[Any]:
    return []
