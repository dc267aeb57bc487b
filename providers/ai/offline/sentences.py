"""Sentence splitting that keeps the author's words exactly.

`split_sentences` cuts text into sentences for pacing and for feeding a TTS
engine one sentence at a time. It never rewrites words: joining its output
with single spaces gives the input with runs of whitespace collapsed.

Handled: common abbreviations ("Dr.", "e.g.", "U.S."), initials ("J. K."),
decimals and version numbers ("3.5", "v2.0"), ellipses ("..." and "…")
followed by a lower-case continuation, closing quotes and brackets after the
terminator ('"Stop!" He left.'), and full-width / non-Latin terminators
(CJK full stops, Arabic and Indic marks) which need no following space.
"""

from __future__ import annotations

import re

__all__ = ["count_words", "split_paragraphs", "split_sentences"]

# Abbreviations after which a period never ends a sentence (titles and the like
# almost always precede a name or a noun).
_NEVER_FINAL = frozenset(
    {
        "mr",
        "mrs",
        "ms",
        "mx",
        "dr",
        "prof",
        "sr",
        "jr",
        "st",
        "mt",
        "gen",
        "col",
        "capt",
        "lt",
        "sgt",
        "rev",
        "hon",
        "gov",
        "sen",
        "rep",
        "pres",
        "supt",
        "messrs",
        "mme",
        "mlle",
        "vs",
        "e.g",
        "i.e",
        "cf",
        "viz",
        "approx",
        "ca",
        "z.b",
        "bzw",
        "vgl",
        "ggf",
        "evtl",
        "sog",
        "d.h",
        "u.a",
        "sra",
        "srta",
        "av",
        "avda",
    }
)
# Abbreviations that may also close a sentence ("the answer is no. Then ..."):
# they end it only when the next word starts with an upper-case letter, so
# "No. 5", "Fig. 3" and "etc. and" stay whole.
_MAYBE_FINAL = frozenset(
    {
        "etc",
        "inc",
        "ltd",
        "co",
        "corp",
        "llc",
        "plc",
        "a.m",
        "p.m",
        "u.s",
        "u.k",
        "u.s.a",
        "e.u",
        "b.c",
        "a.d",
        "ph.d",
        "m.d",
        "b.a",
        "m.a",
        "b.sc",
        "m.sc",
        "al",
        "bros",
        "no",
        "nos",
        "fig",
        "figs",
        "vol",
        "pp",
        "p",
        "ch",
        "sec",
        "art",
        "eq",
        "op",
        "dept",
        "univ",
        "est",
        "ref",
        "min",
        "max",
        "ft",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "usw",
        "dh",
    }
)

_CLOSERS = "\"'\u201d\u2019»)]}」』\uff09】〉》\u203a"
# Latin-style terminators need whitespace (or the end) after them.
_LATIN_END = re.compile(r"(?:\.{2,}|…+|[.!?‽]+|[!?]+\.?)[" + re.escape(_CLOSERS) + r"]*(?=\s|$)")
# Terminators of scripts that do not put spaces between sentences.
_WIDE_END = re.compile(r"[。\uff01\uff1f｡\uff0e!?؟\u06d4।॥።፧]+[" + re.escape(_CLOSERS) + r"]*")
_WORD_BEFORE = re.compile(r"([\w.'\u2019-]+)$")
_WS = re.compile(r"\s+")
_NEXT_CHAR = re.compile(r"\S")
_WORD_WINDOW = 64
"""How far back the word before a period is looked for: longer than any abbreviation."""
_PARA = re.compile(r"\n[ \t]*\n+|\r\n[ \t]*\r\n")
_BULLET_LINE = re.compile(r"\n[ \t]*(?=(?:[-*•\u2013·]|\d{1,3}[.)])\s)")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def _is_boundary(text: str, start: int, end: int) -> bool:
    """Whether the Latin terminator text[start:end] ends a sentence."""
    mark = text[start:end].rstrip(_CLOSERS)
    # Only look near the terminator: scanning the whole text from here made a long text with
    # many abbreviations quadratic (20,000 characters took seconds).
    following = _NEXT_CHAR.search(text, end)
    if not following:
        return True
    nxt = following.group(0)
    if nxt.isalpha() and nxt.islower():
        # "... and then", '"Really?" she asked', "approx. ten"
        return False
    if mark != ".":
        return True
    m = _WORD_BEFORE.search(text, max(0, start - _WORD_WINDOW), start)
    if not m:
        return True
    word = m.group(1).strip("'\u2019-").lower()
    if word in _NEVER_FINAL:
        return False
    if len(word) == 1 and word.isalpha() and word != "i":
        # An initial: "J. K. Rowling". A lone capital ending a sentence is rare.
        return not text[start - 1].isupper()
    if word in _MAYBE_FINAL or word.rstrip(".") in _MAYBE_FINAL:
        return nxt.isupper()
    if re.fullmatch(r"(?:[a-z]\.)+[a-z]", word):
        # Dotted acronyms not in the list ("n.b", "r.s.v.p"): end only before a capital.
        return nxt.isupper()
    return True


def _split_block(block: str) -> list[str]:
    cuts: set[int] = set()
    for m in _LATIN_END.finditer(block):
        if _is_boundary(block, m.start(), m.end()):
            cuts.add(m.end())
    for m in _WIDE_END.finditer(block):
        # ASCII !/? inside Latin text are handled above (they need a space after).
        if m.group(0)[0] in "!?" and not _CJK.search(block[max(0, m.start() - 1) : m.start()]):
            continue
        cuts.add(m.end())
    out: list[str] = []
    prev = 0
    for cut in sorted(cuts):
        piece = _WS.sub(" ", block[prev:cut]).strip()
        if piece:
            out.append(piece)
        prev = cut
    tail = _WS.sub(" ", block[prev:]).strip()
    if tail:
        out.append(tail)
    return out


def split_paragraphs(text: str) -> list[str]:
    """Blocks separated by blank lines; list items ("- x", "1. x") are blocks too."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    blocks: list[str] = []
    for para in _PARA.split(text):
        for item in _BULLET_LINE.split(para):
            if item.strip():
                blocks.append(item.strip())
    return blocks


def split_sentences(text: str, language: str = "en") -> list[str]:
    """Split `text` into sentences, keeping every word as written.

    `language` is accepted for callers' convenience; the rules cover Latin,
    Cyrillic, Greek, CJK, Arabic and Indic punctuation alike.
    """
    del language  # the same rules serve every language we support
    sentences: list[str] = []
    for block in split_paragraphs(text):
        sentences.extend(_split_block(block))
    return sentences


def count_words(text: str) -> float:
    """Spoken-word equivalent of `text`: whitespace tokens, with CJK text
    (written without spaces) counted as one word per two characters."""
    cjk = len(_CJK.findall(text))
    if not cjk:
        return float(len(text.split()))
    latin = len(_CJK.sub(" ", text).split())
    return latin + cjk / 2.0
