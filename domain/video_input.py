"""What a video's settings may be: one set of rules for every entry point that accepts them
(createVideo, regenerateVideo, generateScript, synthesizeSpeech's voice), so none of them lets
through what another refuses. Each check answers BAD_USER_INPUT naming the field."""

from __future__ import annotations

from domain.errors import BadInput

MAX_TITLE, MAX_PROMPT, MAX_SCRIPT = 200, 4000, 20000
MAX_TAGS, MAX_TAG, MAX_PLATFORMS, MAX_CARD, MAX_LANGUAGE = 30, 50, 10, 100, 16
MIN_SECONDS, MAX_SECONDS = 10, 600
DEFAULT_VOICE_WORDS = ("", "default")


def clean(value: str | None) -> str | None:
    return value.strip() if value is not None else None


def prompt(value: str | None, field: str = "prompt") -> str:
    """A topic or instruction; empty allowed (the caller decides whether one is needed)."""
    text = clean(value) or ""
    if len(text) > MAX_PROMPT:
        raise BadInput(f"The {field} is longer than {MAX_PROMPT} characters.", field=field)
    return text


def script(value: str | None) -> str | None:
    """An own script, kept word for word; empty means none."""
    text = clean(value)
    if text is not None and len(text) > MAX_SCRIPT:
        raise BadInput(f"The script is longer than {MAX_SCRIPT} characters.", field="script")
    return text or None


def duration(seconds: int) -> int:
    if not MIN_SECONDS <= seconds <= MAX_SECONDS:
        raise BadInput(
            f"The target duration must be between {MIN_SECONDS} and {MAX_SECONDS} seconds.",
            field="targetDurationSeconds",
        )
    return seconds


def language(value: str | None) -> str:
    code = (value or "en").strip() or "en"
    if len(code) > MAX_LANGUAGE:
        raise BadInput("Unknown language code.", field="language")
    return code


def voice(value: str | None, known_voices: set[str] | None) -> str | None:
    """None for the default voice ("" or "default"); an id this user's narrations can use
    otherwise (`known_voices` None: the providers could not be asked, so nothing is refused)."""
    asked = (value or "").strip()
    if asked.lower() in DEFAULT_VOICE_WORDS:
        return None
    if known_voices is not None and asked not in known_voices:
        raise BadInput(f"Unknown voice {asked!r}; choose one from the voices list.", field="voice")
    return asked


KNOWN_PLATFORMS = frozenset({"youtube", "tiktok", "instagram", "facebook", "twitter", "x", "linkedin"})


def title(value: str | None) -> str:
    text = clean(value) or ""
    if not text:
        raise BadInput("Give the video a title.", field="title")
    if len(text) > MAX_TITLE:
        raise BadInput(f"The title is longer than {MAX_TITLE} characters.", field="title")
    return text


def platforms(values: list[str]) -> list[str]:
    names = list(dict.fromkeys(p.strip().lower() for p in values if p.strip()))
    if len(names) > MAX_PLATFORMS:
        raise BadInput(f"At most {MAX_PLATFORMS} platforms.", field="platforms")
    unknown = sorted(set(names) - KNOWN_PLATFORMS)
    if unknown:
        raise BadInput(f"Unknown platform(s): {', '.join(unknown)}.", field="platforms")
    return names


def tags(values: list[str]) -> list[str]:
    out = list(dict.fromkeys(t.strip() for t in values if t.strip()))
    if len(out) > MAX_TAGS:
        raise BadInput(f"At most {MAX_TAGS} tags.", field="tags")
    if any(len(t) > MAX_TAG for t in out):
        raise BadInput(f"A tag is longer than {MAX_TAG} characters.", field="tags")
    return out


def card(value: str | None, field: str) -> str | None:
    """`introText` / `outroText`: a short title card."""
    text = clean(value) or None
    if text is not None and len(text) > MAX_CARD:
        raise BadInput(f"The {field[:-4]} card is longer than {MAX_CARD} characters.", field=field)
    return text
