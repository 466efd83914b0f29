from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from publisher.admin_login import RateLimitedAdminAuthenticationForm
from publisher.cache.views import page_generation
from publisher.favicon import favicon_ico
from publisher.health import healthz
from publisher.metrics.views import metrics

# Staff log in to the admin through a form with its own limit on failed attempts.
admin.site.login_form = RateLimitedAdminAuthenticationForm
# The editors' admin carries the publication's name, not Django's.
admin.site.site_header = f"{settings.SITE_NAME} newsroom"
admin.site.site_title = f"{settings.SITE_NAME} newsroom"
admin.site.index_title = "Reports, readers and members"
# A database outage answers 503 with Retry-After rather than 500 (publisher/errors.py).
handler500 = "publisher.errors.server_error"

urlpatterns = [
    path("", include("reports.urls")),
    path("", include("accounts.urls")),
    path("accounts/", include("allauth.urls")),
    path("newsletter/", include("accounts.newsletter.urls")),
    # Email providers' tracking webhooks (bounces, complaints, deliveries).
    path("anymail/", include("accounts.deliverability.urls")),
    # Before the admin's own patterns, which would answer its addresses with a 404.
    path("admin/dashboard/", include("reports.dashboard.urls")),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    # Prometheus' scrape, for a bearer token (publisher/metrics/views.py).
    path("metrics", metrics, name="metrics"),
    # Read by nginx for its cache keys (deploy/nginx-app.conf).
    path("_cache/generation", page_generation, name="page_generation"),
    path("favicon.ico", favicon_ico, name="favicon_ico"),
    # Last: editors' pages at /<slug>/ (About, Contact, Privacy, Terms) take any address no
    # pattern above claims.
    path("", include("reports.site_pages.urls")),
]

if settings.DEBUG:
    from django.urls import re_path

    from publisher.media import serve_media

    urlpatterns += [re_path(r"^media/(?P<path>.+)$", serve_media)]
