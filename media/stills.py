"""Image preparation in Pillow, once per scene: validate, orient, cover-crop and pre-scale.

Doing the resample here (Lanczos, once) instead of in the filtergraph (per frame) is what
makes motion nearly free in ffmpeg. BMP output decodes in ffmpeg with no inflate cost.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import InvalidMediaError


def load_rgb(path: Path, what: str) -> Image.Image:
    if not path.is_file():
        raise InvalidMediaError(f"{what} is missing.")
    try:
        with Image.open(path) as im:
            im.load()
            im = ImageOps.exif_transpose(im) or im
            if im.mode in ("RGBA", "LA", "P"):
                im = im.convert("RGBA")
                bg = Image.new("RGBA", im.size, (0, 0, 0, 255))
                im = Image.alpha_composite(bg, im)
            return im.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise InvalidMediaError(
            f"{what} could not be read; it may be corrupt or not an image.", str(exc)
        ) from None


def cover(im: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Scale to fill `size` and centre-crop the overflow."""
    return ImageOps.fit(im, size, method=Image.Resampling.LANCZOS, centering=(0.5, 0.5))


def prescale_still(src: Path, dst: Path, size: tuple[int, int], what: str) -> Path:
    im = load_rgb(src, what)
    if im.width < 2 or im.height < 2:
        raise InvalidMediaError(f"{what} is too small to use.")
    cover(im, size).save(dst, format="BMP")
    return dst


def prescale_logo(src: Path, dst: Path, width: int) -> tuple[Path, tuple[int, int]]:
    if not src.is_file():
        raise InvalidMediaError("The logo image is missing.")
    try:
        with Image.open(src) as im:
            im.load()
            logo = im.convert("RGBA")
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise InvalidMediaError("The logo image could not be read.", str(exc)) from None
    h = max(2, round(logo.height * width / max(1, logo.width)))
    w, h = width - width % 2, h - h % 2
    logo = logo.resize((w, h), Image.Resampling.LANCZOS)
    # A touch of transparency: a watermark, not a sticker.
    alpha = logo.getchannel("A").point(lambda a: round(a * 0.85))
    logo.putalpha(alpha)
    logo.save(dst, format="PNG")
    return dst, (w, h)
