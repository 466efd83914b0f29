import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "publisher.settings")

app = Celery("publisher")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def enqueue(task_name: str, *args: object) -> None:
    """Queue the task registered as `task_name` with these arguments.

    Services enqueue through here rather than importing a tasks module: tasks import
    services, never the reverse, so the two never form an import cycle (import-linter checks
    it). On a web process nothing may have imported the tasks modules yet, so the first call
    runs Celery's autodiscovery.
    """
    try:
        task = app.tasks[task_name]
    except KeyError:
        app.loader.import_default_modules()
        task = app.tasks[task_name]
    task.delay(*args)
