"""What a fired slot becomes: one backup, or one recorded skip — `brq.scheduled_backup`.

Beat sends `(namespace, name, uid, slot, missed)` when a slot is due.  The backup's task id is derived
from (schedule uid, slot), and `TaskStore.create` refuses an id that exists in the same transaction
that takes the cluster lock: so two beats, a failover that re-sends a slot, or a redelivered message make
one backup per slot.  A slot that finds the cluster busy (a backup or restore holds its lock), restoring,
or not ready is skipped and the skip recorded — never queued, so nothing piles up behind a long backup.
A message that waited past the schedule's next slot is skipped as late (the next slot's message runs
instead).  Slots beat did not fire at all (no beat running, a failover) arrive as `missed` and are
recorded as skips.  The backup itself is the record `POST …/backups` makes, advanced by `brq.advance`.
"""
from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from .. import logs
from ..celery_app import app
from ..pgbackrest import commands
from ..pgbackrest.options import OptionError
from ..pgbackrest.targets import effective_backup_type
from ..state.clusters import READY, ClusterStore
from ..state.records import ClusterBusy, TaskExists, TaskRecord, TaskStore
from .store import RUN, SKIPPED, Schedule, ScheduleStore

log = logging.getLogger("brq.schedules")
RESEND_AFTER = 5.0  # seconds a slot's task may stay unstarted before a duplicate fire sends it again

_IDS = uuid.UUID("6b1f1c1e-5c2b-4f0e-9a51-1d7f3c2b9e40")  # namespace of derived task ids

# skip reasons (GET …/schedules/{name} shows them; /metrics counts them)
BUSY, RESTORING, NOT_READY, MISSED, LATE, PAUSED, NO_CLUSTER, INVALID = (
    "busy", "restoring", "cluster-not-ready", "missed", "late", "paused", "cluster-not-found", "invalid")


def task_id_for(uid: str, slot: float) -> str:
    """The backup task id of a schedule's slot: the same for every beat and every redelivery."""
    return str(uuid.uuid5(_IDS, f"{uid}@{int(slot)}"))


@dataclass(frozen=True)
class Outcome:
    """What `fire` did: `run` (task started), `duplicate` (the slot's task existed), `skipped`, or `gone`."""

    kind: str
    task_id: str | None = None
    reason: str | None = None
    message: str | None = None


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def backup_params(s: Schedule, cluster_storage_type: str) -> dict:
    """The params of the backup record, as `POST …/backups` builds them (OptionError if no longer valid)."""
    repos = sorted(s.repos)
    argv = commands.backup(commands.STORAGE_REPOS[repos[0]], s.backup_type, s.options)
    user_options = [a for a in argv if a.startswith("--") and not a.startswith(("--config=", "--stanza=", "--repo="))]
    return {"type": effective_backup_type(s.options, s.backup_type), "repos": repos, "options": list(s.options),
            "effective_options": user_options, "cluster_storage_type": cluster_storage_type}


def fire(*, tasks: TaskStore, clusters: ClusterStore, schedules: ScheduleStore, send: Callable[[str, str], None],
         namespace: str, name: str, uid: str, slot: float, missed: tuple[float, ...] = (),
         now: float | None = None) -> Outcome:
    """Turn one fired slot into a backup or a recorded skip. Idempotent for a given (uid, slot)."""
    now = time.time() if now is None else now
    s = schedules.find(namespace, name)
    if s is None or s.uid != uid:
        return Outcome("gone")  # deleted (or deleted and made again) after beat fired it
    for m in missed:
        schedules.record(s, m, SKIPPED, reason=MISSED, now=now,
                         message=f"no beat fired the slot of {_iso(m)} (none was running, or it failed over)")

    def skip(reason: str, message: str) -> Outcome:
        if schedules.record(s, slot, SKIPPED, reason=reason, message=message, now=now):
            log.info("schedule %s/%s: slot %s skipped (%s): %s", namespace, name, _iso(slot), reason, message)
        return Outcome("skipped", reason=reason, message=message)

    if s.paused:
        return skip(PAUSED, "the schedule was paused when its slot came")
    following = s.parsed().next_after(datetime.fromtimestamp(slot, timezone.utc))
    if following is not None and now >= following.timestamp():
        return skip(LATE, f"the message waited {now - slot:.1f} s in the queue, past the next slot "
                          f"({_iso(following.timestamp())}), which runs instead")
    cluster = clusters.find(namespace, s.cluster)
    if cluster is None:
        return skip(NO_CLUSTER, f"cluster {s.cluster!r} does not exist")
    if cluster.restoring:
        return skip(RESTORING, f"restore {cluster.restoring} of the cluster is in progress")
    if cluster.status != READY:
        return skip(NOT_READY, f"cluster {s.cluster!r} is {cluster.status}")
    missing = [r for r in s.repos if r not in cluster.storage_types]
    if missing:
        return skip(INVALID, f"storage type {','.join(missing)} is not the cluster's ({cluster.storage_type})")
    try:
        params = backup_params(s, cluster.storage_type)
    except OptionError as exc:
        return skip(INVALID, f"the schedule's options are not accepted: {exc}")
    task_id = task_id_for(uid, slot)
    rec = TaskRecord(id=task_id, kind="backup", namespace=namespace, cluster=s.cluster, params=params,
                     origin=f"schedule:{name}", created=now)
    try:
        tasks.create(rec)
    except TaskExists:
        schedules.record(s, slot, RUN, task_id=task_id, now=now)  # the first fire's record, if it died before it
        first = tasks.find(task_id)
        if first is not None and first.state == "PENDING" and not first.steps and now - first.created > RESEND_AFTER:
            send("brq.advance", task_id)  # the first fire may have died between creating it and sending it
        return Outcome("duplicate", task_id=task_id)
    except ClusterBusy as exc:
        holder = tasks.find(exc.holder)
        what = f"{holder.kind} {holder.id}" if holder else f"task {exc.holder}"
        return skip(RESTORING if holder and holder.kind == "restore" else BUSY, f"{what} was running")
    schedules.record(s, slot, RUN, task_id=task_id, now=now)
    log.info("schedule %s/%s: slot %s runs as backup %s", namespace, name, _iso(slot), task_id)
    send("brq.advance", task_id)
    return Outcome("run", task_id=task_id)


def _fire_message(rt, schedules: ScheduleStore, namespace: str, name: str, uid: str, slot: float | None,
                  missed: list[float] | None) -> Outcome:
    with logs.bound(namespace=namespace, schedule=name):
        return _fire_message_bound(rt, schedules, namespace, name, uid, slot, missed)


def _fire_message_bound(rt, schedules: ScheduleStore, namespace: str, name: str, uid: str, slot: float | None,
                        missed: list[float] | None) -> Outcome:
    if slot is None:  # sent by something other than our scheduler: the slot is the latest due
        s = schedules.find(namespace, name)
        latest = s.parsed().latest_at_or_before(datetime.now(timezone.utc)) if s else None
        if latest is None:
            return Outcome("gone")
        slot = latest.timestamp()
    return fire(tasks=rt.tasks, clusters=rt.clusters, schedules=schedules,
                send=lambda task, task_id: rt.send(task, task_id), namespace=namespace, name=name, uid=uid,
                slot=slot, missed=tuple(missed or ()))


@app.task(name="brq.scheduled_backup", ignore_result=True)
def scheduled_backup(namespace: str, name: str, uid: str, slot: float | None = None,
                     missed: list[float] | None = None) -> None:
    """Beat's message for one due slot of schedule `namespace/name`."""
    from ..runtime import get_runtime

    rt = get_runtime()
    _fire_message(rt, ScheduleStore(rt.redis), namespace, name, uid, slot, missed)


@app.task(name="brq.scheduled_backups", ignore_result=True)
def scheduled_backups(slots: list[dict]) -> None:
    """Beat's message for the slots of many schedules due in one tick: each fired as `scheduled_backup`
    would.  Redelivered whole if a worker dies mid-way: the slots already fired fold into their backups."""
    from ..runtime import get_runtime

    rt = get_runtime()
    schedules = ScheduleStore(rt.redis)
    for item in slots:
        try:
            _fire_message(rt, schedules, item["namespace"], item["name"], item["uid"], item.get("slot"),
                          item.get("missed"))
        except Exception:  # noqa: BLE001 - one slot's failure must not drop the others'
            log.exception("schedule %s/%s: firing slot %s failed", item.get("namespace"), item.get("name"),
                          item.get("slot"))
