from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and memberships"

    def ready(self) -> None:
        # Registers the checks and the receivers (readers: retiring cached reader cards).
        from accounts import checks, readers, signals  # noqa: F401
        from accounts.deliverability import receivers  # noqa: F401
