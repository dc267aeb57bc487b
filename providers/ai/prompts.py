"""The script prompt every text provider sends, and the strict parsing of its answer.

One prompt for all providers so scripts look alike whichever one answered; one
parser so a provider that answers off-spec fails the same way everywhere
(MalformedResponseError, which lets the chain try the next provider).
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

from providers.ai.base import MalformedResponseError, Script, ScriptRequest, ScriptScene, Seo

SCHEMA_HINT = """{
  "title": "string, the video's title",
  "scenes": [
    {
      "narration": "string, exactly what the voice says in this scene",
      "visual": "string, a concrete description of the picture shown (an image prompt, no text in it)",
      "keywords": ["2-5 short stock-footage search keywords"],
      "heading": "string, a short on-screen title for the scene (max 6 words) or null"
    }
  ],
  "seo": {
    "title": "string, max 100 characters",
    "description": "string, 1-3 sentences",
    "keywords": ["5-15 search keywords"]
  }
}"""


def target_words(request: ScriptRequest) -> int:
    """Words of narration for the requested duration: seconds x wpm / 60."""
    return max(1, round(request.target_seconds * request.words_per_minute / 60.0))


def scene_count(request: ScriptRequest) -> int:
    """Roughly one scene per 5-10 seconds, between 1 and 30."""
    return max(1, min(30, round(request.target_seconds / 8.0)))


def system_prompt() -> str:
    return (
        "You write narrated short videos. You answer with a single JSON object and nothing else: "
        "no markdown, no code fences, no commentary. The JSON must follow this shape:\n"
        f"{SCHEMA_HINT}"
    )


def user_prompt(request: ScriptRequest) -> str:
    words = target_words(request)
    lines: list[str] = []
    if request.own_script is not None:
        lines += [
            "Split the script below into scenes for a narrated video and label each scene.",
            "The narration of the scenes, in order, must be the script's text VERBATIM: do not add, "
            "remove, reword, translate or correct any word; only decide where scenes break.",
            "For each scene write the visual description, keywords and heading; then the title and seo.",
            f"Language of the labels: {request.language}.",
        ]
        if request.title:
            lines.append(f"Title: {request.title}")
        lines += ["", "SCRIPT:", request.own_script]
    else:
        lines += [
            f"Write the script of a narrated video about: {request.topic}",
            f"Language: {request.language}.",
            f"Length: about {request.target_seconds:g} seconds of narration, that is about {words} words "
            f"in total at {request.words_per_minute} words per minute.",
            f"Use about {scene_count(request)} scenes.",
        ]
        if request.tone:
            lines.append(f"Tone: {request.tone}.")
        if request.title:
            lines.append(f"Title: {request.title}")
    return "\n".join(lines)


def max_output_tokens(request: ScriptRequest) -> int:
    """A generous ceiling for the answer (narration plus visuals, keywords and JSON)."""
    words = target_words(request)
    if request.own_script is not None:
        words = max(words, len(request.own_script.split()))
    return min(16000, 1024 + words * 6)


# ------------------------------------------------------------------ parsing

_FENCE = re.compile(r"^\s*```(?:json|JSON)?\s*\n?(.*?)\n?\s*```\s*$", re.DOTALL)


def extract_json_object(provider: str, text: str | None) -> dict[str, Any]:
    """The JSON object in a model's answer (tolerating code fences and text around it)."""
    if not text or not text.strip():
        raise MalformedResponseError(provider, "answered with an empty message")
    body = text.strip()
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group(1).strip()
    try:
        value = json.loads(body)
    except json.JSONDecodeError:
        start, end = body.find("{"), body.rfind("}")
        if start < 0 or end <= start:
            raise MalformedResponseError(provider, "answered with something that is not JSON") from None
        try:
            value = json.loads(body[start : end + 1])
        except json.JSONDecodeError as exc:
            raise MalformedResponseError(provider, f"answered with invalid JSON ({exc.msg})") from None
    if not isinstance(value, dict):
        raise MalformedResponseError(provider, "answered with JSON that is not an object")
    return value


def _str(provider: str, obj: dict[str, Any], key: str, where: str, *, required: bool = True) -> str | None:
    value = obj.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        if not required and value in ("", None):
            return None
        raise MalformedResponseError(provider, f"script JSON: {where}.{key} must be a non-empty string")
    return value.strip()


def _str_list(provider: str, obj: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = obj.get(key)
    if value is None:
        return ()
    if isinstance(value, str):  # "a, b, c" is a common slip; accept it
        value = [v for v in value.split(",")]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise MalformedResponseError(provider, f"script JSON: {where}.{key} must be a list of strings")
    return tuple(v.strip() for v in value if v.strip())


def seconds_for(text: str, words_per_minute: int) -> float:
    words = len(text.split())
    return round(words * 60.0 / max(1, words_per_minute), 2)


def parse_script(provider: str, text: str | None, request: ScriptRequest) -> Script:
    """Parse and validate a model's answer into a Script, or raise MalformedResponseError.
    When the request carried its own script, the scenes' narration must be that text."""
    data = extract_json_object(provider, text)
    title = _str(provider, data, "title", "script", required=request.title is None)
    scenes_raw = data.get("scenes")
    if not isinstance(scenes_raw, list) or not scenes_raw:
        raise MalformedResponseError(provider, "script JSON: scenes must be a non-empty list")
    scenes: list[ScriptScene] = []
    for i, raw in enumerate(scenes_raw):
        where = f"scenes[{i}]"
        if not isinstance(raw, dict):
            raise MalformedResponseError(provider, f"script JSON: {where} must be an object")
        narration = _str(provider, raw, "narration", where)
        visual = _str(provider, raw, "visual", where)
        assert narration is not None and visual is not None
        heading = _str(provider, raw, "heading", where, required=False)
        scenes.append(
            ScriptScene(
                index=i,
                narration=narration,
                visual=visual,
                keywords=_str_list(provider, raw, "keywords", where),
                estimated_seconds=seconds_for(narration, request.words_per_minute),
                heading=heading,
            )
        )
    seo_raw = data.get("seo")
    if not isinstance(seo_raw, dict):
        raise MalformedResponseError(provider, "script JSON: seo must be an object")
    seo_title = _str(provider, seo_raw, "title", "seo")
    seo_description = _str(provider, seo_raw, "description", "seo")
    assert seo_title is not None and seo_description is not None
    seo = Seo(
        title=seo_title[:100],
        description=seo_description,
        keywords=_str_list(provider, seo_raw, "keywords", "seo"),
    )
    final_title = request.title or title
    assert final_title is not None
    script = Script(title=final_title, scenes=tuple(scenes), seo=seo, language=request.language)
    if request.own_script is not None:
        verify_own_script(provider, request.own_script, script)
    return script


# ------------------------------------------------------------------ own script

_QUOTES = str.maketrans(
    {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-"}
)


def normalize_words(text: str) -> str:
    """Text compared for "same words": Unicode-normalized, same quotes/dashes, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    return " ".join(text.split())


def verify_own_script(provider: str, own_script: str, script: Script) -> None:
    """The user's words must come back unchanged (only split into scenes)."""
    expected = normalize_words(own_script)
    got = normalize_words(" ".join(s.narration for s in script.scenes))
    if expected != got:
        a, b = expected.split(), got.split()
        first = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
        raise MalformedResponseError(
            provider,
            f"changed the user's script instead of only splitting it (first difference at word {first + 1})",
        )
