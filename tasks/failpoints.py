"""Failpoints: named places in the worker's steps where a test makes the worker crash (etcd's gofail, FoundationDB's
buggify), so a process death lands exactly between two effects instead of wherever a timer happens to fall.

    failpoints.hit("backup.job-created")

does nothing (one dict lookup) unless the process was started with `BRQ_FAILPOINTS="name[,name…]"` naming it.
An armed point, when reached, logs one line and then SIGKILLs the whole worker (or beat): the Celery main process and its
prefork pool (their process group), so the step's message stays unacknowledged in Redis exactly as after a real
crash (power loss, OOM kill).  `name=sleep:N` instead holds the step N seconds (a long step, for a test that
stops the worker while it works).  Each point fires at most once per process.  Never set it in production.

The points (tasks/steps.py, tasks/restore.py, tasks/schedules/scheduler.py):

    backup.steps-planned      backup: its steps (and their Jobs' names) are recorded, no Job exists yet
    backup.job-created        backup: the step's Job exists, the record does not note it as started
    backup.job-noted          backup: the record notes the running Job; the step's message is not acknowledged
    backup.finishing          backup: every Job has ended (the watcher recorded it); the task's end is not written
    restore.pvc-created       restore `new-pvc`: the new PVC exists, the step is not recorded
    restore.primary-deleting  restore `delete-primary`: the Deployment's deletion was requested, not seen through
    restore.job-created       restore `restore-job`: the Job exists (its name is recorded), not noted as started
    restore.job-noted         restore `restore-job`: the record notes the running Job; message not acknowledged
    restore.primary-created   restore `new-primary`: the new Deployment exists, the step is not recorded
    restore.backup-chained    restore `done` with `backup_after`: the restore finished and its backup task exists,
                              but no message was sent for that backup yet

    beat.slots-sent           beat (tasks/schedules/scheduler.py): a tick's due slots are sent, their runs are not
                              recorded (the leader dies mid-tick; the standby must neither lose nor double a slot)

(The watcher and the API have no points: tests kill them from outside, at any moment.)
"""
from __future__ import annotations

import logging
import os
import signal
import time

log = logging.getLogger("brq.failpoints")

ENV = "BRQ_FAILPOINTS"


def _parse(text: str) -> dict[str, str]:
    armed = {}
    for item in text.split(","):
        name, _, action = item.strip().partition("=")
        if name:
            armed[name] = action or "kill"
    return armed


_ARMED: dict[str, str] = _parse(os.environ.get(ENV, ""))


def hit(name: str) -> None:
    """The worker passes the point `name`: nothing happens unless it is armed."""
    action = _ARMED.get(name)
    if action is None:
        return
    del _ARMED[name]  # once per process (a pool child has its own copy: it fires there once too)
    if action.startswith("sleep:"):
        log.warning("failpoint %s: holding the step %ss", name, action[6:])
        time.sleep(float(action[6:]))
        return
    log.warning("failpoint %s: killing the worker", name)
    for handler in logging.getLogger().handlers:
        handler.flush()
    _kill_worker()


def _kill_worker() -> None:
    """SIGKILL this worker's process group when it is the worker's own (the worker or its parent leads it: it was
    started in a session of its own, as the test stack and a container do); otherwise the parent, then itself."""
    me, parent = os.getpid(), os.getppid()
    group = os.getpgid(0)
    if group in (me, parent):
        os.killpg(group, signal.SIGKILL)
    else:
        os.kill(parent, signal.SIGKILL)
        os.kill(me, signal.SIGKILL)
