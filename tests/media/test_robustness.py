"""Bad inputs give a clear error (or a correct render), never a hang; temp files are cleaned."""

from __future__ import annotations

import glob
import tempfile
import threading
import time
from pathlib import Path

import pytest

from media import (
    CaptionCue,
    InvalidMediaError,
    RenderCancelled,
    RenderFailedError,
    RenderTimeoutError,
    SceneInput,
    cues_from_sentences,
    probe_media,
    render_video,
)
from media.ffmpeg import run_ffmpeg, summarise_stderr

from .conftest import make_image, make_wav, request


def _workdirs() -> set[str]:
    return set(glob.glob(str(Path(tempfile.gettempdir()) / "autovideo-*")))


@pytest.fixture
def no_leaks(tmp_path, monkeypatch):
    # A temp folder of this test's own: renders of other test workers can't be mistaken for leaks.
    private = tmp_path / "tmp"
    private.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    before = _workdirs()
    yield
    assert _workdirs() - before == set(), "temporary render files left behind"


def _user_safe(exc: InvalidMediaError, tmp_path: Path) -> None:
    assert str(tmp_path) not in exc.message and "ffmpeg version" not in exc.message


def test_missing_scene_image(tmp_path, no_leaks):
    wav = make_wav(tmp_path / "n.wav", 2.0)
    with pytest.raises(InvalidMediaError, match="scene 1 is missing") as ei:
        render_video(request(tmp_path, [tmp_path / "nope.png"], wav, [], total=2.0))
    _user_safe(ei.value, tmp_path)


def test_corrupt_scene_image(tmp_path, no_leaks):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 100)
    wav = make_wav(tmp_path / "n.wav", 2.0)
    with pytest.raises(InvalidMediaError, match="could not be read") as ei:
        render_video(request(tmp_path, [make_image(tmp_path / "ok.png"), bad], wav, [], total=2.0))
    _user_safe(ei.value, tmp_path)


def test_corrupt_scene_video(tmp_path, no_leaks):
    bad = tmp_path / "clip.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 500)
    wav = make_wav(tmp_path / "n.wav", 2.0)
    req = request(tmp_path, [make_image(tmp_path / "ok.png")], wav, [], total=2.0)
    req = type(req)([SceneInput(bad, 0, 2, kind="video")], wav, [], "t", req.output_dir, req.options)
    with pytest.raises(InvalidMediaError) as ei:
        render_video(req)
    _user_safe(ei.value, tmp_path)
    assert ei.value.detail  # summarised ffmpeg stderr kept for the logs


def test_zero_length_and_missing_narration(tmp_path, no_leaks):
    img = make_image(tmp_path / "a.png")
    empty = make_wav(tmp_path / "empty.wav", 0.0)
    with pytest.raises(InvalidMediaError, match="empty"):
        render_video(request(tmp_path, [img], empty, [], total=1.0))
    with pytest.raises(InvalidMediaError, match="does not exist"):
        render_video(request(tmp_path, [img], tmp_path / "missing.wav", [], total=1.0))
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF????WAVEfmt " + b"\x01" * 64)
    with pytest.raises(InvalidMediaError):
        render_video(request(tmp_path, [img], junk, [], total=1.0))


@pytest.fixture
def without_cjk_font(monkeypatch):
    """Behave as on a machine without the optional CJK font package."""
    from media import captions

    def clear() -> None:
        for fn in (captions._glyph_font, captions._pil_cjk, captions._notdef_cjk):
            fn.cache_clear()

    clear()
    monkeypatch.setattr(captions, "cjk_font_path", lambda: None)
    monkeypatch.setattr("media.job.cjk_font_path", lambda: None)
    yield
    clear()


def test_cjk_without_a_font_is_a_clear_error(tmp_path, no_leaks, without_cjk_font):
    img = make_image(tmp_path / "a.png")
    wav = make_wav(tmp_path / "n.wav", 2.0)
    with pytest.raises(InvalidMediaError, match="cannot display"):
        render_video(request(tmp_path, [img], wav, [CaptionCue(0, 2, "日本語のテキスト")], total=2.0))
    # ...and rendering without burned-in captions still works
    res = render_video(request(tmp_path, [img], wav, [CaptionCue(0, 2, "日本語")], total=2.0, captions=False))
    assert res.duration > 1.9


def test_emoji_rtl_and_long_words_render(tmp_path, no_leaks):
    img = make_image(tmp_path / "a.png")
    wav = make_wav(tmp_path / "n.wav", 3.0)
    cues = cues_from_sentences([
        (0.0, 1.0, "Hello 😀 world 🚀"),
        (1.0, 2.0, "مرحبا بالعالم — שלום עולם"),
        (2.0, 3.0, "A" * 200),
    ])  # fmt: skip
    res = render_video(request(tmp_path, [img], wav, cues, total=3.0, aspect="SQUARE"))
    texts = [c.text for c in res.cues]
    assert any("😀" in t for t in texts)  # DejaVu has this one
    assert not any("🚀" in t for t in texts)  # no glyph: dropped rather than drawn as a box
    assert any("مرحبا" in t for t in texts)
    assert all(len(t.split("\n")) <= 2 for t in texts)
    assert abs(probe_media(res.video_path).duration - 3.0) <= 0.05


def test_timeout_kills_ffmpeg_and_cleans_up(tmp_path, no_leaks):
    imgs = [make_image(tmp_path / f"{i}.png", seed=i) for i in range(2)]
    wav = make_wav(tmp_path / "n.wav", 20.0)
    req = request(tmp_path, imgs, wav, [], total=20.0, preset="medium")
    t0 = time.monotonic()
    with pytest.raises(RenderTimeoutError):
        render_video(req, timeout=1.5)
    assert time.monotonic() - t0 < 6
    assert not (tmp_path / "out" / "video.mp4").exists()


def test_cancel_is_prompt(tmp_path, no_leaks):
    imgs = [make_image(tmp_path / f"{i}.png", seed=i) for i in range(2)]
    wav = make_wav(tmp_path / "n.wav", 20.0)
    cancel = threading.Event()
    threading.Timer(1.0, cancel.set).start()
    t0 = time.monotonic()
    with pytest.raises(RenderCancelled):
        render_video(request(tmp_path, imgs, wav, [], total=20.0, preset="medium"), cancel=cancel)
    assert time.monotonic() - t0 < 5


def test_ffmpeg_failure_is_summarised():
    with pytest.raises(RenderFailedError) as ei:
        run_ffmpeg(["-f", "lavfi", "-i", "nullsrc", "-vf", "no_such_filter", "-f", "null", "-"], timeout=30)
    assert "no_such_filter" in ei.value.detail or "Filter not found" in ei.value.detail
    assert "ffmpeg version" not in ei.value.detail and len(ei.value.detail.splitlines()) <= 12
    assert "configuration:" not in summarise_stderr("configuration: --enable-x\nError: boom")
