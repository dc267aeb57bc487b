"""What an uploaded file is, judged by its content (magic bytes), never by the type the client
declared: a PDF labelled audio/wav is still a PDF."""

from __future__ import annotations

import puremagic

_SNIFF_BYTES = 8192  # every signature below sits at the start of the file

# puremagic's best match (by extension) -> the audio type we accept and pass on.
_AUDIO = {
    ".wav": "audio/wav",
    ".mp3": "audio/mpeg",
    ".mpga": "audio/mpeg",  # MPEG audio frames without an ID3 tag
    ".m4a": "audio/mp4",
    ".mp4": "audio/mp4",  # M4A recorded with an isom/mp42 brand
    ".f4a": "audio/mp4",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".opus": "audio/ogg",
    ".webm": "audio/webm",
    ".flac": "audio/flac",
}


def audio_type(data: bytes) -> str | None:
    """The MIME type of an MP3, WAV, M4A, OGG, WebM or FLAC file, or None for anything else."""
    head = data[:_SNIFF_BYTES]
    if not head:
        return None
    try:
        matches = puremagic.magic_string(head)
    except (puremagic.PureError, ValueError):
        return None
    return _AUDIO.get(matches[0].extension.lower()) if matches else None
