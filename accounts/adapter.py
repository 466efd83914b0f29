from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.core.mail import EmailMessage

from publisher.mail.messages import EmailTemplates, email_build


class AccountAdapter(DefaultAccountAdapter):
    """allauth's adapter, with our site name and address in every account email.

    Without django.contrib.sites allauth would greet readers with the request's host name.
    """

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        context = {"site_name": settings.SITE_NAME, "site_url": settings.SITE_URL, **context}
        super().send_mail(template_prefix, email, context)

    def render_mail(
        self,
        template_prefix: str,
        email: str | list[str],
        context: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> EmailMessage:
        """allauth's emails built like all of ours: text and HTML from our templates under
        `templates/account/email/`, and a Message-ID in the site's domain. Their subjects
        name the site themselves, so allauth's subject prefix is not added."""
        return email_build(
            templates=EmailTemplates(
                subject=f"{template_prefix}_subject.txt",
                text=f"{template_prefix}_message.txt",
                html=f"{template_prefix}_message.html",
            ),
            to=email,
            context=context,
            headers={"Auto-Submitted": "auto-generated", **(headers or {})},
        )
