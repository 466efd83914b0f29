from django.urls import path

from reports import views, views_newsletter

app_name = "reports"

urlpatterns = [
    path("", views.home, name="home"),
    path("reports/<slug:slug>/", views.report_detail, name="detail"),
    path(
        "newsletter/preferences/",
        views_newsletter.newsletter_preferences,
        name="newsletter_preferences",
    ),
]
