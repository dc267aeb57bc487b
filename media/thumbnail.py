"""Title imagery drawn with Pillow: the thumbnail JPEG and the intro/outro cards."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from .captions import _is_cjk, wrap_lines
from .fonts import cjk_font_path, font_path
from .stills import cover, load_rgb
from .types import AspectRatio, frame_size


def _fit_title(draw: ImageDraw.ImageDraw, text: str, box_w: int, max_h: int, start_px: int):  # type: ignore[no-untyped-def]
    """Largest font size (down to a floor) at which the title wraps into <= 4 lines in the box."""
    size = start_px
    # DejaVu has no CJK glyphs; the CJK font has Latin too, so a mixed title uses it throughout.
    cjk = cjk_font_path() if any(_is_cjk(ch) for ch in text) else None
    face = str(cjk or font_path(bold=True))
    while True:
        font = ImageFont.truetype(face, size)

        def fits(s: str, f: ImageFont.FreeTypeFont = font) -> bool:
            return draw.textlength(s, font=f) <= box_w

        lines = wrap_lines(text, fits)
        height = len(lines) * size * 1.2
        if (len(lines) <= 4 and height <= max_h) or size <= 24:
            return font, lines[:6], size
        size = int(size * 0.9)


def _draw_title(im: Image.Image, text: str, centre_y: float, shade: bool) -> Image.Image:
    w, h = im.size
    base = im.convert("RGBA")
    if shade:
        # Darken behind the title so it reads on any photo.
        grad = Image.new("L", (1, 256))
        for y in range(256):
            grad.putpixel((0, y), int(200 * max(0.0, 1 - abs(y / 255 - centre_y) * 2.2)))
        shade_im = Image.new("RGBA", (w, h), (0, 0, 0, 255))
        shade_im.putalpha(grad.resize((w, h)))
        base = Image.alpha_composite(base, shade_im)
    draw = ImageDraw.Draw(base)
    font, lines, size = _fit_title(
        draw, " ".join(text.split()), int(w * 0.86), int(h * 0.4), int(min(w, h) * 0.1)
    )
    line_h = size * 1.2
    y = h * centre_y - len(lines) * line_h / 2
    stroke = max(2, size // 14)
    for line in lines:
        draw.text(
            (w / 2, y + line_h / 2), line, font=font, fill=(255, 255, 255, 255), anchor="mm",
            stroke_width=stroke, stroke_fill=(0, 0, 0, 255),
        )  # fmt: skip
        y += line_h
    return base.convert("RGB")


def make_thumbnail(
    image_path: Path, title: str, out_path: Path, aspect: AspectRatio | str = "PORTRAIT"
) -> Path:
    """A JPEG at the video's frame size: the image cover-cropped, the title large and outlined."""
    size = frame_size(aspect)
    im = cover(load_rgb(Path(image_path), "The thumbnail image"), size)
    out = _draw_title(im, title, 0.42, shade=True)
    out_path = Path(out_path)
    out.save(out_path, format="JPEG", quality=88, optimize=True, progressive=True)
    return out_path


def make_card(text: str, out_path: Path, size: tuple[int, int], background: Path | None = None) -> Path:
    """Intro/outro card: the text over a blurred, darkened scene image (or a dark gradient)."""
    w, h = size
    if background is not None:
        im = cover(load_rgb(background, "The card background"), (w // 4, h // 4))
        im = im.filter(ImageFilter.GaussianBlur(6)).resize((w, h), Image.Resampling.BILINEAR)
        im = Image.blend(im, Image.new("RGB", (w, h), (10, 12, 20)), 0.55)
    else:
        grad = Image.linear_gradient("L").resize((w, h))
        im = Image.merge("RGB", [grad.point(lambda v, k=k: 18 + v * k // 255) for k in (20, 30, 60)])
    _draw_title(im, text, 0.45, shade=False).save(out_path, format="BMP")
    return out_path
