"""render_video: the ASSEMBLY stage entry point."""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .captions import write_caption_files
from .chunks import DEFAULT_CHUNK_SECONDS, encode_span, join_chunks
from .errors import MediaError, RenderFailedError
from .ffmpeg import run_ffmpeg
from .job import Job, trim_heap
from .probe import probe_media
from .thumbnail import make_thumbnail
from .timeline import ChunkSpec, plan_cuts
from .types import CancelSignal, ProgressSink, RenderRequest, RenderResult

log = logging.getLogger(__name__)

# Above this length a render is split into sequential chunks even if the caller didn't ask:
# ffmpeg opens every input of a graph up front, so one graph for a long video would hold all
# its stills in memory at once. Chunking keeps peak memory flat with video length.
AUTO_CHUNK_ABOVE = 150.0


def render_video(
    request: RenderRequest,
    *,
    timeout: float | None = None,
    cancel: CancelSignal | None = None,
    progress: ProgressSink | None = None,
) -> RenderResult:
    """Render the request. `progress.report(seconds, total)` follows the encode: seconds of video
    written (all chunks together) of the video's length, twice a second (ffmpeg's -progress)."""
    started = time.monotonic()
    out_dir = Path(request.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    job = Job.prepare(request, timeout=timeout, cancel=cancel)
    try:
        opts = request.options
        base = request.basename
        video_tmp = job.workdir / f"{base}.mp4"
        chunk_secs = opts.chunk_seconds
        if chunk_secs is None and job.total > AUTO_CHUNK_ABOVE:
            chunk_secs = DEFAULT_CHUNK_SECONDS
        chunks = (
            plan_cuts(job.timeline, chunk_secs)
            if chunk_secs
            else [ChunkSpec(0, 0, job.timeline.total_frames, opts.fps)]
        )
        tracker = None
        if progress is not None:
            # steps: the job prepared, each still scaled, the loudness measured
            stills = sum(1 for v in job.timeline.visuals if v.kind == "image")
            tracker = _Tracker(progress, job.total, len(chunks), steps=stills + 2)
            tracker.step()
        thumb_tmp = job.workdir / f"{base}.jpg"
        # The thumbnail (Pillow, ~0.2 s) is drawn while ffmpeg encodes: x264 leaves a little of
        # the second core idle, so this is off the critical path.
        with ThreadPoolExecutor(max_workers=1) as side:
            thumb_job = side.submit(_thumbnail, job, thumb_tmp)
            try:
                if len(chunks) == 1:
                    encode_span(job, chunks[0], video_tmp, audio=True, faststart=True,
                                progress=tracker.part(0) if tracker else None,
                                step=tracker.step if tracker else None)  # fmt: skip
                else:
                    _render_chunked(job, chunks, video_tmp, tracker)
            finally:
                thumb_error = thumb_job.exception()  # waits; never leaves a thread writing the workdir
            if thumb_error is not None:
                raise thumb_error
        vtt, srt = out_dir / f"{base}.vtt", out_dir / f"{base}.srt"
        write_caption_files(job.cues, vtt, srt)
        thumb = out_dir / f"{base}.jpg"
        shutil.move(str(thumb_tmp), thumb)
        final = out_dir / f"{base}.mp4"
        shutil.move(str(video_tmp), final)  # only a finished file ever appears in output_dir
        info = probe_media(final)
        if not info.has_video or not info.has_audio:
            raise RenderFailedError("The rendered file is missing a stream.")
        return RenderResult(
            video_path=final, thumbnail_path=thumb, vtt_path=vtt, srt_path=srt,
            duration=info.duration, width=info.width or 0, height=info.height or 0,
            fps=info.fps or float(opts.fps), size_bytes=final.stat().st_size,
            video_codec=info.video_codec or "", audio_codec=info.audio_codec or "",
            cues=list(job.cues), elapsed=time.monotonic() - started,
        )  # fmt: skip
    except MediaError as exc:
        log.warning("render failed: %s | %s", exc.message, exc.detail)
        raise
    finally:
        job.cleanup()


PREPARATION = 0.1
"""Share of the render's progress given to the steps before ffmpeg encodes (checking inputs,
scaling stills, measuring loudness): measured, 6 % of a 45 s veryfast render and up to a quarter
of a short ultrafast one; progress moves during them."""


class _Tracker:
    """The render's progress, reported as seconds of video of the total: preparation steps
    first (`step`), then the seconds each chunk has encoded (`part`; chunks may run in parallel)."""

    def __init__(self, sink: ProgressSink, total: float, parts: int, steps: int) -> None:
        self.sink, self.total = sink, total
        self.done = [0.0] * parts
        self.steps, self.steps_done = max(1, steps), 0
        self.lock = threading.Lock()

    def _report(self) -> None:
        prepared = min(1.0, self.steps_done / self.steps)
        encoded = min(1.0, sum(self.done) / self.total) if self.total > 0 else 0.0
        self.sink.report(self.total * (PREPARATION * prepared + (1 - PREPARATION) * encoded), self.total)

    def step(self) -> None:
        with self.lock:
            self.steps_done += 1
            self._report()

    def part(self, index: int) -> Callable[[float], None]:
        def report(seconds: float) -> None:
            with self.lock:
                self.done[index] = max(self.done[index], seconds)
                self._report()

        return report


def _render_chunked(job: Job, chunks: list[ChunkSpec], out: Path, tracker: _Tracker | None = None) -> None:
    workers = max(1, min(job.request.options.chunk_workers, len(chunks)))
    paths = [job.workdir / f"chunk-{c.index:04d}.mp4" for c in chunks]

    def part(i: int) -> Callable[[float], None] | None:
        return tracker.part(i) if tracker else None

    step = tracker.step if tracker else None
    if workers == 1:
        for i, (c, p) in enumerate(zip(chunks, paths, strict=True)):
            encode_span(job, c, p, audio=False, faststart=False, progress=part(i), step=step)
    else:
        # Stills are prepared up front in this thread: Job's cache isn't meant for concurrent fills.
        for c in chunks:
            job.resolved_timeline(c.start_frame, c.end_frame, on_still=step)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(encode_span, job, c, p, audio=False, faststart=False, progress=part(i))
                       for i, (c, p) in enumerate(zip(chunks, paths, strict=True))]  # fmt: skip
            for f in futures:
                f.result()
    join_chunks(paths, out, request=job.request, job=job)
    for p in paths:
        p.unlink(missing_ok=True)


def _thumbnail(job: Job, out: Path) -> None:
    opts = job.request.options
    image = job.request.thumbnail_image or job.first_image()
    if image is None:
        # Only video scenes: grab a frame one second into the first clip.
        first = job.timeline.visuals[0]
        image = job.workdir / "thumb-src.png"
        run_ffmpeg(
            ["-loglevel", "error", "-ss", "1", "-i", str(first.path), "-frames:v", "1", str(image)],
            timeout=job.deadline.remaining(), cancel=job.cancel, what="thumbnail",
        )  # fmt: skip
        if not image.exists():
            run_ffmpeg(["-loglevel", "error", "-i", str(first.path), "-frames:v", "1", str(image)],
                       timeout=60, cancel=job.cancel, what="thumbnail")  # fmt: skip
    make_thumbnail(image, job.request.title, out, opts.aspect)
    trim_heap()  # runs beside the encode: give Pillow's buffers back before the next chunk
