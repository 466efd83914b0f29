from django.apps import AppConfig


class StorageConfig(AppConfig):
    name = "publisher.storage"
    label = "publisher_storage"
    verbose_name = "Media storage"

    def ready(self) -> None:
        from publisher.storage import checks  # noqa: F401  (registers the checks)
