from django.apps import AppConfig


class MailConfig(AppConfig):
    name = "publisher.mail"
    label = "publisher_mail"
    verbose_name = "Outgoing mail"

    def ready(self) -> None:
        from publisher.mail import checks  # noqa: F401  (registers the checks)
