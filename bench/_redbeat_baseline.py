"""The baseline of bench/schedule_bench.py: celery-redbeat's stock `RedBeatScheduler`, unmodified, under the same load.

Stock RedBeat cannot read our 6-field crons (`brq-cron` entries), so the same load is given to it in its own
schedule types, written in its own format (`RedBeatSchedulerEntry.save()`: `definition` + `meta` hash and
the `<prefix>:schedule` sorted set), one entry per schedule, the same task (`brq.scheduled_backup`), queue
and kwargs (namespace, name, uid — stock cannot add the slot):

- spread (default): `celery.schedules.schedule(run_every=timedelta(minutes=1))`, the entry of schedule i
  with `last_run_at` one minute before its first slot (second i mod 60 of the minute after its creation),
  so the same ~167 come due each second.  celery's interval schedule is due `run_every` after the last
  run, and stock RedBeat records a run at the time it sent it (`default_now()`, not the slot): every
  minute's lateness adds to the next one's (drift).  crontab cannot spread (`crontab(minute='*')` is due
  at second 0 whatever `last_run_at` says);
- spread with `--stock-spread rrule`: RedBeat's own `rrule(MINUTELY, dtstart=<first slot>)`, due at the
  slot's second whatever the lateness (no drift; its `after()` walks from `dtstart`, a few slots here);
- aligned: `crontab()` (every minute at second 0), as `* * * * *`.

A fire is attributed to the schedule's latest nominal slot at or before the moment it was sent (stock
messages carry no slot), so the bench's slot check and lateness apply unchanged.
"""
from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta, timezone

from celery.schedules import crontab, schedule as interval
from redbeat.schedulers import RedBeatScheduler, RedBeatSchedulerEntry, get_redis
from redbeat.schedules import rrule

UTC = timezone.utc
TASK = "brq.scheduled_backup"
QUEUE = "brq"
PREFIX = "brq:stockbeat:"  # its own RedBeat key prefix (and lock), apart from ours


def configure_stock(app) -> None:
    """Point an app configured by tasks.schedules.beatconf.configure at its own RedBeat keys."""
    app.conf.update(redbeat_key_prefix=PREFIX, redbeat_lock_key=PREFIX + ":lock")


def phase(i: int, aligned: bool) -> int:
    """The second of the minute at which schedule i is due."""
    return 0 if aligned else i % 60


def nominal_slot(t: float, second: int) -> float:
    """The latest slot at or before t of a schedule due every minute at `second`."""
    return float((int(t) - second) // 60 * 60 + second)


def first_slot(now: float, second: int) -> float:
    """The first slot after now (as ScheduleStore.create scores a new schedule: the first slot after creation)."""
    return nominal_slot(now, second) + 60


def populate_stock(app, n_schedules: int, aligned: bool, spread: str = "interval") -> float:
    """Write the entries with RedBeat's own `save()` (one MULTI each, as ours are written); the seconds taken."""
    t0 = time.perf_counter()
    for i in range(n_schedules):
        second = phase(i, aligned)
        first = first_slot(time.time(), second)
        if aligned:
            sched = crontab(app=app)
        elif spread == "rrule":
            sched = rrule("MINUTELY", dtstart=datetime.fromtimestamp(first, UTC), app=app)
        else:
            sched = interval(run_every=timedelta(minutes=1), app=app)
        name = f"s{i:05d}"
        RedBeatSchedulerEntry(f"bench/{name}", TASK, sched, args=[],
                              kwargs={"namespace": "bench", "name": name, "uid": uuid.uuid4().hex},
                              options={"queue": QUEUE}, app=app,
                              last_run_at=datetime.fromtimestamp(first - 60, UTC)).save()
    return time.perf_counter() - t0


def entry_keys(app, n_schedules: int) -> list[str]:
    """Its entries' keys and its schedule sorted set."""
    conf = app.redbeat_conf
    return [conf.key_prefix + f"bench/s{i:05d}" for i in range(n_schedules)] + [conf.schedule_key]


class MeasuredStock(RedBeatScheduler):
    """Stock RedBeat, noting when each entry's message was handed to the broker (after RedBeat's own
    `apply_async`: it moves the entry's meta, then publishes) and the slot that fire stands for."""

    def __init__(self, *args, aligned: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.aligned = aligned
        self.sent: list[tuple[float, str, float]] = []  # (when sent, schedule name, slot)
        self.messages = 0

    def apply_async(self, entry, producer=None, advance=True, **kwargs):
        result = super().apply_async(entry, producer=producer, advance=advance, **kwargs)
        now = time.time()
        name = entry.name.rsplit("/", 1)[-1]
        self.sent.append((now, name, nominal_slot(now, phase(int(name[1:]), self.aligned))))
        self.messages += 1
        return result
