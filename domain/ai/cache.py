"""Result cache for AI generations: the same kind, provider, model (and endpoint), prompt and
parameters reuse the stored result until the TTL (settings.ai_cache_ttl_seconds) runs out.

    Redis  <prefix>:ai-cache:<kind>:<sha256>  ->  JSON (expires with the TTL)
        text:   the script itself, as JSON
        image:  {"key": storage key of the PNG/JPEG, mime, width, height}
        speech: {"key": storage key of the WAV, duration, sample_rate, sentences, words}
    Storage ai-cache/<kind>/<sha256>.<ext>  (media bytes)

Anything going wrong in here (Redis down, object gone) is a miss, never a failed generation.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

from providers.ai.base import (
    ImageResult,
    Script,
    ScriptResult,
    ScriptScene,
    Seo,
    SpeechResult,
    TimedText,
    Usage,
)

log = logging.getLogger(__name__)

_EXT = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}


def digest(
    kind: str, provider: str, model: str | None, endpoint: str | None, prompt: str, params: dict[str, Any]
) -> str:
    blob = json.dumps(
        {
            "kind": kind,
            "provider": provider,
            "model": model,
            "endpoint": endpoint,
            "prompt": prompt,
            "params": params,
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def script_to_dict(script: Script) -> dict[str, Any]:
    return asdict(script)


def script_from_dict(data: dict[str, Any]) -> Script:
    scenes = tuple(
        ScriptScene(
            index=s["index"],
            narration=s["narration"],
            visual=s["visual"],
            keywords=tuple(s.get("keywords") or ()),
            estimated_seconds=float(s.get("estimated_seconds", 0.0)),
            heading=s.get("heading"),
        )
        for s in data["scenes"]
    )
    seo = data["seo"]
    return Script(
        title=data["title"],
        scenes=scenes,
        language=data.get("language", "en"),
        seo=Seo(title=seo["title"], description=seo["description"], keywords=tuple(seo["keywords"])),
    )


def _usage(data: dict[str, Any] | None) -> Usage:
    return Usage(**data) if data else Usage(model="")


def _timed(items: Any) -> tuple[TimedText, ...]:
    return tuple(TimedText(float(t["start"]), float(t["end"]), str(t["text"])) for t in items or ())


class AICache:
    def __init__(self, redis: Any, storage: Any, key: Any, ttl_seconds: int) -> None:
        """`key(*parts)` namespaces Redis keys (Resources.key)."""
        self.redis = redis
        self.storage = storage
        self.key = key
        self.ttl = int(ttl_seconds)

    @property
    def enabled(self) -> bool:
        return self.ttl > 0 and self.redis is not None and self.storage is not None

    def _rkey(self, kind: str, dig: str) -> str:
        return str(self.key("ai-cache", kind, dig))

    async def _entry(self, kind: str, dig: str) -> dict[str, Any] | None:
        raw = await self.redis.get(self._rkey(kind, dig))
        if raw is None:
            return None
        data = json.loads(raw)
        return data if isinstance(data, dict) else None

    async def _put(self, kind: str, dig: str, entry: dict[str, Any]) -> None:
        await self.redis.set(self._rkey(kind, dig), json.dumps(entry), ex=self.ttl)

    async def get(self, kind: str, dig: str, output_path: Path | None = None) -> Any | None:
        """The cached result (ScriptResult, ImageResult or SpeechResult), or None. A speech hit is
        copied to `output_path`, as the provider would have written it."""
        if not self.enabled:
            return None
        try:
            entry = await self._entry(kind, dig)
            if entry is None:
                return None
            usage = _usage(entry.get("usage"))
            if kind == "text":
                return ScriptResult(script=script_from_dict(entry["script"]), usage=usage)
            if kind == "image":
                data = await self.storage.get_bytes(entry["key"])
                return ImageResult(
                    data=data,
                    mime_type=entry["mime"],
                    width=int(entry["width"]),
                    height=int(entry["height"]),
                    usage=usage,
                )
            if kind == "speech" and output_path is not None:
                output_path.parent.mkdir(parents=True, exist_ok=True)
                path = await self.storage.get_to_path(entry["key"], output_path)
                return SpeechResult(
                    path=Path(path),
                    duration=float(entry["duration"]),
                    sample_rate=int(entry["sample_rate"]),
                    sentences=_timed(entry["sentences"]),
                    words=_timed(entry.get("words")),
                    usage=usage,
                )
        except Exception:
            log.warning(
                "AI cache read failed for %s/%s; treating it as a miss", kind, dig[:12], exc_info=True
            )
        return None

    async def put(self, kind: str, dig: str, result: Any) -> None:
        if not self.enabled:
            return
        try:
            usage = asdict(result.usage) if getattr(result, "usage", None) is not None else None
            if kind == "text":
                await self._put(kind, dig, {"script": script_to_dict(result.script), "usage": usage})
            elif kind == "image":
                key = f"ai-cache/image/{dig}.{_EXT.get(result.mime_type, 'bin')}"
                await self.storage.put_bytes(key, result.data, result.mime_type)
                await self._put(
                    kind,
                    dig,
                    {
                        "key": key,
                        "mime": result.mime_type,
                        "width": result.width,
                        "height": result.height,
                        "usage": usage,
                    },
                )
            elif kind == "speech":
                key = f"ai-cache/speech/{dig}.wav"
                await self.storage.put_file(key, Path(result.path), "audio/wav")
                await self._put(
                    kind,
                    dig,
                    {
                        "key": key,
                        "duration": result.duration,
                        "sample_rate": result.sample_rate,
                        "sentences": [asdict(t) for t in result.sentences],
                        "words": [asdict(t) for t in result.words],
                        "usage": usage,
                    },
                )
        except Exception:
            log.warning("AI cache write failed for %s/%s", kind, dig[:12], exc_info=True)
