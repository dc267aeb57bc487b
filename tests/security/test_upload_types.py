"""Issue #10 item 4: an upload's declared content type was trusted. Its type is now read from
its bytes: real files of the six accepted audio formats (made here by ffmpeg) pass, anything
else does not, whatever it claims to be."""

from __future__ import annotations

import io
import os
import subprocess
import wave
from pathlib import Path

import pytest

from domain.uploads import audio_type

FORMATS = {
    "wav": ([], "audio/wav"),
    "mp3": ([], "audio/mpeg"),
    "m4a": (["-c:a", "aac"], "audio/mp4"),
    "ogg": (["-c:a", "libopus"], "audio/ogg"),
    "webm": ([], "audio/webm"),
    "flac": ([], "audio/flac"),
}


def encoded(tmp: Path, ext: str, extra: list[str]) -> bytes:
    import imageio_ffmpeg

    out = tmp / f"tone.{ext}"
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i",
         "sine=frequency=440:duration=0.3", *extra, str(out)],
        check=True,
    )  # fmt: skip
    return out.read_bytes()


@pytest.mark.parametrize("ext", sorted(FORMATS))
def test_real_audio_files_are_recognised(tmp_path, ext):
    extra, expected = FORMATS[ext]
    assert audio_type(encoded(tmp_path, ext, extra)) == expected


def test_mpeg_frames_without_an_id3_tag_are_mp3(tmp_path):
    data = encoded(tmp_path, "mp3", ["-id3v2_version", "0", "-write_id3v1", "0", "-write_xing", "0"])
    assert data[:3] != b"ID3"
    assert audio_type(data) == "audio/mpeg"


def test_python_written_wav_is_recognised():
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\0\0" * 1600)
    assert audio_type(buf.getvalue()) == "audio/wav"


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.7\n" + b"x" * 500,
        b"<html><body>not audio</body></html>",
        b"\x89PNG\r\n\x1a\n" + b"\0" * 100,
        b"PK\x03\x04" + b"\0" * 100,
        b"\x7fELF" + b"\0" * 100,
        b"RIFF\0\0\0\0AVI LIST" + b"\0" * 100,
        b"",
        b"just some text that claims to be audio/wav",
        os.urandom(4096).replace(b"\xff", b"\0"),
    ],
    ids=["pdf", "html", "png", "zip", "elf", "avi", "empty", "text", "random"],
)
def test_anything_else_is_not_audio(data):
    assert audio_type(data) is None
