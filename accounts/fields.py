"""Form fields shared by the account and team forms."""

from typing import Any

from django import forms

from publisher.text import text_normalise_name


class NameField(forms.CharField):
    """A name other readers see: stored without invisible characters, spaces normalised.

    Leaving it empty is fine where the field is optional; typing only characters that show
    nothing is refused, since what was typed would silently vanish. `user_profile_update`
    applies the same rule to callers without a form."""

    def to_python(self, value: Any) -> str:
        typed = super().to_python(value) or ""
        name = text_normalise_name(typed)
        if typed and not name:
            raise forms.ValidationError(
                "Use visible letters: this has only invisible characters.",
                code="invisible",
            )
        return name
