"""Where a `next` parameter may send a reader: a path on this site, nothing else.

Every `next` a reader can write (signup, login, email verification, the paywall's plan
buttons, checkout) is checked here or by an equivalent check before anything redirects to
it, so no link of ours can be turned into a redirect to another site.
"""

from django.utils.http import url_has_allowed_host_and_scheme


def local_path(value: str | None) -> str:
    """`value` when it is a path on this site ("/reports/x/?page=2"), else "".

    No scheme and no host: with an empty set of allowed hosts, Django's check refuses every
    address that names one, including the forms browsers read as one ("//evil.example",
    "/\\evil.example", "https:evil.example"); control and other unprintable characters are
    refused before that, since browsers drop some of them silently.
    """
    if not value or not value.startswith("/") or not value.isprintable():
        return ""
    if not url_has_allowed_host_and_scheme(value, allowed_hosts=set()):
        return ""
    return value
