"""Paying a team licence by invoice: net terms, a purchase order and the buyer's tax ID.

Stripe sends the invoice (`collection_method=send_invoice`, due `days_until_due` days after
it is finalised) to the billing email, with the buyer's legal name, address and tax ID from
the customer and the purchase-order number as one of the invoice's custom fields. Access
follows the invoice (`accounts.membership`): from its finalisation, through its due date
and the grace days, until it is written off or the subscription ends.
"""

import re
from dataclasses import dataclass
from typing import Any

import stripe
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.billing.client import BillingUnavailable, local_checkout_enabled, stripe_client
from accounts.billing.local_checkout import local_team_invoice_subscription_create
from accounts.billing.sync import TERMINAL_STATUSES, subscription_sync_from_stripe
from accounts.membership import membership_grants_access
from accounts.models import Organisation, User
from accounts.organisations.pricing import MAX_SEATS, min_seats
from publisher.errors import ApplicationError
from publisher.ratelimit import Limit, limit_exceeded

PURCHASE_ORDER_FIELD = "Purchase order"
# Stripe's limit for a custom field's value.
PURCHASE_ORDER_MAX_LENGTH = 140
INVOICE_LIMITS = [
    Limit(10, 3600, "You have asked for several invoices in the last hour. Please try later.")
]

# EU VAT numbers: the member state's prefix (Greece's is EL; XI is Northern Ireland, which
# Stripe files under eu_vat too) and the national number's shape.
EU_VAT_SHAPES = {
    "AT": r"U\d{8}", "BE": r"[01]\d{9}", "BG": r"\d{9,10}", "CY": r"\d{8}[A-Z]",
    "CZ": r"\d{8,10}", "DE": r"\d{9}", "DK": r"\d{8}", "EE": r"\d{9}", "EL": r"\d{9}",
    "ES": r"[A-Z0-9]\d{7}[A-Z0-9]", "FI": r"\d{8}", "FR": r"[A-HJ-NP-Z0-9]{2}\d{9}",
    "HR": r"\d{11}", "HU": r"\d{8}", "IE": r"\d[A-Z0-9+*]\d{5}[A-Z]{1,2}", "IT": r"\d{11}",
    "LT": r"\d{9}|\d{12}", "LU": r"\d{8}", "LV": r"\d{11}", "MT": r"\d{8}", "NL": r"\d{9}B\d{2}",
    "PL": r"\d{10}", "PT": r"\d{9}", "RO": r"\d{2,10}", "SE": r"\d{12}", "SI": r"\d{8}",
    "SK": r"\d{10}", "XI": r"\d{9}|\d{12}|GD\d{3}|HA\d{3}",
}  # fmt: skip


@dataclass(frozen=True)
class TaxIdKind:
    """One of Stripe's customer tax ID types, with the shape of its numbers."""

    stripe_type: str
    label: str
    example: str
    pattern: str

    def normalise(self, value: str) -> str | None:
        """`value` in the form Stripe's reference writes it, or None when it has not the
        shape of such a number."""
        compact = re.sub(r"[\s.\-]", "", value.upper())
        match = re.fullmatch(self.pattern, compact)
        if match is None:
            return None
        if self.stripe_type == "eu_vat":
            prefix, number = compact[:2], compact[2:]
            shape = EU_VAT_SHAPES.get(prefix)
            return compact if shape and re.fullmatch(shape, number) else None
        if self.stripe_type == "us_ein":
            return f"{compact[:2]}-{compact[2:]}"
        if self.stripe_type == "ch_vat":
            digits = match.group(1)
            return f"CHE-{digits[:3]}.{digits[3:6]}.{digits[6:]} {match.group(2)}"
        return compact


# The kinds the form offers, in the order it lists them; values as in Stripe's "Customer
# tax IDs" table (type, example).
TAX_ID_KINDS = {
    kind.stripe_type: kind
    for kind in (
        TaxIdKind("eu_vat", "EU VAT number", "DE123456789", r"[A-Z]{2}[A-Z0-9+*]{2,12}"),
        TaxIdKind("gb_vat", "UK VAT number", "GB123456789", r"GB(\d{9}|\d{12}|GD\d{3}|HA\d{3})"),
        TaxIdKind("ch_vat", "Swiss VAT number", "CHE-123.456.789 MWST",
                  r"CHE(\d{9})(MWST|TVA|IVA)"),
        TaxIdKind("no_vat", "Norwegian VAT number", "123456789MVA", r"\d{9}MVA"),
        TaxIdKind("us_ein", "US EIN", "12-3456789", r"\d{9}"),
        TaxIdKind("ca_bn", "Canadian BN", "123456789", r"\d{9}"),
        TaxIdKind("au_abn", "Australian ABN", "12345678912", r"\d{11}"),
    )
}  # fmt: skip


def tax_id_parse(*, kind: str, value: str) -> tuple[str, str] | None:
    """The (Stripe type, number) of a tax ID the buyer typed; None when they left it out.

    Raises ApplicationError with the expected shape when the number does not fit its kind."""
    value = value.strip()
    if not value and not kind:
        return None
    if kind not in TAX_ID_KINDS:
        raise ApplicationError("Choose what kind of tax ID this is.")
    tax_kind = TAX_ID_KINDS[kind]
    if not value:
        raise ApplicationError(f"Enter the {tax_kind.label}, or choose no tax ID.")
    normalised = tax_kind.normalise(value)
    if normalised is None:
        raise ApplicationError(
            f"{value} is not shaped like a {tax_kind.label} (for example {tax_kind.example})."
        )
    return tax_kind.stripe_type, normalised


@dataclass(frozen=True)
class InvoiceDetails:
    """What goes on the invoice, already checked (`forms.InvoiceOrderForm`)."""

    billing_email: str
    legal_name: str
    address: dict[str, str]  # Stripe's address: line1, line2, city, postal_code, state, country
    tax_id: tuple[str, str] | None
    purchase_order: str
    net_terms: int


def _count_request(user: User) -> None:
    if limit := limit_exceeded("team-invoice", user.pk, INVOICE_LIMITS):
        raise ApplicationError(limit.message, status=429)


def organisation_invoice_check(*, organisation: Organisation, seats: int) -> None:
    """Whether `organisation` may order an invoiced licence of `seats` seats now."""
    if not min_seats() <= seats <= MAX_SEATS:
        raise ApplicationError(f"Choose between {min_seats()} and {MAX_SEATS} seats.")
    if membership_grants_access(organisation) or (
        organisation.stripe_subscription_id
        and organisation.status
        and organisation.status not in TERMINAL_STATUSES
        and organisation.invoice_status != "uncollectible"
    ):
        raise ApplicationError(
            f"{organisation.name} already has a licence running; change its seats on the team page."
        )


def _customer_params(details: InvoiceDetails) -> dict[str, Any]:
    # Stripe prints the customer's name, address and tax IDs in the invoice's header.
    return {
        "email": details.billing_email,
        "name": details.legal_name,
        "address": details.address,
    }


def _customer_ensure(
    client: stripe.StripeClient, organisation: Organisation, details: InvoiceDetails
) -> str:
    """The organisation's Stripe customer, created once, with the invoice's details."""
    params = _customer_params(details)
    if not organisation.stripe_customer_id:
        create = {**params, "metadata": {"organisation_id": str(organisation.pk)}}
        if details.tax_id:
            create["tax_id_data"] = [{"type": details.tax_id[0], "value": details.tax_id[1]}]
        # No idempotency key of our own: the order runs under the organisation's row lock,
        # and a key reused with other details would be refused by Stripe for a day.
        customer = client.v1.customers.create(params=create)  # type: ignore[arg-type]
        organisation.stripe_customer_id = customer.id
        organisation.save(update_fields=["stripe_customer_id", "updated_at"])
        return customer.id
    customer_id = organisation.stripe_customer_id
    client.v1.customers.update(customer_id, params=params)  # type: ignore[arg-type]
    if details.tax_id:
        known = client.v1.customers.tax_ids.list(customer_id, params={"limit": 100})
        if not any((t.type, t.value) == details.tax_id for t in known.data):
            client.v1.customers.tax_ids.create(
                customer_id,
                params={"type": details.tax_id[0], "value": details.tax_id[1]},
            )
    return customer_id


def _subscription_params(
    organisation: Organisation, customer_id: str, *, seats: int, details: InvoiceDetails
) -> dict[str, Any]:
    params: dict[str, Any] = {
        "customer": customer_id,
        "collection_method": "send_invoice",
        "days_until_due": details.net_terms,
        "items": [{"price": settings.STRIPE_PRICE_SEAT, "quantity": seats}],
        "metadata": {"organisation_id": str(organisation.pk)},
        "description": f"Team licence for {organisation.name}, {seats} seats",
        # The subscription's answer carries its first invoice, which Stripe finalises and
        # sends at once: the licence's access is decided from it.
        "expand": ["latest_invoice"],
    }
    if details.purchase_order:
        params["invoice_settings"] = {
            "custom_fields": [{"name": PURCHASE_ORDER_FIELD, "value": details.purchase_order}]
        }
    return params


def organisation_invoice_subscription_create(
    *, organisation: Organisation, buyer: User, seats: int, details: InvoiceDetails
) -> Organisation:
    """Order the licence on invoice: Stripe's customer with the buyer's details and tax ID,
    and a subscription of `seats` seats that Stripe invoices with `details.net_terms` days
    to pay. Stripe's answer is mirrored at once (its webhooks follow and change nothing).

    Raises ApplicationError (nothing ordered; too many attempts, a licence already running,
    or Stripe refusing a detail such as the tax ID) or BillingUnavailable."""
    _count_request(buyer)
    with transaction.atomic():
        locked = Organisation.objects.select_for_update().get(pk=organisation.pk)
        organisation_invoice_check(organisation=locked, seats=seats)
        if local_checkout_enabled():
            local_team_invoice_subscription_create(
                organisation=locked, buyer=buyer, seats=seats, net_terms=details.net_terms,
                purchase_order=details.purchase_order,
            )  # fmt: skip
            return Organisation.objects.get(pk=organisation.pk)
        client = stripe_client()
        try:
            customer_id = _customer_ensure(client, locked, details)
            subscription = client.v1.subscriptions.create(
                params=_subscription_params(locked, customer_id, seats=seats, details=details),  # type: ignore[arg-type]
            )
        except stripe.InvalidRequestError as error:
            if error.param and ("tax_id" in error.param or error.param in ("type", "value")):
                raise ApplicationError(
                    f"Stripe did not accept the tax ID: {error.user_message or error}"
                ) from None
            raise BillingUnavailable(str(error)) from error
        except stripe.StripeError as error:
            raise BillingUnavailable(str(error)) from error
        # Mirrored under the row lock: a second order (a double click) waits for it, then
        # finds the licence running. The webhooks of this subscription wait too, then
        # re-read a Stripe at least as new.
        subscription_sync_from_stripe(subscription=subscription.to_dict(), state_at=timezone.now())
    return Organisation.objects.get(pk=organisation.pk)
