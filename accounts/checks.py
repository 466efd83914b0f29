from django.conf import settings
from django.core.checks import Error, register

from accounts.organisations.pricing import MAX_SEATS


@register()
def stripe_configured_in_production(app_configs: object, **kwargs: object) -> list[Error]:
    """The local test checkout grants access without payment: never in production."""
    if settings.DEBUG or settings.STRIPE_SECRET_KEY:
        return []
    return [
        Error(
            "STRIPE_SECRET_KEY is not set while DEBUG is off, which would enable the local test "
            "checkout in production.",
            hint="Set STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET and the price ids.",
            id="accounts.E001",
        )
    ]


@register()
def team_prices_make_sense(app_configs: object, **kwargs: object) -> list[Error]:
    """A seat is one person's access: never cheaper than that person's own annual plan, or
    every individual subscriber would be better off buying a team licence of one."""
    errors = []
    if settings.PRICE_SEAT_CENTS < settings.PRICE_ANNUAL_CENTS:
        errors.append(
            Error(
                f"PRICE_SEAT_CENTS ({settings.PRICE_SEAT_CENTS}) is below PRICE_ANNUAL_CENTS "
                f"({settings.PRICE_ANNUAL_CENTS}): a team seat would cost less than an "
                "individual annual plan.",
                hint="Price a seat at least at the annual plan, in Stripe and in settings "
                "(PRICE_SEAT_CENTS, PRICE_SEAT_DISPLAY).",
                id="accounts.E002",
            )
        )
    if settings.TEAM_MIN_SEATS > MAX_SEATS:
        errors.append(
            Error(
                f"TEAM_MIN_SEATS ({settings.TEAM_MIN_SEATS}) is above the {MAX_SEATS} seats a "
                "licence may have: no team licence could be bought.",
                id="accounts.E003",
            )
        )
    return errors
