"""Procedural scene pictures: no model, no network, deterministic.

Each picture is a dark-to-mid gradient in a palette picked from a hash of
(seed, scene index, prompt), with one of several layouts (bokeh, waves,
aurora blobs, mountains, geometric shapes, sunburst, halftone dots), drawn
with vectorised numpy at a reduced resolution, blurred and upscaled, and a
large heading drawn crisply at full resolution with a soft shadow.
Consecutive scenes of one video always get different layouts.
"""

from __future__ import annotations

import hashlib
import io
import math
from collections.abc import Callable
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from media.fonts import font_path
from providers.ai.base import (
    ImageProvider,
    ImageRequest,
    ImageResult,
    PermanentProviderError,
    Usage,
)

from . import cpu
from .keywords import content_words
from .palette import Palette, hue_hint, make_palette

__all__ = ["LAYOUTS", "ProceduralImages", "render_png"]

NAME = "procedural"
MODEL = "procedural-1"
MAX_SIDE = 4096

Array = np.ndarray


# ------------------------------------------------------------------ helpers


def _grid(w: int, h: int) -> tuple[Array, Array]:
    """Normalised coordinates: x in [0, 1] across, y in [0, 1] down (aspect kept in `aspect`)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    return x / max(1, w - 1), y / max(1, h - 1)


def _smoothstep(e0: float, e1: float, x: Array) -> Array:
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _mix(base: Array, color: Array, alpha: Array) -> Array:
    """Alpha-blend `color` (3,) over `base` (h, w, 3) with per-pixel `alpha` (h, w)."""
    a = alpha[..., None]
    mixed: Array = base * (1.0 - a) + color * a
    return mixed


def _screen(base: Array, color: Array, alpha: Array) -> Array:
    """Screen blend: brightens like light does."""
    a = alpha[..., None]
    screened: Array = 1.0 - (1.0 - base) * (1.0 - color * a)
    return screened


def _background(w: int, h: int, pal: Palette, rng: np.random.Generator) -> Array:
    x, y = _grid(w, h)
    angle = rng.uniform(-0.6, 0.6)
    t = np.clip(y * math.cos(angle) + (x - 0.5) * math.sin(angle), 0.0, 1.0)
    t = _smoothstep(0.0, 1.0, t)
    top, bottom = pal.arr(pal.bg_top), pal.arr(pal.bg_bottom)
    if rng.random() < 0.5:
        top, bottom = bottom * 0.85, top
    img = top * (1.0 - t[..., None]) + bottom * t[..., None]
    # A soft glow of an accent colour somewhere off-centre.
    gx, gy = rng.uniform(0.15, 0.85), rng.uniform(0.1, 0.9)
    aspect = h / w
    d2 = (x - gx) ** 2 + ((y - gy) * aspect) ** 2
    glow = np.exp(-d2 / (2 * rng.uniform(0.12, 0.25) ** 2)) * rng.uniform(0.25, 0.45)
    return _screen(img, pal.arr(pal.accents[1]), glow.astype(np.float32))


def _soft_disc(
    img: Array,
    cx: float,
    cy: float,
    r: float,
    color: Array,
    alpha: float,
    softness: float,
    screen: bool = True,
) -> None:
    """Draw a soft-edged disc in place (pixel coordinates), touching only its bounding box."""
    h, w = img.shape[:2]
    pad = r + softness * 2 + 1
    x0, x1 = max(0, int(cx - pad)), min(w, int(cx + pad) + 1)
    y0, y1 = max(0, int(cy - pad)), min(h, int(cy + pad) + 1)
    if x0 >= x1 or y0 >= y1:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    d = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2)
    a = (1.0 - _smoothstep(r - softness, r + softness, d)) * alpha
    region = img[y0:y1, x0:x1]
    img[y0:y1, x0:x1] = _screen(region, color, a) if screen else _mix(region, color, a)


# ------------------------------------------------------------------ layouts
# Each takes (img, palette, rng) at working resolution and returns the image.


def _bokeh(img: Array, pal: Palette, rng: np.random.Generator) -> Array:
    h, w = img.shape[:2]
    unit = min(w, h)
    for layer, (count, rmin, rmax, alpha) in enumerate(((14, 0.10, 0.22, 0.22), (26, 0.03, 0.09, 0.45))):
        for _ in range(count):
            color = pal.arr(pal.accents[int(rng.integers(len(pal.accents)))])
            r = rng.uniform(rmin, rmax) * unit
            _soft_disc(
                img,
                rng.uniform(0, w),
                rng.uniform(0, h),
                r,
                color,
                rng.uniform(0.5, 1.0) * alpha,
                r * (0.5 if layer == 0 else 0.12),
            )
    return img


def _waves(img: Array, pal: Palette, rng: np.random.Generator) -> Array:
    h, w = img.shape[:2]
    x, y = _grid(w, h)
    n = int(rng.integers(4, 7))
    start = rng.uniform(0.35, 0.55)
    aspect = w / h
    for i in range(n):
        base = start + (1.0 - start) * i / n
        amp = rng.uniform(0.02, 0.06)
        f1, f2 = rng.uniform(1.0, 3.0), rng.uniform(3.0, 6.0)
        p1, p2 = rng.uniform(0, 2 * math.pi, 2)
        curve = (
            base
            + amp * np.sin(2 * math.pi * f1 * x[0] * aspect + p1)
            + amp * 0.35 * np.sin(2 * math.pi * f2 * x[0] * aspect + p2)
        )
        edge = 1.5 / h
        a = _smoothstep(-edge, edge, y - curve[None, :])
        color = pal.arr(pal.accents[i % len(pal.accents)]) * (0.45 + 0.55 * (i + 1) / n)
        shade = (1.0 - 0.35 * np.clip((y - curve[None, :]) / 0.25, 0, 1))[..., None]
        img = img * (1 - a[..., None]) + (color * shade) * a[..., None] * 0.92 + img * a[..., None] * 0.08
        # A thin bright crest line.
        crest = np.exp(-(((y - curve[None, :]) * h / 1.2) ** 2)) * 0.35
        img = _screen(img, pal.arr(pal.light), crest.astype(np.float32))
    return img


def _aurora(img: Array, pal: Palette, rng: np.random.Generator) -> Array:
    h, w = img.shape[:2]
    x, y = _grid(w, h)
    aspect = h / w
    for i in range(int(rng.integers(4, 7))):
        cx, cy = rng.uniform(-0.1, 1.1), rng.uniform(0.0, 1.0)
        sx, sy = rng.uniform(0.15, 0.45), rng.uniform(0.06, 0.2)
        theta = rng.uniform(0, math.pi)
        dx, dy = x - cx, (y - cy) * aspect
        u = dx * math.cos(theta) + dy * math.sin(theta)
        v = -dx * math.sin(theta) + dy * math.cos(theta)
        v = v + 0.05 * np.sin(u * rng.uniform(4, 9) + rng.uniform(0, 6.28))
        a = np.exp(-(u**2 / (2 * sx**2) + v**2 / (2 * sy**2))) * rng.uniform(0.45, 0.8)
        img = _screen(img, pal.arr(pal.accents[i % len(pal.accents)]), a.astype(np.float32))
    return img


def _mountains(img: Array, pal: Palette, rng: np.random.Generator) -> Array:
    h, w = img.shape[:2]
    x, y = _grid(w, h)
    # A big soft sun or moon.
    sun_c = pal.arr(pal.light)
    _soft_disc(
        img,
        rng.uniform(0.25, 0.75) * w,
        rng.uniform(0.25, 0.45) * h,
        rng.uniform(0.12, 0.2) * w,
        sun_c,
        0.85,
        1.5,
        screen=True,
    )
    n = int(rng.integers(3, 6))
    far = pal.arr(pal.bg_bottom) * 0.5 + pal.arr(pal.light) * 0.3
    near = pal.arr(pal.bg_top) * 0.6
    xs = x[0]
    for i in range(n):
        t = (i + 1) / n
        base = 0.5 + 0.4 * (i / n) + rng.uniform(-0.03, 0.03)
        ridge = np.zeros_like(xs)
        amp = 0.09 * (1.2 - 0.5 * t)
        for octave in range(4):
            f = rng.uniform(1.0, 2.0) * (2**octave)
            ridge += (amp / (1.7**octave)) * np.abs(np.sin(math.pi * f * xs + rng.uniform(0, 6.28)))
        curve = base - ridge
        a = _smoothstep(-1.0 / h, 1.0 / h, y - curve[None, :])
        color = far * (1 - t) + near * t
        tint = pal.arr(pal.accents[i % len(pal.accents)])
        color = color * 0.8 + tint * 0.2 * (1 - t)
        img = _mix(img, color, a.astype(np.float32))
    # Haze near the horizon.
    haze = np.exp(-(((y - 0.55) / 0.12) ** 2)) * 0.18
    return _screen(img, pal.arr(pal.light), haze.astype(np.float32))


def _geometric(img: Array, pal: Palette, rng: np.random.Generator) -> Array:
    h, w = img.shape[:2]
    unit = min(w, h)
    for i in range(int(rng.integers(7, 12))):
        mask = Image.new("L", (w, h), 0)
        draw = ImageDraw.Draw(mask)
        cx, cy = rng.uniform(-0.1, 1.1) * w, rng.uniform(-0.05, 1.05) * h
        r = rng.uniform(0.12, 0.45) * unit
        kind = int(rng.integers(3))
        rot = rng.uniform(0, 360)
        if kind == 0:
            draw.regular_polygon((cx, cy, r), n_sides=int(rng.integers(3, 7)), rotation=rot, fill=255)
        elif kind == 1:
            width = max(2, int(r * rng.uniform(0.06, 0.14)))
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=255, width=width)
        else:
            sides = int(rng.integers(3, 5))
            draw.regular_polygon(
                (cx, cy, r), n_sides=sides, rotation=rot, outline=255, width=max(2, int(r * 0.05))
            )
        a = np.asarray(mask, dtype=np.float32) / 255.0 * rng.uniform(0.25, 0.7)
        color = pal.arr(pal.accents[i % len(pal.accents)])
        img = _mix(img, color, a) if kind == 0 else _screen(img, color, a)
    return img


def _sunburst(img: Array, pal: Palette, rng: np.random.Generator) -> Array:
    h, w = img.shape[:2]
    x, y = _grid(w, h)
    cx, cy = rng.uniform(0.2, 0.8), rng.uniform(0.15, 0.6)
    dx, dy = x - cx, (y - cy) * (h / w)
    theta = np.arctan2(dy, dx)
    dist = np.sqrt(dx * dx + dy * dy)
    rays = int(rng.integers(10, 22))
    stripes = _smoothstep(-0.15, 0.15, np.sin(theta * rays + rng.uniform(0, 6.28)))
    fall = np.exp(-dist / rng.uniform(0.4, 0.7))
    img = _screen(img, pal.arr(pal.accents[0]), (stripes * fall * 0.35).astype(np.float32))
    core = np.exp(-(dist**2) / (2 * 0.08**2)) * 0.8
    img = _screen(img, pal.arr(pal.light), core.astype(np.float32))
    # A few rings around the centre.
    for k in range(1, int(rng.integers(3, 6))):
        ring = np.exp(-(((dist - 0.12 * k) * w / 2.5) ** 2)) * 0.25 / k
        img = _screen(img, pal.arr(pal.accents[k % len(pal.accents)]), ring.astype(np.float32))
    return img


def _dots(img: Array, pal: Palette, rng: np.random.Generator) -> Array:
    h, w = img.shape[:2]
    x, y = _grid(w, h)
    cell = max(6.0, min(w, h) / rng.uniform(14, 22))
    px, py = x * (w - 1), y * (h - 1)
    fx = (px % cell) / cell - 0.5
    fy = (py % cell) / cell - 0.5
    d = np.sqrt(fx * fx + fy * fy)
    # Dot size follows a smooth field: a diagonal sweep plus a wave.
    ang = rng.uniform(0, 2 * math.pi)
    sweep = (x * math.cos(ang) + y * math.sin(ang)) * rng.uniform(2, 5)
    field = 0.5 + 0.5 * np.sin(sweep + rng.uniform(0, 6))
    field = field * _smoothstep(0.0, 0.9, 1 - np.abs(y - rng.uniform(0.3, 0.7)) * 1.2)
    radius = 0.08 + 0.34 * field
    edge = 1.2 / cell
    a = (1.0 - _smoothstep(radius - edge, radius + edge, d)) * 0.75
    t = np.clip(x * 0.6 + y * 0.4, 0, 1)[..., None]
    color = pal.arr(pal.accents[0]) * (1 - t) + pal.arr(pal.accents[1]) * t
    a3 = a[..., None]
    return img * (1 - a3) + color * a3


# name -> (function, downscale factor, blur radius at working resolution)
LAYOUTS: dict[str, tuple[Callable[[Array, Palette, np.random.Generator], Array], int, float]] = {
    "bokeh": (_bokeh, 4, 1.2),
    "waves": (_waves, 3, 0.6),
    "aurora": (_aurora, 4, 1.0),
    "mountains": (_mountains, 3, 0.5),
    "geometric": (_geometric, 3, 0.7),
    "sunburst": (_sunburst, 4, 0.8),
    "dots": (_dots, 2, 0.4),
}
_ORDER = tuple(LAYOUTS)


# ------------------------------------------------------------------ heading


@lru_cache(maxsize=64)
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(font_path(bold=True)), size)


def _wrap(text: str, font: ImageFont.FreeTypeFont, max_w: float) -> list[str] | None:
    """Greedy word wrap; None when a single word does not fit."""
    lines: list[str] = []
    cur = ""
    for word in text.split():
        trial = f"{cur} {word}".strip()
        if font.getlength(trial) <= max_w:
            cur = trial
            continue
        if font.getlength(word) > max_w:
            return None
        lines.append(cur)
        cur = word
    if cur:
        lines.append(cur)
    return lines


def _layout_heading(text: str, w: int, h: int) -> tuple[ImageFont.FreeTypeFont, list[str], int] | None:
    """Largest font (and its lines) that fits in ~86 % of the width, 4 lines, ~38 % of the height."""
    text = " ".join(text.split())
    if len(text) > 140:
        text = text[:139].rsplit(" ", 1)[0] + "…"
    unit = min(w, h)
    size = int(unit * 0.15)
    min_size = max(12, int(unit * 0.035))
    while size >= min_size:
        font = _font(size)
        lines = _wrap(text, font, w * 0.86)
        line_h = int(size * 1.18)
        if lines and len(lines) <= 4 and line_h * len(lines) <= h * 0.38:
            return font, lines, line_h
        size = int(size * 0.9)
    # Last resort: break long words by characters at the minimum size.
    font = _font(min_size)
    lines, cur = [], ""
    for ch in text:
        if font.getlength(cur + ch) > w * 0.9:
            lines.append(cur)
            cur = ch.lstrip()
        else:
            cur += ch
    if cur:
        lines.append(cur)
    return (font, lines[:6], int(min_size * 1.18)) if lines else None


def _draw_heading(img: Image.Image, text: str, pal: Palette, anchor_y: float) -> None:
    w, h = img.size
    laid = _layout_heading(text, w, h)
    if laid is None:
        return
    font, lines, line_h = laid
    size = int(font.size)
    block_h = line_h * len(lines)
    top = int(min(max(anchor_y * h - block_h / 2, h * 0.06), h - block_h - h * 0.06))
    pad = int(size * 0.6)
    box = (0, max(0, top - pad), w, min(h, top + block_h + pad + int(size * 0.5)))
    region = img.crop(box).convert("RGBA")
    rw, rh = region.size
    oy = top - box[1]

    mask = Image.new("L", (rw, rh), 0)
    md = ImageDraw.Draw(mask)
    widths = [font.getlength(line) for line in lines]
    for i, line in enumerate(lines):
        md.text(((rw - widths[i]) / 2, oy + i * line_h), line, font=font, fill=255)
    # Shadow: the text mask, offset and blurred.
    shift = max(2, size // 22)
    shadow = Image.new("L", (rw, rh), 0)
    shadow.paste(mask, (shift, shift))
    shadow = shadow.filter(ImageFilter.GaussianBlur(max(2, size // 10)))
    black = Image.new("RGBA", (rw, rh), (0, 0, 0, 255))
    region.paste(black, (0, 0), shadow.point(lambda v: int(v * 0.75)))
    white = Image.new("RGBA", (rw, rh), (250, 250, 252, 255))
    region.paste(white, (0, 0), mask)
    # An accent bar under the heading.
    accent = tuple(int(c * 255) for c in pal.accents[0])
    bar_w = int(min(max(widths) * 0.35, w * 0.3))
    bar_y = oy + block_h + int(size * 0.2)
    bar_h = max(4, size // 9)
    ImageDraw.Draw(region).rounded_rectangle(
        ((rw - bar_w) / 2, bar_y, (rw + bar_w) / 2, bar_y + bar_h), radius=bar_h // 2, fill=(*accent, 255)
    )
    img.paste(region.convert("RGB"), (box[0], box[1]))


# ------------------------------------------------------------------ render


def _digest(request: ImageRequest) -> bytes:
    key = "\x1f".join([request.seed, str(request.scene_index), request.prompt, ",".join(request.keywords)])
    return hashlib.sha256(key.encode("utf-8")).digest()


def choose_layout(request: ImageRequest) -> str:
    """Consecutive scenes of one video (same seed) always get different layouts."""
    base = hashlib.sha256(f"layout\x1f{request.seed}".encode()).digest()
    start = base[0] % len(_ORDER)
    step = (1, 2, 3)[base[1] % 3]  # coprime with 7, so all layouts come round
    return _ORDER[(start + step * request.scene_index) % len(_ORDER)]


def render_png(request: ImageRequest) -> bytes:
    w, h = request.width, request.height
    digest = _digest(request)
    rng = np.random.default_rng(int.from_bytes(digest[:8], "big"))
    words = [*request.keywords, *content_words(request.prompt)]
    pal = make_palette(digest[8:], hue_hint(words))
    layout = choose_layout(request)
    fn, factor, blur = LAYOUTS[layout]
    lw, lh = max(8, math.ceil(w / factor)), max(8, math.ceil(h / factor))

    img = _background(lw, lh, pal, rng)
    img = fn(img, pal, rng)
    # Vignette, and a soft darker band where the heading goes so it always reads.
    x, y = _grid(lw, lh)
    vig = 1.0 - 0.45 * np.clip(((x - 0.5) ** 2 + (y - 0.5) ** 2) * 1.6, 0, 1)
    anchor_y = (0.3, 0.4, 0.5)[digest[20] % 3] if h > w else 0.45
    if request.heading and request.heading.strip():
        vig = vig * (1.0 - 0.38 * np.exp(-(((y - anchor_y) / 0.16) ** 2)))
    img = img * vig[..., None]
    arr = (np.clip(img, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    small = Image.fromarray(arr)
    if blur > 0:
        small = small.filter(ImageFilter.GaussianBlur(blur))
    pic = small.resize((w, h), Image.Resampling.BICUBIC)
    if request.heading and request.heading.strip():
        _draw_heading(pic, request.heading, pal, anchor_y)
    out = io.BytesIO()
    pic.save(out, format="PNG", compress_level=1)
    return out.getvalue()


class ProceduralImages(ImageProvider):
    """Pictures drawn from the scene's hash; instant and always available."""

    name = NAME

    async def generate_image(self, request: ImageRequest) -> ImageResult:
        self._validate(request)
        data = await cpu.run(render_png, request)
        return ImageResult(
            data=data,
            mime_type="image/png",
            width=request.width,
            height=request.height,
            usage=Usage(model=MODEL, units=1),
        )

    @staticmethod
    def _validate(request: ImageRequest) -> None:
        if not (16 <= request.width <= MAX_SIDE and 16 <= request.height <= MAX_SIDE):
            raise PermanentProviderError(
                NAME, f"size {request.width}x{request.height} is outside 16..{MAX_SIDE} pixels per side"
            )
