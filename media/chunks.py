"""Chunked rendering: independent video-only chunks that several workers can share, joined
by stream copy (no video re-encode) while the audio is mixed and encoded once at the join.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .audio import AudioPlan, audio_codec_args, audio_graph, measure_loudness
from .encode import x264_args
from .errors import MediaError
from .ffmpeg import run_ffmpeg
from .filtergraph import GraphInputs, Overlay, video_graph
from .job import Job
from .timeline import ChunkSpec, plan_cuts
from .types import CancelSignal, RenderOptions, RenderRequest

DEFAULT_CHUNK_SECONDS = 60.0


def plan_chunks(request: RenderRequest, chunk_seconds: float | None = None) -> list[ChunkSpec]:
    """Chunks of the request's timeline (cut on whole seconds outside crossfades)."""
    job = Job.prepare(request, validate_all=False)
    try:
        secs = chunk_seconds or request.options.chunk_seconds or DEFAULT_CHUNK_SECONDS
        return plan_cuts(job.timeline, secs)
    finally:
        job.cleanup()


def encode_span(
    job: Job,
    chunk: ChunkSpec,
    out_path: Path,
    *,
    audio: bool,
    faststart: bool,
    progress: Callable[[float], None] | None = None,
    step: Callable[[], None] | None = None,
) -> None:
    """One ffmpeg pass producing frames [chunk.start_frame, chunk.end_frame) (+ audio if asked).

    `progress(seconds)`: seconds of this span encoded so far, as ffmpeg reports them; `step()`:
    one piece of the preparation done (a still scaled, the loudness measured)."""
    opts = job.request.options
    tl = job.resolved_timeline(chunk.start_frame, chunk.end_frame, on_still=step)
    inputs = GraphInputs()
    logo = job.logo()
    overlay = Overlay(
        logo_path=logo[0] if logo else None,
        logo_xy=logo[1] if logo else (0, 0),
        ass_path=job.chunk_ass(chunk),
        fonts_dir=job.fonts_dir(),
    )
    graph, vout = video_graph(tl, chunk.start_frame, chunk.end_frame, inputs, overlay, job.still_dims)
    maps = ["-map", f"[{vout}]"]
    tail: list[str] = ["-an"]
    if audio:
        plan = _audio_plan(job, inputs.count, opts)
        if step is not None:
            step()
        inputs.args += ["-i", str(job.request.narration_path)]
        inputs.count += 1
        if opts.music_path is not None:
            inputs.args += ["-stream_loop", "-1", "-i", str(opts.music_path)]
            inputs.count += 1
        agraph, aout = audio_graph(plan)
        graph += ";" + agraph
        maps += ["-map", f"[{aout}]"]
        tail = audio_codec_args(opts.audio_bitrate)
    graph_file = job.workdir / f"graph-{chunk.index}.txt"
    graph_file.write_text(graph, encoding="utf-8")  # long graphs overflow argv limits otherwise
    args = [
        "-loglevel", "error", *([] if progress else ["-stats_period", "5"]),
        *inputs.args,
        "-/filter_complex", str(graph_file), "-filter_complex_threads", "1",
        *maps, *x264_args(opts), *tail,
        "-frames:v", str(chunk.end_frame - chunk.start_frame),
        *(["-t", f"{chunk.duration:.6f}"] if audio else []),
        *(["-movflags", "+faststart"] if faststart else []),
        str(out_path),
    ]  # fmt: skip
    span = chunk.duration
    run_ffmpeg(
        args, timeout=job.deadline.remaining(), cancel=job.cancel, what="render",
        progress=(lambda t: progress(min(t, span))) if progress else None,
    )  # fmt: skip


def _audio_plan(job: Job, narration_input: int, opts: RenderOptions) -> AudioPlan:
    loud = measure_loudness(
        job.request.narration_path, opts.loudness_target, opts.true_peak,
        timeout=job.deadline.remaining(), cancel=job.cancel,
    )  # fmt: skip
    return AudioPlan(
        narration_input=narration_input,
        music_input=narration_input + 1 if opts.music_path is not None else None,
        loudness=loud, target=opts.loudness_target, true_peak=opts.true_peak,
        delay=job.intro, total=job.total, music_volume_db=opts.music_volume,
    )  # fmt: skip


def render_chunk(
    request: RenderRequest,
    chunk: ChunkSpec,
    out_path: Path,
    *,
    job: Job | None = None,
    timeout: float | None = None,
    cancel: CancelSignal | None = None,
) -> Path:
    """Render one chunk as a video-only MP4. Any worker can render any chunk independently."""
    own = job is None
    j = job or Job.prepare(request, timeout=timeout, cancel=cancel, validate_all=False)
    try:
        encode_span(j, chunk, Path(out_path), audio=False, faststart=False)
    finally:
        if own:
            j.cleanup()
    return Path(out_path)


def join_chunks(
    paths: list[Path],
    out_path: Path,
    *,
    request: RenderRequest,
    job: Job | None = None,
    timeout: float | None = None,
    cancel: CancelSignal | None = None,
) -> Path:
    """Concatenate chunk files by stream copy and add the narration (+ music) mix."""
    if not paths:
        raise MediaError("There are no chunks to join.")
    own = job is None
    j = job or Job.prepare(request, timeout=timeout, cancel=cancel, validate_all=False)
    try:
        opts = request.options
        listing = j.workdir / "chunks.txt"
        listing.write_text("".join(f"file '{Path(p).resolve()}'\n" for p in paths), encoding="utf-8")
        plan = _audio_plan(j, 1, opts)
        graph, aout = audio_graph(plan)
        music = ["-stream_loop", "-1", "-i", str(opts.music_path)] if opts.music_path else []
        args = [
            "-loglevel", "error",
            "-f", "concat", "-safe", "0", "-i", str(listing),
            "-i", str(request.narration_path), *music,
            "-filter_complex", graph,
            "-map", "0:v", "-map", f"[{aout}]",
            "-c:v", "copy", *audio_codec_args(opts.audio_bitrate),
            "-t", f"{j.total:.6f}", "-movflags", "+faststart",
            str(out_path),
        ]  # fmt: skip
        run_ffmpeg(args, timeout=j.deadline.remaining(), cancel=j.cancel, what="join")
    finally:
        if own:
            j.cleanup()
    return Path(out_path)
