"""Beat's scheduler on a real Redis: RedBeat reads our entries, a tick fires what is due with its slot,
and a change or deletion made while beat fires is not undone by it."""
from __future__ import annotations

import base64
import json
import time
from datetime import datetime, timedelta, timezone

import pytest
from redbeat.decoder import RedBeatJSONDecoder

from tasks.celery_app import make_celery
from tasks.schedules import entries
from tasks.schedules.beatconf import BeatSettings, BeatSettingsError, beat_settings_from_environ, configure
from tasks.schedules.cron import parse
from tasks.schedules.scheduler import CronSchedule, Entry, Scheduler, missed_slots
from tasks.schedules.store import Schedule
from tasks.state import keys

UTC = timezone.utc


@pytest.fixture
def app(redis_server, redis_client):
    celery = make_celery(redis_server.url)
    configure(celery, redis_url=redis_server.url, beat=BeatSettings(max_interval=1, lock_timeout=5))
    celery.conf.redbeat_lock_key = None  # no leader election in these tests: the scheduler is driven by hand
    yield celery
    conn = getattr(celery, "redbeat_redis", None)
    if conn is not None:
        conn.close()
    celery.close()


@pytest.fixture
def scheduler(app):
    s = Scheduler(app=app, max_interval=1)
    yield s
    s.close()


def sent_messages(redis_client) -> list[dict]:
    out = []
    for raw in reversed(redis_client.lrange("brq", 0, -1)):  # kombu LPUSHes: oldest last
        msg = json.loads(raw)
        args, kwargs, _ = json.loads(base64.b64decode(msg["body"]))
        if msg["headers"]["task"] == "brq.scheduled_backups":  # many slots in one message
            out += [{"task": "brq.scheduled_backup", "kwargs": item, "grouped": True} for item in kwargs["slots"]]
        else:
            out.append({"task": msg["headers"]["task"], "kwargs": kwargs})
    return out


def test_redbeats_own_decoder_reads_the_meta_we_write():
    moment = datetime(2030, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    decoded = json.loads(entries.meta(moment, 3), cls=RedBeatJSONDecoder)
    assert decoded["last_run_at"] == moment and decoded["total_run_count"] == 3


def test_our_entry_decodes_the_definition_into_a_cron_schedule(app):
    definition = entries.definition(namespace="demo", name="n", uid="u", cron="0 1 * * *",
                                    timezone_name="Europe/Paris", paused=False)
    entry = Entry.from_raw(app, definition, entries.meta(datetime(2030, 1, 1, tzinfo=UTC)))
    assert isinstance(entry.schedule, CronSchedule)
    assert (entry.schedule.cron.expression, entry.schedule.cron.timezone) == ("0 1 * * *", "Europe/Paris")
    assert entry.task == "brq.scheduled_backup" and entry.kwargs == {"namespace": "demo", "name": "n", "uid": "u"}
    assert entry.last_run_at == datetime(2030, 1, 1, tzinfo=UTC) and entry.enabled


def test_a_tick_fires_a_due_entry_once_with_its_slot_and_the_slots_missed(scheduler, schedules, redis_client):
    now = datetime.now(UTC)
    created = now.timestamp() - 3.5
    s = schedules.create(Schedule(name="n", namespace="demo", cluster="c1", cron="* * * * * *"), now=created)
    scheduler.tick()
    [msg] = sent_messages(redis_client)
    assert msg["task"] == "brq.scheduled_backup"
    kwargs = msg["kwargs"]
    assert (kwargs["namespace"], kwargs["name"], kwargs["uid"]) == ("demo", "n", s.uid)
    assert kwargs["slot"] == float(int(kwargs["slot"])) and now.timestamp() - 1 <= kwargs["slot"] <= time.time()
    assert kwargs["missed"] == [float(t) for t in range(int(created) + 1, int(kwargs["slot"]))]
    assert len(kwargs["missed"]) in (2, 3)
    assert scheduler.last_tick.fired == 1
    # the run is recorded at its slot: the entry is due again at the next second, not before
    assert schedules.last_run_at(s).timestamp() == kwargs["slot"]
    assert redis_client.zscore(keys.beat_schedule(), keys.beat_entry("demo", "n")) == kwargs["slot"] + 1
    scheduler.tick()  # within the same second nothing more is due; in the next one, that slot and no other
    later = sent_messages(redis_client)[1:]
    assert len(later) <= 1 and all((m["kwargs"]["slot"], m["kwargs"]["missed"]) == (kwargs["slot"] + 1, [])
                                   for m in later), later


def test_a_tick_sleeps_until_the_next_slot_and_loads_nothing_paused(scheduler, schedules, redis_client):
    schedules.create(Schedule(name="p", namespace="demo", cluster="c1", cron="* * * * * *", paused=True))
    schedules.create(Schedule(name="later", namespace="demo", cluster="c1", cron="0 0 1 1 *"))
    sleep = scheduler.tick()
    assert sent_messages(redis_client) == [] and scheduler.last_tick.loaded == 0
    assert sleep == 1  # max_interval: nothing due within it


def test_an_entry_deleted_while_beat_fires_it_stays_deleted(app, schedules, redis_client):
    s = schedules.create(Schedule(name="n", namespace="demo", cluster="c1", cron="* * * * * *"),
                         now=time.time() - 2)
    entry = Entry.from_key(keys.beat_entry("demo", "n"), app=app)
    schedules.delete("demo", "n")
    next(entry)
    assert not redis_client.exists(keys.beat_entry("demo", "n"))
    assert redis_client.zscore(keys.beat_schedule(), keys.beat_entry("demo", "n")) is None
    assert s.uid


def test_a_cron_changed_while_beat_fires_is_scored_from_the_new_cron(app, schedules, redis_client):
    schedules.create(Schedule(name="n", namespace="demo", cluster="c1", cron="* * * * * *"), now=time.time() - 2)
    entry = Entry.from_key(keys.beat_entry("demo", "n"), app=app)
    schedules.update("demo", "n", lambda s: setattr(s, "cron", "0 0 1 1 *"))
    next(entry)
    score = redis_client.zscore(keys.beat_schedule(), keys.beat_entry("demo", "n"))
    assert score == parse("0 0 1 1 *").next_after(datetime.now(UTC)).timestamp()


def test_a_cron_schedule_is_due_once_a_slot_passed_since_the_last_run():
    clock = [datetime(2030, 1, 1, 0, 0, 12, tzinfo=UTC)]
    sched = CronSchedule("*/10 * * * * *", nowfun=lambda: clock[0])
    assert sched.is_due(datetime(2030, 1, 1, 0, 0, 9, tzinfo=UTC)) == (True, 8.0)
    assert sched.is_due(datetime(2030, 1, 1, 0, 0, 10, 5000, tzinfo=UTC)) == (False, 8.0)
    assert sched.remaining_estimate(datetime(2030, 1, 1, 0, 0, 11, tzinfo=UTC)) == timedelta(seconds=8)
    assert sched.is_due(datetime(1, 1, 2, tzinfo=UTC))[0] is True  # never ran: due, without a walk from year 1


def test_missed_slots_are_the_most_recent_ones_before_the_slot():
    cron = parse("* * * * * *")
    t0 = datetime(2030, 1, 1, tzinfo=UTC)
    assert missed_slots(cron, t0, t0 + timedelta(seconds=3)) == [t0 + timedelta(seconds=1), t0 + timedelta(seconds=2)]
    many = missed_slots(cron, t0, t0 + timedelta(seconds=100), limit=3)
    assert many == [t0 + timedelta(seconds=s) for s in (97, 98, 99)]
    assert missed_slots(cron, None, t0) == []


def test_beat_settings_come_from_the_environment_and_are_checked():
    assert beat_settings_from_environ({"BRQ_BEAT_MAX_INTERVAL": "0.5", "BRQ_BEAT_LOCK_TIMEOUT": "3"}) == \
        BeatSettings(max_interval=0.5, lock_timeout=3.0)
    with pytest.raises(BeatSettingsError, match="BRQ_BEAT_LOCK_TIMEOUT: 2 s must be at least"):
        beat_settings_from_environ({"BRQ_BEAT_MAX_INTERVAL": "1", "BRQ_BEAT_LOCK_TIMEOUT": "2"})
    with pytest.raises(BeatSettingsError, match="BRQ_BEAT_MAX_INTERVAL: 'soon' is not a number"):
        beat_settings_from_environ({"BRQ_BEAT_MAX_INTERVAL": "soon"})
    with pytest.raises(BeatSettingsError, match="must start with 'brq:beat:'"):
        BeatSettings(lock_key="lock")


class Meddling(Scheduler):
    """Changes the schedule store between beat's load and its recording of the run, as the API might."""

    meddle = None

    def send_task(self, *args, **kwargs):
        result = super().send_task(*args, **kwargs)
        if self.meddle:
            self.meddle()
        return result


def test_a_tick_leaves_an_entry_deleted_meanwhile_deleted_and_scores_a_changed_one_anew(app, schedules, redis_client):
    for name in ("gone", "changed"):
        schedules.create(Schedule(name=name, namespace="demo", cluster="c1", cron="* * * * * *"),
                         now=time.time() - 2)
    scheduler = Meddling(app=app, max_interval=1)
    scheduler.meddle = lambda: (schedules.delete("demo", "gone"),
                                schedules.update("demo", "changed", lambda s: setattr(s, "cron", "0 0 1 1 *")))
    try:
        scheduler.tick()
    finally:
        scheduler.close()
    assert {m["kwargs"]["name"] for m in sent_messages(redis_client)} == {"gone", "changed"}
    assert not redis_client.exists(keys.beat_entry("demo", "gone"))
    assert redis_client.zscore(keys.beat_schedule(), keys.beat_entry("demo", "changed")) == \
        parse("0 0 1 1 *").next_after(datetime.now(UTC)).timestamp()


def test_many_entries_due_in_one_tick_go_in_grouped_messages_each_with_its_slot(scheduler, schedules, redis_client):
    from tasks.schedules.scheduler import GROUP
    for i in range(GROUP + 3):
        schedules.create(Schedule(name=f"s{i:03d}", namespace="demo", cluster="c1", cron="* * * * * *"),
                         now=time.time() - 1.5)
    scheduler.tick()
    raw = redis_client.lrange("brq", 0, -1)
    assert len(raw) == 2  # GROUP slots, then 3
    sent = sent_messages(redis_client)
    assert sorted(m["kwargs"]["name"] for m in sent) == [f"s{i:03d}" for i in range(GROUP + 3)]
    assert len({m["kwargs"]["slot"] for m in sent}) == 1 and all(m.get("grouped") for m in sent)
    assert scheduler.last_tick.fired == GROUP + 3
    first_slot = sent[0]["kwargs"]["slot"]
    scheduler.tick()  # recorded: not due again this second (in the next one, only the next slot)
    again = sent_messages(redis_client)[len(sent):]
    assert all(m["kwargs"]["slot"] == first_slot + 1 for m in again), again


def test_beat_outlives_a_redis_restart_and_takes_its_lock_again_unless_another_beat_has_it(tmp_path):
    """A tick while Redis is down fires nothing and does not end beat; once Redis is back (here without persistence:
    the lock is gone) the leader takes its lock again and fires; if another beat took the lock, it stands by."""
    import redis
    from redbeat.schedulers import LUA_EXTEND_TO_SCRIPT, get_redis

    from tasks.schedules.scheduler import REDIS_RETRY_SECONDS
    from tasks.schedules.store import ScheduleStore
    from tests.support.servers import RedisServer

    server = RedisServer(str(tmp_path / "redis")).start()
    celery = make_celery(server.url)
    configure(celery, redis_url=server.url, beat=BeatSettings(max_interval=1, lock_timeout=5))
    client = redis.Redis.from_url(server.url)
    scheduler = Scheduler(app=celery, max_interval=1)
    try:
        beat_redis = get_redis(celery)
        lock = beat_redis.lock(scheduler.lock_key, timeout=scheduler.lock_timeout, sleep=0.1)
        lock.lua_extend = beat_redis.register_script(LUA_EXTEND_TO_SCRIPT)  # as RedBeat's beat_init does
        assert lock.acquire(blocking=False)
        scheduler.lock = lock

        def due(name: str) -> None:
            ScheduleStore(client).create(Schedule(name=name, namespace="demo", cluster="c1", cron="* * * * * *"),
                                         now=time.time() - 2)

        server.stop()
        assert scheduler.tick() == REDIS_RETRY_SECONDS  # no exception: beat carries on
        server.start()
        due("first")
        scheduler.tick()
        assert client.get(scheduler.lock_key) == lock.local.token  # taken again
        assert [m["kwargs"]["name"] for m in sent_messages(client)] == ["first"]

        client.delete("brq")
        client.set(scheduler.lock_key, b"another-beat", px=5000)
        due("second")
        assert scheduler.tick() == scheduler.max_interval
        assert sent_messages(client) == [] and client.get(scheduler.lock_key) == b"another-beat"
    finally:
        client.delete(scheduler.lock_key)
        scheduler.lock = None
        scheduler.close()
        client.close()
        server.stop()
