"""The ffmpeg video filtergraph for one span of the timeline (a chunk, or the whole video).

Cost model (measured, 2 cores, 1080x1920): the encoder dominates. Each still is decoded once
(`loop` clones the frame by reference), converted to yuv420p once, and moved with `crop` whose
x/y are per-frame expressions: a pointer offset, nearly free. `zoompan` or per-frame scaling
would double the render time, so motion is pans in varied directions over a still pre-scaled
a little larger than the frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .ffmpeg import escape_filter_path
from .timeline import Timeline

# Pan patterns: (x0, y0) -> (x1, y1) as fractions of the free margin. Cycled per scene.
_PANS: tuple[tuple[float, float, float, float], ...] = (
    (0.0, 0.5, 1.0, 0.5),  # left -> right
    (0.5, 1.0, 0.5, 0.0),  # up
    (1.0, 0.0, 0.0, 1.0),  # diagonal
    (1.0, 0.5, 0.0, 0.5),  # right -> left
    (0.5, 0.0, 0.5, 1.0),  # down
    (0.0, 1.0, 1.0, 0.0),  # diagonal
)


@dataclass
class GraphInputs:
    """ffmpeg input arguments and the matching filtergraph."""

    args: list[str] = field(default_factory=list)
    count: int = 0

    def add(self, *args: str) -> int:
        self.args.extend(args)
        self.count += 1
        return self.count - 1


@dataclass(frozen=True)
class Overlay:
    logo_path: Path | None = None  # pre-scaled RGBA PNG
    logo_xy: tuple[int, int] = (0, 0)
    ass_path: Path | None = None
    fonts_dir: Path | None = None


def still_size(width: int, height: int, margin: float) -> tuple[int, int]:
    """Size of the pre-scaled still: frame plus a pan margin, even for yuv420p."""

    def even(v: float) -> int:
        return int(v) + int(v) % 2

    return even(width * (1 + margin)), even(height * (1 + margin))


def _pan_expr(a: float, b: float, free: int, off: int, length: int) -> str:
    if free <= 0 or a == b:
        return str(round(a * free))
    # Linear in the segment's frame number; `n` restarts at 0 in each chunk so add the offset.
    return f"{a * free:.3f}+{(b - a) * free:.3f}*(n+{off})/{max(1, length - 1)}"


def video_graph(
    tl: Timeline,
    start: int,
    end: int,
    inputs: GraphInputs,
    overlay: Overlay,
    still_dims: tuple[int, int],
) -> tuple[str, str]:
    """Filtergraph producing frames [start, end) of the timeline; returns (graph, out label).

    The stream is a `concat` of pieces: each visual's body, and between visuals a short
    crossfade made by overlaying the incoming visual (alpha faded in) on the outgoing one.
    `xfade` was measured at ~50 ms per frame at 1080x1920 (float maths, and it contends with
    x264 for the 2 cores when threaded); overlay+fade costs a fraction of that.
    """
    fps = tl.fps
    parts: list[str] = []
    pieces: list[str] = []
    builder = _Branches(tl, inputs, parts, still_dims)
    for i, vis in enumerate(tl.visuals):
        h_in = tl.half_fades[i] if i > 0 else 0
        h_out = tl.half_fades[i + 1] if i + 1 < len(tl.visuals) else 0
        win0, win1 = vis.start - h_in, vis.start + h_in
        if h_in > 0 and start <= win0 and win1 <= end:
            tail = builder.branch(i - 1, win0, win1, fade_in=False)
            head = builder.branch(i, win0, win1, fade_in=True)
            lab = f"t{i}"
            parts.append(
                f"[{tail}][{head}]overlay=x=0:y=0:format=yuv420:eof_action=pass,settb=1/{fps}[{lab}]"
            )
            pieces.append(lab)
        b0, b1 = max(vis.start + h_in, start), min(vis.end - h_out, end)
        if b1 > b0:
            pieces.append(builder.branch(i, b0, b1, fade_in=False))
    if not pieces:
        raise ValueError("empty chunk")
    builder.finish()
    head_chain = "".join(f"[{p}]" for p in pieces)
    post = [f"concat=n={len(pieces)}:v=1:a=0" if len(pieces) > 1 else "null"]
    if overlay.ass_path is not None:
        opt = f"ass=filename={escape_filter_path(str(overlay.ass_path))}"
        if overlay.fonts_dir is not None:
            opt += f":fontsdir={escape_filter_path(str(overlay.fonts_dir))}"
        post.append(opt)
    chain = head_chain + ",".join(post)
    if overlay.logo_path is not None:
        k = inputs.add("-i", str(overlay.logo_path))
        parts.append(f"[{k}:v]format=yuva420p[logo]")
        parts.append(chain + "[pre]")
        x, y = overlay.logo_xy
        chain = f"[pre][logo]overlay=x={x}:y={y}:eof_action=repeat:format=yuv420"
    # Colour tags via setparams: metadata only. Output-side -colorspace flags made ffmpeg
    # insert a per-frame conversion (measured: +25 % CPU).
    parts.append(
        chain + f",trim=end_frame={end - start},setparams=color_primaries=bt709:color_trc=bt709:"
        "colorspace=bt709:range=tv,format=yuv420p[vout]"
    )
    return ";".join(parts), "vout"


class _Branches:
    """Frame ranges of visuals as filter chains: stills split from one decoded frame (the
    `loop` clones are references, so extra branches are free), videos from their own input
    seeked to the range (so no branch ever queues decoded frames for another)."""

    def __init__(self, tl: Timeline, inputs: GraphInputs, parts: list[str], still_dims: tuple[int, int]):
        self.tl, self.inputs, self.parts, self.still_dims = tl, inputs, parts, still_dims
        self.uses: dict[int, list[tuple[str, str]]] = {}  # visual -> [(label, chain)] for stills
        self.count = 0

    def branch(self, i: int, a: int, b: int, *, fade_in: bool) -> str:
        tl, fps, w, h = self.tl, self.tl.fps, self.tl.width, self.tl.height
        vis = tl.visuals[i]
        s0, s1 = tl.segment(i)
        n, off, length = b - a, a - s0, s1 - s0
        self.count += 1
        lab = f"b{self.count}"
        fade = f",format=yuva420p,fade=t=in:s=0:n={n}:alpha=1" if fade_in else ""
        if vis.kind == "image":
            pw, ph = self.still_dims
            # motion < 0: a card, held still and centred so its text is never cropped.
            x0, y0, x1, y1 = _PANS[vis.motion % len(_PANS)] if vis.motion >= 0 else (0.5, 0.5, 0.5, 0.5)
            fx = _pan_expr(x0, x1, pw - w, off, length)
            fy = _pan_expr(y0, y1, ph - h, off, length)
            src = self._still_source(i)
            self.parts.append(
                f"[{src}]loop=loop={n - 1}:size=1:start=0,setpts=N,"
                f"crop=w={w}:h={h}:x='{fx}':y='{fy}'{fade}[{lab}]"
            )
        else:
            seek = off / fps
            if vis.loop_source and vis.source_seconds > 0:
                seek %= vis.source_seconds
            pre = ["-stream_loop", "-1"] if vis.loop_source else []
            if seek > 0:
                pre += ["-ss", f"{seek:.3f}"]
            k = self.inputs.add(*pre, "-t", f"{n / fps + 1:.3f}", "-i", str(vis.path))
            self.parts.append(
                f"[{k}:v]fps={fps},scale={w}:{h}:force_original_aspect_ratio=increase,"
                f"crop={w}:{h},setsar=1,format=yuv420p,trim=end_frame={n},settb=1/{fps},setpts=N{fade}[{lab}]"
            )
        return lab

    def _still_source(self, i: int) -> str:
        """A label carrying visual i's decoded still; re-splits lazily as branches are added."""
        self.count += 1
        lab = f"src{self.count}"
        self.uses.setdefault(i, []).append((lab, ""))
        return lab

    def finish(self) -> None:
        fps = self.tl.fps
        for i, uses in self.uses.items():
            vis = self.tl.visuals[i]
            k = self.inputs.add("-framerate", str(fps), "-i", str(vis.path))
            outs = "".join(f"[{lab}]" for lab, _ in uses)
            split = f"split={len(uses)}{outs}" if len(uses) > 1 else f"null{outs}"
            self.parts.insert(0, f"[{k}:v]format=yuv420p,settb=1/{fps},{split}")
