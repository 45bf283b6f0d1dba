"""What a worker, the watcher or the API process holds for its whole life: settings, Redis, stores, Celery.

Built once per process from the settings (`get_runtime()` for the worker and
the watcher, which load them from `BRQ_*`/conf; the API passes its own).  The
Celery app gets its broker URL here, never from a module-level global.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field

import redis

from .celery_app import app as celery_app
from .pgbackrest import errors as pberrors
from .pgbackrest.info import BACKUP_LABEL as _LABEL  # the job-runner reads it with the same one
from .settings import Settings, load_settings_from_environ
from .state.clusters import ClusterStore
from .state.records import TaskStore


@dataclass
class Runtime:
    settings: Settings
    redis: redis.Redis
    tasks: TaskStore
    clusters: ClusterStore
    kubeconfig: str | None = None
    _kube_cfg: object | None = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings, *, kubeconfig: str | None = None) -> "Runtime":
        url = settings.redis.url.reveal()
        client = redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5, health_check_interval=30)
        celery_app.conf.broker_url = url
        return cls(settings=settings, redis=client,
                   tasks=TaskStore(client, history_seconds=settings.tasks.record_ttl_seconds),
                   clusters=ClusterStore(client), kubeconfig=kubeconfig or os.environ.get("KUBECONFIG"))

    def send(self, name: str, task_id: str, *, countdown: float | None = None) -> None:
        """Enqueue one step of a task (idempotent on the worker's side)."""
        celery_app.send_task(name, args=[task_id], countdown=countdown)

    async def kube_configuration(self):
        from .kube import config as kconfig

        if self._kube_cfg is None:
            self._kube_cfg = await kconfig.load(self.kubeconfig)
        return self._kube_cfg

    @staticmethod
    def describe_failure(exit_code: int | None, log_text: str, *, reason: str = "", message: str = "",
                         pod: str = "") -> dict:
        """The task's `error`: pgBackRest's code, its name, the message, and what to do.  `pod`: what the Job's pod
        status says of its end (named when the pod failed without a word of output: pgBackRest never ran)."""
        if reason == "DeadlineExceeded":
            return {"code": None, "name": "DeadlineExceeded", "message": message or "the Job ran past its deadline",
                    "action": "raise Jobs.ActiveDeadlineSeconds or find out why the backup is slow"}
        if exit_code is not None and exit_code != 0 and not (log_text or "").strip():
            job = f"; the Job: {reason}: {message}" if reason or message else ""
            return {"code": exit_code, "name": "PodFailed",
                    "message": f"{pod or 'the pod'} without any output{job}",
                    "action": "describe the Job's pod and read its events: it failed before the command ran"}
        if exit_code is not None and exit_code != 0:
            err = pberrors.error_for(exit_code, log_text or "")
            if err is not None:
                return err.to_json()
        return {"code": exit_code, "name": reason or "JobFailed", "message": message or "the Job failed",
                "action": "read the Job's log"}

    @staticmethod
    def step_details(log_text: str) -> dict:
        found = _LABEL.findall(log_text or "")
        return {"label": found[-1]} if found else {}


_runtime: Runtime | None = None
_lock = threading.Lock()


def get_runtime() -> Runtime:
    """This process's runtime, built on first use from the environment's settings."""
    global _runtime
    with _lock:
        if _runtime is None:
            _runtime = Runtime.from_settings(load_settings_from_environ(os.environ))
        return _runtime


def set_runtime(rt: Runtime) -> None:
    """For the API and tests, which build their runtime from settings they hold."""
    global _runtime
    with _lock:
        _runtime = rt
