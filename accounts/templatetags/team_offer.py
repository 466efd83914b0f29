"""`{% team_offer %}`: the "For teams" part of /subscribe/, priced by the server."""

from django import template

from accounts.organisations.pricing import (
    CURRENCY_SYMBOL,
    MAX_SEATS,
    min_seats,
    team_quote,
)

register = template.Library()


@register.inclusion_tag("accounts/includes/team_offer.html", takes_context=True)
def team_offer(context: template.Context) -> dict[str, object]:
    seats = min_seats()
    return {
        "user": context.get("user"),
        "seat_price": context.get("seat_price"),
        "quote": team_quote(seats=seats),
        "min_seats": seats,
        "max_seats": MAX_SEATS,
        "currency": CURRENCY_SYMBOL,
    }
