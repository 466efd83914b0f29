from django.core.checks import Error, register
from django.core.exceptions import ImproperlyConfigured

from publisher.mail.signing import configured_signer


@register()
def dkim_configured(app_configs: object, **kwargs: object) -> list[Error]:
    """A DKIM key that cannot sign would otherwise surface only when the first email is sent,
    in a worker; the message never contains the key itself."""
    try:
        configured_signer()
    except ImproperlyConfigured as error:
        return [
            Error(
                str(error),
                hint="See deploy/README.md, 'DKIM', to make a key and publish its DNS record.",
                id="publisher_mail.E001",
            )
        ]
    return []
