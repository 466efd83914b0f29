import ipaddress
from datetime import datetime
from functools import partial
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.html import format_html

from accounts.deliverability.services import email_suppression_release
from accounts.forms import AdminUserChangeForm, AdminUserCreationForm
from accounts.models import (
    EmailSuppression,
    Membership,
    MembershipEmail,
    NewsletterSubscriber,
    Organisation,
    OrganisationNetwork,
    SessionNetwork,
    StripeEvent,
    SubscriptionAttribution,
    SubscriptionCancellation,
    User,
)
from accounts.newsletter import import_views
from accounts.newsletter.services import newsletter_normalize_email
from accounts.organisations.networks import (
    network_overlap_error,
    network_parse,
    office_networks_changed,
)
from accounts.organisations.sso import saml_service_addresses
from accounts.sessions.selectors import REPORT_DAYS, REPORT_LIMIT, session_network_alerts
from publisher.downloads import csv_download, csv_safe
from publisher.errors import ApplicationError
from publisher.text import text_excerpt


class MembershipInline(admin.StackedInline):
    model = Membership
    can_delete = False
    extra = 0
    readonly_fields = ["stripe_state_at", "trial_end", "next_charge_amount", "next_charge_currency"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = AdminUserChangeForm
    add_form = AdminUserCreationForm
    ordering = ["email"]
    list_display = [
        "email",
        "display_name",
        "company",
        "company_verified",
        "is_staff",
        "date_joined",
    ]
    list_filter = [
        "membership__status", "membership__plan", "seat__organisation",
        "is_staff", "is_superuser", "is_active", "company_verified",
    ]  # fmt: skip
    search_fields = ["email", "display_name", "company"]
    readonly_fields = ["date_joined", "last_login"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Profile", {"fields": ["display_name", "company", "company_verified", "notify_on_reply"]}),
        (
            "Author page",
            {
                "fields": ["bio", "portrait"],
                "description": "Public on the author page of anyone who has published a report.",
            },
        ),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]}),
    ]
    inlines = [MembershipInline]

    # The admin's autocomplete for a report's author asks this admin; it offers staff only,
    # so the chooser never lists the readers.
    AUTHOR_CHOOSER = ("reports", "report", "author")

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[User], search_term: str
    ) -> tuple[QuerySet[User], bool]:
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        asked = tuple(request.GET.get(k, "") for k in ("app_label", "model_name", "field_name"))
        if request.path.endswith("/autocomplete/") and asked == self.AUTHOR_CHOOSER:
            queryset = queryset.filter(is_staff=True)
        return queryset, may_have_duplicates


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = [
        "user", "status", "plan", "current_period_end", "cancel_at_period_end", "customer_link",
    ]  # fmt: skip
    list_filter = ["status", "plan", "cancel_at_period_end"]
    search_fields = ["user__email", "stripe_customer_id", "stripe_subscription_id"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
    readonly_fields = [
        "stripe_state_at", "trial_end", "next_charge_amount", "next_charge_currency",
        "created_at", "updated_at",
    ]  # fmt: skip
    actions = ["export_csv"]

    @admin.display(description="Stripe customer")
    def customer_link(self, membership: Membership) -> str:
        if not membership.stripe_customer_id:
            return "-"
        return format_html(
            '<a href="https://dashboard.stripe.com/customers/{}" rel="noopener">{}</a>',
            membership.stripe_customer_id,
            membership.stripe_customer_id,
        )

    @admin.action(description="Export selected memberships as CSV")
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Membership]) -> HttpResponse:
        response, writer = csv_download("memberships.csv")
        writer.writerow(
            ["email", "name", "status", "plan", "current_period_end", "cancel_at_period_end",
             "stripe_customer_id", "stripe_subscription_id"]
        )  # fmt: skip
        for m in queryset.select_related("user").order_by("pk"):
            writer.writerow(
                [csv_safe(m.user.email), csv_safe(m.user.display_name), m.status, m.plan,
                 m.current_period_end.isoformat() if m.current_period_end else "",
                 m.cancel_at_period_end, m.stripe_customer_id, m.stripe_subscription_id]
            )  # fmt: skip
        return response


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records the site writes and staff only read."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(SessionNetwork)
class SessionNetworkAdmin(ReadOnlyAdmin):
    """Its list is the report of accounts whose sessions came from more networks in a day
    than one person plausibly uses (SESSION_NETWORKS_PER_DAY): a shared login, most often."""

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        threshold = settings.SESSION_NETWORKS_PER_DAY
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Accounts signed in from many networks",
            "alerts": session_network_alerts(today=timezone.localdate(), threshold=threshold),
            "threshold": threshold,
            "days": REPORT_DAYS,
            "limit": REPORT_LIMIT,
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/accounts/sessionnetwork/report.html", context)


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    list_display = ["event_id", "type", "created", "processed_at"]
    list_filter = ["type"]
    search_fields = ["event_id"]


@admin.register(SubscriptionCancellation)
class SubscriptionCancellationAdmin(ReadOnlyAdmin):
    """Why readers set their subscriptions to end, as they told us on the account page."""

    list_display = ["created_at", "reason", "detail_excerpt", "plan", "access_ends_at", "user"]
    list_filter = ["reason", "plan"]
    search_fields = ["detail", "user__email", "stripe_subscription_id"]
    list_select_related = ["user"]
    date_hierarchy = "created_at"

    @admin.display(description="What they wrote")
    def detail_excerpt(self, cancellation: SubscriptionCancellation) -> str:
        return text_excerpt(cancellation.detail, 80)


@admin.register(SubscriptionAttribution)
class SubscriptionAttributionAdmin(ReadOnlyAdmin):
    """Which report's paywall each paid subscription came from (billing/attribution.py);
    the report is its id, since `accounts` never imports `reports`."""

    list_display = ["paid_at", "source_report_id", "subscription_id", "membership"]
    search_fields = ["subscription_id", "membership__user__email"]
    list_select_related = ["membership__user"]
    date_hierarchy = "paid_at"


@admin.register(MembershipEmail)
class MembershipEmailAdmin(ReadOnlyAdmin):
    """Lifecycle emails sent, one per membership and occasion."""

    list_display = ["created_at", "kind", "membership", "key"]
    list_filter = ["kind"]
    search_fields = ["membership__user__email", "key"]
    list_select_related = ["membership__user"]


@admin.register(NewsletterSubscriber)
class NewsletterSubscriberAdmin(admin.ModelAdmin):
    list_display = ["email", "user", "confirmed_at", "unsubscribed_at", "consent_source"]
    list_filter = [
        ("confirmed_at", admin.EmptyFieldListFilter),
        ("unsubscribed_at", admin.EmptyFieldListFilter),
        ("user", admin.EmptyFieldListFilter),
        "consent_source",
    ]
    search_fields = ["email", "user__email"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "token", "consent_at", "consent_ip", "consent_source", "confirmation_sent_at",
        "confirmed_at", "created_at", "updated_at",
    ]  # fmt: skip
    exclude = ["confirmation_token_hash"]
    actions = ["export_csv"]

    def get_urls(self) -> list[URLPattern]:
        def view(function: Any, route: str, name: str) -> URLPattern:
            wrapped = self.admin_site.admin_view(partial(function, site=self.admin_site))
            return path(route, wrapped, name=f"accounts_newslettersubscriber_{name}")

        return [
            view(import_views.import_start, "import/", "import"),
            view(import_views.import_job, "import/<int:pk>/", "import_job"),
            view(import_views.import_confirm, "import/<int:pk>/confirm/", "import_confirm"),
            view(import_views.import_cancel, "import/<int:pk>/cancel/", "import_cancel"),
            view(import_views.import_rejected, "import/<int:pk>/rejected.csv", "import_rejected"),
            *super().get_urls(),
        ]

    @admin.action(description="Export selected subscribers as CSV, with their consent")
    def export_csv(
        self, request: HttpRequest, queryset: QuerySet[NewsletterSubscriber]
    ) -> HttpResponse:
        response, writer = csv_download("newsletter-subscribers.csv")
        writer.writerow(
            ["email", "member_email", "subscribed_at", "consent_at", "consent_ip",
             "consent_source", "confirmed_at", "unsubscribed_at"]
        )  # fmt: skip
        for sub in queryset.select_related("user").order_by("pk"):
            writer.writerow(
                [csv_safe(sub.email), csv_safe(sub.user.email) if sub.user else "",
                 _iso(sub.created_at), _iso(sub.consent_at), sub.consent_ip or "",
                 sub.consent_source, _iso(sub.confirmed_at), _iso(sub.unsubscribed_at)]
            )  # fmt: skip
        return response


def _iso(moment: datetime | None) -> str:
    return moment.isoformat() if moment else ""


class EmailSuppressionForm(forms.ModelForm):
    class Meta:
        model = EmailSuppression
        fields = ["address", "reason", "provider", "detail", "created_at"]

    def clean_address(self) -> str:
        # Stored as subscribers' addresses are, so the recipient query excludes it.
        address = newsletter_normalize_email(self.cleaned_data["address"])
        if EmailSuppression.objects.in_force().filter(address=address).exists():
            raise forms.ValidationError("This address is already suppressed.")
        return address


@admin.register(EmailSuppression)
class EmailSuppressionAdmin(admin.ModelAdmin):
    """Addresses no email goes to, and why; staff release one when the reader asks."""

    list_display = ["address", "reason", "provider", "created_at", "released_at", "released_by"]
    list_filter = ["reason", "provider", ("released_at", admin.EmptyFieldListFilter)]
    search_fields = ["address"]
    readonly_fields = ["released_at", "released_by"]
    actions = ["release"]

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        # What an event recorded stays as recorded; staff add manual suppressions.
        if obj is not None:
            return ["address", "reason", "provider", "detail", "created_at", *self.readonly_fields]
        return list(self.readonly_fields)

    form = EmailSuppressionForm

    @admin.action(description="Release selected suppressions (mail this address again)")
    def release(self, request: HttpRequest, queryset: QuerySet[EmailSuppression]) -> None:
        assert isinstance(request.user, User)
        count = email_suppression_release(suppressions=queryset, by=request.user)
        self.message_user(request, f"Released {count} suppression(s).")


class OrganisationNetworkForm(forms.ModelForm):
    class Meta:
        model = OrganisationNetwork
        fields = ["cidr", "label"]
        help_texts = {
            "cidr": (
                "CIDR, IPv4 or IPv6 (at most a /16 or a /32). Host bits are cleared: "
                "203.0.113.7/24 is saved as 203.0.113.0/24."
            )
        }

    def clean_cidr(self) -> str:
        try:
            network = network_parse(self.cleaned_data.get("cidr") or "")
        except ApplicationError as error:
            raise forms.ValidationError(error.message) from None
        problem = network_overlap_error(network, exclude_pk=self.instance.pk)
        if problem:
            raise forms.ValidationError(problem)
        return str(network)


class OrganisationNetworkFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        kept = [
            (form, ipaddress.ip_network(form.cleaned_data["cidr"]))
            for form in self.forms
            if form.cleaned_data.get("cidr") and not form.cleaned_data.get("DELETE")
        ]
        for index, (form, network) in enumerate(kept):
            for _, other in kept[:index]:
                if other.version == network.version and other.overlaps(network):
                    form.add_error("cidr", f"{network} overlaps {other}, listed above.")


class OrganisationNetworkInline(admin.TabularInline):
    model = OrganisationNetwork
    form = OrganisationNetworkForm
    formset = OrganisationNetworkFormSet
    extra = 1
    verbose_name = "office network"


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    """Organisations' office networks and single sign-on are edited here; seats and the
    licence come from Stripe and the team page. The identity provider is a social
    application: provider "OpenID Connect" (a provider ID of its own, settings
    {"server_url": "https://idp.example"}) or "SAML" (a client ID of its own, settings
    {"idp": {...}}; the page shows what to give the identity provider)."""

    list_display = ["name", "status", "seats", "current_period_end", "sso_app", "sso_required"]
    search_fields = ["name", "slug", "join_domains"]
    fieldsets = [
        (None, {"fields": ["name", "owner", "status", "seats", "current_period_end"]}),
        ("Domains", {"fields": ["join_domains", "auto_join"]}),
        (
            "Single sign-on",
            {"fields": ["slug", "sso_app", "sso_required", "sso_group", "saml_service"]},
        ),
    ]
    readonly_fields = ["owner", "status", "seats", "current_period_end", "saml_service"]
    inlines = [OrganisationNetworkInline]

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        office_networks_changed()

    @admin.display(description="For the SAML identity provider")
    def saml_service(self, obj: Organisation) -> str:
        if obj.sso_app is None or obj.sso_app.provider != "saml":
            return "With a SAML application: the addresses its identity provider needs."
        addresses = saml_service_addresses(obj.sso_app)
        return format_html(
            "Entity ID: <code>{}</code><br>Assertion consumer service (HTTP-POST): "
            "<code>{}</code><br>Metadata: <a href=\"{}\">{}</a>",
            addresses["entity_id"], addresses["acs_url"],
            addresses["metadata_url"], addresses["metadata_url"],
        )  # fmt: skip

    def delete_model(self, request: HttpRequest, obj: Organisation) -> None:
        super().delete_model(request, obj)
        office_networks_changed()

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Organisation]) -> None:
        super().delete_queryset(request, queryset)
        office_networks_changed()
