"""The ffmpeg video filtergraph for one span of the timeline (a chunk, or the whole video).

Cost model (measured, 2 cores, 1080x1920): the filtergraph is nearly free and x264 is the
cost, growing with the number of frames that differ from their predecessor. Each still is
read once as a raw yuv420p frame (`loop` clones it by reference) and moved with `crop` whose
x/y are per-frame expressions: a pointer offset. `zoompan` or per-frame scaling would double
the render time, so motion is pans in varied directions over a still pre-scaled a little
larger than the frame, capped in speed and stepped so x and y move on the same frames
(`plan_pan`). Crossfades blend only inside their window (~15 frames).
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


# Fastest pan, in pixels per frame (~15 px/s at 30 fps): a calm drift on any scene length. A
# short scene therefore travels less than the full margin instead of sweeping across it.
MAX_PAN_PX_PER_FRAME = 0.5


@dataclass(frozen=True)
class Pan:
    """A straight pan from (x0, y0) to (x1, y1) in pixels of the pre-scaled still."""

    x0: float
    y0: float
    x1: float
    y1: float
    step: int  # frames the position is held: both axes move together, on the same frames

    def exprs(self, off: int, length: int) -> tuple[str, str]:
        """crop x/y expressions; `n` restarts at 0 in each chunk so the offset is added."""
        span = max(1, length - 1)
        n = f"(n+{off})" if self.step == 1 else f"({self.step}*floor((n+{off})/{self.step}))"

        def one(a: float, b: float) -> str:
            return str(round(a)) if round(a) == round(b) else f"{a:.3f}+{b - a:.3f}*{n}/{span}"

        return one(self.x0, self.x1), one(self.y0, self.y1)


def plan_pan(pattern: tuple[float, float, float, float], free_x: int, free_y: int, length: int) -> Pan:
    """Pan for one visual of `length` frames over a still with (free_x, free_y) spare pixels.

    x264's cost is per frame that differs from its predecessor, not per pixel moved, and `crop`
    on yuv420p moves in whole chroma samples (2 px) anyway. So the speed is capped, and the
    position advances every `step` frames with both axes together (a diagonal pan otherwise
    moves x and y on different frames: twice the changed frames for the same motion).
    """
    fx0, fy0, fx1, fy1 = pattern
    x0, y0, x1, y1 = fx0 * free_x, fy0 * free_y, fx1 * free_x, fy1 * free_y
    span = max(1, length - 1)
    speed = max(abs(x1 - x0), abs(y1 - y0)) / span
    if speed > MAX_PAN_PX_PER_FRAME:
        k = MAX_PAN_PX_PER_FRAME / speed  # shrink the path about its midpoint
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        x0, x1 = cx + (x0 - cx) * k, cx + (x1 - cx) * k
        y0, y1 = cy + (y0 - cy) * k, cy + (y1 - cy) * k
        speed = MAX_PAN_PX_PER_FRAME
    step = max(1, int(2 / speed)) if speed > 0 else 1
    return Pan(x0, y0, x1, y1, min(step, span))


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
            fx, fy = plan_pan((x0, y0, x1, y1), pw - w, ph - h, length).exprs(off, length)
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
            w, h = self.still_dims
            # Pre-scaled stills are raw yuv420p frames (see stills.py): no decode, no conversion.
            k = self.inputs.add("-f", "rawvideo", "-pix_fmt", "yuv420p", "-video_size", f"{w}x{h}",
                                "-framerate", str(fps), "-i", str(vis.path))  # fmt: skip
            outs = "".join(f"[{lab}]" for lab, _ in uses)
            split = f"split={len(uses)}{outs}" if len(uses) > 1 else f"null{outs}"
            self.parts.insert(0, f"[{k}:v]setparams=range=tv,settb=1/{fps},{split}")
