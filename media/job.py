"""A render request checked and laid out: timeline, fitted captions, workdir, time budget.

Shared by the single-pass render and the chunk functions, so a chunk rendered on another
worker is built from exactly the same timeline and cues as a single render.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import shutil
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from .captions import (
    CaptionLayout,
    caption_layout,
    check_glyphs,
    fit_cues,
    needs_fallback_font,
    shift_cues,
    to_ass,
)
from .errors import InvalidMediaError, RenderTimeoutError
from .fonts import FONT_DIR, cjk_font_path
from .probe import probe_media
from .stills import prescale_logo, prescale_still
from .thumbnail import make_card
from .timeline import ChunkSpec, Timeline, VisualKind, build_timeline
from .types import CancelSignal, CaptionCue, RenderRequest, frame_size

log = logging.getLogger(__name__)

PAN_MARGIN = 0.10  # still pre-scaled 10 % larger than the frame: room for a gentle pan
MIN_NARRATION = 0.2  # seconds
PRESCALE_WORKERS = 2


def default_timeout(seconds_of_video: float) -> float:
    # veryfast renders at ~0.5 s per second of video here; 4x that plus start-up is generous
    # yet still stops a wedged ffmpeg in proportion to the job.
    return 60.0 + 2.0 * seconds_of_video


@dataclass
class Deadline:
    at: float | None

    def remaining(self) -> float | None:
        if self.at is None:
            return None
        left = self.at - time.monotonic()
        if left <= 0:
            raise RenderTimeoutError("The render ran out of time and was stopped.")
        return left


@dataclass
class Job:
    request: RenderRequest
    workdir: Path
    timeline: Timeline
    cues: list[CaptionCue]  # fitted, on the output timeline (after the intro)
    layout: CaptionLayout
    narration_seconds: float
    intro: float
    total: float
    still_dims: tuple[int, int]
    cancel: CancelSignal | None = None
    deadline: Deadline = field(default_factory=lambda: Deadline(None))
    _stills: dict[int, Path] = field(default_factory=dict)
    _owns_workdir: bool = False

    # ------------------------------------------------------------ construction

    @classmethod
    def prepare(
        cls,
        request: RenderRequest,
        *,
        workdir: Path | None = None,
        timeout: float | None = None,
        cancel: CancelSignal | None = None,
        validate_all: bool = True,
    ) -> Job:
        opts = request.options
        size = frame_size(opts.aspect)
        if opts.fps <= 0 or opts.fps > 120:
            raise InvalidMediaError("The frame rate must be between 1 and 120.")
        if not request.scenes:
            raise InvalidMediaError("A video needs at least one scene.")
        narration = probe_media(request.narration_path)
        if not narration.has_audio:
            raise InvalidMediaError("The narration file has no audio stream.")
        if narration.duration < MIN_NARRATION:
            raise InvalidMediaError("The narration audio is empty (zero length).")
        intro = opts.intro_seconds if opts.intro_text else 0.0
        outro = opts.outro_seconds if opts.outro_text else 0.0
        total = intro + narration.duration + outro
        own = workdir is None
        wd = Path(tempfile.mkdtemp(prefix="autovideo-")) if workdir is None else Path(workdir)
        wd.mkdir(parents=True, exist_ok=True)
        try:
            still_dims = _still_dims(size, PAN_MARGIN if opts.motion else 0.0)
            scenes = sorted(request.scenes, key=lambda s: s.start)
            spans: list[tuple[VisualKind, Path, float, float, float]] = []
            first_image: Path | None = None
            for n, sc in enumerate(scenes, 1):
                what = f"The media of scene {n}"
                path = Path(sc.path)
                clip = 0.0
                if sc.kind == "video":
                    info = probe_media(path) if path.is_file() else None
                    if info is None:
                        raise InvalidMediaError(f"{what} is missing.")
                    if not info.has_video:
                        raise InvalidMediaError(f"{what} has no video stream.")
                    clip = info.duration
                elif validate_all:
                    _check_image(path, what)
                    first_image = first_image or path
                spans.append((sc.kind, path, sc.start + intro, sc.end + intro, clip))
            if intro:
                card = make_card(opts.intro_text or "", wd / "intro.bmp", size)
                spans.insert(0, ("image", _pad_card(card, still_dims), 0.0, intro, 0.0))
            if outro:
                card = make_card(opts.outro_text or "", wd / "outro.bmp", size)
                start = intro + narration.duration
                spans.append(("image", _pad_card(card, still_dims), start, total, 0.0))
            timeline = build_timeline(spans, total, opts.fps, size, opts.transition_seconds)
            # Cards keep their own (static) motion code; scenes cycle through the pans.
            visuals = tuple(replace(v, motion=-1) if v.path.parent == wd else v for v in timeline.visuals)
            timeline = Timeline(timeline.fps, timeline.width, timeline.height, visuals,
                                timeline.half_fades, timeline.total_frames)  # fmt: skip
            layout = caption_layout(opts.aspect, opts.caption_style)
            cues: list[CaptionCue] = []
            if opts.captions and request.cues:
                fitted = fit_cues(check_glyphs(request.cues, opts.caption_style), layout, opts.caption_style)
                cues = [
                    CaptionCue(c.start, min(c.end, narration.duration), c.text)
                    for c in fitted
                    if c.start < narration.duration
                ]
                cues = shift_cues(cues, intro)
        except BaseException:
            if own:
                shutil.rmtree(wd, ignore_errors=True)
            raise
        t = timeout if timeout is not None else default_timeout(total)
        return cls(
            request=request, workdir=wd, timeline=timeline, cues=cues, layout=layout,
            narration_seconds=narration.duration, intro=intro, total=timeline.total_frames / opts.fps,
            still_dims=still_dims, cancel=cancel, deadline=Deadline(time.monotonic() + t), _owns_workdir=own,
        )  # fmt: skip

    def cleanup(self) -> None:
        if self._owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    # ------------------------------------------------------------ per-chunk assets

    def still_for(self, index: int) -> Path:
        """Pre-scaled still of visual `index`, made on first use (only for the chunks that need it)."""
        if index not in self._stills:
            self._stills[index] = self._prescale(index)
        return self._stills[index]

    def _prescale(self, index: int) -> Path:
        """Raw yuv420p at `still_dims` (cards are drawn at that size already: converted only)."""
        vis = self.timeline.visuals[index]
        dst = self.workdir / f"still-{index}.yuv"
        return prescale_still(vis.path, dst, self.still_dims, f"The image of scene {index + 1}")

    def resolved_timeline(self, start: int, end: int, on_still: Callable[[], None] | None = None) -> Timeline:
        """Timeline whose image visuals in [start, end) point at their pre-scaled stills.
        `on_still()` is called as each still is made (progress before the encode starts)."""
        vis = list(self.timeline.visuals)
        seg = self.timeline.segment
        wanted = [i for i, v in enumerate(vis) if v.kind == "image" and seg(i)[1] > start and seg(i)[0] < end]
        missing = [i for i in wanted if i not in self._stills]
        if len(missing) > 1:
            # Pillow releases the GIL while decoding/resampling/encoding: two stills at a time
            # halve the wait before ffmpeg can start. Results are stored from this thread only.
            with ThreadPoolExecutor(max_workers=min(PRESCALE_WORKERS, len(missing))) as pool:
                for i, path in zip(missing, pool.map(self._prescale, missing), strict=True):
                    self._stills[i] = path
                    if on_still is not None:
                        on_still()
        for i in wanted:
            made = i not in self._stills
            vis[i] = replace(vis[i], path=self.still_for(i))
            if made and on_still is not None:
                on_still()
        if missing:
            trim_heap()
        tl = self.timeline
        return Timeline(tl.fps, tl.width, tl.height, tuple(vis), tl.half_fades, tl.total_frames)

    def chunk_ass(self, chunk: ChunkSpec) -> Path | None:
        """ASS file for one chunk, with times relative to the chunk start."""
        local = [
            CaptionCue(max(0.0, c.start - chunk.start), c.end - chunk.start, c.text)
            for c in self.cues
            if c.end > chunk.start and c.start < chunk.end
        ]
        if not local:
            return None
        path = self.workdir / f"captions-{chunk.index}.ass"
        path.write_text(
            to_ass(shift_cues(local, 0.0), self.layout, self.request.options.caption_style), "utf-8"
        )
        return path

    def logo(self) -> tuple[Path, tuple[int, int]] | None:
        opts = self.request.options
        if opts.logo_path is None:
            return None
        w, h = self.timeline.width, self.timeline.height
        share = {"PORTRAIT": 0.16, "LANDSCAPE": 0.10, "SQUARE": 0.13}[str(opts.aspect).upper()]
        path, (lw, _lh) = prescale_logo(Path(opts.logo_path), self.workdir / "logo.png", round(w * share))
        margin = round(0.04 * min(w, h))
        top = round(0.05 * h) if h > w else margin  # clear of the status bar on 9:16
        return path, (w - lw - margin, top)

    def fonts_dir(self) -> Path:
        """Directory libass loads fonts from. libass reads every font there into memory, so the
        17 MB CJK font is linked in (beside the shipped fonts) only when a cue needs it."""
        cjk = cjk_font_path()
        if cjk is None or not needs_fallback_font(self.cues, self.request.options.caption_style.bold):
            return FONT_DIR
        d = self.workdir / "fonts"
        if not d.is_dir():
            d.mkdir()
            for f in [*FONT_DIR.glob("*.ttf"), cjk]:
                (d / f.name).symlink_to(f)
        return d

    def first_image(self) -> Path | None:
        for i, v in enumerate(self.timeline.visuals):
            if v.kind == "image" and v.path.parent != self.workdir:
                return self.timeline.visuals[i].path
        return None


def trim_heap() -> None:
    """Hand freed memory back to the OS (glibc only; a no-op elsewhere).

    Pillow's frame-sized buffers, freed from worker threads, otherwise stay in glibc's arenas:
    measured, the Python process of a 10-minute chunked render sat ~35 MB above a 1-minute one
    while ffmpeg encoded.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _still_dims(size: tuple[int, int], margin: float) -> tuple[int, int]:
    from .filtergraph import still_size

    return still_size(size[0], size[1], margin)


def _check_image(path: Path, what: str) -> None:
    """Cheap header check so a bad scene fails before minutes of encoding, not during."""
    if not path.is_file():
        raise InvalidMediaError(f"{what} is missing.")
    try:
        with Image.open(path) as im:
            im.verify()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise InvalidMediaError(
            f"{what} could not be read; it may be corrupt or not an image.", str(exc)
        ) from None


def _pad_card(card: Path, dims: tuple[int, int]) -> Path:
    """Place a frame-sized card on a still-sized canvas (edge colour) so the text is never cropped."""
    with Image.open(card) as im:
        im.load()
        canvas = Image.new("RGB", dims, im.getpixel((0, 0)))
        canvas.paste(im, ((dims[0] - im.width) // 2, (dims[1] - im.height) // 2))
    canvas.save(card, format="BMP")
    return card
