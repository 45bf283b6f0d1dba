"""The Celery application: Redis broker, our own task records instead of a result backend.

Tasks are short (DESIGN.md): each advances one step and ends; long work runs
as Kubernetes Jobs.  So the settings favour redelivery over speed of a lost
message: `acks_late` with `reject_on_worker_lost` (a worker killed mid-step
gets its message redelivered; every step is idempotent), prefetch 1, and a
visibility timeout far above any step's length.
"""
from __future__ import annotations

from celery import Celery

QUEUE = "brq"


def make_celery(broker_url: str) -> Celery:
    app = Celery("brq", broker=broker_url)
    app.conf.update(
        task_default_queue=QUEUE,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_ignore_result=True,
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": 3600, "socket_timeout": 5, "socket_connect_timeout": 5},
        task_serializer="json",
        accept_content=["json"],
        timezone="UTC",
        enable_utc=True,
    )
    return app


# the broker URL is set from the settings when the process builds its runtime (tasks/runtime.py)
app = make_celery("redis://")
