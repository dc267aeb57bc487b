"""Captions people can read (issue 12, item 5): every rule checked on the cues of 20 scripts from
the offline writer and on hand-written edge cases.

The rules: cues are whole phrases (broken at punctuation and phrase boundaries); no line ends on
a bare function word ("the", "of", "to", "and" ...) and no such word is a cue of its own; no cue
is shorter than 0.7 s unless its sentence is; at most 2 lines of at most 42 characters (CJK
counts double); and cues stay on the narration: a sentence's cues tile its span, and each cue
starts within 100 ms of the moment its first word is spoken.

Sentence timings come from a speech model in this file (no synthesis: 20 scripts would cost
~40 s of CPU): each word takes time in proportion to its length plus one, at a pace that varies
per script from slow (130 words a minute) to very fast (330), with 0.3 s between sentences.
"""

from __future__ import annotations

import itertools
import random
import re
import statistics
from collections.abc import Sequence

import pytest

from media import CaptionCue, CaptionStyle, cues_from_sentences
from media.captions import caption_fits, caption_layout, fit_cues
from providers.ai.base import ScriptRequest
from providers.ai.offline.script_writer import OfflineScriptWriter
from providers.ai.offline.sentences import split_sentences

MAX_CHARS = 42
MIN_CUE = 0.7
SYNC = 0.1
PAUSE = 0.3

# The test's own list (not the implementation's): words that never end a line.
FUNCTION_WORDS = frozenset(
    str.split(
        "a an the of to in on at by for with from into onto about over under than as and or but nor "
        "if because that which who whose whom this these those my your his her its our their is are was "
        "were be been has have had will would can could should may might must not no very"
    )
)

TOPICS = [
    ("Why octopuses are so intelligent", 45),
    ("How black holes bend light", 30),
    ("The history of the bicycle", 60),
    ("Five tips for better sleep", 40),
    ("How vaccines train the immune system", 90),
    ("What makes sourdough bread rise", 35),
    ("The science of rainbows", 20),
    ("Why cats purr", 25),
    ("How to start running at 40", 75),
    ("The rise and fall of the Roman Empire", 120),
    ("How solar panels turn light into power", 50),
    ("Budget travel in Japan", 65),
    ("The psychology of habits", 55),
    ("How bees communicate with dance", 30),
    ("What is inflation and why it matters", 80),
    ("Deep sea creatures that glow", 45),
    ("The first moon landing in 1969", 60),
    ("How to write a great cover letter", 40),
    ("Why the sky is blue", 15),
    ("Electric cars versus petrol cars", 100),
]

EDGE_CASES: list[list[str]] = [
    # long words (one wider than a line)
    [
        "Pneumonoultramicroscopicsilicovolcanoconiosis is a word, and so is "
        "Donaudampfschifffahrtsgesellschaftskapitänswitwenrentenversicherungsanstalt."
    ],
    # numbers
    [
        "In 1969, 600 million people watched 2 astronauts walk on the Moon for 2.5 hours.",
        "It cost $25.4 billion, about 4% of the federal budget of the United States at its peak.",
    ],
    # one-word sentences between ordinary ones
    ["Stop.", "Look at the octopus in the corner of the tank.", "Wow!"],
    # a sentence of function words only where a break is forced
    ["This is the quick guide to the best of the things that you can do in the time that you have."],
    # CJK text
    ["タコはとても賢い動物で、道具を使うこともできます。", "本当に驚きですね。"],
]
FAST_EDGE = "Octopuses have three hearts, blue blood, and nine brains, and they can taste with their arms, change colour in a blink and squeeze through any gap larger than their beak."  # noqa: E501


def _width(s: str) -> int:
    return sum(2 if re.match(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]", c) else 1 for c in s)


def _words(text: str) -> list[str]:
    return text.split()


def timed(sentences: Sequence[str], wpm: float, start: float = 0.0) -> list[tuple[float, float, str]]:
    """(start, end, text) per sentence: words take time in proportion to (length + 1)."""
    out, t = [], start
    for s in sentences:
        words = _words(s)
        cjk = sum(1 for c in s if _width(c) == 2)
        seconds = (len(words) + cjk / 2) * 60.0 / wpm
        out.append((round(t, 3), round(t + seconds, 3), s))
        t += seconds + PAUSE
    return out


def script_sentences(topic: str, seconds: int) -> list[str]:
    result = OfflineScriptWriter().write_script_sync(
        ScriptRequest(topic=topic, target_seconds=seconds, words_per_minute=185)
    )
    return [s for sc in result.script.scenes for s in split_sentences(sc.narration)]


def corpus() -> list[tuple[str, list[tuple[float, float, str]]]]:
    rng = random.Random(12)
    out = []
    for topic, seconds in TOPICS:
        wpm = rng.choice([130, 160, 185, 185, 210, 250, 330])
        out.append((f"{topic} @{wpm}wpm", timed(script_sentences(topic, seconds), wpm)))
    for i, case in enumerate(EDGE_CASES):
        out.append((f"edge {i}", timed(case, 170)))
    out.append(("very fast speech", timed([FAST_EDGE], 420)))
    out.append(("very short sentence", [(0.0, 0.5, "Go on, then, tell me."), (0.8, 1.3, "Yes.")]))
    return out


CORPUS = corpus()


def _norm(text: str) -> str:
    """Text with line and hard-hyphen breaks undone and CJK/spaces normalised, for comparison."""
    text = re.sub(r"(?<=\w)-\n(?=\w)", "", text)
    return re.sub(r"\s+", "", text)


def _bare_function_word(line: str) -> str | None:
    last = line.split()[-1] if line.split() else ""
    return last if last.lower() in FUNCTION_WORDS else None


def check_rules(sentences: list[tuple[float, float, str]], cues: list[CaptionCue]) -> list[str]:
    """Every broken rule, as readable lines (empty when the cues are fine)."""
    problems: list[str] = []
    for start, end, text in sentences:
        mine = [c for c in cues if c.start >= start - 0.011 and c.end <= end + 0.011]
        others = [c for c in cues if c.start < end and c.end > start and c not in mine]
        if others:
            problems.append(f"cue spans two sentences: {others[0]}")
        if not mine:
            problems.append(f"no cue for {text!r}")
            continue
        if _norm("\n".join(c.text for c in mine)) != _norm(text):
            problems.append(f"cues do not spell the sentence: {[c.text for c in mine]} vs {text!r}")
        if abs(mine[0].start - start) > SYNC or abs(mine[-1].end - end) > SYNC:
            problems.append(f"cues not on the sentence's span {start}-{end}: {mine[0]} .. {mine[-1]}")
        for a, b in itertools.pairwise(mine):
            if abs(b.start - a.end) > 0.011:
                problems.append(f"gap inside a sentence: {a} | {b}")
        total = sum(len(w) + 1 for w in _words(text))
        # where each cue's first word is spoken (Latin text: CJK is checked on the span only)
        if not any(_width(ch) == 2 for ch in text):
            pos = 0
            for c in mine:
                expected = start + (end - start) * pos / total
                if abs(c.start - expected) > SYNC:
                    problems.append(f"cue {c.text!r} at {c.start:.2f}, its words spoken at {expected:.2f}")
                for line in c.text.split("\n"):
                    toks = line.split()
                    for i, tok in enumerate(toks):
                        hard_break = i == len(toks) - 1 and re.search(r"\w-$", tok)  # a word cut in two
                        pos += len(tok) - 1 if hard_break else len(tok) + 1
        for c in mine:
            lines = c.text.split("\n")
            if len(lines) > 2:
                problems.append(f"more than 2 lines: {c.text!r}")
            for line in lines:
                if _width(line) > MAX_CHARS:
                    problems.append(f"line longer than {MAX_CHARS}: {line!r}")
            for line in lines[:-1] if c is mine[-1] else lines:
                word = _bare_function_word(line)
                if word:
                    problems.append(f"line ends on {word!r}: {c.text!r}")
            if len(c.text.split()) == 1 and c.text.lower() in FUNCTION_WORDS:
                problems.append(f"function word alone: {c.text!r}")
            if c.end - c.start < MIN_CUE - 0.005 and end - start >= MIN_CUE:
                problems.append(f"cue of {c.end - c.start:.2f} s: {c.text!r} (sentence {end - start:.2f} s)")
    return problems


@pytest.mark.parametrize("name, sentences", CORPUS, ids=[n for n, _ in CORPUS])
def test_cues_follow_every_rule(name, sentences):
    cues = cues_from_sentences(sentences)
    problems = check_rules(sentences, cues)
    assert not problems, f"{name}: {len(problems)} problems\n" + "\n".join(problems[:15])


@pytest.mark.parametrize("aspect", ["PORTRAIT", "LANDSCAPE"])
def test_cues_fitted_to_the_frame_follow_every_rule_and_survive_fitting(aspect):
    """Built for the frame's line width (as the ASSEMBLY stage does): the renderer's pixel fitting
    then leaves them alone, so the burned-in captions are the phrase cues."""
    style = CaptionStyle()
    fits = caption_fits(aspect, style)
    layout = caption_layout(aspect, style)
    count, first_lines = 0, []
    for name, sentences in CORPUS[:20]:
        cues = cues_from_sentences(sentences, fits=fits)
        problems = check_rules(sentences, cues)
        # A portrait line holds ~20 characters: at a fast pace a sentence can have no layout that
        # keeps every rule, and then a function word may end the first line of a cue (read with
        # the second line at once); never a cue, never a flash.
        first_lines += [p for p in problems if p.startswith("line ends on") and "\\n" in p.split(": ", 1)[1]]
        problems = [p for p in problems if p not in first_lines]
        assert not problems, f"{name}: {len(problems)} problems\n" + "\n".join(problems[:15])
        assert all(fits(line) for c in cues for line in c.text.split("\n"))
        assert fit_cues(cues, layout, style) == cues
        count += len(cues)
    assert len(first_lines) <= 0.01 * count, first_lines


def test_the_checker_catches_each_broken_rule():
    """The checker is what the rules rest on: each kind of bad cue list is reported."""
    s = [(0.0, 3.0, "This is the quick guide to the best of it.")]
    good = [CaptionCue(0.0, 1.67, "This is the quick guide"), CaptionCue(1.67, 3.0, "to the best of it.")]
    assert check_rules(s, good) == []
    first, rest = "This is the quick guide", "to the best of it."
    bad = {
        "ends on": [
            CaptionCue(0.0, 1.3, "This is the quick\nguide to the"),
            CaptionCue(1.3, 3.0, "best of it."),
        ],
        "of 0.": [CaptionCue(0.0, 2.5, first), CaptionCue(2.5, 3.0, rest)],
        "not on the sentence": [CaptionCue(0.3, 1.67, first), CaptionCue(1.67, 3.0, rest)],
        "spoken at": [CaptionCue(0.0, 2.0, first), CaptionCue(2.0, 3.0, rest)],
        "longer than": [CaptionCue(0.0, 3.0, "This is the quick guide to the best of it. " * 2)],
        "do not spell": [CaptionCue(0.0, 3.0, "This is the guide to the best of it.")],
    }
    for what, cues in bad.items():
        assert any(what in p for p in check_rules(s, cues)), what


def cue_lengths(fits=None) -> list[float]:
    return [c.end - c.start for _, s in CORPUS[:20] for c in cues_from_sentences(s, fits=fits)]


if __name__ == "__main__":  # figures for the README: python -m tests.media.test_caption_rules
    for label, fits in [("42 chars", None), ("portrait frame", caption_fits("PORTRAIT", CaptionStyle()))]:
        d = sorted(cue_lengths(fits))
        q = statistics.quantiles(d, n=10)
        whole = {t for _, s in CORPUS[:20] for _, _, t in s}
        parts = [c.end - c.start for _, s in CORPUS[:20] for c in cues_from_sentences(s, fits=fits)
                 if c.text.replace("\n", " ") not in whole]  # fmt: skip
        print(
            f"{label}: {len(d)} cues, min {d[0]:.2f} s, p10 {q[0]:.2f}, median {statistics.median(d):.2f}, "
            f"p90 {q[-1]:.2f}, max {d[-1]:.2f}; under 0.7 s: {sum(x < 0.695 for x in d)} "
            f"(parts of a sentence: {sum(x < 0.695 for x in parts)}), under 1 s: {sum(x < 1 for x in d)}"
        )


def test_cues_appear_when_their_first_word_is_spoken_by_the_voices_word_timings():
    """With word timings (ElevenLabs' alignment) a cue starts with its first word, even where
    the speech is uneven: here a long pause after the comma."""
    text = "When the tide goes out at night, the octopus climbs out of its pool to hunt for crabs."
    words = text.split()
    # "When the tide goes out at night," then 1.9 s of silence, then the rest
    starts = [0, 0.2, 0.35, 0.6, 0.8, 0.95, 1.1,
              3.0, 3.15, 3.5, 3.8, 4.0, 4.15, 4.3, 4.5, 4.8, 5.0, 5.2]  # fmt: skip
    assert len(starts) == len(words)
    cues = cues_from_sentences([(0.0, 5.6, text, starts)])
    assert [c.text.replace("\n", " ") for c in cues] == [
        "When the tide goes out at night,",
        "the octopus climbs out of its pool to hunt for crabs.",
    ]
    assert cues[1].start == 3.0  # estimated by length alone it would be ~1.9 s
    estimated = cues_from_sentences([(0.0, 5.6, text)])
    assert abs(estimated[1].start - 3.0) > 0.5
    # timings that do not match the words one to one are not used
    assert cues_from_sentences([(0.0, 5.6, text, starts[:-1])]) == estimated


def test_word_starts_are_kept_per_sentence_only_when_they_match_its_words():
    from domain.production import word_starts
    from providers.ai.base import SpeechResult, TimedText

    def result(words):
        sentences = (TimedText(0.0, 1.0, "Two words."), TimedText(1.3, 2.0, "Three more words."))
        return SpeechResult(path=None, duration=2.0, sample_rate=1, sentences=sentences, words=tuple(words))  # type: ignore[arg-type]

    exact = [
        TimedText(0.0, 0.4, "Two"), TimedText(0.5, 1.0, "words."),
        TimedText(1.3, 1.5, "Three"), TimedText(1.55, 1.7, "more"), TimedText(1.75, 2.0, "words."),
    ]  # fmt: skip
    assert word_starts(result(exact)) == [[0.0, 0.5], [1.3, 1.55, 1.75]]
    assert word_starts(result(exact[:4])) == [[0.0, 0.5], None]
    assert word_starts(result([])) == [None, None]
