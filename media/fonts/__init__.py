"""Fonts shipped with the product, so rendering never depends on what a machine has installed.

DejaVu Sans (see LICENSE-DejaVu.txt): wide Latin, Greek, Cyrillic, Arabic and Hebrew coverage.
"""

from pathlib import Path

FONT_DIR = Path(__file__).resolve().parent


def font_path(bold: bool = True) -> Path:
    return FONT_DIR / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")
