"""End-to-end renders, checked with `ffmpeg -i` and decoded frames."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from media import frame_size, parse_vtt, probe_media, render_video
from media.render import PREPARATION

from .conftest import SENTENCES, frame_at, loudness, make_clip, make_image, make_wav, mean_volume, request


def _faststart(path: Path) -> bool:
    data = path.read_bytes()
    return 0 <= data.find(b"moov") < data.find(b"mdat")


class Reports:
    def __init__(self) -> None:
        self.seen: list[tuple[float, float]] = []

    def report(self, done: float, total: float) -> None:
        self.seen.append((done, total))


def test_portrait_render_probe(assets, tmp_path):
    imgs, wav, cues = assets
    progress = Reports()
    res = render_video(request(tmp_path, imgs, wav, cues), progress=progress)
    # progress: the preparation steps (the job, 3 stills, then the loudness, which completes the
    # preparation's share), then ffmpeg's encode reports, ending at the whole length; never back
    done = [d for d, _ in progress.seen]
    assert done == sorted(done) and {t for _, t in progress.seen} == {3.8}
    assert len([d for d in done if d < PREPARATION * 3.8 - 1e-9]) == 4 and done[-1] == 3.8
    info = probe_media(res.video_path)
    assert (info.video_codec, info.audio_codec, info.pix_fmt) == ("h264", "aac", "yuv420p")
    assert (info.width, info.height, info.fps) == (1080, 1920, 30.0)
    assert info.audio_sample_rate == 48000
    assert abs(info.duration - 3.8) <= 0.05
    assert mean_volume(res.video_path) > -40
    assert _faststart(res.video_path)
    assert (res.width, res.height, res.video_codec, res.audio_codec) == (1080, 1920, "h264", "aac")
    assert res.size_bytes == res.video_path.stat().st_size
    # captions files match what was burned in
    vtt = parse_vtt(res.vtt_path.read_text())
    assert [(c.start, c.end, c.text) for c in vtt] == [(c.start, c.end, c.text) for c in res.cues]
    assert res.srt_path.read_text().count("-->") == len(res.cues)
    with Image.open(res.thumbnail_path) as th:
        assert th.format == "JPEG" and th.size == (1080, 1920)
    # the only files left are the outputs
    assert sorted(p.name for p in res.video_path.parent.iterdir()) == [
        "video.jpg", "video.mp4", "video.srt", "video.vtt"]  # fmt: skip


def test_loudness_normalised(tmp_path):
    imgs = [make_image(tmp_path / "a.png")]
    wav = make_wav(tmp_path / "quiet.wav", 4.0, amplitude=0.02)  # about -37 LUFS
    res = render_video(request(tmp_path, imgs, wav, [], total=4.0, captions=False))
    integrated, peak = loudness(res.video_path)
    assert abs(integrated - (-16.0)) <= 1.5
    assert peak <= -1.0


@pytest.mark.parametrize("aspect", ["LANDSCAPE", "SQUARE"])
def test_other_aspects(aspect, tmp_path):
    imgs = [make_image(tmp_path / f"{i}.png", seed=i) for i in range(2)]
    wav = make_wav(tmp_path / "n.wav", 2.0)
    from media import cues_from_sentences

    res = render_video(request(tmp_path, imgs, wav, cues_from_sentences([(0, 2, "Hello")]), total=2.0,
                               aspect=aspect))  # fmt: skip
    info = probe_media(res.video_path)
    assert (info.width, info.height) == frame_size(aspect)
    assert abs(info.duration - 2.0) <= 0.05
    with Image.open(res.thumbnail_path) as th:
        assert th.size == frame_size(aspect)


def _caption_ink(frame: np.ndarray) -> int:
    """White caption pixels in the lower-middle band where captions sit (the scene is dark)."""
    h = frame.shape[0]
    band = frame[int(h * 0.5) : int(h * 0.95)]
    return int((band.min(axis=2) > 200).sum())


def test_burned_captions_follow_narration_timing(tmp_path):
    # Solid dark scenes: any bright pixels in the caption band are caption text.
    imgs = [make_image(tmp_path / "dark.png", solid=True, seed=7)]
    Image.new("RGB", (64, 64), (20, 20, 30)).save(imgs[0])
    wav = make_wav(tmp_path / "n.wav", 3.8, spans=[(a, b) for a, b, _ in SENTENCES])
    from media import cues_from_sentences

    res = render_video(request(tmp_path, imgs, wav, cues_from_sentences(SENTENCES), motion=False,
                               aspect="SQUARE"))  # fmt: skip
    w, h = frame_size("SQUARE")
    for start, end, _ in SENTENCES:
        assert _caption_ink(frame_at(res.video_path, start + 0.05, w, h)) > 500, start
        assert _caption_ink(frame_at(res.video_path, end - 0.1, w, h)) > 500, end
    # gaps between sentences show no caption (within 100 ms of the boundaries)
    for (_, end, _), (nxt, _, _) in itertools.pairwise(SENTENCES):
        assert _caption_ink(frame_at(res.video_path, end + 0.1, w, h)) == 0, end
        assert _caption_ink(frame_at(res.video_path, nxt - 0.1, w, h)) == 0, nxt


def test_captions_above_bottom_fifth_on_portrait(tmp_path):
    img = tmp_path / "dark.png"
    Image.new("RGB", (64, 64), (20, 20, 30)).save(img)
    wav = make_wav(tmp_path / "n.wav", 2.0)
    from media import cues_from_sentences

    cues = cues_from_sentences([(0, 2, "Two lines of caption text to check the safe zone")])
    res = render_video(request(tmp_path, [img], wav, cues, total=2.0, motion=False))
    f = frame_at(res.video_path, 0.5, 1080, 1920)
    rows = np.where((f.min(axis=2) > 200).any(axis=1))[0]
    assert rows.size and rows.max() < 1920 * 0.8
    lines_h = rows.max() - rows.min()
    assert lines_h > 1920 * 0.05  # two lines of text at a phone-readable size
    cols = np.where((f.min(axis=2) > 200).any(axis=0))[0]
    assert cols.min() > 0.05 * 1080 and cols.max() < 0.95 * 1080


def test_intro_outro_logo_music_and_video_scene(tmp_path):
    imgs = [make_image(tmp_path / "a.png", seed=1), make_clip(tmp_path / "clip.mp4", 1.0)]
    wav = make_wav(tmp_path / "n.wav", 3.0, spans=[(0.0, 1.2), (1.6, 2.8)])
    music = make_wav(tmp_path / "music.wav", 0.7, freq=523.0, amplitude=0.3)
    logo = tmp_path / "logo.png"
    Image.new("RGB", (200, 100), (255, 0, 255)).save(logo)
    from media import SceneInput, cues_from_sentences

    req = request(tmp_path, [imgs[0]], wav, cues_from_sentences([(0.0, 1.2, "Hello"), (1.6, 2.8, "World")]),
                  total=3.0, intro_text="Intro card", outro_text="Thanks for watching",
                  intro_seconds=1.0, outro_seconds=1.0, music_path=music, logo_path=logo)  # fmt: skip
    req = type(req)(
        [SceneInput(imgs[0], 0.0, 1.5), SceneInput(imgs[1], 1.5, 3.0, kind="video")],
        req.narration_path,
        req.cues,
        req.title,
        req.output_dir,
        req.options,
    )
    res = render_video(req)
    info = probe_media(res.video_path)
    assert abs(info.duration - 5.0) <= 0.05
    # cues shift by the intro, in the files too
    vtt = parse_vtt(res.vtt_path.read_text())
    assert abs(vtt[0].start - 1.0) < 0.02 and abs(vtt[1].start - 2.6) < 0.02
    # music plays under the outro (no narration there), looped past its 0.7 s length
    tail = tmp_path / "tail.wav"
    from .conftest import ffmpeg_stderr

    ffmpeg_stderr("-y", "-ss", "4.2", "-i", str(res.video_path), "-t", "0.5", str(tail))
    assert mean_volume(tail) > -45
    # the magenta logo is drawn top right (85 % opaque), on cards and scenes alike
    for t in (0.5, 2.0):
        f = frame_at(res.video_path, t, 1080, 1920).astype(int)
        corner = f[100:200, 850:1030]
        magenta = (corner[..., 0] > 180) & (corner[..., 2] > 180) & (corner[..., 1] < 90)
        assert magenta.mean() > 0.5, t
        assert not ((f[1700:, :200, 0] > 180) & (f[1700:, :200, 2] > 180) & (f[1700:, :200, 1] < 90)).any()


def _caption_mask(tmp_path: Path, text: str) -> np.ndarray:
    img = tmp_path / "dark.png"
    Image.new("RGB", (64, 64), (20, 20, 30)).save(img)
    wav = make_wav(tmp_path / "n.wav", 1.0)
    from media import CaptionCue

    res = render_video(request(tmp_path / text[:2], [img], wav, [CaptionCue(0, 1, text)], total=1.0,
                               motion=False, aspect="SQUARE"))  # fmt: skip
    assert [c.text for c in res.cues] == [text]
    return frame_at(res.video_path, 0.5, 1080, 1080).min(axis=2) > 200


def test_cjk_captions_render_real_glyphs(tmp_path):
    pytest.importorskip("noto_cjk_sans_jp_bold")
    # Same length, different characters: real glyphs differ, missing-glyph boxes would not.
    a = _caption_mask(tmp_path, "日本語の字幕")
    b = _caption_mask(tmp_path, "한국어 자막")
    assert a.sum() > 1500 and b.sum() > 1500
    assert (a ^ b).sum() > 0.5 * max(a.sum(), b.sum())
    rows = np.where(a.any(axis=1))[0]
    assert rows.max() < 1080 * 0.95  # sits in the caption band, inside the frame


def test_pan_speed_is_capped_and_axes_move_on_the_same_frames():
    from media.filtergraph import MAX_PAN_PX_PER_FRAME, plan_pan

    # A short scene (60 frames) with a diagonal over a 108x192 px margin: capped, centred.
    pan = plan_pan((1.0, 0.0, 0.0, 1.0), 108, 192, 60)
    speed = max(abs(pan.x1 - pan.x0), abs(pan.y1 - pan.y0)) / 59
    assert speed == pytest.approx(MAX_PAN_PX_PER_FRAME)
    assert (pan.x0 + pan.x1) / 2 == pytest.approx(54) and (pan.y0 + pan.y1) / 2 == pytest.approx(96)
    assert min(pan.x0, pan.x1) >= 0 and max(pan.x0, pan.x1) <= 108
    assert pan.step == 4  # 2 px (one chroma sample) per step at 0.5 px/frame
    x, y = pan.exprs(10, 60)
    assert "4*floor((n+10)/4)" in x and "4*floor((n+10)/4)" in y
    # A long scene pans the whole margin, slower than the cap; a still card does not move.
    slow = plan_pan((0.0, 0.5, 1.0, 0.5), 108, 192, 900)
    assert (slow.x0, slow.x1) == (0, 108) and slow.exprs(0, 900)[1] == "96"
    assert plan_pan((0.5, 0.5, 0.5, 0.5), 108, 192, 60).exprs(0, 60) == ("54", "96")


def test_pans_move_the_picture(tmp_path):
    img = make_image(tmp_path / "a.png", size=(1080, 1920), seed=3)
    wav = make_wav(tmp_path / "n.wav", 3.0)
    res = render_video(request(tmp_path, [img], wav, [], total=3.0, captions=False))
    a = frame_at(res.video_path, 0.2, 1080, 1920).astype(int)
    b = frame_at(res.video_path, 2.8, 1080, 1920).astype(int)
    assert np.abs(a - b).mean() > 5


@pytest.mark.parametrize("colour", [(200, 60, 30), (30, 180, 90), (40, 60, 220)])
def test_scene_colours_survive_the_encode(colour, tmp_path):
    # Stills are converted to yuv420p with the BT.709 matrix the stream is tagged with; a
    # BT.601 conversion (swscale's default) turned (30, 180, 90) into about (16, 158, 85).
    img = tmp_path / "c.png"
    Image.new("RGB", (64, 64), colour).save(img)
    res = render_video(request(tmp_path, [img], make_wav(tmp_path / "n.wav", 1.0), [], total=1.0,
                               captions=False, aspect="SQUARE"))  # fmt: skip
    got = frame_at(res.video_path, 0.5, 1080, 1080).reshape(-1, 3).mean(axis=0)
    assert np.abs(got - np.array(colour)).max() <= 4, got


def test_cjk_titles_on_thumbnails_are_real_glyphs(tmp_path):
    """With a font lacking them, every CJK character is the same empty box, so two different
    titles would draw identical pictures; with the CJK font they differ."""
    from media import make_thumbnail

    still = make_image(tmp_path / "still.png", (1080, 1920), seed=3, solid=True)
    pictures = []
    for i, title in enumerate(("日本の夏", "韓国の冬")):
        out = make_thumbnail(still, title, tmp_path / f"thumb{i}.jpg", "PORTRAIT")
        pictures.append(np.asarray(Image.open(out).convert("L"), dtype=np.int16))
    assert np.abs(pictures[0] - pictures[1]).mean() > 0.5


def test_thumbnail_starts_from_the_chosen_still(tmp_path):
    """Scenes may carry their own heading; the thumbnail can start from a plain one instead."""
    from dataclasses import replace

    from PIL import Image as PILImage

    blue = tmp_path / "blue.png"
    PILImage.new("RGB", (1080, 1920), (20, 40, 200)).save(blue)
    red = tmp_path / "red.png"
    PILImage.new("RGB", (1080, 1920), (200, 30, 30)).save(red)
    wav = make_wav(tmp_path / "n.wav", 2.0)
    req = replace(request(tmp_path, [blue], wav, [], total=2.0), thumbnail_image=red)
    result = render_video(req)
    corner = (
        np.asarray(PILImage.open(result.thumbnail_path).convert("RGB"))[:100, :100].reshape(-1, 3).mean(0)
    )
    assert corner[0] > 150 and corner[2] < 80  # red, not the first scene's blue
