"""Media renderer (ASSEMBLY stage): scenes + narration + captions -> MP4, thumbnail, VTT/SRT.

A leaf package: it imports nothing from the rest of the product.
"""

from .captions import caption_fits, cues_for_frame, cues_from_sentences, fit_cues, parse_vtt, to_srt, to_vtt
from .chunks import join_chunks, plan_chunks, render_chunk
from .errors import InvalidMediaError, MediaError, RenderCancelled, RenderFailedError, RenderTimeoutError
from .probe import ProbeInfo, probe_media
from .render import render_video
from .thumbnail import make_thumbnail
from .timeline import ChunkSpec
from .types import (
    AspectRatio,
    CaptionCue,
    CaptionStyle,
    RenderOptions,
    RenderRequest,
    RenderResult,
    SceneInput,
    frame_size,
)

__all__ = [
    "AspectRatio",
    "CaptionCue",
    "CaptionStyle",
    "ChunkSpec",
    "InvalidMediaError",
    "MediaError",
    "ProbeInfo",
    "RenderCancelled",
    "RenderFailedError",
    "RenderOptions",
    "RenderRequest",
    "RenderResult",
    "RenderTimeoutError",
    "SceneInput",
    "caption_fits",
    "cues_for_frame",
    "cues_from_sentences",
    "fit_cues",
    "frame_size",
    "join_chunks",
    "make_thumbnail",
    "parse_vtt",
    "plan_chunks",
    "probe_media",
    "render_chunk",
    "render_video",
    "to_srt",
    "to_vtt",
]
