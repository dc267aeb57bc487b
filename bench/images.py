#!/usr/bin/env python3
"""Procedural scene images: milliseconds per 1080x1920 frame, beside a plain PNG encode of the
same size (the floor any image path pays). Prints the ratio; never a pass/fail."""

import io
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image

from providers.ai.base import ImageRequest
from providers.ai.offline.procedural_images import render_png


def timed(fn, n=7):
    fn()
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def main() -> None:
    req = ImageRequest(
        prompt="a calm ocean at dawn", width=1080, height=1920, heading="How tides work", seed="bench"
    )
    ours = timed(lambda: render_png(req))
    flat = Image.new("RGB", (1080, 1920), (40, 80, 120))
    floor = timed(lambda: flat.save(io.BytesIO(), "PNG", compress_level=1))
    print(
        f"procedural 1080x1920: {ours * 1000:.0f} ms; flat PNG encode: {floor * 1000:.0f} ms; ratio {ours / floor:.1f}x"
    )


if __name__ == "__main__":
    main()
