"""Value types of the renderer's public API."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

AspectRatio = Literal["PORTRAIT", "LANDSCAPE", "SQUARE"]

_SIZES: dict[str, tuple[int, int]] = {
    "PORTRAIT": (1080, 1920),
    "LANDSCAPE": (1920, 1080),
    "SQUARE": (1080, 1080),
}


def frame_size(aspect: AspectRatio | str) -> tuple[int, int]:
    try:
        return _SIZES[str(aspect).upper()]
    except KeyError:
        raise ValueError(f"unknown aspect ratio {aspect!r}; use PORTRAIT, LANDSCAPE or SQUARE") from None


@dataclass(frozen=True)
class SceneInput:
    path: Path
    start: float
    end: float
    kind: Literal["image", "video"] = "image"
    heading: str | None = None


@dataclass(frozen=True)
class CaptionCue:
    start: float
    end: float
    text: str  # "\n" separates lines (at most two once fitted)


@dataclass(frozen=True)
class CaptionStyle:
    # Sizes are fractions of the frame height so captions read the same on every aspect.
    font_size: float = 0.04  # of frame height (portrait); landscape/square use a larger share
    bold: bool = True
    text_color: str = "FFFFFF"  # RRGGBB
    outline_color: str = "000000"
    outline: float = 0.09  # outline width as a fraction of the font size
    box: bool = False  # opaque box behind the text instead of an outline
    box_opacity: float = 0.6
    max_lines: int = 2
    uppercase: bool = False


@dataclass(frozen=True)
class RenderOptions:
    aspect: AspectRatio = "PORTRAIT"
    fps: int = 30
    crf: int = 23
    preset: str = "veryfast"
    captions: bool = True
    caption_style: CaptionStyle = field(default_factory=CaptionStyle)
    music_path: Path | None = None
    music_volume: float = -20.0  # dB of the music bed relative to full scale, before ducking
    logo_path: Path | None = None
    intro_text: str | None = None
    outro_text: str | None = None
    intro_seconds: float = 2.0
    outro_seconds: float = 2.0
    transition_seconds: float = 0.5
    loudness_target: float = -16.0  # LUFS integrated
    true_peak: float = -1.5  # dBTP (a margin under the -1 dBTP ceiling for AAC overshoot)
    audio_bitrate: str = "160k"
    threads: int | None = None  # x264 threads; None = number of CPUs
    chunk_seconds: float | None = None  # split long renders into chunks of about this length
    chunk_workers: int = 1  # chunks rendered in parallel by render_video
    motion: bool = True


@dataclass(frozen=True)
class RenderRequest:
    scenes: list[SceneInput]
    narration_path: Path
    cues: list[CaptionCue]
    title: str
    output_dir: Path
    options: RenderOptions = field(default_factory=RenderOptions)
    basename: str = "video"
    thumbnail_image: Path | None = None
    """The still the thumbnail is drawn on (with the title); default: the first image scene.
    Pass one without text of its own, or the title is drawn over other text."""


@dataclass(frozen=True)
class RenderResult:
    video_path: Path
    thumbnail_path: Path
    vtt_path: Path
    srt_path: Path
    duration: float
    width: int
    height: int
    fps: float
    size_bytes: int
    video_codec: str
    audio_codec: str
    cues: list[CaptionCue] = field(default_factory=list)  # as burned in (output timeline)
    elapsed: float = 0.0


class CancelSignal(Protocol):
    """What a render polls to stop early: a `threading.Event`, or a `processes.CancelFlag` when
    the render runs in a worker process."""

    def is_set(self) -> bool: ...


class ProgressSink(Protocol):
    """Where a render (or synthesis) says how far it is: `report(done, total)`, e.g. seconds of
    video encoded of the total. A `progress.ProgressFile` carries it across processes."""

    def report(self, done: float, total: float) -> None: ...
