"""The worker's entry point: `celery -A tasks.worker worker`.

Builds this process's runtime from the settings (so the Celery app has its
broker) and imports the task definitions.
"""
from __future__ import annotations

from celery import signals

from . import logs
from .celery_app import app
from .retries import RETRIES
from .runtime import get_runtime
from .state import stats


@signals.setup_logging.connect
def _logging(loglevel=None, **_kwargs) -> None:
    """Ours instead of Celery's (text or JSON, task id and cluster on every line; tasks/logs.py)."""
    logs.configure("worker", level=loglevel)


@signals.task_postrun.connect
def _flush_retries(**_kwargs) -> None:
    """This pool process's Kubernetes retries, to Redis for /metrics (tasks/state/stats.py RetryFlusher)."""
    _retries.flush_quietly(get_runtime().redis)


_retries = stats.RetryFlusher(RETRIES, "worker")
get_runtime()
from . import steps  # noqa: E402,F401 - registers the tasks
from .schedules import firing  # noqa: E402,F401 - brq.scheduled_backup

__all__ = ["app"]
