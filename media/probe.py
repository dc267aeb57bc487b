"""Stream facts from `ffmpeg -i FILE` (the bundled ffmpeg has no ffprobe)."""

from __future__ import annotations

import re
import wave
from dataclasses import dataclass
from pathlib import Path

from .errors import InvalidMediaError
from .ffmpeg import run_ffmpeg, summarise_stderr


@dataclass(frozen=True)
class ProbeInfo:
    duration: float
    video_codec: str | None
    audio_codec: str | None
    width: int | None
    height: int | None
    fps: float | None
    pix_fmt: str | None
    audio_sample_rate: int | None
    has_audio: bool
    has_video: bool
    audio_channels: str | None = None
    video_profile: str | None = None


_DURATION = re.compile(r"Duration:\s*(\d+):(\d+):(\d+(?:\.\d+)?)")
_VIDEO = re.compile(r"Stream #\d+:\d+.*?: Video: (\w+)(?: \(([^)]*)\))?(.*)")
_AUDIO = re.compile(r"Stream #\d+:\d+.*?: Audio: (\w+)(.*)")
_SIZE = re.compile(r"(?<![\w])(\d{2,5})x(\d{2,5})(?![\w])")
_FPS = re.compile(r"([\d.]+) fps")
_RATE = re.compile(r"(\d+) Hz")


def probe_media(path: Path | str) -> ProbeInfo:
    p = Path(path)
    if not p.is_file():
        raise InvalidMediaError(f"Media file '{p.name}' does not exist.")
    # `ffmpeg -i` with no output exits 1 by design; the stream summary is what we want.
    run = run_ffmpeg(["-i", str(p)], check=False, timeout=30, what="probe")
    text = run.stderr
    if "Invalid data found" in text or "Stream #" not in text:
        raise InvalidMediaError(
            f"Media file '{p.name}' could not be read; it may be corrupt or of an unsupported type.",
            summarise_stderr(text),
        )
    duration = 0.0
    m = _DURATION.search(text)
    if m:
        duration = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
    vcodec = acodec = pix = profile = channels = None
    width = height = rate = None
    fps = None
    vm = _VIDEO.search(text)
    if vm:
        vcodec = vm.group(1)
        profile = vm.group(2)
        rest = vm.group(3)
        sm = _SIZE.search(rest)
        if sm:
            width, height = int(sm.group(1)), int(sm.group(2))
        fm = _FPS.search(rest)
        if fm:
            fps = float(fm.group(1))
        pm = re.search(r"\b(yuv[a-z0-9]+|yuvj[a-z0-9]+|rgba|rgb24|gray|pal8|nv12|bgra|rgb48be|ya8)\b", rest)
        pix = pm.group(1) if pm else None
    am = _AUDIO.search(text)
    if am:
        acodec = am.group(1)
        rm = _RATE.search(am.group(2))
        rate = int(rm.group(1)) if rm else None
        cm = re.search(r"Hz, ([\w.()]+)", am.group(2))
        channels = cm.group(1) if cm else None
    if p.suffix.lower() == ".wav":
        duration = _wav_duration(p, duration)
    return ProbeInfo(
        duration=duration,
        video_codec=vcodec,
        audio_codec=acodec,
        width=width,
        height=height,
        fps=fps,
        pix_fmt=pix,
        audio_sample_rate=rate,
        has_audio=acodec is not None,
        has_video=vcodec is not None,
        audio_channels=channels,
        video_profile=profile,
    )


def _wav_duration(p: Path, fallback: float) -> float:
    """Exact (sample-accurate) duration for PCM WAV; `ffmpeg -i` rounds to 10 ms."""
    try:
        with wave.open(str(p), "rb") as w:
            rate = w.getframerate()
            return w.getnframes() / rate if rate else fallback
    except (wave.Error, EOFError, OSError):
        return fallback
