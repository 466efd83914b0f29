"""The providers' tracking webhooks, at the addresses Anymail documents
(`/anymail/<esp>/tracking/`) and under its URL names."""

from django.urls import path

from accounts.deliverability import views

app_name = "anymail"
urlpatterns = [
    path(
        "amazon_ses/tracking/",
        views.AmazonSESTracking.as_view(),
        name="amazon_ses_tracking_webhook",
    ),
    path("mailgun/tracking/", views.MailgunTracking.as_view(), name="mailgun_tracking_webhook"),
    path("postmark/tracking/", views.PostmarkTracking.as_view(), name="postmark_tracking_webhook"),
    path("resend/tracking/", views.ResendTracking.as_view(), name="resend_tracking_webhook"),
]
