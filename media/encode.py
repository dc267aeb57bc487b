"""x264 / container settings shared by single renders and chunks (chunks must match exactly
so they can be joined without re-encoding)."""

from __future__ import annotations

import os

from .types import RenderOptions


def x264_args(opts: RenderOptions) -> list[str]:
    threads = opts.threads or os.cpu_count() or 2
    return [
        "-c:v", "libx264", "-preset", opts.preset, "-crf", str(opts.crf),
        "-pix_fmt", "yuv420p", "-profile:v", "high", "-r", str(opts.fps),
        "-threads", str(threads),
        # Frame threads each hold a full frame set: keep them to the core count (x264's default
        # of 1.5x cores added memory, not speed, here). A 2 s GOP keeps seeking snappy.
        "-g", str(opts.fps * 2),
    ]  # fmt: skip
