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
    """Filtergraph producing frames [start, end) of the timeline; returns (graph, out label)."""
    fps, w, h = tl.fps, tl.width, tl.height
    parts: list[str] = []
    segs: list[tuple[str, int]] = []  # (label, timeline index)
    for i, vis in enumerate(tl.visuals):
        s0, s1 = tl.segment(i)
        a, b = max(s0, start), min(s1, end)
        if b <= a:
            continue
        n, off, length = b - a, a - s0, s1 - s0
        lab = f"s{i}"
        if vis.kind == "image":
            k = inputs.add("-framerate", str(fps), "-i", str(vis.path))
            pw, ph = still_dims
            # motion < 0: a card, held still and centred so its text is never cropped.
            x0, y0, x1, y1 = _PANS[vis.motion % len(_PANS)] if vis.motion >= 0 else (0.5, 0.5, 0.5, 0.5)
            fx = _pan_expr(x0, x1, pw - w, off, length)
            fy = _pan_expr(y0, y1, ph - h, off, length)
            parts.append(
                f"[{k}:v]format=yuv420p,loop=loop={n - 1}:size=1:start=0,settb=1/{fps},"
                f"setpts=N,crop=w={w}:h={h}:x='{fx}':y='{fy}'[{lab}]"
            )
        else:
            src: list[str] = ["-stream_loop", "-1"] if vis.loop_source else []
            if off:
                src += ["-ss", f"{off / fps:.3f}"]
            k = inputs.add(*src, "-t", f"{n / fps + 1:.3f}", "-i", str(vis.path))
            parts.append(
                f"[{k}:v]fps={fps},scale={w}:{h}:force_original_aspect_ratio=increase,"
                f"crop={w}:{h},setsar=1,format=yuv420p,trim=end_frame={n},settb=1/{fps},setpts=N[{lab}]"
            )
        segs.append((lab, i))
    if not segs:
        raise ValueError("empty chunk")
    cur, _ = segs[0]
    for j, (lab, i) in enumerate(segs[1:], 1):
        half = tl.half_fades[i]
        out = f"x{j}"
        if half > 0:
            offset = tl.visuals[i].start - half - start
            parts.append(
                f"[{cur}][{lab}]xfade=transition=fade:duration={2 * half / fps:.6f}:"
                f"offset={offset / fps:.6f}[{out}]"
            )
        else:
            parts.append(f"[{cur}][{lab}]concat=n=2:v=1:a=0[{out}]")
        cur = out
    post: list[str] = []
    if overlay.ass_path is not None:
        opt = f"ass=filename={escape_filter_path(str(overlay.ass_path))}"
        if overlay.fonts_dir is not None:
            opt += f":fontsdir={escape_filter_path(str(overlay.fonts_dir))}"
        post.append(opt)
    chain = f"[{cur}]" + (",".join(post) if post else "null")
    if overlay.logo_path is not None:
        k = inputs.add("-i", str(overlay.logo_path))
        parts.append(f"[{k}:v]format=yuva420p[logo]")
        parts.append(chain + "[pre]")
        x, y = overlay.logo_xy
        chain = f"[pre][logo]overlay=x={x}:y={y}:eof_action=repeat:format=yuv420"
    parts.append(chain + f",trim=end_frame={end - start},format=yuv420p[vout]")
    return ";".join(parts), "vout"
