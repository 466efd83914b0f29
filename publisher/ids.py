"""Whole numbers from untrusted text: form fields, query parameters, Stripe metadata."""


def parse_id(value: object, *, max_digits: int = 11) -> int | None:
    """The number `value` spells in ASCII digits, or None for anything else.

    ASCII only, because "²".isdigit() is true while int("²") fails; and at most `max_digits`
    digits, so a hostile value never reaches the database as an integer out of range.
    """
    text = "" if value is None else str(value)
    if text and text.isascii() and text.isdigit() and len(text) <= max_digits:
        return int(text)
    return None
