"""The worker's entry point: `celery -A tasks.worker worker`.

Builds this process's runtime from the settings (so the Celery app has its
broker) and imports the task definitions.
"""
from __future__ import annotations

from celery import signals

from . import logs
from .celery_app import app
from .runtime import get_runtime


@signals.setup_logging.connect
def _logging(loglevel=None, **_kwargs) -> None:
    """Ours instead of Celery's (text or JSON, task id and cluster on every line; tasks/logs.py)."""
    logs.configure("worker", level=loglevel)


get_runtime()
from . import steps  # noqa: E402,F401 - registers the tasks
from .schedules import firing  # noqa: E402,F401 - brq.scheduled_backup

__all__ = ["app"]
