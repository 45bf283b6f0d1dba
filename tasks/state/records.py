"""Task records in Redis: the task model of DESIGN.md, and the only code that writes it.

A record is one JSON document at `brq:task:<id>`, indexed per namespace and per
cluster by creation time.  States move `PENDING → RUNNING → SUCCESS | FAILURE |
REVOKED` and never back: every write goes through `update`, an optimistic
transaction (WATCH/MULTI) that refuses to move a terminal record.  A backup or
restore holds its cluster's lock from creation to its terminal state; the lock
is taken in the same transaction that creates the record and released in the
one that finishes it, so a crash can never leave one without the other.
"""
from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field, fields
from typing import Any, Callable

import redis

from . import keys, stats

PENDING, RUNNING, SUCCESS, FAILURE, REVOKED = "PENDING", "RUNNING", "SUCCESS", "FAILURE", "REVOKED"
STATES = (PENDING, RUNNING, SUCCESS, FAILURE, REVOKED)
TERMINAL = frozenset({SUCCESS, FAILURE, REVOKED})
_ORDER = {PENDING: 0, RUNNING: 1, SUCCESS: 2, FAILURE: 2, REVOKED: 2}

KINDS = ("create-cluster", "backup", "info", "restore", "restore-preview", "resume", "update-cluster",
         "delete-cluster")
# update-cluster restarts the repo host; delete-cluster must not race a backup or restore
LOCKING_KINDS = frozenset({"backup", "restore", "update-cluster", "delete-cluster"})
# a restore's steps (tasks/restore.py); from RESTORE_DESTRUCTIVE on it changes the cluster and cannot be cancelled
RESTORE_PHASES = ("preflight", "pause-schedules", "autofail-off", "new-pvc", "delete-primary", "repo-host-config",
                  "restore-job", "new-primary", "wait-ready", "autofail-restore", "resume-schedules", "done")
RESTORE_DESTRUCTIVE = "delete-primary"


class RecordError(Exception):
    """Base of the task-record errors."""


class UnknownTask(RecordError):
    """No record with that id (never created, or expired)."""


class TaskExists(RecordError):
    """A record with that id exists already: a task id derived from its request (a schedule's slot) was taken."""


class ClusterBusy(RecordError):
    """The cluster's lock is held by another task: `holder` is its id."""

    def __init__(self, holder: str):
        super().__init__(f"cluster is busy with task {holder}")
        self.holder = holder


@dataclass
class TaskRecord:
    """One task, as `GET /api/v1/tasks/{id}` answers it (after `public()`)."""

    id: str
    kind: str
    namespace: str
    cluster: str | None = None
    state: str = PENDING
    phase: str = "queued"
    progress: dict[str, Any] | None = None
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    params: dict[str, Any] = field(default_factory=dict)
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    jobs: list[str] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    origin: str = "api"  # api | schedule:<name>
    cancel_requested: bool = False  # DELETE /tasks/{id} was asked: the task ends REVOKED once its Jobs are gone
    updated: float | None = None  # the last write (the watcher re-sends tasks that stopped moving)

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL

    def as_dict(self) -> dict[str, Any]:
        """The fields, shallow (no deep copy, unlike dataclasses.asdict: a third of a POST's CPU went there)."""
        return {name: getattr(self, name) for name in _TASK_FIELDS}

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, raw: str | bytes) -> "TaskRecord":
        data = json.loads(raw)
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


# KEYS: task, cluster lock ("" = none), active set, namespace index, cluster index ("" = none)
# ARGV: record JSON, id, created.  Returns {0, ""} created, {1, ""} the id exists, {2, holder} the cluster is busy.
_CREATE = """
if redis.call('exists', KEYS[1]) == 1 then return {1, ''} end
if KEYS[2] ~= '' then
  local holder = redis.call('get', KEYS[2])
  if holder then return {2, holder} end
  redis.call('set', KEYS[2], ARGV[2])
end
redis.call('set', KEYS[1], ARGV[1])
redis.call('sadd', KEYS[3], ARGV[2])
redis.call('zadd', KEYS[4], ARGV[3], ARGV[2])
if KEYS[5] ~= '' then redis.call('zadd', KEYS[5], ARGV[3], ARGV[2]) end
return {0, ''}
"""


_TASK_FIELDS = tuple(f.name for f in fields(TaskRecord))


def new_id() -> str:
    return str(uuid.uuid4())


class TaskStore:
    """Create, read, list and update task records. `history_seconds`: how long finished records are kept."""

    def __init__(self, client: redis.Redis, *, history_seconds: int = 7 * 24 * 3600):
        self.r = client
        self.history_seconds = history_seconds
        self._create_script = None

    # -- create ----------------------------------------------------------------------------------

    def create(self, record: TaskRecord, *, lock: bool | None = None) -> TaskRecord:
        """Store a new record; with `lock` (default: the kind's), take the cluster lock or raise ClusterBusy.
        TaskExists if a record with that id exists.  One script call: the checks and the writes are atomic
        and cost one round trip (the API's hot path)."""
        if lock is None:
            lock = record.kind in LOCKING_KINDS
        lock_key = keys.cluster_lock(record.namespace, record.cluster) if lock and record.cluster else ""
        cluster_index = keys.cluster_tasks(record.namespace, record.cluster) if record.cluster else ""
        script = self._create_script
        if script is None:
            script = self._create_script = self.r.register_script(_CREATE)
        code, holder = script(keys=[keys.task(record.id), lock_key, keys.active_tasks(),
                                    keys.namespace_tasks(record.namespace), cluster_index],
                              args=[record.to_json(), record.id, repr(record.created)])
        if code == 1:
            raise TaskExists(record.id)
        if code == 2:
            raise ClusterBusy(holder.decode() if isinstance(holder, bytes) else holder)
        return record

    # -- read ------------------------------------------------------------------------------------

    def get(self, task_id: str) -> TaskRecord:
        raw = self.r.get(keys.task(task_id))
        if raw is None:
            raise UnknownTask(task_id)
        return TaskRecord.from_json(raw)

    def find(self, task_id: str) -> TaskRecord | None:
        try:
            return self.get(task_id)
        except UnknownTask:
            return None

    def lock_holder(self, namespace: str, cluster: str) -> str | None:
        raw = self.r.get(keys.cluster_lock(namespace, cluster))
        return raw.decode() if isinstance(raw, bytes) else raw

    def list(self, namespace: str, *, cluster: str | None = None, state: str | None = None,
             kind: str | None = None, limit: int = 100) -> list[TaskRecord]:
        """Newest first. Ids whose record expired are dropped from the index on the way."""
        index = keys.cluster_tasks(namespace, cluster) if cluster else keys.namespace_tasks(namespace)
        out: list[TaskRecord] = []
        start = 0
        page = max(limit, 50)
        while len(out) < limit:
            ids = [i.decode() if isinstance(i, bytes) else i for i in self.r.zrevrange(index, start, start + page - 1)]
            if not ids:
                break
            start += page
            raws = self.r.mget([keys.task(i) for i in ids])
            stale = [i for i, raw in zip(ids, raws) if raw is None]
            if stale:
                self.r.zrem(index, *stale)
                start -= len(stale)
            for raw in raws:
                if raw is None:
                    continue
                rec = TaskRecord.from_json(raw)
                if (state is None or rec.state == state) and (kind is None or rec.kind == kind):
                    out.append(rec)
                    if len(out) == limit:
                        break
        return out

    def active(self) -> list[TaskRecord]:
        """Every record not yet terminal (what reconciliation walks), oldest first."""
        ids = sorted(i.decode() if isinstance(i, bytes) else i for i in self.r.smembers(keys.active_tasks()))
        out = []
        for task_id in ids:
            rec = self.find(task_id)
            if rec is None or rec.is_terminal:
                self.r.srem(keys.active_tasks(), task_id)
            else:
                out.append(rec)
        return sorted(out, key=lambda r: r.created)

    # -- update ----------------------------------------------------------------------------------

    def update(self, task_id: str, change: Callable[[TaskRecord], Any]) -> TaskRecord:
        """Apply `change` to the current record atomically. A terminal record never changes state again:
        a change that would move it is dropped (its other edits too) and the stored record is returned."""
        task_key = keys.task(task_id)
        with self.r.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(task_key)
                    raw = pipe.get(task_key)
                    if raw is None:
                        pipe.unwatch()
                        raise UnknownTask(task_id)
                    old = TaskRecord.from_json(raw)
                    new = TaskRecord.from_json(raw)
                    change(new)
                    if old.is_terminal or _ORDER[new.state] < _ORDER[old.state]:
                        pipe.unwatch()
                        return old
                    if new == old:
                        pipe.unwatch()
                        return old
                    if new.state == RUNNING and new.started is None:
                        new.started = time.time()
                    new.updated = time.time()
                    finishing = new.is_terminal
                    if finishing and new.finished is None:
                        new.finished = time.time()
                    lock_key = keys.cluster_lock(new.namespace, new.cluster) if new.cluster else None
                    holder = pipe.get(lock_key) if finishing and lock_key else None
                    pipe.multi()
                    pipe.set(task_key, new.to_json())
                    if finishing:
                        stats.count_finished(pipe, new)
                        pipe.expire(task_key, self.history_seconds)
                        if holder is not None and (holder.decode() if isinstance(holder, bytes) else holder) == new.id:
                            pipe.delete(lock_key)
                        pipe.srem(keys.active_tasks(), new.id)
                        pipe.rpush(keys.task_done(new.id), new.state)
                        pipe.expire(keys.task_done(new.id), 300)
                    pipe.execute()
                    return new
                except redis.WatchError:
                    continue

    def finish_and_chain(self, task_id: str, change: Callable[[TaskRecord], Any], follower: TaskRecord) -> TaskRecord:
        """Finish a lock-holding task and hand its cluster lock to `follower` (created here) in one transaction:
        a restore's `backup_after` backup starts with the lock, so no other backup can slip in between."""
        task_key = keys.task(task_id)
        with self.r.pipeline() as pipe:
            while True:
                try:
                    lock_key = None
                    pipe.watch(task_key)
                    raw = pipe.get(task_key)
                    if raw is None:
                        pipe.unwatch()
                        raise UnknownTask(task_id)
                    new = TaskRecord.from_json(raw)
                    if new.is_terminal:
                        pipe.unwatch()
                        return new
                    change(new)
                    if not new.is_terminal:
                        raise ValueError("finish_and_chain must finish the task")
                    new.finished = new.finished or time.time()
                    if new.cluster:
                        lock_key = keys.cluster_lock(new.namespace, new.cluster)
                        pipe.watch(lock_key)
                        holder = pipe.get(lock_key)
                        if holder is not None and (holder.decode() if isinstance(holder, bytes) else holder) != new.id:
                            lock_key = None  # not ours to hand over
                    pipe.multi()
                    pipe.set(task_key, new.to_json())
                    stats.count_finished(pipe, new)
                    pipe.expire(task_key, self.history_seconds)
                    pipe.srem(keys.active_tasks(), new.id)
                    pipe.rpush(keys.task_done(new.id), new.state)
                    pipe.expire(keys.task_done(new.id), 300)
                    if lock_key:
                        pipe.set(lock_key, follower.id)
                    pipe.set(keys.task(follower.id), follower.to_json(), nx=True)
                    pipe.sadd(keys.active_tasks(), follower.id)
                    pipe.zadd(keys.namespace_tasks(follower.namespace), {follower.id: follower.created})
                    if follower.cluster:
                        pipe.zadd(keys.cluster_tasks(follower.namespace, follower.cluster),
                                  {follower.id: follower.created})
                    pipe.execute()
                    return new
                except redis.WatchError:
                    continue

    def wait_finished(self, task_id: str, timeout: float) -> TaskRecord:
        """Block up to `timeout` seconds for the record to reach a terminal state; return it either way."""
        rec = self.get(task_id)
        if rec.is_terminal or timeout <= 0:
            return rec
        got = self.r.blpop([keys.task_done(task_id)], timeout=timeout)
        if got is not None:
            # leave the signal for other waiters
            self.r.rpush(keys.task_done(task_id), got[1])
            self.r.expire(keys.task_done(task_id), 300)
        return self.get(task_id)
