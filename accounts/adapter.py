from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings


class AccountAdapter(DefaultAccountAdapter):
    """allauth's adapter, with our site name and address in every account email.

    Without django.contrib.sites allauth would greet readers with the request's host name.
    """

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        context = {"site_name": settings.SITE_NAME, "site_url": settings.SITE_URL, **context}
        super().send_mail(template_prefix, email, context)
