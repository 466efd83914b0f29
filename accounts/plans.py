"""The two plans as readers are offered them: name, price, and what the annual one saves.

Prices come from settings (`PRICE_*_DISPLAY` as shown, `PRICE_*_CENTS` for the arithmetic);
which Stripe price each plan buys is billing's business (`accounts.billing.client`).
"""

from dataclasses import dataclass

from django.conf import settings
from django.contrib.humanize.templatetags.humanize import apnumber

MONTHLY, ANNUAL = "monthly", "annual"


@dataclass(frozen=True)
class PlanOffer:
    id: str
    name: str
    price: str  # as shown: "$290 a year"
    action: str  # its button: "Subscribe yearly"
    saving: str  # what it saves over paying monthly for a year, or ""


def annual_saving(*, monthly_cents: int, annual_cents: int) -> str:
    """ "Two months free (save 17%)" when a year of the annual plan costs a whole number of
    months less than twelve monthly payments; "Save 10%" when it saves something else;
    "" when it saves nothing (or less than one percent, which is not worth a line)."""
    year_of_months = 12 * monthly_cents
    saved = year_of_months - annual_cents
    percent = round(100 * saved / year_of_months) if saved > 0 else 0
    if percent < 1:
        return ""
    months, remainder = divmod(saved, monthly_cents)
    if remainder == 0:
        free = f"{apnumber(months)} month{'s' if months > 1 else ''} free".capitalize()
        return f"{free} (save {percent}%)"
    return f"Save {percent}%"


def plan_offers() -> dict[str, PlanOffer]:
    """The annual plan first: it is the one we recommend."""
    return {
        ANNUAL: PlanOffer(
            id=ANNUAL,
            name="Annual",
            price=settings.PRICE_ANNUAL_DISPLAY,
            action="Subscribe yearly",
            saving=annual_saving(
                monthly_cents=settings.PRICE_MONTHLY_CENTS,
                annual_cents=settings.PRICE_ANNUAL_CENTS,
            ),
        ),
        MONTHLY: PlanOffer(
            id=MONTHLY,
            name="Monthly",
            price=settings.PRICE_MONTHLY_DISPLAY,
            action="Subscribe monthly",
            saving="",
        ),
    }
