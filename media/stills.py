"""Image preparation in Pillow, once per scene: validate, orient, cover-crop and pre-scale.

Doing the resample here (Lanczos, once) instead of in the filtergraph (per frame) keeps the
filtergraph to pointer arithmetic. Stills are handed to ffmpeg as raw yuv420p (BT.709, limited
range), the format the encoder takes: ffmpeg then holds one 3.8 MB plane set per still instead
of ~20 MB (file packet + decoded RGB + swscale buffers, measured), which is what bounds a
chunk's memory, and no RGB->YUV conversion runs in the graph (swscale's default would also have
used BT.601 coefficients for a stream tagged BT.709).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
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
            rgb: Image.Image = im.convert("RGB")
            return rgb
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise InvalidMediaError(
            f"{what} could not be read; it may be corrupt or not an image.", str(exc)
        ) from None


def cover(im: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Scale to fill `size` and centre-crop the overflow."""
    return ImageOps.fit(im, size, method=Image.Resampling.LANCZOS, centering=(0.5, 0.5))


def prescale_still(src: Path, dst: Path, size: tuple[int, int], what: str) -> Path:
    """Cover-crop `src` to `size` (even dimensions) and write it to `dst` as raw yuv420p."""
    im = load_rgb(src, what)
    if im.width < 2 or im.height < 2:
        raise InvalidMediaError(f"{what} is too small to use.")
    if im.size != size:
        im = cover(im, size)
    write_yuv420p(im, dst)
    return dst


def write_yuv420p(im: Image.Image, dst: Path, rows: int = 128) -> None:
    """Planar Y, U, V (4:2:0, BT.709 matrix, limited range): ffmpeg's `-f rawvideo -pix_fmt yuv420p`.

    Converted in strips of `rows` rows so the float maths never holds more than a few MB.
    """
    rgb8 = np.asarray(im.convert("RGB"))
    h, w = rgb8.shape[:2]
    if w % 2 or h % 2:
        raise ValueError("yuv420p needs even dimensions")
    y_plane = np.empty((h, w), np.uint8)
    u_plane = np.empty((h // 2, w // 2), np.uint8)
    v_plane = np.empty((h // 2, w // 2), np.uint8)
    for top in range(0, h, rows):
        rgb = rgb8[top : top + rows].astype(np.float32)
        r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
        y = 16 + (219 / 255) * (0.2126 * r + 0.7152 * g + 0.0722 * b)
        y_plane[top : top + rows] = np.clip(np.rint(y), 0, 255)
        # Chroma from the 2x2 mean of each block.
        m = rgb.reshape(rgb.shape[0] // 2, 2, w // 2, 2, 3).mean(axis=(1, 3))
        r, g, b = m[..., 0], m[..., 1], m[..., 2]
        u = 128 + (224 / 255) * (-0.114572 * r - 0.385428 * g + 0.5 * b)
        v = 128 + (224 / 255) * (0.5 * r - 0.454153 * g - 0.045847 * b)
        c = slice(top // 2, (top + rows) // 2)
        u_plane[c] = np.clip(np.rint(u), 0, 255)
        v_plane[c] = np.clip(np.rint(v), 0, 255)
    with open(dst, "wb") as f:
        for plane in (y_plane, u_plane, v_plane):
            f.write(plane.tobytes())


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
