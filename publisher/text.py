"""Text people type that other people read: names and comments.

Bidirectional overrides make text display differently from what it says ("\u202etxt.exe"
shows as "exe.txt"), zero-width and other format characters hide text or make two names
that look the same compare different, and control characters are never meant (PostgreSQL
cannot even store NUL). None of them belongs in a name or a comment.
"""

import unicodedata

# Kept in multi-line text; names fold them into single spaces.
_LINE_CONTROLS = frozenset("\t\n\r")
# Not format characters by category, but they render as nothing and are the usual way to
# make a name look blank: the combining grapheme joiner, Hangul and Khmer fillers.
_BLANK_LETTERS = frozenset("\u034f\u115f\u1160\u17b4\u17b5\u3164\uffa0")
ZERO_WIDTH_NON_JOINER = "\u200c"
ZERO_WIDTH_JOINER = "\u200d"
# Scripts whose letters change shape around a zero-width non-joiner (Persian spelling
# needs it), as the joining rules of RFC 5892, appendix A.1, describe.
_JOINING_SCRIPTS = ("ARABIC ", "SYRIAC ", "NKO ", "MONGOLIAN ", "MANDAIC ", "PHAGS-PA ")
_VIRAMA = 9  # the canonical combining class of the vowel killers of Indic scripts


def _is_invisible(char: str) -> bool:
    category = unicodedata.category(char)
    if category == "Cc":
        return char not in _LINE_CONTROLS
    return category == "Cf" or char in _BLANK_LETTERS


def _is_emoji_part(char: str) -> bool:
    # Pictographs are symbols; a joined sequence may also pass through a skin-tone modifier
    # or the emoji variation selector.
    return (
        unicodedata.category(char) == "So"
        or "\U0001f3fb" <= char <= "\U0001f3ff"
        or char == "\ufe0f"
    )


def _joiner_shows(joiner: str, before: str, after: str) -> bool:
    """Whether a zero-width (non-)joiner between `before` and `after` changes what is shown.

    Only then is it kept: in emoji sequences (a ZWJ joins "👩" and "💻" into one picture),
    after a virama, and between letters of a joining script. Anywhere else (between Latin
    letters, digits, spaces) it shows nothing and would only hide a difference."""
    if not before or not after:
        return False
    if unicodedata.combining(before) == _VIRAMA:
        return True
    if joiner == ZERO_WIDTH_JOINER:
        return _is_emoji_part(before) and _is_emoji_part(after)
    return all(unicodedata.name(c, "").startswith(_JOINING_SCRIPTS) for c in (before, after))


def text_strip_invisible(text: str) -> str:
    """`text` without format characters (Unicode category Cf: bidi controls, zero-width
    characters, the byte-order mark, soft hyphens…), control characters other than tab and
    line breaks, and blank filler letters. Joiners stay only where they are visible."""
    kept: list[str] = []
    for index, char in enumerate(text):
        if char in (ZERO_WIDTH_JOINER, ZERO_WIDTH_NON_JOINER):
            after = text[index + 1 : index + 2]
            if _joiner_shows(char, kept[-1] if kept else "", after):
                kept.append(char)
        elif not _is_invisible(char):
            kept.append(char)
    return "".join(kept)


def text_normalise_name(text: str) -> str:
    """A person's or an organisation's name as stored: composed (NFC), without invisible
    characters, its runs of whitespace (any kind, line breaks included) one space each.

    An empty result means the name had nothing visible; callers refuse it."""
    return " ".join(unicodedata.normalize("NFC", text_strip_invisible(text)).split())


def text_excerpt(text: str, length: int) -> str:
    """`text` on one line, cut to `length` characters with an ellipsis, for admin lists."""
    flat = " ".join(text.split())
    return flat if len(flat) <= length else f"{flat[: length - 1]}…"
