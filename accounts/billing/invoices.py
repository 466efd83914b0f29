"""The reader's billing history: their invoices at Stripe (or the local checkout's).

Stripe keeps the invoices; the account page lists them from Stripe's API through a short
cache, so a reader reloading the page costs Stripe one call every few minutes, and an
invoice event clears the entry at once. When Stripe does not answer quickly, the page says
so instead of waiting (and remembers that for a minute, so an outage is not hammered).
"""

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import stripe
from django.core.cache import cache
from django.db import transaction

from accounts.billing.client import local_checkout_enabled, stripe_client
from accounts.billing.money import money_display
from accounts.billing.sync import stripe_timestamp
from accounts.models import LocalInvoice, Membership
from publisher.cache.generations import CACHE_ERRORS

logger = logging.getLogger(__name__)

INVOICE_LIMIT = 24  # two years of a monthly plan
CACHE_SECONDS = 300
UNAVAILABLE_SECONDS = 60
STATUS_WORDS = {"paid": "Paid", "open": "Due", "uncollectible": "Unpaid", "void": "Void"}


@dataclass(frozen=True)
class InvoiceRow:
    number: str
    created: datetime | None
    amount: str
    status: str
    hosted_url: str = ""
    pdf_url: str = ""


@dataclass(frozen=True)
class InvoiceHistory:
    invoices: list[InvoiceRow]
    available: bool = True


def _cache_key(customer_id: str) -> str:
    return f"billing:invoices:{customer_id}"


def _row(invoice: dict[str, Any]) -> InvoiceRow:
    status = invoice.get("status") or ""
    return InvoiceRow(
        number=invoice.get("number") or "",
        created=stripe_timestamp(invoice.get("created")),
        amount=money_display(int(invoice.get("total") or 0), invoice.get("currency") or ""),
        status=STATUS_WORDS.get(status, status.capitalize()),
        hosted_url=invoice.get("hosted_invoice_url") or "",
        pdf_url=invoice.get("invoice_pdf") or "",
    )


def _from_stripe(customer_id: str) -> list[dict[str, Any]] | None:
    try:
        listing = stripe_client(for_page=True).v1.invoices.list(
            params={"customer": customer_id, "limit": INVOICE_LIMIT}
        )
    except stripe.StripeError:
        logger.warning("Could not list the invoices of %s", customer_id, exc_info=True)
        return None
    fields = ("number", "created", "total", "currency", "status", "hosted_invoice_url",
              "invoice_pdf")  # fmt: skip
    # Drafts are not invoices yet: no number, no page, and they may still change.
    return [
        {name: invoice.get(name) for name in fields}
        for invoice in (item.to_dict() for item in listing.data)
        if invoice.get("status") != "draft"
    ]


def _local(membership: Membership) -> InvoiceHistory:
    return InvoiceHistory(
        [
            InvoiceRow(
                number=invoice.number,
                created=invoice.created,
                amount=money_display(invoice.amount_paid, invoice.currency),
                status=STATUS_WORDS.get(invoice.status, invoice.status.capitalize()),
            )
            for invoice in LocalInvoice.objects.filter(membership=membership)[:INVOICE_LIMIT]
        ]
    )


def invoice_history_for(*, membership: Membership | None) -> InvoiceHistory:
    """The membership's invoices, newest first; `available` is False when Stripe could not
    be asked (the page then says so)."""
    if membership is None or not membership.stripe_customer_id:
        return InvoiceHistory([])
    if local_checkout_enabled():
        return _local(membership)
    key = _cache_key(membership.stripe_customer_id)
    try:
        cached = cache.get(key)
    except CACHE_ERRORS:
        cached = None
    if cached is None:
        invoices = _from_stripe(membership.stripe_customer_id)
        cached = {"available": invoices is not None, "invoices": invoices or []}
        try:
            cache.set(key, cached, CACHE_SECONDS if invoices is not None else UNAVAILABLE_SECONDS)
        except CACHE_ERRORS:
            logger.warning("Could not cache the invoices of %s", key, exc_info=True)
    return InvoiceHistory(
        [_row(invoice) for invoice in cached["invoices"]], available=cached["available"]
    )


def invoice_history_forget(*, customer_id: str | None) -> None:
    """Drop the cached list once the current transaction commits (a new or changed invoice)."""
    if not customer_id or not isinstance(customer_id, str):
        return

    def forget() -> None:
        try:
            cache.delete(_cache_key(customer_id))
        except CACHE_ERRORS:
            logger.warning("Could not forget the invoices of %s", customer_id, exc_info=True)

    transaction.on_commit(forget)
