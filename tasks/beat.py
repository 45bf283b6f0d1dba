"""Beat's entry point: `celery -A tasks.beat beat` (RedBeat, our scheduler; no `-S` needed).

Builds this process's runtime from the settings (the broker), and points RedBeat at the same Redis with
the leader lock and tick settings of `BRQ_BEAT_*` (tasks/schedules/beatconf.py).  Run several: one
leads, the others wait for its lock.  `-S redbeat.RedBeatScheduler` would not read our entries: leave
`-S` out (or pass `-S tasks.schedules.scheduler:Scheduler`).
"""
from __future__ import annotations

import os

from celery import signals

from . import logs
from .celery_app import app
from .runtime import get_runtime
from .schedules.beatconf import beat_settings_from_environ, configure



@signals.setup_logging.connect
def _logging(loglevel=None, **_kwargs) -> None:
    logs.configure("beat", level=loglevel)


configure(app, redis_url=get_runtime().settings.redis.url.reveal(), beat=beat_settings_from_environ(os.environ))

__all__ = ["app"]
