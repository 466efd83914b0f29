from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "Reports"

    def ready(self) -> None:
        from reports import signals  # noqa: F401  (registers the receivers)
        from reports.counting import receivers  # noqa: F401  (billing's attribution signals)
