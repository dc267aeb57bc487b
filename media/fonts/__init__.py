"""Fonts shipped with the product, so rendering never depends on what a machine has installed.

DejaVu Sans (see LICENSE-DejaVu.txt): wide Latin, Greek, Cyrillic, Arabic and Hebrew coverage.
Chinese, Japanese and Korean come from Noto Sans CJK JP Bold (SIL OFL 1.1, ~17 MB), installed
as the PyPI package `noto-cjk-sans-jp-bold`; it is optional: without it CJK captions are refused
with a clear error instead of being drawn as boxes.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

FONT_DIR = Path(__file__).resolve().parent

CJK_FAMILY = "Noto Sans CJK JP"  # the family name inside the OTF (what an ASS \fn names)


def font_path(bold: bool = True) -> Path:
    return FONT_DIR / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")


@lru_cache(maxsize=1)
def cjk_font_path() -> Path | None:
    """The CJK fallback font file, or None when its package is not installed."""
    try:
        import noto_cjk_sans_jp_bold  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return None
    path = Path(str(noto_cjk_sans_jp_bold.FONT_PATH))
    return path if path.is_file() else None
