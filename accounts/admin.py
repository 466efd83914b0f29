from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from accounts.forms import AdminUserChangeForm, AdminUserCreationForm
from accounts.models import Membership, NewsletterSubscriber, User


class MembershipInline(admin.StackedInline):
    model = Membership
    can_delete = False
    extra = 0


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = AdminUserChangeForm
    add_form = AdminUserCreationForm
    ordering = ["email"]
    list_display = ["email", "display_name", "company", "is_staff", "date_joined"]
    list_filter = ["is_staff", "is_superuser", "is_active"]
    search_fields = ["email", "display_name", "company"]
    readonly_fields = ["date_joined", "last_login"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Profile", {"fields": ["display_name", "company"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]}),
    ]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "status", "current_period_end", "cancel_at_period_end", "updated_at"]
    list_filter = ["status", "cancel_at_period_end"]
    search_fields = ["user__email", "stripe_customer_id", "stripe_subscription_id"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]


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
