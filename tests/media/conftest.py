"""Factories for media tests: every input is generated here (no binary fixtures)."""

from __future__ import annotations

import re
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from media import CaptionCue, RenderOptions, RenderRequest, SceneInput, cues_from_sentences
from media.ffmpeg import ffmpeg_exe

FAST = {"preset": "ultrafast", "crf": 30}

# (start, end, text) — tone while "speaking", silence in the gaps between sentences.
SENTENCES = [
    (0.0, 1.2, "The first sentence is here."),
    (1.6, 2.7, "A second, rather longer sentence that will need more than one caption line."),
    (3.0, 3.6, "Short."),
]


def make_image(path: Path, size: tuple[int, int] = (960, 720), seed: int = 0, solid: bool = False) -> Path:
    rng = np.random.default_rng(seed)
    colour = tuple(int(c) for c in rng.integers(30, 200, 3))
    im = Image.new("RGB", size, colour)
    if not solid:
        draw = ImageDraw.Draw(im)
        for _ in range(12):
            x, y = (int(v) for v in rng.integers(0, min(size), 2))
            r = int(rng.integers(20, 160))
            draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(int(c) for c in rng.integers(0, 255, 3)))
    im.save(path)
    return path


def make_wav(
    path: Path,
    seconds: float,
    spans: list[tuple[float, float]] | None = None,
    rate: int = 22050,
    amplitude: float = 0.1,
    freq: float = 330.0,
) -> Path:
    """Mono 16-bit WAV: a tone inside `spans` (default: the whole length), silence elsewhere."""
    n = round(seconds * rate)
    t = np.arange(n) / rate
    sig = amplitude * np.sin(2 * np.pi * freq * t) * (1 + 0.3 * np.sin(2 * np.pi * 3 * t))
    if spans is not None:
        mask = np.zeros(n, dtype=bool)
        for a, b in spans:
            mask[round(a * rate) : round(b * rate)] = True
        sig = np.where(mask, sig, 0.0)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(sig, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def make_clip(path: Path, seconds: float = 2.0, size: str = "640x360") -> Path:
    subprocess.run(
        [ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i", f"testsrc2=s={size}:r=25:d={seconds}",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path)],
        check=True,
    )  # fmt: skip
    return path


def ffmpeg_stderr(*args: str) -> str:
    return subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", *args], capture_output=True, text=True, timeout=120
    ).stderr


def mean_volume(path: Path) -> float:
    err = ffmpeg_stderr("-i", str(path), "-vn", "-af", "volumedetect", "-f", "null", "-")
    m = re.search(r"mean_volume: (-?[\d.]+|-inf) dB", err)
    assert m, err[-500:]
    return float(m.group(1))


def loudness(path: Path) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) measured by ffmpeg's ebur128."""
    err = ffmpeg_stderr("-i", str(path), "-vn", "-af", "ebur128=peak=true", "-f", "null", "-")
    summary = err[err.rfind("Summary:") :]
    i = float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary).group(1))  # type: ignore[union-attr]
    tp = float(re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary).group(1))  # type: ignore[union-attr]
    return i, tp


def frame_at(path: Path, t: float, width: int, height: int) -> np.ndarray:
    """Decoded RGB frame at time t (accurate seek), as an HxWx3 array."""
    out = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-ss", f"{t:.3f}", "-i", str(path), "-frames:v", "1",
         "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    return np.frombuffer(out, dtype=np.uint8).reshape(height, width, 3)


def video_frame_count(path: Path) -> int:
    err = ffmpeg_stderr("-i", str(path), "-map", "0:v", "-c", "copy", "-f", "null", "-")
    return int(re.findall(r"frame=\s*(\d+)", err)[-1])


@pytest.fixture
def assets(tmp_path: Path):
    """Three images, a narration WAV with gaps between sentences, cues from its sentences."""
    imgs = [make_image(tmp_path / f"scene{i}.png", seed=i) for i in range(3)]
    wav = make_wav(tmp_path / "narration.wav", 3.8, spans=[(a, b) for a, b, _ in SENTENCES])
    cues = cues_from_sentences(SENTENCES)
    return imgs, wav, cues


def scenes_for(imgs: list[Path], total: float) -> list[SceneInput]:
    step = total / len(imgs)
    return [SceneInput(p, i * step, (i + 1) * step) for i, p in enumerate(imgs)]


def request(
    tmp_path: Path, imgs: list[Path], wav: Path, cues: list[CaptionCue], total: float = 3.8, **opts
) -> RenderRequest:
    options = RenderOptions(**{**FAST, **opts})
    return RenderRequest(scenes_for(imgs, total), wav, cues, "Test title", tmp_path / "out", options)
