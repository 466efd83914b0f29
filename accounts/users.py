"""Services on user accounts."""

from django.db import transaction

from accounts.billing.checkout import subscription_cancel_now
from accounts.membership import membership_for
from accounts.models import User


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
