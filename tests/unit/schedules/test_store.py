"""tasks.schedules.store: definitions with their RedBeat entries, changes beat must see, and slot history."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from tasks.schedules import entries
from tasks.schedules.store import RUN, SKIPPED, ScheduleExists, UnknownSchedule
from tasks.state import keys
from tests.unit.schedules.conftest import T0, make

UTC = timezone.utc


def score(redis_client, name: str = "nightly") -> float | None:
    return redis_client.zscore(keys.beat_schedule(), keys.beat_entry("demo", name))


def test_a_schedule_and_its_redbeat_entry_are_written_together(schedules, redis_client):
    s = schedules.create(make(), now=T0 + 3)
    assert schedules.get("demo", "nightly") == s
    entry = redis_client.hgetall(keys.beat_entry("demo", "nightly"))
    definition = json.loads(entry[b"definition"])
    assert definition == {"name": "demo/nightly", "task": "brq.scheduled_backup", "args": [],
                          "kwargs": {"namespace": "demo", "name": "nightly", "uid": s.uid},
                          "options": {"queue": "brq"}, "enabled": True,
                          "schedule": {"__type__": "brq-cron", "cron": "*/10 * * * * *", "timezone": "UTC"}}
    assert entries.last_run_at(entry[b"meta"]) == datetime.fromtimestamp(T0 + 3, UTC)
    assert score(redis_client) == T0 + 10  # the first slot after creation
    assert schedules.next_run(s) == datetime.fromtimestamp(T0 + 10, UTC)


def test_a_second_schedule_of_the_same_name_is_refused_and_the_first_kept(schedules):
    first = schedules.create(make())
    with pytest.raises(ScheduleExists):
        schedules.create(make(cron="0 1 * * *"))
    assert schedules.get("demo", "nightly").uid == first.uid


def test_schedules_list_by_namespace_and_by_cluster(schedules):
    schedules.create(make("b"))
    schedules.create(make("a", cluster="c2"))
    assert [s.name for s in schedules.list("demo")] == ["a", "b"]
    assert [s.name for s in schedules.list("demo", cluster="c2")] == ["a"]
    assert schedules.list("other") == []


def test_changing_only_options_keeps_the_entry_and_its_next_run(schedules, redis_client):
    schedules.create(make(), now=T0 + 3)
    before = redis_client.hgetall(keys.beat_entry("demo", "nightly"))
    s = schedules.update("demo", "nightly", lambda s: (setattr(s, "options", ["--start-fast"]),
                                                       setattr(s, "backup_type", "incr")), now=T0 + 5)
    assert (s.options, s.backup_type, s.updated) == (["--start-fast"], "incr", T0 + 5)
    assert redis_client.hgetall(keys.beat_entry("demo", "nightly")) == before
    assert score(redis_client) == T0 + 10


def test_changing_the_cron_counts_from_now(schedules, redis_client):
    schedules.create(make(), now=T0 + 3)
    schedules.update("demo", "nightly", lambda s: setattr(s, "cron", "*/7 * * * * *"), now=T0 + 15)
    assert score(redis_client) == T0 + 21
    definition = json.loads(redis_client.hget(keys.beat_entry("demo", "nightly"), "definition"))
    assert definition["schedule"]["cron"] == "*/7 * * * * *"


def test_pausing_takes_the_entry_out_of_beats_reach_and_resuming_counts_from_now(schedules, redis_client):
    schedules.create(make(), now=T0 + 3)
    s = schedules.update("demo", "nightly", lambda s: setattr(s, "paused", True), now=T0 + 4)
    assert score(redis_client) == -1 and schedules.next_run(s) is None
    assert json.loads(redis_client.hget(keys.beat_entry("demo", "nightly"), "definition"))["enabled"] is False
    schedules.update("demo", "nightly", lambda s: setattr(s, "paused", False), now=T0 + 42)
    assert score(redis_client) == T0 + 50  # no catching up on the slots slept through


def test_an_unchanged_update_writes_nothing(schedules):
    s = schedules.create(make())
    assert schedules.update("demo", "nightly", lambda s: None) == s


def test_unknown_schedules_are_reported(schedules):
    with pytest.raises(UnknownSchedule):
        schedules.update("demo", "nope", lambda s: None)
    assert schedules.delete("demo", "nope") is False


def test_deleting_removes_definition_entry_and_history(schedules, redis_client):
    s = schedules.create(make())
    schedules.record(s, T0 + 10, RUN, task_id="t1")
    assert schedules.delete("demo", "nightly") is True
    assert schedules.find("demo", "nightly") is None
    assert score(redis_client) is None
    assert not redis_client.exists(keys.beat_entry("demo", "nightly"), keys.schedule_runs(s.uid),
                                   keys.schedule_slots(s.uid), keys.schedule_counts(s.uid))
    assert schedules.list("demo") == [] and schedules.list("demo", cluster="c1") == []


def test_deleting_a_cluster_deletes_its_schedules_only(schedules):
    schedules.create(make("a"))
    schedules.create(make("b"))
    schedules.create(make("other", cluster="c2"))
    assert schedules.delete_for_cluster("demo", "c1") == ["a", "b"]
    assert [s.name for s in schedules.list("demo")] == ["other"]


def test_a_slot_is_recorded_once_whoever_records_it(schedules, redis_client):
    s = schedules.create(make(storage_type="local,s3"))
    assert schedules.record(s, T0 + 10, SKIPPED, reason="busy", message="backup t0 was running") is True
    assert schedules.record(s, T0 + 10, RUN, task_id="t1") is False
    schedules.record(s, T0 + 20, RUN, task_id="t2")
    history = schedules.history(s)
    assert [(h["slot"], h["outcome"], h["task_id"], h["reason"]) for h in history] == [
        (T0 + 20, RUN, "t2", None), (T0 + 10, SKIPPED, None, "busy")]
    assert schedules.counts([s]) == [{"runs": 1, "skipped": 1, "skipped:busy": 1}]
    stats = redis_client.hgetall(keys.backup_stats("demo", "c1"))
    assert stats == {b"local:skips": b"1", b"s3:skips": b"1"}
    assert schedules.latest([s]) == [history[0]]


def test_the_history_keeps_the_newest_slots(redis_client):
    from tasks.schedules.store import ScheduleStore
    store = ScheduleStore(redis_client, history_keep=3)
    s = store.create(make())
    for i in range(5):
        store.record(s, T0 + 10 * i, RUN, task_id=f"t{i}")
    assert [h["task_id"] for h in store.history(s)] == ["t4", "t3", "t2"]
    assert redis_client.hlen(keys.schedule_runs(s.uid)) == 3
