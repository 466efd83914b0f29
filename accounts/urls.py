from django.urls import path

from accounts import views
from accounts.billing import views as billing_views
from accounts.organisations import views as team_views
from accounts.sessions import views as session_views

app_name = "accounts"

urlpatterns = [
    path("subscribe/", billing_views.pricing, name="pricing"),
    path("subscribe/checkout/", billing_views.checkout, name="checkout"),
    path("subscribe/success/", billing_views.checkout_success, name="checkout_success"),
    path("subscribe/portal/", billing_views.billing_portal, name="billing_portal"),
    path("subscribe/local-checkout/", billing_views.local_checkout, name="local_checkout"),
    path("subscribe/local-portal/", billing_views.local_portal, name="local_portal"),
    path("stripe/webhook/", billing_views.stripe_webhook, name="stripe_webhook"),
    path("subscribe/team/", team_views.team_checkout, name="team_checkout"),
    path("subscribe/team/invoice/", team_views.team_invoice, name="team_invoice"),
    path("team/", team_views.team, name="team"),
    path("team/usage.csv", team_views.team_usage_csv, name="team_usage_csv"),
    path("team/join/<str:token>/", team_views.team_join, name="team_join"),
    path("team/<slug:slug>/login/", team_views.team_sso_login, name="team_sso_login"),
    # allauth's own address for the callback (its pattern comes later, under accounts/):
    # the same flow, with the ID token's signature always checked.
    path(
        "accounts/oidc/<str:provider_id>/login/callback/",
        team_views.sso_callback,
        name="sso_callback",
    ),
    path("accounts/profile/", views.account, name="account"),
    # Your sessions is allauth's list (`usersessions_list`); this signs out one device.
    path(
        "accounts/sessions/sign-out/",
        session_views.session_sign_out_view,
        name="session_sign_out",
    ),
    path(
        "accounts/subscription/cancel/",
        billing_views.subscription_cancel,
        name="subscription_cancel",
    ),
    path(
        "accounts/subscription/resume/",
        billing_views.subscription_resume_view,
        name="subscription_resume",
    ),
    path("accounts/delete/", views.account_delete, name="account_delete"),
]
