from django.conf import settings
from django.core.checks import Error, register


@register()
def stripe_configured_in_production(app_configs: object, **kwargs: object) -> list[Error]:
    """The local test checkout grants access without payment: never in production."""
    if settings.DEBUG or settings.STRIPE_SECRET_KEY:
        return []
    return [
        Error(
            "STRIPE_SECRET_KEY is not set while DEBUG is off, which would enable the local test "
            "checkout in production.",
            hint="Set STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET and the price ids.",
            id="accounts.E001",
        )
    ]
