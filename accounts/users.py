"""Services on user accounts."""

from django.db import transaction

from accounts.billing.checkout import subscription_cancel_now
from accounts.membership import membership_for
from accounts.models import COMPANY_MAX_LENGTH, DISPLAY_NAME_MAX_LENGTH, User
from publisher.errors import ApplicationError
from publisher.text import text_normalise_name


def _name(value: str, *, label: str, max_length: int) -> str:
    name = text_normalise_name(value)
    if value.strip() and not name:
        raise ApplicationError(f"{label}: use visible letters; this has only invisible characters.")
    if len(name) > max_length:
        raise ApplicationError(f"{label}: at most {max_length} characters.")
    return name


def user_profile_update(*, user: User, display_name: str, company: str) -> User:
    """Set how the person appears to other readers, their names stored as `NameField`
    cleans them (no invisible characters, single spaces)."""
    user.display_name = _name(display_name, label="Your name", max_length=DISPLAY_NAME_MAX_LENGTH)
    user.company = _name(company, label="Company", max_length=COMPANY_MAX_LENGTH)
    user.save(update_fields=["display_name", "company"])
    return user


def user_delete(*, user: User) -> None:
    """Delete an account, ending its subscription at Stripe first so billing stops.

    What the person wrote elsewhere stays, shown as from a deleted account: foreign keys to
    the user are SET_NULL.
    """
    membership = membership_for(user)
    if membership is not None:
        subscription_cancel_now(membership=membership)
    with transaction.atomic():
        user.delete()
