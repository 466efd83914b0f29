"""The cancellation confirmation's form: an optional reason from a short list, and a note."""

from django import forms

from accounts.billing.cancellation import cancellation_detail_clean
from accounts.models import SubscriptionCancellation


class CancellationForm(forms.Form):
    reason = forms.ChoiceField(
        label="Why are you leaving? (optional)",
        choices=SubscriptionCancellation.Reason.choices,
        required=False,
        widget=forms.RadioSelect,
    )
    detail = forms.CharField(
        label="Anything else you would like us to know? (optional)",
        required=False,
        max_length=SubscriptionCancellation.DETAIL_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def clean_detail(self) -> str:
        return cancellation_detail_clean(self.cleaned_data.get("detail") or "")
