# ruff: noqa: RUF001
import pytest

from providers.ai.offline import split_sentences
from providers.ai.offline.sentences import count_words


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("One. Two! Three?", ["One.", "Two!", "Three?"]),
        (
            "Dr. Smith met Mr. Jones at 3.5 p.m. Then they left.",
            ["Dr. Smith met Mr. Jones at 3.5 p.m.", "Then they left."],
        ),
        (
            "Use tools, e.g. hammers. Done, i.e. finished.",
            ["Use tools, e.g. hammers.", "Done, i.e. finished."],
        ),
        (
            "Pi is 3.14159 roughly. Version 2.0.1 shipped.",
            ["Pi is 3.14159 roughly.", "Version 2.0.1 shipped."],
        ),
        (
            "Wait... and then it happened. Wow… She left.",
            ["Wait... and then it happened.", "Wow…", "She left."],
        ),
        ('He said "Stop!" Then he ran.', ['He said "Stop!"', "Then he ran."]),
        ('"Really?" she asked. Yes.', ['"Really?" she asked.', "Yes."]),
        ("He said \u201cStop.\u201d Then he ran.", ["He said \u201cStop.\u201d", "Then he ran."]),
        ("J. K. Rowling wrote it. So did I. The end", ["J. K. Rowling wrote it.", "So did I.", "The end"]),
        ("The answer is no. No. 5 is next.", ["The answer is no.", "No. 5 is next."]),
        ("Made in the U.S. The end.", ["Made in the U.S.", "The end."]),
        ("Apples, pears, etc. and more.", ["Apples, pears, etc. and more."]),
        ("今日は晴れです。明日は雨？そうですね！", ["今日は晴れです。", "明日は雨？", "そうですね！"]),
        ("你好。我很好！", ["你好。", "我很好！"]),
        ("Это тест. Второе предложение! Третье?", ["Это тест.", "Второе предложение!", "Третье?"]),
        ("Hard\nwrapped line. Next one.", ["Hard wrapped line.", "Next one."]),
        ("Title without stop\n\nBody text here.", ["Title without stop", "Body text here."]),
        ("Items:\n- first\n- second", ["Items:", "- first", "- second"]),
        ("Wow!!! Really?! Yes.", ["Wow!!!", "Really?!", "Yes."]),
        ("", []),
        ("   \n\n  ", []),
    ],
)
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text, "en") == expected


def test_split_keeps_every_word() -> None:
    text = (
        'Dr. Ada Lovelace (1815-1852) wrote notes, e.g. on loops... and more!  "Is it art?" '
        "she asked.\n\nIn 1843 it cost \u00a33.50. Ok?! 好的。Fine."
    )
    parts = split_sentences(text)
    assert "".join("".join(p.split()) for p in parts) == "".join(text.split())
    assert " ".join(parts[:-2]).split() == text.split()[:-1]  # Latin part: same words, same order


def test_count_words() -> None:
    assert count_words("one two  three") == 3
    assert count_words("你好世界") == 2  # CJK: one word per two characters
