"""The one rule for invisible characters in names and comments."""

import pytest

from publisher.text import text_normalise_name, text_strip_invisible


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        pytest.param("\u202etxt.exe", "txt.exe", id="bidi-override"),
        pytest.param("a\u202a\u202b\u202c\u202d\u202eb", "ab", id="bidi-embeddings"),
        pytest.param("a\u2066\u2067\u2068\u2069b", "ab", id="bidi-isolates"),
        pytest.param("a\u200b\u200e\u200f\u2060\ufeffb", "ab", id="zero-width-and-marks"),
        pytest.param("a\u00ad\u061c\u180e\u2061\U000e0041b", "ab", id="other-format"),
        pytest.param("a\x00\x1b\x7f\x85b", "ab", id="controls"),
        pytest.param("a\u3164\u115f\uffa0b", "ab", id="blank-fillers"),
        pytest.param("line\r\n\tnext", "line\r\n\tnext", id="line-breaks-stay"),
        pytest.param(
            "Ren\u00e9 \u738b\u82b3 \U0001d54f",
            "Ren\u00e9 \u738b\u82b3 \U0001d54f",
            id="visible-unicode-stays",
        ),
    ],
)
def test_invisible_characters_are_stripped(text, kept):
    assert text_strip_invisible(text) == kept


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("\U0001f469\u200d\U0001f4bb", id="emoji-zwj-sequence"),
        pytest.param("\U0001f469\U0001f3fd\u200d\U0001f4bb", id="after-a-skin-tone"),
        pytest.param("\u2764\ufe0f\u200d\U0001f525", id="after-the-emoji-selector"),
        pytest.param("\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645", id="persian-zwnj"),
        pytest.param("\u0915\u094d\u200d\u0937", id="after-a-virama"),
    ],
)
def test_joiners_stay_where_they_change_what_is_shown(text):
    assert text_strip_invisible(text) == text


@pytest.mark.parametrize(
    "text",
    ["Al\u200dice", "Al\u200cice", "\u200dAlice", "Alice\u200c", "1\u200d2", "\U0001f469\u200da"],
)
def test_joiners_that_show_nothing_are_stripped(text):
    assert "\u200c" not in text_strip_invisible(text)
    assert "\u200d" not in text_strip_invisible(text)


def test_names_are_composed_with_single_spaces():
    assert text_normalise_name("  Rene\u0301 \u00a0\n\u2003 Dupont\u202e ") == "Ren\u00e9 Dupont"
    assert text_normalise_name("\u200b \u2066\u2069") == ""
