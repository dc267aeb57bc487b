"""Frame-exact timeline: which visual is on screen when, where the crossfades are, and where a
long render may be cut into independently encoded chunks.

Everything is in integer frames so chunks rendered separately add up to exactly the frames
of a single render.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

VisualKind = Literal["image", "video"]


@dataclass(frozen=True)
class Visual:
    kind: VisualKind
    path: Path  # for images: the pre-scaled still; for videos: the source clip
    start: int  # first visible frame (output timeline)
    end: int  # one past the last visible frame
    motion: int = 0  # pan pattern index
    loop_source: bool = False  # video shorter than its slot: loop it
    source_seconds: float = 0.0  # video: length of the clip (for looping)


@dataclass(frozen=True)
class ChunkSpec:
    index: int
    start_frame: int
    end_frame: int
    fps: int

    @property
    def start(self) -> float:
        return self.start_frame / self.fps

    @property
    def end(self) -> float:
        return self.end_frame / self.fps

    @property
    def duration(self) -> float:
        return (self.end_frame - self.start_frame) / self.fps


@dataclass(frozen=True)
class Timeline:
    fps: int
    width: int
    height: int
    visuals: tuple[Visual, ...]
    half_fades: tuple[int, ...]  # per boundary i (between visuals i-1 and i); index 0 unused
    total_frames: int

    def segment(self, i: int) -> tuple[int, int]:
        """Frames visual i must supply: visible span plus half of each adjacent crossfade."""
        v = self.visuals[i]
        pre = self.half_fades[i] if i > 0 else 0
        post = self.half_fades[i + 1] if i + 1 < len(self.visuals) else 0
        return v.start - pre, v.end + post

    def fade_windows(self) -> list[tuple[int, int]]:
        return [
            (self.visuals[i].start - h, self.visuals[i].start + h)
            for i, h in enumerate(self.half_fades)
            if i > 0 and h > 0
        ]


def build_timeline(
    spans: list[tuple[VisualKind, Path, float, float, float]],
    total_seconds: float,
    fps: int,
    size: tuple[int, int],
    transition_seconds: float,
) -> Timeline:
    """`spans` are (kind, path, start, end, clip seconds) in output seconds, sorted by start.

    Gaps and overlaps are resolved by letting each visual run until the next one starts; the
    first starts at 0 and the last runs to the end, so the picture never goes black.
    """
    total = max(1, round(total_seconds * fps))
    starts = [0] + [min(total, max(0, round(s[2] * fps))) for s in spans[1:]]
    keep = [i for i in range(len(spans)) if i == 0 or starts[i] > starts[i - 1]]
    # Drop visuals squeezed to nothing (start not after the previous one's start).
    visuals: list[Visual] = []
    kept_starts = [starts[i] for i in keep]
    for j, i in enumerate(keep):
        end = kept_starts[j + 1] if j + 1 < len(keep) else total
        if end <= kept_starts[j]:
            continue
        kind, path, _s, _e, clip = spans[i]
        # A clip shorter than its slot (plus crossfade pre/post roll) is looped.
        loop = kind == "video" and clip < (end - kept_starts[j]) / fps + transition_seconds + 0.1
        visuals.append(
            Visual(kind, path, kept_starts[j], end, motion=i, loop_source=loop, source_seconds=clip)
        )
    half = [0]
    want = round(transition_seconds * fps / 2)
    for i in range(1, len(visuals)):
        shortest = min(visuals[i - 1].end - visuals[i - 1].start, visuals[i].end - visuals[i].start)
        # A fade may use at most a quarter of either neighbour so adjacent fades never overlap.
        half.append(max(0, min(want, shortest // 4)))
    return Timeline(fps, size[0], size[1], tuple(visuals), tuple(half), total)


def plan_cuts(timeline: Timeline, chunk_seconds: float) -> list[ChunkSpec]:
    """Chunks of at most about `chunk_seconds`, of near-equal length, cut on whole seconds
    outside any crossfade.

    Whole-second cuts keep chunk-local caption times on the same centisecond grid as the
    single render, so chunked and single renders burn captions on the same frames. Equal
    lengths (rather than full chunks and a long remainder) keep every chunk's ffmpeg, whose
    memory grows with the stills it holds, the size of one `chunk_seconds` render.
    """
    fps = timeline.fps
    total = timeline.total_frames
    target = fps * max(1, round(chunk_seconds))
    windows = timeline.fade_windows()
    count = max(1, math.ceil(total / target))
    step = total / count

    def ok(frame: int) -> bool:
        return frame % fps == 0 and all(not (a < frame < b) for a, b in windows)

    cuts = [0]
    for k in range(1, count):
        want = round(k * step / fps) * fps
        reach = max(round(step) // 2, 3 * fps)
        near = (f for d in range(0, reach + 1, fps) for f in (want + d, want - d))
        cand = next((f for f in near if ok(f) and cuts[-1] < f < total), None)
        if cand is not None:
            cuts.append(cand)
    cuts.append(total)
    return [ChunkSpec(i, a, b, fps) for i, (a, b) in enumerate(itertools.pairwise(cuts))]
