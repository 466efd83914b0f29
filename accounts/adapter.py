from dataclasses import dataclass
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.core.mail import EmailMessage
from django.http import HttpRequest, HttpResponse

from accounts.organisations.sso import sso_after_login
from publisher.mail.messages import EmailTemplates, email_build
from publisher.ratelimit import client_ip
from publisher.redirects import local_path
from publisher.site import site_domain, site_url


@dataclass(frozen=True)
class _Site:
    """What allauth's templates read of `current_site` (name and domain), from settings."""

    name: str
    domain: str


class AccountAdapter(DefaultAccountAdapter):
    """allauth's adapter, with our site name and address in every account email.

    Without django.contrib.sites allauth takes the site from the request: `current_site` is
    the Host header (with any port the client chose) and every link it puts in an email
    (verification, password reset, sign-up) is built on that host. A reset requested with a
    forged Host would mail the reader a link to someone else's server; here every such link
    is moved onto SITE_URL, whatever allauth built it from.
    """

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        # allauth's own links all arrive as `*_url` (activate_url, password_reset_url,
        # signup_url), some built deep in its flows where no adapter method is asked.
        links = {
            key: site_url(value)
            for key, value in context.items()
            if key.endswith("_url") and isinstance(value, str)
        }
        context = {
            "site_name": settings.SITE_NAME,
            "site_url": settings.SITE_URL,
            **context,
            "current_site": _Site(name=settings.SITE_NAME, domain=site_domain()),
            **links,
        }
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

    def _get_login_attempts_cache_key(self, request: HttpRequest, **credentials: Any) -> str:
        # allauth's per-account limit on failed logins is keyed on the site, which it takes
        # from the Host header: every port of an allowed name would buy a fresh bucket.
        # This private hook is the only place that key is made.
        login = credentials.get("email", credentials.get("username", "")).lower()
        return f"{site_domain()}:{login}"

    def get_client_ip(self, request: HttpRequest) -> str:
        # The one trusted-proxy rule (publisher.ratelimit.client_ip), for the address allauth
        # records on each signed-in session too; when X-Forwarded-For is shorter than the
        # proxies we trust it falls back to the connection's address instead of failing.
        return client_ip(request) or super().get_client_ip(request)

    def is_safe_url(self, url: str | None) -> bool:
        """Only a path on this site. allauth would also follow an absolute address on any
        host in ALLOWED_HOSTS or CSRF_TRUSTED_ORIGINS; no page of ours links to one, and a
        `next` naming a host is how a redirect to another site is smuggled in. allauth asks
        this for the `next` of login, signup (kept through email verification) and logout.
        """
        return bool(local_path(url))

    def post_login(
        self,
        request: HttpRequest,
        user: Any,
        *,
        email_verification: str,
        signal_kwargs: dict[str, Any] | None,
        email: str | None,
        signup: bool,
        redirect_url: str | None,
    ) -> HttpResponse:
        # Signed in through an organisation's identity provider: the seat comes with it.
        sociallogin = (signal_kwargs or {}).get("sociallogin")
        if sociallogin is not None:
            sso_after_login(request, user=user, sociallogin=sociallogin)
        return super().post_login(
            request,
            user,
            email_verification=email_verification,
            signal_kwargs=signal_kwargs,
            email=email,
            signup=signup,
            redirect_url=redirect_url,
        )
