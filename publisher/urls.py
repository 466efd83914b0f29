from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from publisher.health import healthz

urlpatterns = [
    path("", include("reports.urls")),
    path("", include("accounts.urls")),
    path("accounts/", include("allauth.urls")),
    path("newsletter/", include("accounts.urls_newsletter")),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
