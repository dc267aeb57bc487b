"""Offline AI providers: work with no keys and no network, on a small CPU.

- `OfflineScriptWriter` ("offline"): template-driven or own-text scripts.
- `PiperSpeech` ("piper"): Piper neural TTS with the shipped en_US voice.
- `ProceduralImages` ("procedural"): generated scene pictures with headings.
"""

from .piper_speech import OFFLINE_VOICE_ID, PiperSpeech
from .procedural_images import ProceduralImages
from .script_writer import OfflineScriptWriter
from .sentences import split_sentences

__all__ = ["OFFLINE_VOICE_ID", "OfflineScriptWriter", "PiperSpeech", "ProceduralImages", "split_sentences"]
