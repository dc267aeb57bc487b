"""Media formats the AI adapters share: PCM WAV in and out, and fitting an image to a size.

Providers return audio and pictures in their own shapes; these turn them into what the pipeline
expects (a 16-bit PCM WAV file; a PNG of exactly the asked size)."""

from __future__ import annotations

import io
import os
import struct
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PcmAudio:
    """Little-endian PCM frames plus their format."""

    frames: bytes
    sample_rate: int
    channels: int
    sample_width: int

    @property
    def duration(self) -> float:
        return len(self.frames) / float(self.sample_rate * self.channels * self.sample_width)


def read_wav(data: bytes) -> PcmAudio:
    """Parse a PCM WAV tolerantly: streamed WAVs (OpenAI's included) carry placeholder
    sizes (0xFFFFFFFF or 0) in the RIFF and data headers, so the data runs to the end."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("not a WAV file")
    pos = 12
    fmt: tuple[int, int, int, int] | None = None
    while pos + 8 <= len(data):
        chunk_id = data[pos : pos + 4]
        (size,) = struct.unpack_from("<I", data, pos + 4)
        body = pos + 8
        if chunk_id == b"fmt ":
            if size < 16 or body + 16 > len(data):
                raise ValueError("truncated WAV fmt chunk")
            audio_format, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", data, body)
            fmt = (audio_format, channels, rate, bits)
        elif chunk_id == b"data":
            if fmt is None:
                raise ValueError("WAV data before fmt")
            audio_format, channels, rate, bits = fmt
            if audio_format not in (1, 0xFFFE) or bits != 16 or channels < 1 or rate < 1:
                raise ValueError(f"unsupported WAV encoding (format {audio_format}, {bits} bits)")
            end = len(data) if size in (0, 0xFFFFFFFF) or body + size > len(data) else body + size
            frame = channels * 2
            frames = data[body:end]
            frames = frames[: len(frames) - len(frames) % frame]
            return PcmAudio(frames, rate, channels, 2)
        pos = body + size + (size & 1)
    raise ValueError("WAV without a data chunk")


def write_wav(path: Path, audio: PcmAudio) -> None:
    """Write atomically: a temp file in the same folder, then rename (readers never see half)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".wav-", suffix=".wav", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as raw, wave.open(raw, "wb") as out:
            out.setnchannels(audio.channels)
            out.setsampwidth(audio.sample_width)
            out.setframerate(audio.sample_rate)
            out.writeframes(audio.frames)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def fit_image(data: bytes, width: int, height: int) -> bytes:
    """Centre-crop to the aspect ratio and resize to exactly width x height; PNG out."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            picture = img.convert("RGBA" if "A" in img.getbands() else "RGB")
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise ValueError(f"not a readable image: {exc}") from exc
    if picture.size != (width, height):
        picture = ImageOps.fit(picture, (width, height), method=Image.Resampling.LANCZOS)
    out = io.BytesIO()
    picture.save(out, format="PNG")
    return out.getvalue()
