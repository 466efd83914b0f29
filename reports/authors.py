"""Author pages need a stable address; authors get a slug the first time they author."""

from django.db import IntegrityError, transaction
from django.utils.text import slugify

from accounts.models import User

SLUG_ATTEMPTS = 50


def author_slug_base(*, display_name: str, user_id: int) -> str:
    """A slug made from the public display name only: never from the email address."""
    return slugify(display_name)[:70] or f"author-{user_id}"


def author_ensure_slug(*, user: User) -> str:
    """Give the user a unique slug unless they have one; returns it."""
    if user.slug:
        return user.slug
    base = author_slug_base(display_name=user.display_name, user_id=user.pk)
    taken = set(User.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    candidates = [base, *(f"{base}-{n}" for n in range(2, SLUG_ATTEMPTS + 2))]
    for slug in (c for c in candidates if c not in taken):
        try:
            # A concurrent save may take the same slug between our read and this write; the
            # unique constraint refuses it and we try the next candidate.
            with transaction.atomic():
                User.objects.filter(pk=user.pk, slug__isnull=True).update(slug=slug)
        except IntegrityError:
            continue
        user.refresh_from_db(fields=["slug"])
        return str(user.slug)
    raise RuntimeError(f"No free author slug for {base!r}.")
