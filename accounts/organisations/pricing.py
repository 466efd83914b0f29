"""What a team licence costs: the seat bounds and the total of a number of seats.

Totals are computed here, on the server, from `PRICE_SEAT_CENTS` (the amount of the Stripe
seat price); the pricing page's script only repeats the sum while the buyer types, and
the order is confirmed on a page this module priced.
"""

from dataclasses import dataclass

from django.conf import settings

from publisher.errors import ApplicationError
from publisher.ids import parse_id

MAX_SEATS = 500
# The display settings spell prices in US dollars; sums follow them.
CURRENCY_SYMBOL = "$"


def money_display(cents: int) -> str:
    """`$1,450`, or `$1,450.50` when there are cents."""
    dollars, rest = divmod(cents, 100)
    return f"{CURRENCY_SYMBOL}{dollars:,}" + (f".{rest:02d}" if rest else "")


def min_seats() -> int:
    return settings.TEAM_MIN_SEATS


def team_seats_parse(value: object, *, at_least: int | None = None) -> int:
    """A number of seats a licence may have (and at least `at_least`, the seats in use).

    Raises ApplicationError saying what is allowed."""
    seats = parse_id(value, max_digits=4)
    lowest = max(min_seats(), at_least or 0)
    if seats is None:
        raise ApplicationError(f"Enter a number of seats, from {lowest} to {MAX_SEATS}.")
    if seats < min_seats():
        raise ApplicationError(f"A team licence has at least {min_seats()} seats.")
    if at_least is not None and seats < at_least:
        raise ApplicationError(
            f"{at_least} people hold a seat: remove someone before going below {at_least} seats."
        )
    if seats > MAX_SEATS:
        raise ApplicationError(f"Choose between {lowest} and {MAX_SEATS} seats.")
    return seats


@dataclass(frozen=True)
class TeamQuote:
    seats: int
    seat_cents: int

    @property
    def total_cents(self) -> int:
        return self.seats * self.seat_cents

    @property
    def seat_display(self) -> str:
        return money_display(self.seat_cents)

    @property
    def total_display(self) -> str:
        return money_display(self.total_cents)


def team_quote(*, seats: int) -> TeamQuote:
    """The yearly price of `seats` seats (already checked with `team_seats_parse`)."""
    return TeamQuote(seats=seats, seat_cents=settings.PRICE_SEAT_CENTS)
