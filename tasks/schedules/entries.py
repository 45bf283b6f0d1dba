"""RedBeat entries of schedules, as data: the hash fields and sorted-set score RedBeat 2.4 reads. Pure.

RedBeat keeps an entry as a hash at `<prefix><name>` with a `definition` (JSON: name, task, args,
kwargs, options, schedule, enabled) and a `meta` (JSON: `last_run_at`, `total_run_count`), and a sorted
set `<prefix>:schedule` of entry keys scored by due time (epoch seconds; beat loads only entries
scored 0..now, so a paused schedule scored -1 costs a tick nothing).

RedBeat serializes `crontab` (minutes, the app's time zone only) and `rrule` (seconds, but a fixed UTC
offset, and `after()` walks from `dtstart` on every call: O(slots since creation)).  Neither does
6-field cron in a named zone, so a schedule is `{"__type__": "brq-cron", "cron": …, "timezone": …}`,
which `tasks.schedules.scheduler.Entry` decodes into a `CronSchedule`.  Datetimes are written in
RedBeat's own encoding (`__type__: datetime`, fields, zone name), so RedBeat's decoder reads our meta.

The definition holds what beat needs and nothing that changes often: the worker reads the schedule's
cluster, type and options from the schedule record when the slot fires, so a change of options leaves
the entry — and its next run — untouched.
"""
from __future__ import annotations

import calendar
import json
from datetime import datetime, timedelta, timezone
from typing import Any

from ..state import keys
from .cron import Cron

TASK = "brq.scheduled_backup"
QUEUE = "brq"
CRON_TYPE = "brq-cron"
UTC = timezone.utc


def entry_name(namespace: str, name: str) -> str:
    """RedBeat's entry name; its key is `keys.BEAT_PREFIX + entry_name`."""
    return f"{namespace}/{name}"


def definition(*, namespace: str, name: str, uid: str, cron: str, timezone_name: str, paused: bool) -> str:
    """The `definition` field: the task beat sends and its arguments (the slot is added when it fires)."""
    return json.dumps({
        "name": entry_name(namespace, name), "task": TASK, "args": [],
        "kwargs": {"namespace": namespace, "name": name, "uid": uid},
        "options": {"queue": QUEUE},
        "schedule": {"__type__": CRON_TYPE, "cron": cron, "timezone": timezone_name},
        "enabled": not paused,
    }, sort_keys=True, separators=(",", ":"))


def encode_datetime(dt: datetime) -> dict[str, Any]:
    """RedBeat's datetime encoding (its decoder rebuilds the same instant)."""
    dt = dt.astimezone(UTC)
    return {"__type__": "datetime", "year": dt.year, "month": dt.month, "day": dt.day, "hour": dt.hour,
            "minute": dt.minute, "second": dt.second, "microsecond": dt.microsecond, "timezone": "UTC"}


def decode_datetime(value: dict[str, Any]) -> datetime:
    """A datetime in RedBeat's encoding (zone name, or offset in seconds) as an aware UTC datetime."""
    from zoneinfo import ZoneInfo

    fields = {k: value[k] for k in ("year", "month", "day", "hour", "minute", "second", "microsecond")}
    zone = value.get("timezone", "UTC")
    tz = timezone(timedelta(seconds=zone)) if isinstance(zone, (int, float)) else ZoneInfo(zone)
    return datetime(tzinfo=tz, **fields).astimezone(UTC)


def meta(last_run_at: datetime, total_run_count: int = 0) -> str:
    """The `meta` field: when the entry last ran (the next run is the first slot after it)."""
    return json.dumps({"last_run_at": encode_datetime(last_run_at), "total_run_count": total_run_count},
                      sort_keys=True, separators=(",", ":"))


def last_run_at(meta_text: str | bytes | None) -> datetime | None:
    if not meta_text:
        return None
    value = json.loads(meta_text).get("last_run_at")
    return decode_datetime(value) if value else None


def score(due: datetime | None) -> int:
    """RedBeat's score of an entry due at `due` (whole seconds, as its `to_timestamp`); -1: never loaded."""
    return -1 if due is None else calendar.timegm(due.utctimetuple())


def due_at(cron: Cron, last_run: datetime, *, paused: bool) -> datetime | None:
    """When beat fires the entry next: the first slot after its last run; None while paused."""
    return None if paused else cron.next_after(last_run)


def write(pipe: Any, *, namespace: str, name: str, definition_text: str | None = None, meta_text: str | None = None,
          score_value: int | None = None) -> None:
    """Queue the writes of an entry's fields and score on a Redis pipeline (inside the caller's MULTI)."""
    key = keys.beat_entry(namespace, name)
    if definition_text is not None:
        pipe.hset(key, "definition", definition_text)
    if meta_text is not None:
        pipe.hset(key, "meta", meta_text)
    if score_value is not None:
        pipe.zadd(keys.beat_schedule(), {key: score_value})


def remove(pipe: Any, *, namespace: str, name: str) -> None:
    key = keys.beat_entry(namespace, name)
    pipe.zrem(keys.beat_schedule(), key)
    pipe.delete(key)
