from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import InvalidStorageError, storages


@register()
def media_storage_configured(app_configs: object, **kwargs: object) -> list[Error]:
    """A storage that cannot be built would otherwise fail at the first upload, in front of
    an editor; building one opens no connection."""
    try:
        storages.create_storage(settings.STORAGES["default"])
    except (ImproperlyConfigured, InvalidStorageError, ImportError, TypeError) as error:
        return [
            Error(
                f"The media storage cannot be set up: {error}",
                hint="Check MEDIA_STORAGE_URL and the AWS_S3_* variables (deploy/README.md, "
                "'Media on object storage').",
                id="publisher_storage.E001",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def media_origin_secure(app_configs: object, **kwargs: object) -> list[Warning]:
    """Pictures over plain HTTP on an HTTPS site are mixed content: browsers upgrade or
    block them, and anyone on the way could swap them."""
    origin = settings.MEDIA_ORIGIN
    if not origin or urlsplit(origin).scheme == "https":
        return []
    if urlsplit(settings.SITE_URL).scheme != "https":
        return []
    return [
        Warning(
            f"Media are served from {origin} over plain HTTP while the site is on HTTPS.",
            hint="Give MEDIA_STORAGE_URL an https endpoint_url or custom_domain.",
            id="publisher_storage.W001",
        )
    ]
