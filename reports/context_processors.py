"""`reader` in every template: what the header and the newsletter box need to know about the
person reading, each asked only when a template uses it.

Anonymous readers get constant answers (not entitled, no newsletter row), so a page cached
for every anonymous reader carries nothing personal. Logged-in readers' pages are private
(never page-cached), so their own state may appear there.
"""

from functools import cached_property

from django.http import HttpRequest

from accounts.models import NewsletterSubscriber
from accounts.newsletter.services import newsletter_subscriber_for_user
from reports.access import is_entitled_reader
from reports.office import office_licence_name, request_office_network


class ReaderState:
    def __init__(self, request: HttpRequest) -> None:
        self._request = request

    @cached_property
    def entitled(self) -> bool:
        """May read every report (the one rule, reports/access.py): no Subscribe button."""
        user = getattr(self._request, "user", None)
        network = request_office_network(self._request)
        return user is not None and is_entitled_reader(user, network=network)

    @cached_property
    def office_licence(self) -> str | None:
        """The organisation whose office network this reader reads through now, if any
        ("Reading through Acme's licence")."""
        return office_licence_name(self._request)

    @cached_property
    def newsletter(self) -> NewsletterSubscriber | None:
        """A logged-in reader's own newsletter row (linked, or at their address), or None."""
        user = getattr(self._request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        return newsletter_subscriber_for_user(user=user)


def reader(request: HttpRequest) -> dict[str, ReaderState]:
    return {"reader": ReaderState(request)}
