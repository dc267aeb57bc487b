"""Cue splitting and caption files (fast, no rendering)."""

from __future__ import annotations

import itertools

from media import CaptionCue, CaptionStyle, cues_from_sentences, parse_vtt, to_srt, to_vtt
from media.captions import caption_layout, fit_cues, pixel_fits, to_ass

from .conftest import SENTENCES


def test_cues_start_and_end_on_sentence_boundaries():
    cues = cues_from_sentences(SENTENCES, max_chars_per_line=20)
    for start, end, _ in SENTENCES:
        mine = [c for c in cues if start - 0.01 <= c.start and c.end <= end + 0.01]
        assert mine, (start, end)
        assert abs(mine[0].start - start) < 0.1
        assert abs(mine[-1].end - end) < 0.1
        # pages of one sentence tile its span without gaps
        for a, b in itertools.pairwise(mine):
            assert b.start == a.end


def test_long_sentence_split_into_two_line_cues_proportionally():
    text = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen"
    cues = cues_from_sentences([(10.0, 18.0, text)], max_chars_per_line=16)
    assert len(cues) >= 2
    assert all(len(c.text.split("\n")) <= 2 for c in cues)
    assert all(len(line) <= 16 for c in cues for line in c.text.split("\n"))
    assert " ".join(c.text.replace("\n", " ") for c in cues) == text
    # duration share follows the character share
    for c in cues:
        share = len(c.text.replace("\n", "")) / len(text.replace(" ", ""))
        assert abs((c.end - c.start) / 8.0 - share) < 0.12


def test_extremely_long_word_is_hard_broken_to_fit_the_frame():
    word = "x" * 300
    style = CaptionStyle()
    layout = caption_layout("PORTRAIT", style)
    cues = fit_cues(cues_from_sentences([(0.0, 4.0, f"see {word} here")]), layout, style)
    fits = pixel_fits(layout, style)
    assert len(cues) > 2
    for c in cues:
        lines = c.text.split("\n")
        assert len(lines) <= 2
        assert all(fits(line) for line in lines)
    assert cues[0].start == 0.0 and cues[-1].end == 4.0


def test_cjk_breaks_between_characters():
    cues = cues_from_sentences(
        [(0.0, 3.0, "日本語のテキストはスペースなしで長く続きます")], max_chars_per_line=12
    )
    assert all(len(line) <= 6 for c in cues for line in c.text.split("\n"))  # CJK counts double


def test_vtt_srt_and_ass_share_identical_times():
    cues = cues_from_sentences(SENTENCES)
    vtt, srt = to_vtt(cues), to_srt(cues)
    back = parse_vtt(vtt)
    assert [(c.start, c.end) for c in back] == [(c.start, c.end) for c in cues]
    assert [c.text for c in back] == [c.text for c in cues]
    assert srt.count("-->") == len(cues)
    assert vtt.replace(".", ",").count("00:00:01,600") == srt.count("00:00:01,600") == 1
    ass = to_ass(cues, caption_layout("PORTRAIT", CaptionStyle()), CaptionStyle())
    assert "0:00:01.60," in ass


def test_overlapping_cues_are_made_sequential():
    cues = cues_from_sentences([(0.0, 2.0, "first"), (1.5, 3.0, "second")])
    assert cues[0].end <= cues[1].start


def test_escaping_in_files():
    cues = [CaptionCue(0.0, 1.0, "a < b & {c}")]
    assert "a &lt; b &amp; {c}" in to_vtt(cues)
    ass = to_ass(cues, caption_layout("SQUARE", CaptionStyle()), CaptionStyle())
    assert "{c}" not in ass.split("[Events]")[1]


def test_cjk_runs_use_the_fallback_font_in_ass_and_measurement():
    import pytest

    pytest.importorskip("noto_cjk_sans_jp_bold")
    from media.captions import font_runs, needs_fallback_font

    style = CaptionStyle()
    assert font_runs("Hello 世界 ok", True) == [(False, "Hello "), (True, "世界 "), (False, "ok")]
    ass = to_ass([CaptionCue(0.0, 1.0, "Hi 世界")], caption_layout("PORTRAIT", style), style)
    assert "Hi {\\fnNoto Sans CJK JP}世界{\\fnDejaVu Sans}" in ass
    assert needs_fallback_font([CaptionCue(0, 1, "世界")], True)
    assert not needs_fallback_font([CaptionCue(0, 1, "plain")], True)
    # wrapped by real CJK widths: a long CJK sentence needs several lines, each fitting
    layout = caption_layout("PORTRAIT", style)
    cues = fit_cues([CaptionCue(0.0, 4.0, "日本語のテキストはスペースなしで長く続きます" * 3)], layout, style)
    fits = pixel_fits(layout, style)
    assert len(cues) >= 2 and all(fits(line) for c in cues for line in c.text.split("\n"))


def test_srt_reads_back_as_the_vtt_cues():
    cues = cues_from_sentences(SENTENCES)
    from media.captions import parse_srt

    assert parse_srt(to_srt(cues)) == parse_vtt(to_vtt(cues)) == cues
