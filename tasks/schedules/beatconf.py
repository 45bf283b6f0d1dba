"""Beat's settings and how they configure the Celery app for RedBeat. Loaded once, passed explicitly.

- `BRQ_BEAT_MAX_INTERVAL` (5): seconds beat sleeps at most between ticks — how soon it sees a schedule
  created or changed.
- `BRQ_BEAT_LOCK_TIMEOUT` (30): seconds the leader's lock lives unless extended (every tick) — how soon a
  standby takes over from a leader that died without releasing it (SIGKILL, a lost node); at least
  3 × the max interval.  A leader stopped with SIGTERM releases it: the standby takes over at once.
- `BRQ_BEAT_LOCK_KEY` (`brq:beat::lock`): the leader lock; beats sharing a key elect one leader.

(These belong in `tasks/settings.py`'s tree as a `Beat` section of pgo.yaml; they live here until then.)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from ..state import keys

SCHEDULER = "tasks.schedules.scheduler:Scheduler"


class BeatSettingsError(ValueError):
    """A `BRQ_BEAT_*` value cannot be used; the message names the variable."""


@dataclass(frozen=True)
class BeatSettings:
    max_interval: float = 5.0
    """Longest sleep between ticks (seconds)."""
    lock_timeout: float = 30.0
    """Lifetime of the leader lock unless extended (seconds)."""
    lock_key: str = keys.beat_lock()
    """Redis key of the leader lock."""

    def __post_init__(self) -> None:
        if not 0.05 <= self.max_interval <= 300:
            raise BeatSettingsError(f"BRQ_BEAT_MAX_INTERVAL: {self.max_interval:g} is not from 0.05 to 300 seconds")
        if self.lock_timeout < 3 * self.max_interval or self.lock_timeout < 1:
            raise BeatSettingsError(f"BRQ_BEAT_LOCK_TIMEOUT: {self.lock_timeout:g} s must be at least 1 s and 3 × "
                                    f"BRQ_BEAT_MAX_INTERVAL ({3 * self.max_interval:g} s): the leader extends "
                                    "its lock once per tick")
        if not self.lock_key.startswith(keys.BEAT_PREFIX):
            raise BeatSettingsError(f"BRQ_BEAT_LOCK_KEY: must start with {keys.BEAT_PREFIX!r}")


def _number(environ: Mapping[str, str], name: str, default: float) -> float:
    text = environ.get(name)
    if text is None or text == "":
        return default
    try:
        return float(text)
    except ValueError:
        raise BeatSettingsError(f"{name}: {text!r} is not a number of seconds") from None


def beat_settings_from_environ(environ: Mapping[str, str]) -> BeatSettings:
    return BeatSettings(max_interval=_number(environ, "BRQ_BEAT_MAX_INTERVAL", 5.0),
                        lock_timeout=_number(environ, "BRQ_BEAT_LOCK_TIMEOUT", 30.0),
                        lock_key=environ.get("BRQ_BEAT_LOCK_KEY") or keys.beat_lock())


def configure(app, *, redis_url: str, beat: BeatSettings) -> None:
    """Point RedBeat at our Redis, keys and lock; no static schedule, no result clean-up entry."""
    app.conf.update(
        beat_scheduler=SCHEDULER,
        beat_schedule={},
        beat_max_loop_interval=beat.max_interval,
        result_expires=None,
        redbeat_redis_url=redis_url,
        redbeat_redis_options={"socket_timeout": 5, "socket_connect_timeout": 5, "health_check_interval": 30},
        redbeat_key_prefix=keys.BEAT_PREFIX,
        redbeat_lock_key=beat.lock_key,
        redbeat_lock_timeout=beat.lock_timeout,
    )
