"""Narration loudness normalisation and the music bed (looped, ducked under speech).

Loudness is two-pass: a quick audio-only analysis (`loudnorm`'s EBU R128 measurement, ~1 % of
the render time) measures the narration, then the render applies the gain to the target and
a peak limiter. That keeps the voice's dynamics (single-pass loudnorm pumps) and lands on the
target within a fraction of a LU.
Normalisation happens after up-mixing to stereo because LUFS counts channels.
"""

from __future__ import annotations

import json
import math
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from .ffmpeg import run_ffmpeg

SAMPLE_RATE = 48000
_LRA = 11.0


@dataclass(frozen=True)
class Loudness:
    integrated: float
    true_peak: float
    lra: float
    threshold: float
    offset: float

    @property
    def silent(self) -> bool:
        return not math.isfinite(self.integrated) or self.integrated < -70


def measure_loudness(
    path: Path, target: float, true_peak: float, *, timeout: float | None = None,
    cancel: threading.Event | None = None,
) -> Loudness:  # fmt: skip
    run = run_ffmpeg(
        [
            "-i", str(path), "-vn", "-af",
            f"aformat=channel_layouts=stereo,loudnorm=I={target}:TP={true_peak}:LRA={_LRA}:print_format=json",
            "-f", "null", "-",
        ],
        timeout=timeout, cancel=cancel, what="loudness analysis",
    )  # fmt: skip
    m = re.search(r"\{[^{}]*\"input_i\"[^{}]*\}", run.stderr)
    if not m:
        return Loudness(-math.inf, -math.inf, 0.0, -70.0, 0.0)
    data = json.loads(m.group(0))

    def num(key: str) -> float:
        try:
            return float(data[key])
        except (KeyError, ValueError):
            return -math.inf

    return Loudness(
        num("input_i"), num("input_tp"), num("input_lra"), num("input_thresh"), num("target_offset")
    )


@dataclass(frozen=True)
class AudioPlan:
    narration_input: int
    music_input: int | None
    loudness: Loudness | None
    target: float
    true_peak: float
    delay: float  # narration starts after the intro card
    total: float  # seconds of audio to produce
    music_volume_db: float = -20.0


def audio_graph(plan: AudioPlan) -> tuple[str, str]:
    """Filtergraph (string, output label) producing the final 48 kHz stereo mix."""
    voice = [f"[{plan.narration_input}:a]aformat=channel_layouts=stereo", f"aresample={SAMPLE_RATE}"]
    ld = plan.loudness
    if ld is not None and not ld.silent:
        # The analysis pass measured the narration, so normalising is a constant gain plus a
        # peak limiter. (`loudnorm` itself works at 192 kHz: ~1 CPU-s per 20 s of audio.)
        voice.append(f"volume={plan.target - ld.integrated:.2f}dB")
    # Sample-peak limit 0.5 dB under the true-peak target leaves room for inter-sample peaks.
    voice.append(
        f"alimiter=limit={10 ** ((plan.true_peak - 0.5) / 20):.4f}:attack=3:release=60:level=disabled"
    )
    if plan.delay > 0:
        voice.append(f"adelay=delays={round(plan.delay * 1000)}:all=1")
    voice.append(f"apad=whole_dur={plan.total:.6f},atrim=end={plan.total:.6f}")
    parts: list[str] = []
    if plan.music_input is None:
        parts.append(",".join(voice) + ",aformat=sample_fmts=fltp:channel_layouts=stereo[aout]")
        return ";".join(parts), "aout"
    fade_start = max(0.0, plan.total - 1.5)
    parts.append(",".join(voice) + ",asplit=2[voice][key]")
    parts.append(
        f"[{plan.music_input}:a]aformat=sample_rates={SAMPLE_RATE}:channel_layouts=stereo,"
        f"atrim=end={plan.total:.6f},volume={plan.music_volume_db}dB,"
        f"afade=t=in:d=0.5,afade=t=out:st={fade_start:.3f}:d=1.5[bed]"
    )
    # Duck the bed by ~10 dB while the narration speaks; release slowly so it doesn't pump.
    parts.append("[bed][key]sidechaincompress=threshold=0.02:ratio=8:attack=20:release=400[ducked]")
    parts.append(
        "[voice][ducked]amix=inputs=2:duration=first:normalize=0,"
        f"alimiter=limit={10 ** (plan.true_peak / 20):.4f}:level=disabled,"
        "aformat=sample_fmts=fltp:channel_layouts=stereo[aout]"
    )
    return ";".join(parts), "aout"


def audio_inputs(narration: Path, music: Path | None) -> list[list[str]]:
    """Input arguments: narration, then (looped forever, trimmed in the graph) music."""
    ins = [["-i", str(narration)]]
    if music is not None:
        ins.append(["-stream_loop", "-1", "-i", str(music)])
    return ins


def audio_codec_args(bitrate: str) -> list[str]:
    return ["-c:a", "aac", "-b:a", bitrate, "-ar", str(SAMPLE_RATE), "-ac", "2"]
