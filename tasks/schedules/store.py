"""Schedules in Redis: definitions, their RedBeat entries, and the history of every slot, run or skipped.

One writer for each: the API creates, changes and deletes a schedule and its RedBeat entry in one
transaction (so beat never sees one without the other); the worker records what each slot became
(`record`: once per slot — the first record wins, so two beats or a redelivered message cannot
record a slot twice) with the skip counters behind `/metrics`.  Beat itself only moves an entry's
`meta`/score when it fires (tasks/schedules/scheduler.py).

Keys (tasks/state/keys.py): the definition `schedule:<ns>/<name>`, indices per namespace and cluster,
the RedBeat entry `beat:<ns>/<name>`, and per schedule uid — a schedule deleted and created again under
the same name is a new one — its runs (`schedule-runs`, `schedule-slots`) and counters.
"""
from __future__ import annotations

import json
import time
import uuid
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from typing import Any, Callable

import redis

from ..state import keys
from . import entries
from .cron import Cron, parse_cached

RUN, SKIPPED = "run", "skipped"
HISTORY_KEEP = 200
UTC = timezone.utc

_RECORD = """
if redis.call('hsetnx', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('zadd', KEYS[2], ARGV[1], ARGV[1])
local n = redis.call('zcard', KEYS[2])
local keep = tonumber(ARGV[5])
if n > keep then
  local old = redis.call('zrange', KEYS[2], 0, n - keep - 1)
  redis.call('zremrangebyrank', KEYS[2], 0, n - keep - 1)
  redis.call('hdel', KEYS[1], unpack(old))
end
if ARGV[3] == 'run' then
  redis.call('hincrby', KEYS[3], 'runs', 1)
else
  redis.call('hincrby', KEYS[3], 'skipped', 1)
  redis.call('hincrby', KEYS[3], 'skipped:' .. ARGV[4], 1)
  for i = 6, #ARGV do redis.call('hincrby', KEYS[4], ARGV[i] .. ':skips', 1) end
end
return 1
"""


class ScheduleError(Exception):
    """Base of the schedule store's errors."""


class ScheduleExists(ScheduleError):
    """A schedule of that name exists in the namespace."""


class UnknownSchedule(ScheduleError):
    """No schedule of that name in the namespace."""


@dataclass
class Schedule:
    """A backup schedule: which cluster, when (cron in a time zone), what (type, repos, options)."""

    name: str
    namespace: str
    cluster: str
    cron: str
    timezone: str = "UTC"
    backup_type: str = "full"
    storage_type: str = "local"  # local, s3 or local,s3: the repos each run backs up
    options: list[str] = field(default_factory=list)
    paused: bool = False
    uid: str = field(default_factory=lambda: str(uuid.uuid4()))
    created: float = field(default_factory=time.time)
    updated: float | None = None

    @property
    def repos(self) -> list[str]:
        return self.storage_type.split(",")

    def parsed(self) -> Cron:
        return parse_cached(self.cron, self.timezone)

    def definition(self) -> str:
        return entries.definition(namespace=self.namespace, name=self.name, uid=self.uid, cron=self.cron,
                                  timezone_name=self.timezone, paused=self.paused)

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, raw: str | bytes) -> "Schedule":
        data = json.loads(raw)
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


class ScheduleStore:
    def __init__(self, client: redis.Redis, *, history_keep: int = HISTORY_KEEP):
        self.r = client
        self.history_keep = history_keep
        self._record = client.register_script(_RECORD)

    # -- definitions and entries -----------------------------------------------------------------

    def create(self, s: Schedule, *, now: float | None = None) -> Schedule:
        """Store the schedule and its RedBeat entry (first run: the first slot after now); ScheduleExists."""
        now = time.time() if now is None else now
        key = keys.schedule(s.namespace, s.name)
        cron = s.parsed()
        last = _utc(now)
        with self.r.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    if pipe.exists(key):
                        pipe.unwatch()
                        raise ScheduleExists(f"{s.namespace}/{s.name}")
                    pipe.multi()
                    pipe.set(key, s.to_json())
                    pipe.zadd(keys.namespace_schedules(s.namespace), {s.name: s.created})
                    pipe.sadd(keys.cluster_schedules(s.namespace, s.cluster), s.name)
                    entries.write(pipe, namespace=s.namespace, name=s.name, definition_text=s.definition(),
                                  meta_text=entries.meta(last),
                                  score_value=entries.score(entries.due_at(cron, last, paused=s.paused)))
                    pipe.execute()
                    return s
                except redis.WatchError:
                    continue

    def get(self, namespace: str, name: str) -> Schedule:
        raw = self.r.get(keys.schedule(namespace, name))
        if raw is None:
            raise UnknownSchedule(f"{namespace}/{name}")
        return Schedule.from_json(raw)

    def find(self, namespace: str, name: str) -> Schedule | None:
        try:
            return self.get(namespace, name)
        except UnknownSchedule:
            return None

    def list(self, namespace: str, *, cluster: str | None = None) -> list[Schedule]:
        """By name. Names whose definition is gone are dropped from the index on the way."""
        if cluster is None:
            index = keys.namespace_schedules(namespace)
            names = [_text(n) for n in self.r.zrange(index, 0, -1)]
        else:
            index = keys.cluster_schedules(namespace, cluster)
            names = sorted(_text(n) for n in self.r.smembers(index))
        if not names:
            return []
        raws = self.r.mget([keys.schedule(namespace, n) for n in names])
        stale = [n for n, raw in zip(names, raws) if raw is None]
        if stale:
            if cluster is None:
                self.r.zrem(index, *stale)
            else:
                self.r.srem(index, *stale)
        return sorted((Schedule.from_json(raw) for raw in raws if raw is not None), key=lambda s: s.name)

    def update(self, namespace: str, name: str, change: Callable[[Schedule], Any], *,
               now: float | None = None) -> Schedule:
        """Apply `change`; rewrite the RedBeat entry only as far as beat must see it.

        A new cron or time zone, or a resume, starts counting from now (the next run is the first slot
        after now); a pause scores the entry -1 (beat no longer loads it); anything else — options,
        backup type, repos — leaves the entry and its next run as they were.
        """
        now = time.time() if now is None else now
        key = keys.schedule(namespace, name)
        with self.r.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    if raw is None:
                        pipe.unwatch()
                        raise UnknownSchedule(f"{namespace}/{name}")
                    old = Schedule.from_json(raw)
                    new = replace(old, options=list(old.options))
                    change(new)
                    new.name, new.namespace, new.cluster, new.uid, new.created = (
                        old.name, old.namespace, old.cluster, old.uid, old.created)
                    if new == old:
                        pipe.unwatch()
                        return old
                    new.updated = now
                    timing = (old.cron, old.timezone) != (new.cron, new.timezone)
                    resumed = old.paused and not new.paused
                    cron = new.parsed()
                    pipe.multi()
                    pipe.set(key, new.to_json())
                    if timing or resumed:
                        last = _utc(now)
                        entries.write(pipe, namespace=namespace, name=name, definition_text=new.definition(),
                                      meta_text=entries.meta(last),
                                      score_value=entries.score(entries.due_at(cron, last, paused=new.paused)))
                    elif new.paused != old.paused:
                        entries.write(pipe, namespace=namespace, name=name, definition_text=new.definition(),
                                      score_value=entries.score(None))
                    pipe.execute()
                    return new
                except redis.WatchError:
                    continue

    def delete(self, namespace: str, name: str) -> bool:
        """Remove the schedule, its entry and its history; False if there was none."""
        s = self.find(namespace, name)
        if s is None:
            return False
        with self.r.pipeline() as pipe:
            pipe.delete(keys.schedule(namespace, name))
            pipe.zrem(keys.namespace_schedules(namespace), name)
            pipe.srem(keys.cluster_schedules(namespace, s.cluster), name)
            entries.remove(pipe, namespace=namespace, name=name)
            pipe.delete(keys.schedule_runs(s.uid), keys.schedule_slots(s.uid), keys.schedule_counts(s.uid))
            pipe.execute()
        return True

    def delete_for_cluster(self, namespace: str, cluster: str) -> list[str]:
        """Delete every schedule of a cluster (what deleting the cluster must do); their names."""
        names = sorted(_text(n) for n in self.r.smembers(keys.cluster_schedules(namespace, cluster)))
        deleted = [n for n in names if self.delete(namespace, n)]
        self.r.delete(keys.cluster_schedules(namespace, cluster))
        return deleted

    def last_run_at(self, s: Schedule) -> datetime | None:
        """When beat last fired the entry (or when it was created, changed or resumed)."""
        return entries.last_run_at(self.r.hget(keys.beat_entry(s.namespace, s.name), "meta"))

    def next_run(self, s: Schedule, last_run: datetime | None = None) -> datetime | None:
        if s.paused:
            return None
        last_run = last_run or self.last_run_at(s)
        return s.parsed().next_after(last_run) if last_run else None

    def last_runs(self, schedules: list[Schedule]) -> list[datetime | None]:
        """`last_run_at` of many schedules in one round trip."""
        with self.r.pipeline(transaction=False) as pipe:
            for s in schedules:
                pipe.hget(keys.beat_entry(s.namespace, s.name), "meta")
            metas = pipe.execute() if schedules else []
        return [entries.last_run_at(m) for m in metas]

    # -- history ---------------------------------------------------------------------------------

    def record(self, s: Schedule, slot: float, outcome: str, *, task_id: str | None = None,
               reason: str | None = None, message: str | None = None, now: float | None = None) -> bool:
        """Record what a slot became (RUN with its task, or SKIPPED with a reason); False if already recorded."""
        if outcome not in (RUN, SKIPPED):
            raise ValueError(f"outcome {outcome!r}")
        slot = int(slot)
        entry = {"slot": slot, "outcome": outcome, "task_id": task_id, "reason": reason, "message": message,
                 "recorded": time.time() if now is None else now}
        args = [slot, json.dumps(entry, sort_keys=True), outcome, reason or "", self.history_keep, *s.repos]
        done = self._record(keys=[keys.schedule_runs(s.uid), keys.schedule_slots(s.uid), keys.schedule_counts(s.uid),
                                  keys.backup_stats(s.namespace, s.cluster)], args=args)
        return bool(done)

    def history(self, s: Schedule, limit: int = 20) -> list[dict]:
        """The last `limit` slots recorded, newest first."""
        slots = [_text(x) for x in self.r.zrevrange(keys.schedule_slots(s.uid), 0, max(0, limit - 1))]
        if not slots:
            return []
        raws = self.r.hmget(keys.schedule_runs(s.uid), slots)
        return [json.loads(raw) for raw in raws if raw is not None]

    def latest(self, schedules: list[Schedule]) -> list[dict | None]:
        """The newest recorded slot of each schedule, in two round trips."""
        with self.r.pipeline(transaction=False) as pipe:
            for s in schedules:
                pipe.zrevrange(keys.schedule_slots(s.uid), 0, 0)
            tops = pipe.execute() if schedules else []
        with self.r.pipeline(transaction=False) as pipe:
            for s, top in zip(schedules, tops):
                pipe.hget(keys.schedule_runs(s.uid), _text(top[0]) if top else "-")
            raws = pipe.execute() if schedules else []
        return [json.loads(raw) if raw else None for raw in raws]

    def counts(self, schedules: list[Schedule]) -> list[dict[str, int]]:
        """{"runs": n, "skipped": n, "skipped:<reason>": n} of each schedule."""
        with self.r.pipeline(transaction=False) as pipe:
            for s in schedules:
                pipe.hgetall(keys.schedule_counts(s.uid))
            raws = pipe.execute() if schedules else []
        return [{_text(k): int(v) for k, v in raw.items()} for raw in raws]
