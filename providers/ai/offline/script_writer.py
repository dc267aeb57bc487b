"""A built-in script writer: no model, no network, deterministic.

Two modes:
- own text (`request.own_script`): the user's words are kept exactly; they
  are split into sentences and grouped into scenes of about 5-12 seconds.
- topic: template-driven narration about the topic (a hook, body sections,
  a closing call to action), sized so the spoken length fits
  `target_seconds` at `words_per_minute`. Variation is seeded by the topic,
  so the same request always gives the same script.

Durations are estimated as words * 60 / words_per_minute (CJK text counts
one word per two characters).
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass

from providers.ai.base import (
    PermanentProviderError,
    Script,
    ScriptRequest,
    ScriptResult,
    ScriptScene,
    Seo,
    TextProvider,
    Usage,
)

from . import cpu, templates
from .keywords import content_words, top_keywords
from .sentences import count_words, split_paragraphs, split_sentences

__all__ = ["OfflineScriptWriter", "group_into_scenes"]

NAME = "offline"
MODEL = "offline-writer-1"

SCENE_MIN_S = 5.0
SCENE_TARGET_S = 9.0
SCENE_MAX_S = 12.0
TITLE_MAX = 100
DESCRIPTION_MAX = 5000
SEO_KEYWORDS_MAX = 15
SCENE_KEYWORDS_MAX = 5

_NOISE_WORDS = (
    "scene image shot close-up establishing clear diagram-like showing bold intriguing opening "
    "inviting closing upbeat eye-catching striking related sums wide slightly hinting "
    "split contrasting sleek expert-level fine detail level"
)
_VISUAL_NOISE = frozenset(_NOISE_WORDS.split())
_VISUAL_STYLE = "cinematic lighting, rich colour, clean composition, no text"


def _seconds(words: float, wpm: int) -> float:
    return words * 60.0 / wpm


def _rng_for(*parts: object) -> random.Random:
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _truncate(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip(" ,;:-") + "…"


_SMALL = frozenset("a an and as at but by for in nor of on or the to vs via with".split())  # noqa: SIM905


def _title_case(text: str) -> str:
    words = text.split()
    out = []
    for i, w in enumerate(words):
        if w.islower() and (i == 0 or w not in _SMALL):
            w = w[0].upper() + w[1:]
        out.append(w)
    return " ".join(out)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


_REQUEST_PREFIX = re.compile(
    r"^(?:please\s+)?(?:(?:make|create|write|produce|generate|give me|do)\s+(?:me\s+)?"
    r"(?:a|an|the)?\s*(?:short\s+|quick\s+|fun\s+|simple\s+)*(?:video|script|clip|short|reel|explainer)?"
    r"\s*(?:about|on|explaining|covering|for)?\s+|(?:tell me|talk|teach me)\s+(?:about\s+)?|"
    r"explain\s+|(?:a\s+)?(?:video|script)\s+(?:about|on)\s+)",
    re.IGNORECASE,
)


_LOWER_FIRST = frozenset({"the", "a", "an", "how", "why", "what", "when", "where", "who", "my", "our"})


_CLAUSE_START = frozenset({"why", "how", "what", "when", "where", "who", "whether", "which"})


def is_clause_topic(subject: str) -> bool:
    """'why cats purr', 'how volcanoes form': an embedded question, not a noun phrase."""
    words = subject.split()
    return len(words) >= 2 and words[0].lower() in _CLAUSE_START


def clean_topic(topic: str) -> str:
    """The subject to talk about, from a topic or a short instruction."""
    text = " ".join(topic.split()).strip(" \"'\u201c\u201d\u2018\u2019")
    for _ in range(2):
        stripped = _REQUEST_PREFIX.sub("", text, count=1).strip()
        if stripped and stripped != text:
            text = stripped
    text = text.rstrip(" .!?;:,")
    words = text.split()
    if len(words) > 9:
        first = re.split(r"[,.;:!?(]", text, maxsplit=1)[0].strip()
        words = first.split()[:9] if first else words[:9]
        text = " ".join(words).rstrip(" ,;:-")
    if text and text[0].isupper() and len(text) > 1 and text.split()[0][1:].islower():
        first_word = text.split()[0]
        if first_word.lower() in _LOWER_FIRST:
            text = text[0].lower() + text[1:]
    return text


@dataclass
class _Block:
    """Sentences that belong together (a hook, a body section, the close)."""

    sentences: list[str]
    heading: str | None
    visual: str
    kind: str  # "hook", "body", "close", "text"
    paragraph_ends: frozenset[int] = frozenset()


def group_into_scenes(
    sentences: list[str],
    wpm: int,
    paragraph_ends: frozenset[int] = frozenset(),
) -> list[list[str]]:
    """Group consecutive sentences into scenes of about 5-12 s; a paragraph end
    closes a scene once it is at least ~4 s long. A single sentence longer than
    12 s stays whole (words are never cut)."""
    groups: list[list[str]] = []
    cur: list[str] = []
    cur_s = 0.0
    for i, sent in enumerate(sentences):
        s = _seconds(count_words(sent), wpm)
        if cur and cur_s >= SCENE_MIN_S and (cur_s + s > SCENE_MAX_S or cur_s + s / 2 > SCENE_TARGET_S + 1):
            groups.append(cur)
            cur, cur_s = [], 0.0
        cur.append(sent)
        cur_s += s
        if i in paragraph_ends and cur_s >= SCENE_MIN_S - 1:
            groups.append(cur)
            cur, cur_s = [], 0.0
    if cur:
        if groups and cur_s < SCENE_MIN_S / 2:
            prev_s = sum(_seconds(count_words(x), wpm) for x in groups[-1])
            if prev_s + cur_s <= SCENE_MAX_S + 2:
                groups[-1].extend(cur)
                return groups
        groups.append(cur)
    return groups


class OfflineScriptWriter(TextProvider):
    """Writes or paces a script without any model or network."""

    name = NAME

    async def write_script(self, request: ScriptRequest) -> ScriptResult:
        # Pure Python: milliseconds for a 10-minute script, but an own text of 20,000 characters
        # takes longer; never on the event loop.
        return await cpu.run(self.write_script_sync, request)

    def write_script_sync(self, request: ScriptRequest) -> ScriptResult:
        if request.words_per_minute <= 0 or request.words_per_minute > 1000:
            raise PermanentProviderError(
                NAME, f"words_per_minute must be 1..1000, got {request.words_per_minute}"
            )
        if request.own_script is not None and request.own_script.strip():
            script = self._from_text(request)
            in_words = count_words(request.own_script) + count_words(request.topic or "")
        else:
            if not (request.target_seconds > 0):
                raise PermanentProviderError(
                    NAME, f"target_seconds must be positive, got {request.target_seconds}"
                )
            if not clean_topic(request.topic or ""):
                raise PermanentProviderError(NAME, "no topic and no text to turn into a script")
            script = self._from_topic(request)
            in_words = count_words(request.topic)
        out_words = sum(count_words(s.narration) for s in script.scenes)
        usage = Usage(model=MODEL, input_tokens=round(in_words), output_tokens=round(out_words))
        return ScriptResult(script=script, usage=usage)

    # ------------------------------------------------------------ own text

    def _from_text(self, request: ScriptRequest) -> Script:
        assert request.own_script is not None
        wpm = request.words_per_minute
        sentences: list[str] = []
        ends: set[int] = set()
        for para in split_paragraphs(request.own_script):
            sentences.extend(split_sentences(para, request.language))
            ends.add(len(sentences) - 1)
        if not any(ch.isalnum() for ch in "".join(sentences)):
            raise PermanentProviderError(NAME, "the script text has no words in it")
        full = " ".join(sentences)
        title = self._text_title(request, sentences)
        groups = group_into_scenes(sentences, wpm, frozenset(ends))
        scenes = []
        for i, group in enumerate(groups):
            narration = " ".join(group)
            kws = top_keywords(narration, SCENE_KEYWORDS_MAX)
            scenes.append(
                ScriptScene(
                    index=i,
                    narration=narration,
                    visual=self._text_visual(narration, kws),
                    keywords=kws,
                    estimated_seconds=round(_seconds(count_words(narration), wpm), 3),
                    heading=title if i == 0 else None,
                )
            )
        keywords = top_keywords(full, SEO_KEYWORDS_MAX, prefer=tuple(content_words(request.topic or ""))[:3])
        seo = self._seo(title, sentences, keywords)
        return Script(title=title, scenes=tuple(scenes), seo=seo, language=request.language)

    @staticmethod
    def _text_title(request: ScriptRequest, sentences: list[str]) -> str:
        if request.title and request.title.strip():
            return _truncate(request.title, TITLE_MAX)
        topic = " ".join((request.topic or "").split())
        if topic and len(topic) <= 80:
            return _truncate(_cap(topic), TITLE_MAX)
        first = sentences[0].rstrip(".!?。\uff01\uff1f…")
        return _truncate(first, 70)

    @staticmethod
    def _text_visual(narration: str, keywords: tuple[str, ...]) -> str:
        gist = _truncate(narration, 220)
        if keywords:
            return f"An illustration of {', '.join(keywords[:3])}: {gist} ({_VISUAL_STYLE})"
        return f"An illustration of: {gist} ({_VISUAL_STYLE})"

    # ------------------------------------------------------------ topic

    def _from_topic(self, request: ScriptRequest) -> Script:
        subject = clean_topic(request.topic)
        wpm = request.words_per_minute
        rng = _rng_for(subject.lower(), request.tone or "", request.language)
        target = max(4.0, request.target_seconds * wpm / 60.0)

        # Templates read "{t}" as a noun phrase; a question-shaped topic ("why cats purr") is not
        # one, so it is spoken as "the question of why cats purr".
        phrase = f"the question of {subject}" if is_clause_topic(subject) else subject

        def fill(t: str) -> str:
            return t.format(t=phrase, T=_cap(phrase))

        short = target < 45
        hook = fill(rng.choice(templates.SHORT_HOOKS if short else templates.HOOKS))
        close = fill(rng.choice(templates.SHORT_CLOSES if target < 70 else templates.CLOSES))
        title = (
            _truncate(request.title, TITLE_MAX)
            if request.title and request.title.strip()
            else self._topic_title(subject, request.target_seconds, rng)
        )
        budget = target - count_words(hook) - count_words(close)
        body = self._body(budget, rng, fill)

        blocks = [
            _Block(split_sentences(hook), title, fill("a bold, intriguing opening image about {t}"), "hook"),
            *body,
            _Block(
                split_sentences(close),
                rng.choice(("Your turn", "Thanks for watching", "Follow for more")),
                fill("an inviting closing image about {t}, warm and upbeat"),
                "close",
            ),
        ]
        topic_words = tuple(content_words(subject))
        scenes: list[ScriptScene] = []
        pending: list[str] = []
        pending_heading: str | None = None
        for b_i, block in enumerate(blocks):
            groups = group_into_scenes(block.sentences, wpm) if block.kind == "body" else [block.sentences]
            for g_i, group in enumerate(groups):
                heading = block.heading if g_i == 0 else None
                words = pending + group
                narration = " ".join(words)
                secs = _seconds(count_words(narration), wpm)
                last = b_i == len(blocks) - 1 and g_i == len(groups) - 1
                if secs < 2.5 and not last:
                    # Too short for a scene of its own (a one-line hook): carry it into the next.
                    pending = words
                    pending_heading = pending_heading or heading
                    continue
                if secs < 2.5 and last and scenes:
                    prev = scenes.pop()
                    narration = f"{prev.narration} {narration}"
                    heading = prev.heading
                    secs = _seconds(count_words(narration), wpm)
                heading = pending_heading or heading
                pending, pending_heading = [], None
                kws = top_keywords(
                    " ".join(w for w in content_words(block.visual) if w not in _VISUAL_NOISE),
                    SCENE_KEYWORDS_MAX,
                    prefer=topic_words[:3],
                )
                visual = f"{_cap(block.visual)}; {', '.join(kws)} ({_VISUAL_STYLE})"
                scenes.append(
                    ScriptScene(
                        index=len(scenes),
                        narration=narration,
                        visual=visual,
                        keywords=kws,
                        estimated_seconds=round(secs, 3),
                        heading=heading,
                    )
                )
        all_sentences = [s for b in blocks for s in b.sentences]
        seo = self._seo(title, all_sentences, self._topic_keywords(subject, topic_words))
        return Script(title=title, scenes=tuple(scenes), seo=seo, language="en")

    @staticmethod
    def _topic_keywords(subject: str, topic_words: tuple[str, ...]) -> tuple[str, ...]:
        phrase = re.sub(r"^(?:the|a|an)\s+", "", subject.lower()).strip()
        out: list[str] = []
        candidates = [phrase, *topic_words]
        if len(phrase.split()) <= 4:
            candidates += [f"{phrase} explained", f"{phrase} facts", f"{phrase} tips", f"learn {phrase}"]
        candidates += ["explainer", "did you know", "learn something new", "shorts"]
        for c in candidates:
            if c and c not in out and len(c) <= 100:
                out.append(c)
        return tuple(out[:SEO_KEYWORDS_MAX])

    @staticmethod
    def _topic_title(subject: str, seconds: float, rng: random.Random) -> str:
        s = _title_case(subject)
        patterns = [
            f"{s}, Explained Simply",
            f"{s}: What Most People Get Wrong",
            f"The Quick Guide to {s}",
            f"{s} in {round(seconds)} Seconds" if seconds < 100 else f"{s}: The Essentials",
            f"Everything You Need to Know About {s}",
            f"Understanding {s}",
        ]
        return _truncate(rng.choice(patterns), TITLE_MAX)

    @staticmethod
    def _body(budget: float, rng: random.Random, fill: object) -> list[_Block]:
        assert callable(fill)
        sections = list(templates.SECTIONS)
        openers = [s for s in sections if s[0] in ("The big picture", "How it works", "Why it matters")]
        first = rng.choice(openers)
        tail = [s for s in sections if s[0] in ("What's next", "Quick recap")]
        middle = [s for s in sections if s is not first and s not in tail]
        rng.shuffle(middle)
        order = [first, *middle, *tail]
        if budget <= 0:
            return []

        def words(s: str) -> float:
            return count_words(fill(s))

        if budget < 45:
            # Short videos: the prefix of the opening section that fits best, then fillers.
            pool = [fill(x) for x in first[2]]
            prefixes = [pool[: k + 1] for k in range(len(pool))]

            def padded(prefix: list[str]) -> list[str]:
                out = list(prefix)
                for filler in templates.FILLERS:
                    have = sum(count_words(x) for x in out)
                    if abs(have + count_words(filler) - budget) < abs(have - budget):
                        out.append(filler)
                return out

            options = [padded(p) for p in prefixes]
            best = min(options, key=lambda p: (abs(sum(count_words(x) for x in p) - budget), -len(p)))
            return [_Block(best, first[0], fill(first[1]), "body")]

        n = max(1, min(len(order), round(budget / 38.0)))
        chosen = order[:n] if n < len(order) else order
        if n < len(order) and n >= 3 and budget > 250:
            # Long enough to end on a recap rather than a random section.
            chosen = [*order[: n - 1], order[-1]]
        quota = budget / len(chosen)
        taken: list[list[str]] = []
        for _, _, sents in chosen:
            got: list[str] = []
            w_sum = 0.0
            for s in sents:
                w = words(s)
                if got and w_sum + w / 2 > quota:
                    break
                got.append(fill(s))
                w_sum += w
            taken.append(got)

        def total() -> float:
            return sum(count_words(s) for g in taken for s in g)

        # Long videos: the templates run out; go round again with connectors.
        cycle = 0
        while total() < budget * 0.97 and cycle < 20:
            cycle += 1
            progressed = False
            for idx, (_, _, sents) in enumerate(chosen):
                for s in sents:
                    text = fill(s)
                    if cycle > 1 or text in taken[idx]:
                        connectors = templates.CONNECTORS
                        conn = connectors[(idx + cycle + len(taken[idx])) % len(connectors)]
                        variant = f"{conn} {text[0].lower()}{text[1:]}" if not text.startswith("I ") else text
                        if variant in taken[idx]:
                            continue
                        text = variant
                    if total() + count_words(text) / 2 > budget:
                        break
                    taken[idx].append(text)
                    progressed = True
                if total() >= budget * 0.97:
                    break
            if not progressed:
                break
        # Trim when over, pad with short fillers when under.
        while total() > budget * 1.03:
            longest = max(range(len(taken)), key=lambda i: len(taken[i]))
            if len(taken[longest]) <= 1:
                break
            last = taken[longest][-1]
            if abs(total() - count_words(last) - budget) >= abs(total() - budget):
                break
            taken[longest].pop()
        fillers = list(templates.FILLERS)
        rng.shuffle(fillers)
        f_i = 0
        while total() < budget - 1.5 and f_i < len(fillers):
            filler = fillers[f_i]
            if total() + count_words(filler) > budget * 1.05:
                break
            taken[f_i % len(taken)].append(filler)
            f_i += 1
        return [
            _Block(got, heading, fill(visual), "body")
            for (heading, visual, _), got in zip(chosen, taken, strict=True)
            if got
        ]

    # ------------------------------------------------------------ seo

    @staticmethod
    def _seo(title: str, sentences: list[str], keywords: tuple[str, ...]) -> Seo:
        lead = ""
        for s in sentences:
            if len(lead) + len(s) + 1 > 280 and lead:
                break
            lead = f"{lead} {s}".strip()
        tags = " ".join("#" + re.sub(r"[^\w]", "", k) for k in keywords[:5] if re.sub(r"[^\w]", "", k))
        description = f"{lead}\n\n{tags}".strip() if tags else lead
        return Seo(
            title=_truncate(title, TITLE_MAX),
            description=_truncate_block(description, DESCRIPTION_MAX),
            keywords=tuple(keywords[:SEO_KEYWORDS_MAX]),
        )


def _truncate_block(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
