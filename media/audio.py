"""Narration loudness normalisation and the music bed (looped, ducked under speech).

Loudness is two-pass: a quick audio-only analysis (`ebur128`'s EBU R128 measurement, well under
1 % of the render time) measures the narration, then the render applies the gain to the target and
a peak limiter. That keeps the voice's dynamics (single-pass loudnorm pumps) and lands on the
target within a fraction of a LU.
Normalisation happens after up-mixing to stereo because LUFS counts channels.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from .ffmpeg import run_ffmpeg
from .types import CancelSignal

SAMPLE_RATE = 48000


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
    cancel: CancelSignal | None = None,
) -> Loudness:  # fmt: skip
    """EBU R128 integrated loudness, loudness range and true peak of `path`.

    `ebur128` measures at the source rate (true peak by 4x oversampling); `loudnorm`'s analysis
    resamples everything to 192 kHz first and was measured 10-20x slower (1.9 s vs 0.1-0.2 s for
    60 s of narration). `target`/`true_peak` are kept for the callers' signature.
    """
    run = run_ffmpeg(
        ["-i", str(path), "-vn", "-af", "aformat=channel_layouts=stereo,ebur128=framelog=quiet:peak=true",
         "-f", "null", "-"],
        timeout=timeout, cancel=cancel, what="loudness analysis",
    )  # fmt: skip
    summary = run.stderr[run.stderr.rfind("Summary:") :]

    def num(label: str, unit: str) -> float:
        m = re.search(rf"{label}:\s+(-?[\d.]+|-inf|inf|nan)\s+{unit}", summary)
        try:
            return float(m.group(1)) if m else -math.inf
        except ValueError:
            return -math.inf

    integrated = num("I", "LUFS")
    if integrated <= -70.0:  # ebur128's floor: gated loudness of silence
        integrated = -math.inf
    return Loudness(
        integrated, num("Peak", "dBFS"), max(0.0, num("LRA", "LU")), num("Threshold", "LUFS"),
        target - integrated if math.isfinite(integrated) else 0.0,
    )  # fmt: skip


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
