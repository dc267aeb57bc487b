"""Harmonious colour palettes from a hash (HSL colour schemes)."""

from __future__ import annotations

import colorsys
from dataclasses import dataclass

import numpy as np

__all__ = ["Palette", "hue_hint", "make_palette"]

RGB = tuple[float, float, float]

# Words that suggest a hue (0..1), so an ocean scene leans blue and a fire scene orange.
_HUE_WORDS: dict[str, float] = {
    "ocean": 0.56,
    "sea": 0.55,
    "water": 0.53,
    "river": 0.52,
    "rain": 0.58,
    "sky": 0.57,
    "ice": 0.52,
    "snow": 0.55,
    "winter": 0.58,
    "space": 0.68,
    "galaxy": 0.74,
    "star": 0.70,
    "stars": 0.70,
    "night": 0.66,
    "moon": 0.64,
    "planet": 0.62,
    "black": 0.70,
    "hole": 0.72,
    "forest": 0.33,
    "tree": 0.30,
    "trees": 0.30,
    "plant": 0.28,
    "plants": 0.28,
    "garden": 0.27,
    "nature": 0.31,
    "green": 0.33,
    "leaf": 0.29,
    "spring": 0.25,
    "money": 0.36,
    "health": 0.40,
    "fire": 0.04,
    "volcano": 0.03,
    "sun": 0.10,
    "summer": 0.11,
    "desert": 0.09,
    "autumn": 0.07,
    "coffee": 0.07,
    "chocolate": 0.05,
    "food": 0.06,
    "cooking": 0.06,
    "bread": 0.10,
    "gold": 0.12,
    "love": 0.95,
    "heart": 0.97,
    "rose": 0.94,
    "wine": 0.93,
    "music": 0.80,
    "dream": 0.78,
    "sleep": 0.70,
    "mind": 0.76,
    "brain": 0.82,
    "magic": 0.79,
    "cat": 0.08,
    "cats": 0.08,
    "dog": 0.09,
    "dogs": 0.09,
    "history": 0.09,
    "ancient": 0.10,
    "code": 0.45,
    "python": 0.45,
    "computer": 0.50,
    "tech": 0.52,
    "technology": 0.52,
    "ai": 0.60,
    "data": 0.55,
    "science": 0.55,
}


def hue_hint(words: list[str]) -> float | None:
    for w in words:
        hue = _HUE_WORDS.get(w.lower())
        if hue is not None:
            return hue
    return None


def _hsl(h: float, s: float, light: float) -> RGB:
    r, g, b = colorsys.hls_to_rgb(h % 1.0, max(0.0, min(1.0, light)), max(0.0, min(1.0, s)))
    return (r, g, b)


@dataclass(frozen=True)
class Palette:
    bg_top: RGB
    bg_bottom: RGB
    accents: tuple[RGB, ...]
    light: RGB
    scheme: str

    def arr(self, color: RGB) -> np.ndarray:
        return np.asarray(color, dtype=np.float32)


_SCHEMES: dict[str, tuple[float, ...]] = {
    "analogous": (0.0, 0.08, -0.08, 0.15),
    "complementary": (0.0, 0.5, 0.04, 0.46),
    "split": (0.0, 0.42, 0.58, 0.05),
    "triadic": (0.0, 0.333, 0.667, 0.05),
    "tetradic": (0.0, 0.25, 0.5, 0.75),
}


def make_palette(digest: bytes, hint: float | None = None) -> Palette:
    """A dark-to-mid background (so light heading text reads well) and bright accents.

    `digest` supplies the variation; `hint`, when given, anchors the base hue
    (shifted a little per digest so scenes of one topic still differ)."""
    u = [b / 255.0 for b in digest[:16]]
    base = (hint + (u[0] - 0.5) * 0.16) if hint is not None else u[0]
    names = list(_SCHEMES)
    scheme = names[digest[1] % len(names)]
    offsets = _SCHEMES[scheme]
    sat = 0.55 + 0.3 * u[2]
    top = _hsl(base + 0.02 * (u[3] - 0.5), sat, 0.07 + 0.07 * u[4])
    bottom = _hsl(base + offsets[1] * 0.5 + 0.06 * (u[5] - 0.5), sat * 0.9, 0.2 + 0.12 * u[6])
    accents = tuple(
        _hsl(base + off + 0.03 * (u[7 + i] - 0.5), 0.62 + 0.3 * u[11 + i % 4], 0.5 + 0.14 * u[8 + i])
        for i, off in enumerate(offsets)
    )
    light = _hsl(base + offsets[1], 0.5, 0.86)
    return Palette(bg_top=top, bg_bottom=bottom, accents=accents, light=light, scheme=scheme)
