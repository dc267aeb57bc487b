"""Content words of a text, frequency ranked, for visuals and SEO."""

from __future__ import annotations

import re
from collections import Counter

__all__ = ["content_words", "top_keywords"]

_STOP = frozenset(
    """
    a about above after again against all almost along already also although always am among an and
    another any anyone anything are around as at away back be because been before being below
    between both but by can cannot could did do does doing done down during each either else enough
    even ever every everyone everything few for from further get gets getting give given go goes
    going gone got had has have having he her here hers herself him himself his how however i if in
    into is it its itself just keep know least less let lets like likely little lot lots made make
    makes many may maybe me might mine more most much must my myself near need needs never new next
    no nobody none nor not nothing now of off often on once one only onto or other others otherwise
    our ours ourselves out over own per perhaps put quite rather really right said same say says see
    seem seems several shall she should since so some someone something sometimes soon still such
    take than that the their theirs them themselves then there therefore these they thing things
    think this those though through thus till to together too toward towards under until up upon us
    use used using usually very via want wants was way ways we well were what whatever when where
    whether which while who whom whose why will with within without won would yet you your yours
    yourself yourselves isn aren wasn weren don doesn didn haven hasn hadn wouldn shouldn couldn can't
    don't doesn't didn't it's that's there's here's what's let's i'm you're we're they're i've
    you've we've they've i'll you'll we'll they'll i'd you'd he's she's first second third last
    ago yes okay ok oh also etc via one two three four five six seven eight nine ten
    part start started actually simply simple quick short long big small real point
    people time times day days year years today tomorrow bit kind sort follow
    el la los las un una unos unas de del y o que en con por para es son se lo al como mas pero
    le les des du et ou est sont dans sur pour pas par avec une ce cette qui ne au aux
    der die das ein eine und oder ist sind mit von zu im auf für nicht den dem des sich auch
    il gli di da che per non con sono do dos das um uma com não
    """.split()  # noqa: SIM905
)

_TOKEN = re.compile(r"[^\W\d_][\w'\u2019-]*", re.UNICODE)


def content_words(text: str) -> list[str]:
    """Lower-cased content words in order of appearance (stop words and very
    short words removed)."""
    out: list[str] = []
    for m in _TOKEN.finditer(text):
        word = m.group(0).strip("'\u2019-").lower().replace("\u2019", "'")
        if word.endswith("'s"):
            word = word[:-2]
        if len(word) < 3 and word.isascii():
            continue
        if word in _STOP:
            continue
        out.append(word)
    return out


def top_keywords(text: str, limit: int, *, prefer: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Up to `limit` keywords: `prefer` first (in order, deduplicated), then the
    content words of `text` by frequency, ties broken by first appearance."""
    words = content_words(text)
    counts = Counter(words)
    first = {w: i for i, w in reversed(list(enumerate(words)))}
    ranked = sorted(counts, key=lambda w: (-counts[w], first[w]))
    out: list[str] = []
    for w in (*prefer, *ranked):
        if w and w not in out:
            out.append(w)
        if len(out) >= limit:
            break
    return tuple(out)
