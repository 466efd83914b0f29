"""The plans on offer, and the addresses that lead a reader from a plan button to paying.

A plan button carries the plan and `next` (where the reader goes once subscribed). A reader
with an account goes straight to checkout; one without signs up first, with that checkout
address as the `next` allauth keeps through signup and email verification, so the first
page after verifying is the checkout of the plan they chose.
"""

from urllib.parse import parse_qs, urlencode, urlsplit

from django import template
from django.urls import Resolver404, resolve, reverse

from accounts.plans import PlanOffer, plan_offers
from publisher.redirects import local_path

register = template.Library()


@register.simple_tag(name="plan_offers")
def plan_offers_tag() -> dict[str, PlanOffer]:
    return plan_offers()


@register.simple_tag
def plan_saving(plan: str) -> str:
    """What `plan` saves ("Two months free (save 17%)"), or ""."""
    offer = plan_offers().get(plan)
    return offer.saving if offer else ""


@register.simple_tag
def checkout_url(plan: str, next_url: str = "", source: object = "") -> str:
    """The checkout of `plan`, returning the reader to `next_url` (a path on this site);
    `source` is the id of the report whose paywall offered it (billing/attribution.py)."""
    query = {
        "plan": plan,
        **({"next": next_url} if next_url else {}),
        **({"from": str(source)} if source else {}),
    }
    return f"{reverse('accounts:checkout')}?{urlencode(query)}"


@register.simple_tag
def signup_for_plan_url(plan: str, next_url: str = "", source: object = "") -> str:
    """Signup, then (after the email is verified) the checkout of `plan`."""
    checkout = checkout_url(plan, next_url, source)
    return f"{reverse('account_signup')}?{urlencode({'next': checkout})}"


@register.simple_tag
def plan_intent(next_url: str | None) -> PlanOffer | None:
    """The plan a signup or login page's `next` is about to check out, if it is one: the page
    then says what comes after it. Only an address of our own checkout counts."""
    next_url = local_path(next_url)
    if not next_url:
        return None
    parts = urlsplit(next_url)
    try:
        match = resolve(parts.path)
    except Resolver404:
        return None
    if match.view_name != "accounts:checkout":
        return None
    plan = parse_qs(parts.query).get("plan", [""])[0]
    return plan_offers().get(plan)
