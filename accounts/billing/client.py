"""The Stripe client and the plans on sale, configured from settings."""

import stripe
from django.conf import settings
from stripe._base_address import BaseAddresses  # the SDK exports the type only here

PLANS = ("monthly", "annual")


class BillingUnavailable(Exception):
    """Stripe could not be reached or refused the request; nothing was changed."""


def local_checkout_enabled() -> bool:
    """The labelled local checkout exists only for local development without Stripe keys."""
    return settings.DEBUG and not settings.STRIPE_SECRET_KEY


def plan_price_id(plan: str) -> str:
    prices = {"monthly": settings.STRIPE_PRICE_MONTHLY, "annual": settings.STRIPE_PRICE_ANNUAL}
    if plan not in prices:
        raise ValueError(f"Unknown plan {plan!r}.")
    return prices[plan]


def plan_for_price(price_id: str | None) -> str:
    """Which of our plans a Stripe price is ("monthly", "annual"), or "" for any other."""
    if price_id and price_id.startswith("price_local_"):
        return price_id.removeprefix("price_local_")
    if price_id and price_id == settings.STRIPE_PRICE_ANNUAL:
        return "annual"
    if price_id and price_id == settings.STRIPE_PRICE_MONTHLY:
        return "monthly"
    return ""


def teams_enabled() -> bool:
    """Team licences are on sale: a seat price is configured, or the local checkout runs."""
    return bool(settings.STRIPE_PRICE_SEAT) or local_checkout_enabled()


# A page that shows something from Stripe waits this long at most, and does not retry: the
# reader gets the page with a note instead (the SDK's own default is 80 seconds).
PAGE_TIMEOUT_SECONDS = 3


def stripe_client(*, for_page: bool = False) -> stripe.StripeClient:
    base_addresses: BaseAddresses | None = (
        {"api": settings.STRIPE_API_BASE} if settings.STRIPE_API_BASE else None
    )
    if for_page:
        return stripe.StripeClient(
            settings.STRIPE_SECRET_KEY,
            base_addresses=base_addresses,
            max_network_retries=0,
            http_client=stripe.RequestsClient(timeout=PAGE_TIMEOUT_SECONDS),
        )
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY, base_addresses=base_addresses, max_network_retries=2
    )
