import io
import itertools
from typing import Any

import numpy as np
import pytest
from PIL import Image

from providers.ai.base import ImageProvider, ImageRequest, PermanentProviderError
from providers.ai.offline import ProceduralImages
from providers.ai.offline.procedural_images import LAYOUTS, choose_layout, render_png

images = ProceduralImages()


def _req(**kw) -> ImageRequest:
    base: dict[str, Any] = dict(
        prompt="A warm scene about the history of coffee",
        width=540,
        height=960,
        scene_index=0,
        keywords=("history", "coffee"),
        seed="video-1",
    )
    base.update(kw)
    return ImageRequest(**base)


def _pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.float32)


def _mad(a: bytes, b: bytes) -> float:
    return float(np.mean(np.abs(_pixels(a) - _pixels(b))))


def test_is_an_image_provider() -> None:
    assert isinstance(images, ImageProvider)
    assert images.name == "procedural"


@pytest.mark.parametrize(("w", "h"), [(1080, 1920), (1920, 1080), (1080, 1080), (333, 517)])
async def test_exact_size_png(w: int, h: int) -> None:
    result = await images.generate_image(_req(width=w, height=h, heading="Why the ocean is salty"))
    assert result.mime_type == "image/png"
    assert result.data[:8] == b"\x89PNG\r\n\x1a\n"
    img = Image.open(io.BytesIO(result.data))
    assert img.size == (w, h) == (result.width, result.height)
    assert img.mode == "RGB"
    assert result.usage.model == "procedural-1" and result.usage.units == 1


def test_same_request_same_bytes() -> None:
    assert render_png(_req(heading="Hello")) == render_png(_req(heading="Hello"))


def test_scenes_differ() -> None:
    frames = [render_png(_req(scene_index=i)) for i in range(7)]
    for i in range(len(frames) - 1):
        assert _mad(frames[i], frames[i + 1]) > 12, i
    assert len({choose_layout(_req(scene_index=i)) for i in range(7)}) == len(LAYOUTS)


def test_seeds_and_prompts_differ() -> None:
    assert _mad(render_png(_req(seed="video-1")), render_png(_req(seed="video-2"))) > 12
    assert render_png(_req(prompt="ocean waves")) != render_png(_req(prompt="desert sunset"))


@pytest.mark.parametrize("seed", ["a", "b", "c", "d"])
def test_consecutive_layouts_never_repeat(seed: str) -> None:
    layouts = [choose_layout(_req(seed=seed, scene_index=i)) for i in range(20)]
    assert all(a != b for a, b in itertools.pairwise(layouts))


def test_heading_is_drawn_large_and_white() -> None:
    for i in range(3):
        plain = _pixels(render_png(_req(scene_index=i)))
        titled = _pixels(render_png(_req(scene_index=i, heading="Why the Ocean Is Salty")))
        h = plain.shape[0]
        white = lambda p: np.all(p > 235, axis=2)  # noqa: E731
        added = white(titled) & ~white(plain)
        rows = np.flatnonzero(added.any(axis=1))
        assert added.sum() > 0.01 * plain.shape[0] * plain.shape[1]  # big text, not a caption
        assert rows.size and (rows.max() - rows.min()) > 0.08 * h
        # Text stays inside the frame's side margins.
        cols = np.flatnonzero(added.any(axis=0))
        assert cols.min() > 0.03 * plain.shape[1] and cols.max() < 0.97 * plain.shape[1]


def test_long_heading_wraps_and_fits() -> None:
    heading = "An extraordinarily long heading that keeps going and going to test the wrapping " * 2
    data = render_png(_req(width=1080, height=1080, heading=heading))
    assert Image.open(io.BytesIO(data)).size == (1080, 1080)
    data = render_png(_req(heading="Supercalifragilisticexpialidocious-antidisestablishmentarianism"))
    assert Image.open(io.BytesIO(data)).size == (540, 960)


async def test_bad_size_is_permanent() -> None:
    with pytest.raises(PermanentProviderError):
        await images.generate_image(_req(width=0))
    with pytest.raises(PermanentProviderError):
        await images.generate_image(_req(height=100_000))
