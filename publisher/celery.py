import importlib
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "publisher.settings")

app = Celery("publisher")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Says, at a beat's start, whether another beat holds the schedule's lock.
importlib.import_module("publisher.beat")


def enqueue(task_name: str, *args: object) -> None:
    """Queue the task registered as `task_name` with these arguments.

    Services enqueue through here rather than importing a tasks module: tasks import
    services, never the reverse, so the two never form an import cycle (import-linter checks
    it). On a web process nothing may have imported the tasks modules yet, so the first call
    imports the task's own module. Not Celery's autodiscovery: called from a second thread
    while a first is still discovering, it returns at once without waiting (a module-level
    flag in celery.loaders.base), and the task was not registered yet; Python's import lock
    makes a second thread wait for the module instead.
    """
    try:
        task = app.tasks[task_name]
    except KeyError:
        importlib.import_module(task_name.rpartition(".")[0])
        task = app.tasks[task_name]
    task.delay(*args)
