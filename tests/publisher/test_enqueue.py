"""`publisher.celery.enqueue` finds a task by name on a process that has not imported its
module yet, also while another thread is in the middle of Celery's autodiscovery (gunicorn's
threads taking their first webhooks at once)."""

import sys

import celery.loaders.base
import pytest
from celery.app.task import Task

from publisher.celery import app, enqueue

TASK = "accounts.tasks.send_membership_email"


# Importing the module afresh re-declares its other tasks, which Celery notes and ignores.
@pytest.mark.filterwarnings("ignore::celery.exceptions.DuplicateTaskNameWarning")
def test_enqueue_finds_a_task_while_another_thread_is_still_discovering_them(monkeypatch):
    queued: list[tuple] = []
    monkeypatch.setattr(Task, "delay", lambda task, *args: queued.append((task.name, args)))
    # As on a fresh web process: the tasks module not imported, the task not registered...
    monkeypatch.delitem(sys.modules, TASK.rpartition(".")[0], raising=False)
    monkeypatch.delitem(app.tasks, TASK, raising=False)
    # ...and another thread inside autodiscovery, which then returns at once for this one.
    monkeypatch.setattr(celery.loaders.base, "_RACE_PROTECTION", True)
    enqueue(TASK, 7, "welcome")
    assert queued == [(TASK, (7, "welcome"))]
