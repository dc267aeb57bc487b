"""Chunked rendering: chunks joined by stream copy equal a single render."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

from media import join_chunks, plan_chunks, probe_media, render_chunk, render_video
from media.job import Job
from media.timeline import plan_cuts

from .conftest import ffmpeg_stderr, make_image, make_wav, request, video_frame_count


def _packet_hashes(path: Path) -> list[str]:
    """MD5 of every video packet, as stored (stream copy: no decoding, no re-encoding)."""
    out = ffmpeg_stderr("-i", str(path), "-map", "0:v", "-c", "copy", "-f", "framemd5", "/dev/stderr")
    return re.findall(r"^0,\s*-?\d+,\s*-?\d+,\s*\d+,\s*\d+,\s*([0-9a-f]{32})", out, re.MULTILINE)


def test_cuts_avoid_crossfades_and_cover_the_timeline(tmp_path):
    imgs = [make_image(tmp_path / f"{i}.png", seed=i) for i in range(6)]
    wav = make_wav(tmp_path / "n.wav", 13.0)
    req = request(tmp_path, imgs, wav, [], total=13.0, transition_seconds=1.0)
    job = Job.prepare(req)
    try:
        chunks = plan_cuts(job.timeline, 3.0)
        assert len(chunks) >= 3
        assert chunks[0].start_frame == 0 and chunks[-1].end_frame == job.timeline.total_frames
        for a, b in itertools.pairwise(chunks):
            assert a.end_frame == b.start_frame
            assert b.start_frame % 30 == 0
            assert all(not (w0 < b.start_frame < w1) for w0, w1 in job.timeline.fade_windows())
    finally:
        job.cleanup()


def test_chunked_render_joins_without_reencode_and_equals_single(tmp_path, assets):
    imgs, wav, cues = assets
    single = render_video(request(tmp_path / "single", imgs, wav, cues))
    req = request(tmp_path / "chunked", imgs, wav, cues, chunk_seconds=1.0)
    chunks = plan_chunks(req)
    assert len(chunks) >= 2
    parts = [render_chunk(req, c, tmp_path / f"part{c.index}.mp4") for c in chunks]
    joined = join_chunks(parts, tmp_path / "joined.mp4", request=req)

    a, b = probe_media(single.video_path), probe_media(joined)
    assert abs(a.duration - b.duration) <= 1 / 30
    assert (a.video_codec, a.audio_codec, a.width, a.height, a.fps, a.pix_fmt, a.audio_sample_rate) == (
        b.video_codec, b.audio_codec, b.width, b.height, b.fps, b.pix_fmt, b.audio_sample_rate)  # fmt: skip
    assert video_frame_count(joined) == video_frame_count(single.video_path) == round(3.8 * 30)
    # The joined video stream is exactly the chunks' packets: no re-encode happened.
    assert _packet_hashes(joined) == [h for p in parts for h in _packet_hashes(p)]


def test_render_video_uses_chunks_when_asked(tmp_path, assets):
    imgs, wav, cues = assets
    res = render_video(request(tmp_path, imgs, wav, cues, chunk_seconds=1.0, chunk_workers=2))
    info = probe_media(res.video_path)
    assert abs(info.duration - 3.8) <= 0.05 and info.has_audio
    assert video_frame_count(res.video_path) == round(3.8 * 30)


def test_long_timelines_cut_into_near_equal_chunks_no_longer_than_asked():
    from media.timeline import build_timeline

    spans = [("image", Path(f"{i}.bmp"), i * 7.5, (i + 1) * 7.5, 0.0) for i in range(27)]
    tl = build_timeline(spans, 200.0, 30, (1080, 1920), 0.5)  # type: ignore[arg-type]
    chunks = plan_cuts(tl, 60.0)
    lengths = [c.duration for c in chunks]
    assert len(chunks) == 4 and sum(lengths) == 200.0
    # no long remainder chunk (its ffmpeg would hold more stills than a 60 s render)
    assert max(lengths) <= 60.0 and max(lengths) - min(lengths) <= 4.0, lengths
    assert all(not (a < c.start_frame < b) for c in chunks for a, b in tl.fade_windows())
