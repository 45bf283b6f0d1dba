"""Beat's side: RedBeat's scheduler, taught our cron entries, batch loading and at-least-once firing.

`celery -A tasks.beat beat` runs `Scheduler` (set as `beat_scheduler` by tasks/beat.py).  What it
changes in RedBeat 2.4.2's `RedBeatScheduler`, and why:

- entries whose schedule is `brq-cron` decode into `CronSchedule` (entries.py says why not
  crontab/rrule);
- `schedule` loads every due entry (and the next one, to know how long to sleep) in one pipelined
  round trip instead of one per entry;
- `apply_async` sends first and moves the entry's `meta` after (RedBeat moves it, then sends): a beat
  that dies in between makes the standby send the slot again, which the worker folds into the same
  backup (the task id is derived from the slot) — at least once, never lost.  The message carries the
  slot (the latest fire time at or before now) and the slots missed since the entry last ran;
- the `meta` write is conditional on the definition beat loaded being still the stored one (one Lua
  call, as cheap as RedBeat's pipeline): an entry deleted meanwhile is not brought back, and an entry
  whose cron changed meanwhile is scored from its new definition, so a `PATCH` lands on the next tick.

The leader lock is RedBeat's own (`redbeat_lock_key`, `redbeat_lock_timeout`): one beat fires, the
others wait in `beat_init` and take over when the leader's lock expires (SIGKILL) or is released
(SIGTERM).  A leader whose lock expired (Redis away longer than the timeout) takes it again if it is free,
else stands by, polling it each tick; a tick that finds Redis unreachable fires nothing and retries in a
second — beat never ends because Redis restarted.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import redis
from celery.schedules import BaseSchedule, schedstate
from celery.utils.log import get_logger
from redbeat.decoder import RedBeatJSONDecoder, RedBeatJSONEncoder
from redbeat.schedulers import RedBeatSchedulerEntry, RedBeatScheduler, ensure_conf, get_redis

from .. import failpoints
from . import entries
from .cron import parse_cached

logger = get_logger("celery.beat")
UTC = timezone.utc
MISSED_LIMIT = 10          # missed slots named in one message (the most recent ones)
PUBLISH_BATCH = 1000       # messages per pipelined write to the broker
GROUP = 50                 # slots per `brq.scheduled_backups` message
GROUP_TASK = "brq.scheduled_backups"
OLDEST_LAST_RUN = timedelta(days=366)  # a last run older than this counts from a year ago

_GUARDED_META = """
local definition = redis.call('hget', KEYS[1], 'definition')
if not definition or redis.sha1hex(definition) ~= ARGV[1] then return 0 end
redis.call('hset', KEYS[1], 'meta', ARGV[2])
redis.call('zadd', KEYS[2], ARGV[3], KEYS[1])
return 1
"""


class CronSchedule(BaseSchedule):
    """A celery schedule over `tasks.schedules.cron`: 5 or 6 fields, in a named time zone."""

    def __init__(self, cron: str, timezone: str = "UTC", nowfun=None, app=None):
        super().__init__(nowfun=nowfun, app=app)
        self.cron = parse_cached(cron, timezone)
        self._known: tuple[datetime, datetime] | None = None  # (t, next_after(t)): no slot between them

    def next_after(self, t: datetime) -> datetime | None:
        """`cron.next_after`, remembering the last answer: any t' in [t, answer) has the same one (a tick
        asks it three times per fired entry, for nearly the same instant)."""
        known = self._known
        if known is not None and known[0] <= t < known[1]:
            return known[1]
        nxt = self.cron.next_after(t)
        if nxt is not None:
            self._known = (t, nxt)
        return nxt

    def now(self) -> datetime:
        return self.nowfun() if self.nowfun else datetime.now(UTC)

    def _from(self, last_run_at: datetime | None, now: datetime) -> datetime:
        if last_run_at is None:
            return now
        if last_run_at.tzinfo is None:
            last_run_at = last_run_at.replace(tzinfo=UTC)
        return max(last_run_at, now - OLDEST_LAST_RUN)

    def remaining_estimate(self, last_run_at: datetime) -> timedelta | None:
        now = self.now()
        nxt = self.next_after(self._from(last_run_at, now))
        return None if nxt is None else nxt - now

    def is_due(self, last_run_at: datetime) -> schedstate:
        """Due when a slot passed since the last run; the seconds to wait are until the next slot."""
        now = self.now()
        nxt = self.next_after(self._from(last_run_at, now))
        if nxt is None:
            return schedstate(False, None)
        if nxt <= now:
            following = self.next_after(now)
            return schedstate(True, None if following is None else (following - now).total_seconds())
        return schedstate(False, (nxt - now).total_seconds())

    def __repr__(self) -> str:
        return f"<cron {self.cron.expression!r} {self.cron.timezone}>"

    def __eq__(self, other) -> bool:
        return isinstance(other, CronSchedule) and (self.cron.expression, self.cron.timezone) == (
            other.cron.expression, other.cron.timezone)

    def __hash__(self) -> int:
        return hash((self.cron.expression, self.cron.timezone))

    def __reduce__(self):
        return self.__class__, (self.cron.expression, self.cron.timezone)


class Decoder(RedBeatJSONDecoder):
    def dict_to_object(self, d):
        if d.get("__type__") == entries.CRON_TYPE:
            return CronSchedule(d["cron"], d.get("timezone") or "UTC")
        return super().dict_to_object(d)


# many entries in one command each way: redis-py's per-command packing and parsing was a third of a tick's CPU
_LOAD_MANY = """
local out = {}
for i, key in ipairs(KEYS) do
  local v = redis.call('hmget', key, 'definition', 'meta')
  out[2 * i - 1] = v[1]
  out[2 * i] = v[2]
end
return out
"""
_GUARDED_META_MANY = """
local done = {}
for i = 2, #KEYS do
  local a = 3 * (i - 2)
  local definition = redis.call('hget', KEYS[i], 'definition')
  if definition and redis.sha1hex(definition) == ARGV[a + 1] then
    redis.call('hset', KEYS[i], 'meta', ARGV[a + 2])
    redis.call('zadd', KEYS[1], ARGV[a + 3], KEYS[i])
    done[i - 1] = 1
  else
    done[i - 1] = 0
  end
end
return done
"""
MANY = 500  # entries per script call (bounded, so one call never holds Redis long)


def _script(app, name: str, text: str):
    """A Lua script, registered once per app (EVALSHA, loaded on first use)."""
    script = getattr(app, name, None)
    if script is None:
        script = get_redis(app).register_script(text)
        setattr(app, name, script)
    return script


def _guard(app):
    """The conditional meta write of one entry."""
    return _script(app, "_brq_guarded_meta", _GUARDED_META)


class Entry(RedBeatSchedulerEntry):
    """A RedBeat entry that knows `brq-cron` and moves its `meta` only if its definition is unchanged."""

    raw_definition: str | None = None

    @staticmethod
    def decode_definition(definition):
        return json.loads(definition, cls=Decoder)

    @classmethod
    def from_raw(cls, app, definition: str, meta: str | None) -> "Entry":
        fields = json.loads(definition)
        schedule = fields.get("schedule")
        if isinstance(schedule, dict) and schedule.get("__type__") == entries.CRON_TYPE:  # ours: the fast way
            fields["schedule"] = CronSchedule(schedule["cron"], schedule.get("timezone") or "UTC")
            state = json.loads(meta) if meta else {}
            last = entries.decode_datetime(state["last_run_at"]) if state.get("last_run_at") else None
            fields.update(state, last_run_at=last)
        else:
            fields = cls.decode_definition(definition)
            state = cls.decode_meta(meta)
            fields.update(state)
            last = state["last_run_at"]
        entry = cls(app=app, **fields)
        entry.last_run_at = last  # celery would say "now" for an entry that never ran
        entry.raw_definition = definition
        return entry

    @classmethod
    def from_key(cls, key, app=None):
        ensure_conf(app)
        with get_redis(app).pipeline() as pipe:
            pipe.hget(key, "definition")
            pipe.hget(key, "meta")
            definition, meta = pipe.execute()
        if not definition:
            raise KeyError(key)
        return cls.from_raw(app, definition, meta)

    def save(self):
        if isinstance(self.schedule, CronSchedule):
            raise TypeError("schedule entries are written by tasks.schedules.store, not by beat")
        return super().save()

    def _due_score(self) -> int:
        if not self.enabled:
            return entries.score(None)
        if isinstance(self.schedule, CronSchedule):
            return entries.score(self.schedule.next_after(self.schedule._from(self.last_run_at,
                                                                                self.schedule.now())))
        return self.score

    def advanced(self, last_run_at=None, count: bool = True) -> "Entry":
        """A copy that ran at `last_run_at` (default now); nothing written."""
        entry = object.__new__(type(self))  # copy.copy would go through ScheduleEntry.__reduce__
        entry.__dict__.update(self.__dict__)
        entry.last_run_at = last_run_at or self.default_now()
        if count:
            entry.total_run_count = self.total_run_count + 1
        return entry

    def guarded_args(self) -> tuple[list[str], list]:
        """KEYS and ARGV of the conditional meta write of this (advanced) entry."""
        if isinstance(self.schedule, CronSchedule):
            meta = entries.meta(self.last_run_at, self.total_run_count)
        else:
            meta = json.dumps({"last_run_at": self.last_run_at, "total_run_count": self.total_run_count},
                              cls=RedBeatJSONEncoder)
        raw = self.raw_definition or ""
        digest = hashlib.sha1(raw.encode() if isinstance(raw, str) else raw).hexdigest()  # noqa: S324 - not security
        return [self.key, self.app.redbeat_conf.schedule_key], [digest, meta, self._due_score()]

    def rebased(self) -> "Entry | None":
        """After a refused conditional write: the stored definition with this run's time; None if deleted."""
        try:
            fresh = type(self).from_key(self.key, app=self.app)
        except KeyError:
            return None
        fresh.last_run_at = max(self.last_run_at, fresh.last_run_at or self.last_run_at)
        fresh.total_run_count = self.total_run_count
        return fresh

    def _next_instance(self, last_run_at=None, only_update_last_run_at=False):
        entry = self.advanced(last_run_at, count=not only_update_last_run_at)
        script = _guard(self.app)
        for _ in range(3):
            keys, args = entry.guarded_args()
            if script(keys=keys, args=args):
                return entry
            fresh = entry.rebased()  # changed since loaded: score it from the stored definition
            if fresh is None:
                return entry  # deleted since loaded: leave it deleted
            entry = fresh
        return entry

    __next__ = next = _next_instance


REDIS_RETRY_SECONDS = 1.0
"""How soon a tick that found Redis unreachable tries again."""


@dataclass
class Tick:
    """The last tick: how long it took (wall clock, and this process's CPU), how many entries it loaded and fired."""

    seconds: float
    loaded: int
    fired: int
    cpu_seconds: float = 0.0


class Scheduler(RedBeatScheduler):
    Entry = Entry

    def __init__(self, app, **kwargs):
        super().__init__(app, **kwargs)
        self.last_tick: Tick | None = None

    def _load(self, client, keys: list[str]) -> dict[str, Entry]:
        load = _script(self.app, "_brq_load_many", _LOAD_MANY)
        flat: list = []
        for i in range(0, len(keys), MANY):
            flat += load(keys=keys[i:i + MANY], client=client)
        out: dict[str, Entry] = {}
        for key, definition, meta in zip(keys, flat[0::2], flat[1::2]):
            if not definition:
                logger.warning("beat: entry %s has no definition, removing it", key)
                client.zrem(self.app.redbeat_conf.schedule_key, key)
                client.delete(key)
                continue
            try:
                entry = self.Entry.from_raw(self.app, definition, meta)
            except Exception:  # noqa: BLE001 - one bad entry must not stop the others
                logger.exception("beat: cannot load entry %s", key)
                continue
            out[entry.name] = entry
        return out

    @property
    def schedule(self) -> dict[str, Entry]:
        """Every due entry and the next one to come (to sleep until it), in two round trips."""
        now = datetime.now(UTC).timestamp()
        max_due_at = int(now)
        client = get_redis(self.app)
        key = self.app.redbeat_conf.schedule_key
        with client.pipeline(transaction=False) as pipe:
            pipe.zrangebyscore(key, 0, max_due_at)
            pipe.zrangebyscore(key, f"({max_due_at}", max_due_at + self.max_interval, start=0, num=1)
            due, upcoming = pipe.execute()
        return self._load(client, list(due) + list(upcoming))

    def tick(self, min=min, **kwargs):
        """Fire every due entry: their messages in one pipelined batch, then their runs in one more.

        Redis unreachable (restarting) fires nothing and tries again in a second, instead of ending beat; a
        leader lock that expired meanwhile is taken again if no other beat took it (else this one stands by)."""
        try:
            if self.lock_key and not self._keep_lock():
                return self.max_interval
            return self._tick(min)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            logger.warning("beat: Redis unreachable (%s: %s); firing nothing until it answers", type(exc).__name__, exc)
            return REDIS_RETRY_SECONDS

    def _keep_lock(self) -> bool:
        """Extend the leader lock; False if another beat holds it now."""
        try:
            self.lock.extend(int(self.lock_timeout))
            return True
        except redis.exceptions.LockError:
            if self.lock.acquire(blocking=False):
                logger.warning("beat: the leader lock had expired (Redis was away?); taken again")
                return True
            logger.info("beat: another beat holds the leader lock; standing by")
            return False

    def _tick(self, min) -> float:
        started, cpu = time.monotonic(), time.process_time()
        remaining: list[float] = []
        loaded = self.schedule
        due = []
        for entry in loaded.values():
            is_due, next_time_to_run = entry.is_due()
            if is_due:
                due.append(entry)
            if next_time_to_run:
                remaining.append(next_time_to_run)
        sent = self.fire(due) if due else []
        self.last_tick = Tick(seconds=time.monotonic() - started, loaded=len(loaded), fired=len(sent),
                              cpu_seconds=time.process_time() - cpu)
        if sent:
            logger.info("beat: fired %d of %d entries in %.1f ms", len(sent), len(loaded),
                        self.last_tick.seconds * 1000)
        return min(remaining + [self.max_interval])

    def fire(self, due: list[Entry]) -> list[Entry]:
        """Send the due entries' slots, then record their runs.

        One entry due: its own `brq.scheduled_backup` message.  More: their slots go `GROUP` to a
        `brq.scheduled_backups` message (the worker fires each as `brq.scheduled_backup` would), in one
        pipelined publish (kombu's publish batch) — a Celery message costs ~0.4 ms of beat's CPU, which
        at 10,000 one-minute schedules (167 due a second) was most of the tick.  Sent before recorded: if
        publishing fails nothing is recorded and the next tick sends again (the worker folds a slot sent
        twice into one backup); if the recording fails, the same.
        """
        cron_due = [e for e in due if isinstance(e.schedule, CronSchedule)]
        others = [e for e in due if not isinstance(e.schedule, CronSchedule)]
        for entry in others:  # not ours (a static entry): RedBeat's way
            try:
                self.apply_async(entry, producer=self.producer)
            except Exception:  # noqa: BLE001 - due again next tick
                logger.exception("beat: sending %s failed", entry.name)
        if not cron_due:
            return others
        now = self.app.now().astimezone(UTC)
        items = [slot_message(entry, now) for entry in cron_due]
        producer = self.producer
        try:
            with producer.batch(max_size=PUBLISH_BATCH):
                if len(items) == 1:
                    self.send_task(cron_due[0].task, [], items[0], producer=producer,
                                   **_options(cron_due[0], repr_=_describe(items[0])))
                else:
                    for i in range(0, len(items), GROUP):
                        chunk = items[i:i + GROUP]
                        self.send_task(GROUP_TASK, [], {"slots": chunk}, producer=producer,
                                       **_options(cron_due[i], repr_=f"{len(chunk)} slots, "
                                                                      f"{_describe(chunk[0])} …"))
        except Exception:  # noqa: BLE001 - record nothing: every one of them is due again next tick
            logger.exception("beat: publishing %d slot(s) failed", len(items))
            return others
        failpoints.hit("beat.slots-sent")
        self.record_runs(cron_due, [_slot_time(item) for item in items])
        return others + cron_due

    def record_runs(self, sent: list[Entry], slots: list[datetime]) -> None:
        """Move each sent entry's meta and score (one script call per 500), unless its definition changed meanwhile.

        The run is recorded at the slot it was sent for, not at the time of recording: a tick that
        crosses a slot boundary leaves the next slot due, rather than skipping it."""
        if not sent:
            return
        script = _script(self.app, "_brq_guarded_meta_many", _GUARDED_META_MANY)
        advanced = [entry.advanced(slot) for entry, slot in zip(sent, slots)]
        schedule_key = self.app.redbeat_conf.schedule_key
        results: list[int] = []
        for i in range(0, len(advanced), MANY):
            keys, args = [schedule_key], []
            for entry in advanced[i:i + MANY]:
                entry_keys, entry_args = entry.guarded_args()
                keys.append(entry_keys[0])
                args += entry_args
            results += script(keys=keys, args=args, client=get_redis(self.app))
        for entry, ok in zip(advanced, results):
            if not ok:
                fresh = entry.rebased()
                if fresh is not None:
                    fresh._next_instance(fresh.last_run_at, only_update_last_run_at=True)

    def apply_async(self, entry, producer=None, advance=True, **kwargs):
        """Send one entry's slot, then record the run (at least once; the worker dedups)."""
        if not isinstance(entry.schedule, CronSchedule):
            return super().apply_async(entry, producer=producer, advance=advance, **kwargs)
        message = slot_message(entry, self.app.now().astimezone(UTC))
        result = self.send_task(entry.task, [], message, producer=producer,
                                **_options(entry, repr_=_describe(message)))
        if advance:
            entry._next_instance(_slot_time(message))
        return result


def slot_message(entry: Entry, now: datetime) -> dict:
    """The kwargs of `brq.scheduled_backup` for an entry due at `now`: its slot and the slots it missed."""
    cron = entry.schedule.cron
    slot = cron.latest_at_or_before(now) or now
    first_due = entry.schedule.next_after(entry.schedule._from(entry.last_run_at, now))
    missed = [] if first_due == slot else missed_slots(cron, entry.last_run_at, slot)
    return {**entry.kwargs, "slot": slot.timestamp(), "missed": [m.timestamp() for m in missed]}


def _slot_time(message: dict) -> datetime:
    return datetime.fromtimestamp(message["slot"], UTC)


def _describe(message: dict) -> str:
    return f"{message['namespace']}/{message['name']} slot {message['slot']:.0f}"


def _options(entry: Entry, *, repr_: str) -> dict:
    options = dict(entry.options)
    options["headers"] = {**(options.get("headers") or {}), "celery_beat_task": True}
    # the repr Celery puts in every message's headers: given, it skips saferepr (half the cost of a send)
    options.update(argsrepr="()", kwargsrepr=repr_)
    return options


def missed_slots(cron, last_run_at: datetime | None, slot: datetime, limit: int = MISSED_LIMIT) -> list[datetime]:
    """The most recent slots (at most `limit`, oldest first) after `last_run_at` and before `slot`."""
    if last_run_at is None:
        return []
    if last_run_at.tzinfo is None:
        last_run_at = last_run_at.replace(tzinfo=UTC)
    out: list[datetime] = []
    t = slot
    while len(out) < limit:
        earlier = cron.latest_at_or_before(t - timedelta(microseconds=1))
        if earlier is None or earlier <= last_run_at:
            break
        out.append(earlier)
        t = earlier
    return out[::-1]


__all__ = ["CronSchedule", "Entry", "Scheduler", "missed_slots"]
