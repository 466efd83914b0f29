from collections.abc import Mapping
from typing import Any

from django import forms

RANGE_CHOICES = [(3, "Last 3 months"), (6, "Last 6 months"), (12, "Last 12 months"),
                 (24, "Last 24 months"), (36, "Last 36 months")]  # fmt: skip
DEFAULT_MONTHS = 12


class DashboardRangeForm(forms.Form):
    """The months the dashboard covers, given in the query string (`?months=12`); without
    one, the last twelve."""

    months = forms.TypedChoiceField(
        choices=RANGE_CHOICES,
        coerce=int,
        required=False,
        label="Show",
        error_messages={
            "invalid_choice": "Choose a range from the list: the last 3, 6, 12, 24 or 36 months."
        },
    )

    def __init__(self, data: Mapping[str, Any] | None) -> None:
        # A form that was not sent shows the default range, bound so it validates.
        super().__init__(data or {"months": str(DEFAULT_MONTHS)})

    @property
    def chosen_months(self) -> int:
        return self.cleaned_data.get("months") or DEFAULT_MONTHS
