"""Caption cues: splitting sentences into <=2-line cues, and writing ASS / WebVTT / SRT.

One list of cues feeds all three writers, and times are rounded to the centisecond (ASS's
resolution) first, so the burned-in captions and the VTT/SRT files are identical in timing.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .errors import InvalidMediaError
from .fonts import CJK_FAMILY, cjk_font_path, font_path
from .types import AspectRatio, CaptionCue, CaptionStyle, frame_size

Measure = Callable[[str], float]

# Per aspect: font-size multiplier on the style's share of frame height, side margin and the
# bottom margin (keeps captions out of the platform UI: on 9:16 above the bottom 20 %).
_LAYOUT: dict[str, tuple[float, float, float]] = {
    "PORTRAIT": (1.0, 0.08, 0.22),
    "LANDSCAPE": (1.6, 0.10, 0.08),
    "SQUARE": (1.5, 0.08, 0.10),
}


@dataclass(frozen=True)
class CaptionLayout:
    width: int
    height: int
    font_px: int
    margin_lr: int
    margin_v: int

    @property
    def max_line_px(self) -> float:
        return self.width - 2 * self.margin_lr


def caption_layout(aspect: AspectRatio | str, style: CaptionStyle) -> CaptionLayout:
    w, h = frame_size(aspect)
    mult, side, bottom = _LAYOUT[str(aspect).upper()]
    return CaptionLayout(w, h, round(style.font_size * mult * h), round(side * w), round(bottom * h))


def _round_cs(t: float) -> float:
    return round(t * 100) / 100


# ---------------------------------------------------------------- line wrapping


_CJK = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")


def _is_cjk(ch: str) -> bool:
    """Scripts written without spaces, broken between characters (emoji are not among them)."""
    return bool(_CJK.match(ch))


def _tokens(text: str) -> list[str]:
    """Words, with each CJK character a token of its own (CJK text breaks between characters)."""
    out: list[str] = []
    for word in text.split():
        buf = ""
        for ch in word:
            if _is_cjk(ch):
                if buf:
                    out.append(buf)
                    buf = ""
                out.append("\x00" + ch)  # marker: joins to neighbours without a space
            else:
                buf += ch
        if buf:
            out.append(buf)
    return out


def _join(tokens: Sequence[str]) -> str:
    s = ""
    prev_cjk = False
    for tok in tokens:
        cjk = tok.startswith("\x00")
        t = tok[1:] if cjk else tok
        if s and not (cjk or prev_cjk):
            s += " "
        s += t
        prev_cjk = cjk
    return s


def _split_long(token: str, fits: Callable[[str], bool]) -> list[str]:
    """Hard-break a word that cannot fit on one line (URLs, German compounds, garbage)."""
    parts: list[str] = []
    buf = ""
    for ch in token:
        if buf and not fits(buf + ch + "-"):
            parts.append(buf + "-")
            buf = ch
        else:
            buf += ch
    if buf:
        parts.append(buf)
    return parts


def wrap_lines(text: str, fits: Callable[[str], bool]) -> list[str]:
    """Greedy wrap; `fits(line)` says whether a line fits the caption width."""
    lines: list[list[str]] = [[]]
    for tok in _tokens(text):
        pieces = [tok] if tok.startswith("\x00") or fits(tok) else _split_long(tok, fits)
        for piece in pieces:
            cand = [*lines[-1], piece]
            if lines[-1] and not fits(_join(cand)):
                lines.append([piece])
            else:
                lines[-1] = cand
    return [_join(ln) for ln in lines if ln]


def _pages(lines: list[str], max_lines: int) -> list[list[str]]:
    return [lines[i : i + max_lines] for i in range(0, len(lines), max_lines)] or [[]]


def _spread(start: float, end: float, pages: list[list[str]]) -> list[CaptionCue]:
    """Time pages within [start, end] proportionally to their characters."""
    weights = [max(1, sum(len(x) for x in p)) for p in pages]
    total = sum(weights)
    cues: list[CaptionCue] = []
    t = start
    for i, (page, wgt) in enumerate(zip(pages, weights, strict=True)):
        nxt = end if i == len(pages) - 1 else t + (end - start) * wgt / total
        cues.append(CaptionCue(_round_cs(t), _round_cs(nxt), "\n".join(page)))
        t = nxt
    return cues


def _chars_fit(max_chars: int) -> Callable[[str], bool]:
    return lambda s: len(s) + sum(1 for c in s if _is_cjk(c)) <= max_chars  # CJK is double width


MIN_CUE_SECONDS = 0.7
MAX_CUE_SECONDS = 7.0
COMFORT_SECONDS = 1.2


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words a line or a cue never ends on: they lean on the word after them.
FUNCTION_WORDS = _word_set(
    """a an the of to in on at by for with from into onto upon about over under after before
    between through during without within than as and or but nor so yet if because although
    though while whereas that which who whose whom what this these those my your his her its our
    their is are was were be been being am has have had do does did will would shall can could
    should may might must not no every each some any very such"""
)
# A phrase often starts at these: a good place to break before them.
_PHRASE_STARTS = _word_set(
    """and or but nor so yet because although though while whereas which who whose whom where
    when that if unless until since to of in on at by for with from into about after before
    between through during without like as than"""
)
_CLAUSE_END = re.compile(r"[,;:\u2013\u2014\u2026)\"\u201d\u3001\uff0c\uff1b\uff1a]$")
_SENTENCE_END = re.compile(r"[.!?\u3002\uff01\uff1f]$")
_HARD = 1000.0  # a break that breaks a rule: taken only when nothing else fits
_LINE_HARD = 300.0
_STRETCH = 0.085  # seconds a cue may be lengthened to reach the minimum (sync allows 0.1)


def _bare(token: str) -> str:
    return token[1:] if token.startswith("\x00") else token


def _break_cost(tok: str, nxt: str) -> float:
    """Cost of ending a line (or a cue) after `tok`, with `nxt` starting the next one."""
    if tok.endswith("\x01"):  # inside a word too long for a line
        return 1.0
    word = _bare(tok)
    if _SENTENCE_END.search(word):
        return -3.0
    if _CLAUSE_END.search(word):
        return -2.0
    if word.lower().lstrip("\"'(\u201c\u2018") in FUNCTION_WORDS:
        return _HARD
    if tok.startswith("\x00") and nxt.startswith("\x00"):
        return 2.0  # between two CJK characters: no phrase boundary known
    nxt_word = _bare(nxt).lower().lstrip("\"'(\u201c\u2018")
    if nxt_word in _PHRASE_STARTS:
        return 0.5
    if any(ch.isdigit() for ch in word):
        return 4.0  # "600 / million"
    if word[:1].isupper() and _bare(nxt)[:1].isupper():
        return 4.0  # "New / York"
    return 3.0  # inside a phrase


def _display(tok: str) -> str:
    return tok.replace("\x01", "")


def _speech_weight(tok: str) -> float:
    """Share of speaking time: a word's characters plus its space; a CJK character counts two."""
    if tok.startswith("\x00"):
        return 2.0
    if tok.endswith("\x01"):
        return float(len(tok) - 2)  # a piece of a long word: its letters, no hyphen, no space
    return float(len(tok) + 1)


_PIECE = 12  # characters of a word too long for a line, per piece


def _phrase_tokens(text: str, fits: Callable[[str], bool]) -> list[str]:
    """Words (CJK characters one by one). A word too long for a line is cut into pieces of about
    `_PIECE` characters, each but the last ending in '-' and the marker \\x01: pieces on one
    line are joined again, so the word breaks only where a line or cue ends."""
    out: list[str] = []
    for tok in _tokens(text):
        if tok.startswith("\x00") or fits(tok):
            out.append(tok)
            continue
        count = -(-len(tok) // _PIECE)
        size = -(-len(tok) // count)
        pieces = [tok[i : i + size] for i in range(0, len(tok), size)]
        out.extend([*(p + "-\x01" for p in pieces[:-1]), pieces[-1]])
    return out


def _join_display(tokens: Sequence[str]) -> str:
    merged: list[str] = []
    for tok in tokens:
        if merged and merged[-1].endswith("-\x01"):
            merged[-1] = merged[-1][:-2] + tok
        else:
            merged.append(tok)
    return _join([_display(t) for t in merged])


def phrase_cues(
    start: float,
    end: float,
    text: str,
    fits: Callable[[str], bool],
    max_lines: int = 2,
    min_seconds: float = MIN_CUE_SECONDS,
    word_starts: Sequence[float] | None = None,
) -> list[CaptionCue]:
    """One timed sentence as cues of whole phrases.

    Cue and line breaks are chosen together (dynamic programming over the sentence's words):
    breaks after punctuation are sought, breaks before a conjunction or preposition are fine,
    breaks inside a phrase cost, and a break after a function word is taken only when nothing
    else fits. A cue shorter than `min_seconds` (or a one-word cue in a longer sentence) is
    avoided unless the sentence itself is too short. Times follow the speech: a cue appears
    when its first word is spoken, at `word_starts` (one per whitespace-separated word, when
    the voice gave them) or else estimated, each word taking time in proportion to its length.
    """
    words = text.split()
    per_word = [_phrase_tokens(word, fits) for word in words]
    toks = [t for group in per_word for t in group]
    n = len(toks)
    if n == 0:
        return []
    weights = [_speech_weight(t) for t in toks]
    cum = [0.0]
    for w in weights:
        cum.append(cum[-1] + w)
    span = end - start
    at = _token_times(per_word, cum, span, start, end, word_starts)
    brk = [_break_cost(toks[i], toks[i + 1]) for i in range(n - 1)] + [0.0]
    # reach[i]: tokens i..reach[i]-1 fit on one line (at least one token always does)
    reach: list[int] = []
    for i in range(n):
        k = i + 1
        while k < n and fits(_join_display(toks[i : k + 1])):
            k += 1
        reach.append(k)
    sentence_can_hold = span >= min_seconds

    memo: dict[tuple[int, int, int], tuple[float, list[int]] | None] = {}

    def layout(i: int, j: int, lines: int) -> tuple[float, list[int]] | None:
        """Cheapest way to set tokens i..j-1 on at most `lines` lines: (cost, line starts)."""
        if j <= reach[i]:
            return 0.0, [i]
        if lines < 2:
            return None
        key = (i, j, lines)
        if key in memo:
            return memo[key]
        best: tuple[float, list[int]] | None = None
        for k in range(i + 1, min(j, reach[i] + 1)):
            rest = layout(k, j, lines - 1)
            if rest is None:
                continue
            own = brk[k - 1]
            # A function word ending the first line of a cue is bad; ending a cue (the reader
            # waits for the next one), or a cue too short to read, is worse: only the cheapest
            # of them is taken, when no layout keeps every rule (a fast voice, a narrow frame).
            line_cost = _LINE_HARD if own >= _HARD else 0.5 * own
            # balanced lines read better: a small cost for the difference in length
            cost = line_cost + rest[0] + 0.02 * abs((cum[k] - cum[i]) - (cum[j] - cum[k]))
            if best is None or cost < best[0]:
                best = (cost, [i, *rest[1]])
        memo[key] = best
        return best

    inf = float("inf")
    best = [inf] * (n + 1)
    choice: list[tuple[int, list[int]]] = [(0, [])] * (n + 1)
    best[0] = 0.0
    for j in range(1, n + 1):
        for i in range(j - 1, -1, -1):
            if best[i] == inf:
                continue
            lay = layout(i, j, max_lines)
            if lay is None:
                break  # starting earlier only adds words: that cannot fit either
            seconds = at[j] - at[i]
            cost = best[i] + 2.0 + lay[0] + (brk[j - 1] if j < n else 0.0)
            short = min_seconds - seconds
            if short > 1e-9 and sentence_can_hold:
                # A little short is made up by `_cue_times` (moving a boundary a few centiseconds,
                # well within sync); more would pull the cues off the speech.
                cost += 50.0 + 500.0 * short if short <= _STRETCH else _HARD
            if j - i == 1 and n > 1:
                cost += 8.0
            cost += max(0.0, seconds - MAX_CUE_SECONDS) * 3.0
            cost += max(0.0, COMFORT_SECONDS - seconds) * 4.0  # a cue that short is hard to read
            if cost < best[j]:
                best[j] = cost
                choice[j] = (i, lay[1])
    cuts: list[tuple[int, int, list[int]]] = []
    j = n
    while j > 0:
        i, lines = choice[j]
        cuts.append((i, j, lines))
        j = i
    cuts.reverse()
    times = _cue_times([at[i] for i, _, _ in cuts] + [span], min_seconds)
    cues = []
    for (_, j, lines), a, b in zip(cuts, times, times[1:], strict=False):
        bounds = [*lines, j]
        body = "\n".join(_join_display(toks[x:y]) for x, y in itertools.pairwise(bounds))
        cues.append(CaptionCue(_round_cs(start + a), _round_cs(start + b), body))
    return cues


def _token_times(
    per_word: list[list[str]],
    cum: list[float],
    span: float,
    start: float,
    end: float,
    word_starts: Sequence[float] | None,
) -> list[float]:
    """When each token starts, in seconds from the sentence's start (and `span` at the end).

    With the voice's word timings (one per word, in order, inside the sentence) a word starts
    when it was spoken and its pieces (CJK characters, cuts of a long word) share its time by
    length; without them, every token's share of the sentence follows its length."""
    n = len(cum) - 1
    usable = (
        word_starts is not None
        and len(word_starts) == len(per_word)
        and all(start - 0.05 <= t <= end + 0.05 for t in word_starts)
        and all(a <= b for a, b in itertools.pairwise(word_starts))
    )
    if not usable or word_starts is None:
        per = span / cum[-1]
        return [c * per for c in cum]
    at: list[float] = []
    k = 0
    for w, group in enumerate(per_word):
        w0 = min(max(word_starts[w] - start, 0.0), span)
        w1 = min(max(word_starts[w + 1] - start, w0), span) if w + 1 < len(per_word) else span
        chars = cum[k + len(group)] - cum[k]
        for x in range(len(group)):
            at.append(w0 + (w1 - w0) * (cum[k + x] - cum[k]) / chars if chars else w0)
        k += len(group)
    assert k == n
    at.append(span)
    return at


def _cue_times(bounds: list[float], min_seconds: float) -> list[float]:
    """Cue boundaries (0 .. span), moved only if a cue would be shorter than `min_seconds` and
    the span has room to give every cue that long: short cues are lengthened, the others share
    the rest in proportion to their speech."""
    durations = [b - a for a, b in itertools.pairwise(bounds)]
    span = bounds[-1]
    if all(d >= min_seconds - 1e-9 for d in durations) or span < min_seconds * len(durations):
        return bounds
    fixed = [False] * len(durations)
    while True:
        free = span - min_seconds * sum(fixed)
        flexible = sum(d for d, f in zip(durations, fixed, strict=False) if not f)
        scaled = [min_seconds if f else d * free / flexible for d, f in zip(durations, fixed, strict=False)]
        short = [i for i, d in enumerate(scaled) if not fixed[i] and d < min_seconds - 1e-9]
        if not short:
            break
        for i in short:
            fixed[i] = True
    out = [0.0]
    for d in scaled:
        out.append(out[-1] + d)
    out[-1] = span
    return out


TimedSentence = tuple[float, float, str] | tuple[float, float, str, Sequence[float]]
"""(start, end, text), or with the start of each of its words when the voice gave them."""


def cues_from_sentences(
    sentences: Iterable[TimedSentence],
    max_chars_per_line: int = 42,
    max_lines: int = 2,
    *,
    fits: Callable[[str], bool] | None = None,
    min_seconds: float = MIN_CUE_SECONDS,
) -> list[CaptionCue]:
    """Each timed sentence as cues of whole phrases, at most `max_lines` lines each.

    A line fits when `fits(line)` says so (give `caption_fits(aspect, style)` to build cues for
    the frame they are burned into); otherwise when it has at most `max_chars_per_line`
    characters, CJK counting double. See `phrase_cues` for the rules.
    """
    line_fits = fits if fits is not None else _chars_fit(max_chars_per_line)
    cues: list[CaptionCue] = []
    for sentence in sentences:
        start, end, text = sentence[0], sentence[1], sentence[2]
        words = sentence[3] if len(sentence) > 3 else None
        text = " ".join(text.split())
        if not text or end <= start:
            continue
        cues.extend(phrase_cues(start, end, text, line_fits, max_lines, min_seconds, word_starts=words))
    return normalise_cues(cues)


def cues_for_frame(
    sentences: Sequence[TimedSentence],
    aspect: AspectRatio | str,
    style: CaptionStyle | None = None,
) -> list[CaptionCue]:
    """Phrase cues whose lines fit the frame they are burned into (`caption_fits`), so the
    renderer keeps them as they are and the VTT/SRT files match the picture. CPU work (~20 ms
    for 45 s of narration): run it in a worker process, not on an event loop."""
    return cues_from_sentences(sentences, fits=caption_fits(aspect, style))


def normalise_cues(cues: Iterable[CaptionCue]) -> list[CaptionCue]:
    """Sorted, centisecond-rounded, non-overlapping (overlaps would stack into >2 lines)."""
    out: list[CaptionCue] = []
    for c in sorted(cues, key=lambda c: (c.start, c.end)):
        start, end = _round_cs(max(0.0, c.start)), _round_cs(c.end)
        if out and start < out[-1].end:
            prev = out[-1]
            out[-1] = CaptionCue(prev.start, max(prev.start, start), prev.text)
            if out[-1].end <= out[-1].start:
                out.pop()
        if end > start and c.text.strip():
            out.append(CaptionCue(start, end, c.text.strip()))
    return out


PRIMARY_FAMILY = "DejaVu Sans"


@lru_cache(maxsize=8)
def _pil_font(size: int, bold: bool):  # type: ignore[no-untyped-def]
    from PIL import ImageFont

    return ImageFont.truetype(str(font_path(bold=bold)), size)


@lru_cache(maxsize=8)
def _pil_cjk(size: int):  # type: ignore[no-untyped-def]
    from PIL import ImageFont

    path = cjk_font_path()
    return None if path is None else ImageFont.truetype(str(path), size)


def font_runs(text: str, bold: bool) -> list[tuple[bool, str]]:
    """`text` split into (drawn by the CJK fallback font?, run) pieces.

    A character goes to the fallback only when the primary font lacks it and the fallback has
    it; spaces and anything neither font draws stay with the run they are in.
    """
    runs: list[tuple[bool, str]] = []
    for ch in text:
        fb = _glyph_font(ch, bold) == 1
        if runs and (runs[-1][0] == fb or ch.isspace()):
            runs[-1] = (runs[-1][0], runs[-1][1] + ch)
        else:
            runs.append((fb, ch))
    return runs


def pixel_fits(layout: CaptionLayout, style: CaptionStyle) -> Callable[[str], bool]:
    # libass sizes fonts by ascent+descent (~1.16 em for DejaVu, ~1.45 em for Noto CJK), so
    # measuring with PIL at the ASS size over-estimates widths a little: a safe margin.
    font = _pil_font(layout.font_px, style.bold)
    limit = layout.max_line_px

    def width(s: str) -> float:
        cjk = _pil_cjk(layout.font_px)
        runs = font_runs(s, style.bold)
        return float(sum((cjk if fb and cjk is not None else font).getlength(run) for fb, run in runs))

    return lambda s: width(s) <= limit


def caption_fits(aspect: AspectRatio | str, style: CaptionStyle | None = None) -> Callable[[str], bool]:
    """Whether a line fits the frame's caption width as drawn (and has at most 42 characters):
    give it to `cues_from_sentences` to build cues the renderer burns in unchanged."""
    style = style or CaptionStyle()
    pixels = pixel_fits(caption_layout(aspect, style), style)
    chars = _chars_fit(42)
    if style.uppercase:
        return lambda s: chars(s) and pixels(s.upper())
    return lambda s: chars(s) and pixels(s)


def fit_cues(cues: Iterable[CaptionCue], layout: CaptionLayout, style: CaptionStyle) -> list[CaptionCue]:
    """Re-wrap cues by rendered pixel width; split any that would exceed `max_lines` lines.

    Cues whose lines already fit are kept as they are; the others are broken again into phrases
    (`phrase_cues`) within their own time span."""
    fits = pixel_fits(layout, style)
    out: list[CaptionCue] = []
    for c in normalise_cues(cues):
        text = c.text.upper() if style.uppercase else c.text
        lines = text.split("\n")
        if len(lines) > style.max_lines or not all(fits(ln) for ln in lines):
            # Undo our own hard breaks ("...exp-" + "ial...") before re-wrapping by pixels.
            joined = re.sub(r"(?<=\w)-\n(?=\w)", "", text).replace("\n", " ")
            out.extend(phrase_cues(c.start, c.end, " ".join(joined.split()), fits, style.max_lines))
        else:
            out.append(CaptionCue(c.start, c.end, text))
    return normalise_cues(out)


def shift_cues(cues: Iterable[CaptionCue], offset: float) -> list[CaptionCue]:
    return [CaptionCue(_round_cs(c.start + offset), _round_cs(c.end + offset), c.text) for c in cues]


# ---------------------------------------------------------------- writers


def _ts(t: float, sep: str) -> str:
    cs = round(t * 100)
    h, rem = divmod(cs, 360000)
    m, rem = divmod(rem, 6000)
    s, cs = divmod(rem, 100)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{cs * 10:03d}"


def to_vtt(cues: Sequence[CaptionCue]) -> str:
    parts = ["WEBVTT", ""]
    for i, c in enumerate(cues, 1):
        text = c.text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        parts += [str(i), f"{_ts(c.start, '.')} --> {_ts(c.end, '.')}", text, ""]
    return "\n".join(parts)


def to_srt(cues: Sequence[CaptionCue]) -> str:
    parts: list[str] = []
    for i, c in enumerate(cues, 1):
        parts += [str(i), f"{_ts(c.start, ',')} --> {_ts(c.end, ',')}", c.text, ""]
    return "\n".join(parts)


def _ass_time(t: float) -> str:
    cs = round(t * 100)
    h, rem = divmod(cs, 360000)
    m, rem = divmod(rem, 6000)
    s, cs = divmod(rem, 100)
    return f"{h}:{m:02d}:{s:02d}.{cs:02d}"


def _ass_colour(rrggbb: str, alpha: float = 0.0) -> str:
    r, g, b = rrggbb[0:2], rrggbb[2:4], rrggbb[4:6]
    return f"&H{round(alpha * 255):02X}{b}{g}{r}".upper()


def _ass_text(text: str) -> str:
    # Braces open override blocks and backslashes start escapes in ASS: neutralise both.
    text = text.replace("\\", "/").replace("{", "(").replace("}", ")")
    return text.replace("\n", "\\N")


def _ass_runs(text: str, bold: bool) -> str:
    """ASS text with runs the primary font lacks switched to the CJK font by `\\fn` overrides.

    Explicit switches rather than libass's own fallback search: the font that draws each
    character is the one `pixel_fits` measured it with.
    """
    out = []
    for fb, run in font_runs(text, bold):
        body = _ass_text(run)
        out.append(f"{{\\fn{CJK_FAMILY}}}{body}{{\\fn{PRIMARY_FAMILY}}}" if fb else body)
    return "".join(out)


def needs_fallback_font(cues: Iterable[CaptionCue], bold: bool) -> bool:
    return any(fb for c in cues for fb, _ in font_runs(c.text, bold))


def to_ass(cues: Sequence[CaptionCue], layout: CaptionLayout, style: CaptionStyle) -> str:
    size = layout.font_px
    if style.box:
        border, outline, shadow = 3, max(1, round(size * 0.18)), 0
        back = _ass_colour("000000", 1 - style.box_opacity)
        outline_col = back
    else:
        border, outline, shadow = 1, max(1, round(size * style.outline)), max(1, round(size * 0.03))
        back = _ass_colour("000000", 0.4)
        outline_col = _ass_colour(style.outline_color)
    fields = [
        "Caption", PRIMARY_FAMILY, str(size), _ass_colour(style.text_color), _ass_colour(style.text_color),
        outline_col, back, "-1" if style.bold else "0", "0", "0", "0", "100", "100", "0", "0",
        str(border), str(outline), str(shadow), "2", str(layout.margin_lr), str(layout.margin_lr),
        str(layout.margin_v), "1",
    ]  # fmt: skip
    head = [
        "[Script Info]",
        "ScriptType: v4.00+",
        f"PlayResX: {layout.width}",
        f"PlayResY: {layout.height}",
        "WrapStyle: 2",  # no automatic wrapping: lines were broken by fit_cues
        "ScaledBorderAndShadow: yes",
        "YCbCr Matrix: TV.709",
        "",
        "[V4+ Styles]",
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, "
        "Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, "
        "Shadow, Alignment, MarginL, MarginR, MarginV, Encoding",
        "Style: " + ",".join(fields),
        "",
        "[Events]",
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text",
    ]
    events = [
        f"Dialogue: 0,{_ass_time(c.start)},{_ass_time(c.end)},Caption,,0,0,0,,{_ass_runs(c.text, style.bold)}"
        for c in cues
    ]
    return "\n".join([*head, *events, ""])


def write_caption_files(cues: Sequence[CaptionCue], vtt: Path, srt: Path) -> None:
    vtt.write_text(to_vtt(cues), encoding="utf-8")
    srt.write_text(to_srt(cues), encoding="utf-8")


_TAG = re.compile(r"<[^>]+>")


def parse_vtt(text: str) -> list[CaptionCue]:
    """Read back a WebVTT file written by `to_vtt` (used by tests and tooling)."""
    cues: list[CaptionCue] = []
    for block in text.strip().split("\n\n")[1:]:
        lines = block.splitlines()
        idx = next(i for i, ln in enumerate(lines) if "-->" in ln)
        a, b = (x.strip() for x in lines[idx].split("-->"))
        body = "\n".join(lines[idx + 1 :])
        body = _TAG.sub("", body).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
        cues.append(CaptionCue(_parse_ts(a), _parse_ts(b), body))
    return cues


def parse_srt(text: str) -> list[CaptionCue]:
    """Read back a SubRip file written by `to_srt` (used by tests and tooling)."""
    cues: list[CaptionCue] = []
    for block in text.strip().split("\n\n"):
        lines = block.splitlines()
        idx = next((i for i, ln in enumerate(lines) if "-->" in ln), None)
        if idx is None:
            continue
        a, b = (x.strip() for x in lines[idx].split("-->"))
        cues.append(CaptionCue(_parse_ts(a), _parse_ts(b), "\n".join(lines[idx + 1 :])))
    return cues


def _parse_ts(s: str) -> float:
    h, m, rest = s.replace(",", ".").split(":")
    return int(h) * 3600 + int(m) * 60 + float(rest)


# ---------------------------------------------------------------- glyph coverage


@lru_cache(maxsize=8192)
def _glyph_font(ch: str, bold: bool) -> int | None:
    """0 if the primary font draws `ch`, 1 if only the CJK fallback does, None if neither.

    A missing glyph renders as .notdef, so a mask equal to .notdef's means "not in this font".
    """
    if ch.isspace() or ch == "\n":
        return 0
    if bytes(_pil_font(48, bold).getmask(ch)) != _notdef(bold):
        return 0
    cjk = _pil_cjk(48)
    if cjk is not None and bytes(cjk.getmask(ch)) != _notdef_cjk():
        return 1
    return None


def _has_glyph(ch: str, bold: bool) -> bool:
    return _glyph_font(ch, bold) is not None


@lru_cache(maxsize=2)
def _notdef(bold: bool) -> bytes:
    return bytes(_pil_font(48, bold).getmask("\U0010fffd"))


@lru_cache(maxsize=1)
def _notdef_cjk() -> bytes:
    cjk = _pil_cjk(48)
    return b"" if cjk is None else bytes(cjk.getmask("\U0010fffd"))


def check_glyphs(cues: Iterable[CaptionCue], style: CaptionStyle) -> list[CaptionCue]:
    """Drop symbols the font lacks (an emoji missing is cosmetic); refuse missing letters.

    Burning boxes ("tofu") into a video is never acceptable: a caption whose words cannot be
    drawn is an error the user can act on (change language or disable captions).
    """
    out: list[CaptionCue] = []
    missing: set[str] = set()
    for c in cues:
        kept = []
        for ch in c.text:
            if ch == "\n" or _has_glyph(ch, style.bold):
                kept.append(ch)
            elif unicodedata.category(ch)[0] in "LN":
                missing.add(ch)
            # else: a symbol/emoji or format char without a glyph: dropped
        text = re.sub(r"[ \t]+", " ", "".join(kept)).strip()
        if text:
            out.append(CaptionCue(c.start, c.end, text))
    if missing:
        sample = "".join(sorted(missing)[:8])
        raise InvalidMediaError(
            f"The captions contain characters the caption font cannot display ({sample}...). "
            "Disable burned-in captions for this language or install a font that covers it "
            "(CJK: the noto-cjk-sans-jp-bold package)."
        )
    return out
