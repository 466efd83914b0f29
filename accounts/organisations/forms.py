"""The order of a team licence paid by invoice: who is billed, where, under which tax ID and
purchase order, and in how many days the invoice is due."""

from typing import Any

from django import forms
from django.conf import settings

from accounts.fields import NameField
from accounts.organisations.countries import COUNTRIES
from accounts.organisations.invoicing import (
    PURCHASE_ORDER_MAX_LENGTH,
    TAX_ID_KINDS,
    InvoiceDetails,
    tax_id_parse,
)
from accounts.organisations.pricing import team_seats_parse
from accounts.organisations.services import ORGANISATION_NAME_MAX_LENGTH
from publisher.errors import ApplicationError
from publisher.text import text_strip_invisible


class LineField(forms.CharField):
    """One line of an address or a reference, as Stripe prints it on the invoice: invisible
    and control characters dropped, line breaks and runs of spaces made one space."""

    def to_python(self, value: Any) -> str:
        return " ".join(text_strip_invisible(super().to_python(value) or "").split())


AUTOCOMPLETE = {
    "name": "organization", "billing_email": "email", "legal_name": "organization",
    "line1": "address-line1", "line2": "address-line2", "city": "address-level2",
    "postal_code": "postal-code", "state": "address-level1", "country": "country",
    "tax_id": "off", "purchase_order": "off",
}  # fmt: skip


def _net_terms_choices() -> list[tuple[int, str]]:
    return [(days, f"Net {days}: due {days} days after the invoice date") for days in
            settings.INVOICE_NET_TERMS]  # fmt: skip


class InvoiceOrderForm(forms.Form):
    name = NameField(label="Organisation name", max_length=ORGANISATION_NAME_MAX_LENGTH)
    seats = forms.CharField(label="Seats", max_length=4)
    billing_email = forms.EmailField(
        label="Billing email", help_text="Stripe sends the invoice and its reminders here."
    )
    legal_name = NameField(
        label="Company legal name", max_length=200, help_text="As it goes on the invoice."
    )
    line1 = LineField(label="Address", max_length=200)
    line2 = LineField(label="Address, second line", max_length=200, required=False)
    city = LineField(label="City", max_length=100)
    postal_code = LineField(label="Postal code", max_length=20, required=False)
    state = LineField(label="State, county or province", max_length=100, required=False)
    country = forms.ChoiceField(label="Country", choices=[("", "Choose…"), *COUNTRIES])
    tax_id_type = forms.ChoiceField(
        label="Tax ID",
        required=False,
        choices=[("", "No tax ID"), *((k, v.label) for k, v in TAX_ID_KINDS.items())],
    )
    tax_id = LineField(
        label="Tax ID number",
        max_length=40,
        required=False,
        help_text="Printed on the invoice, e.g. DE123456789 (EU VAT), GB123456789 (UK VAT), "
        "12-3456789 (US EIN).",
    )
    purchase_order = LineField(
        label="Purchase order number",
        max_length=PURCHASE_ORDER_MAX_LENGTH,
        required=False,
        help_text="Printed on every invoice of this licence.",
    )
    net_terms = forms.TypedChoiceField(
        label="Payment terms", coerce=int, choices=_net_terms_choices
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["net_terms"].initial = settings.INVOICE_NET_TERMS_DEFAULT
        for name, autocomplete in AUTOCOMPLETE.items():
            self.fields[name].widget.attrs["autocomplete"] = autocomplete
        self.fields["seats"].widget.attrs["inputmode"] = "numeric"

    # The form's parts, in the order the page shows them.
    FIELDSETS = (
        ("The licence", ("name", "seats")),
        ("Who is billed", ("billing_email", "legal_name", "line1", "line2", "city",
                           "postal_code", "state", "country")),
        ("On the invoice", ("tax_id_type", "tax_id", "purchase_order", "net_terms")),
    )  # fmt: skip

    def fieldsets(self) -> list[tuple[str, list[forms.BoundField]]]:
        return [(legend, [self[name] for name in names]) for legend, names in self.FIELDSETS]

    def clean_seats(self) -> int:
        try:
            return team_seats_parse(self.cleaned_data.get("seats"))
        except ApplicationError as error:
            raise forms.ValidationError(error.message, code="seats") from None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        try:
            cleaned["tax_id_parsed"] = tax_id_parse(
                kind=cleaned.get("tax_id_type") or "", value=cleaned.get("tax_id") or ""
            )
        except ApplicationError as error:
            self.add_error("tax_id", error.message)
        return cleaned

    def details(self) -> InvoiceDetails:
        data = self.cleaned_data
        address = {
            name: data[name]
            for name in ("line1", "line2", "city", "postal_code", "state", "country")
            if data.get(name)
        }
        return InvoiceDetails(
            billing_email=data["billing_email"],
            legal_name=data["legal_name"],
            address=address,
            tax_id=data["tax_id_parsed"],
            purchase_order=data["purchase_order"],
            net_terms=data["net_terms"],
        )
