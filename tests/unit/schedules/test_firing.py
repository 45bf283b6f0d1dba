"""tasks.schedules.firing: one fired slot becomes one backup, or one recorded skip — whoever fires it."""
from __future__ import annotations

import pytest

from tasks.schedules.firing import fire, task_id_for
from tasks.schedules.store import RUN, SKIPPED
from tasks.state.clusters import ClusterRecord
from tasks.state.records import RUNNING, SUCCESS, TaskRecord, new_id
from tests.unit.schedules.conftest import T0, make

SLOT = T0 + 10


@pytest.fixture
def go(tasks, clusters, schedules, sent):
    def run(s, slot=SLOT, now=None, missed=()):
        return fire(tasks=tasks, clusters=clusters, schedules=schedules, send=lambda *a: sent.append(a),
                    namespace=s.namespace, name=s.name, uid=s.uid, slot=slot, missed=missed,
                    now=slot + 0.05 if now is None else now)
    return run


def test_a_fired_slot_becomes_the_backup_a_rest_request_would_make(go, schedules, tasks, sent):
    s = schedules.create(make(backup_type="full", storage_type="local,s3", options=["--start-fast"]), now=T0)
    outcome = go(s)
    assert outcome.kind == "run" and outcome.task_id == task_id_for(s.uid, SLOT)
    rec = tasks.get(outcome.task_id)
    assert (rec.kind, rec.cluster, rec.origin, rec.state) == ("backup", "c1", "schedule:nightly", "PENDING")
    assert rec.params == {"type": "full", "repos": ["local", "s3"], "options": ["--start-fast"],
                          "effective_options": ["--start-fast", "--type=full"], "cluster_storage_type": "local,s3"}
    assert tasks.lock_holder("demo", "c1") == rec.id
    assert sent == [("brq.advance", rec.id)]
    assert [(h["outcome"], h["task_id"]) for h in schedules.history(s)] == [(RUN, rec.id)]


def test_the_same_slot_fired_twice_makes_one_backup(go, schedules, tasks, sent):
    s = schedules.create(make(), now=T0)
    first, second = go(s), go(s)
    assert (first.kind, second.kind) == ("run", "duplicate") and first.task_id == second.task_id
    assert [t.id for t in tasks.list("demo")] == [first.task_id]
    assert len(sent) == 1 and len(schedules.history(s)) == 1


def test_a_duplicate_long_after_sends_a_slot_task_nobody_started(go, schedules, tasks, sent):
    s = schedules.create(make(), now=T0)
    go(s)
    go(s, now=SLOT + 6)  # the first beat died between creating the task and sending it
    assert sent == [("brq.advance", task_id_for(s.uid, SLOT))] * 2


def test_the_same_slot_after_its_backup_finished_is_still_one_backup(go, schedules, tasks):
    s = schedules.create(make(), now=T0)
    task_id = go(s).task_id
    tasks.update(task_id, lambda r: setattr(r, "state", SUCCESS))
    assert go(s, now=SLOT + 1).kind == "duplicate"
    assert tasks.lock_holder("demo", "c1") is None  # and the lock is not taken by the refused duplicate


def test_a_slot_during_a_running_backup_is_skipped_and_recorded(go, schedules, tasks, sent):
    s = schedules.create(make(), now=T0)
    running = tasks.create(TaskRecord(id=new_id(), kind="backup", namespace="demo", cluster="c1", state=RUNNING))
    outcome = go(s)
    assert (outcome.kind, outcome.reason) == ("skipped", "busy")
    assert outcome.message == f"backup {running.id} was running"
    [entry] = schedules.history(s)
    assert (entry["outcome"], entry["reason"], entry["slot"]) == (SKIPPED, "busy", SLOT)
    assert sent == [] and tasks.lock_holder("demo", "c1") == running.id


def test_a_slot_during_a_restore_is_skipped_as_restoring(go, schedules, tasks, clusters):
    s = schedules.create(make(), now=T0)
    restore = tasks.create(TaskRecord(id=new_id(), kind="restore", namespace="demo", cluster="c1"))
    assert go(s).reason == "restoring"
    tasks.update(restore.id, lambda r: setattr(r, "state", "FAILURE"))
    clusters.update("demo", "c1", lambda c: setattr(c, "restoring", restore.id))  # failed past the point of no return
    outcome = go(s, slot=SLOT + 10)
    assert (outcome.reason, outcome.message) == ("restoring", f"restore {restore.id} of the cluster is in progress")


def test_a_cluster_not_ready_or_gone_skips_the_slot(go, schedules, clusters):
    clusters.create(ClusterRecord(name="new", namespace="demo", storage_types=["local"]))
    s = schedules.create(make("n", cluster="new"), now=T0)
    assert (go(s).reason, go(s).message) == ("cluster-not-ready", "cluster 'new' is creating")
    g = schedules.create(make("g", cluster="gone"), now=T0)
    assert go(g).reason == "cluster-not-found"


def test_a_message_that_waited_past_the_next_slot_is_skipped_as_late(go, schedules, tasks):
    s = schedules.create(make(), now=T0)
    outcome = go(s, now=SLOT + 10.5)
    assert outcome.reason == "late" and "waited 10.5 s" in outcome.message
    assert tasks.list("demo") == []
    assert go(s, now=SLOT + 9.9).kind == "run"  # late, but before the next slot: it still runs


def test_missed_slots_are_recorded_as_skips(go, schedules):
    s = schedules.create(make(), now=T0)
    go(s, slot=SLOT + 20, missed=(SLOT, SLOT + 10))
    assert [(h["slot"], h["outcome"], h["reason"]) for h in schedules.history(s)] == [
        (SLOT + 20, RUN, None), (SLOT + 10, SKIPPED, "missed"), (SLOT, SKIPPED, "missed")]


def test_a_deleted_or_replaced_schedule_fires_nothing(go, schedules, tasks):
    s = schedules.create(make(), now=T0)
    schedules.delete("demo", "nightly")
    assert go(s).kind == "gone"
    schedules.create(make(), now=T0)  # same name, new uid
    assert go(s).kind == "gone" and tasks.list("demo") == []


def test_a_paused_schedule_records_a_slot_already_sent_as_skipped(go, schedules):
    s = schedules.create(make(), now=T0)
    schedules.update("demo", "nightly", lambda x: setattr(x, "paused", True))
    assert go(s).reason == "paused"


def test_options_no_longer_accepted_skip_with_the_reason(go, schedules, tasks):
    s = schedules.create(make(options=["--repo1-path=/x"]), now=T0)
    outcome = go(s)
    assert outcome.reason == "invalid" and "--repo1-path" in outcome.message
    assert tasks.list("demo") == []


def test_derived_task_ids_differ_per_slot_and_schedule_and_are_job_name_safe():
    a, b, c = task_id_for("u1", SLOT), task_id_for("u1", SLOT + 10), task_id_for("u2", SLOT)
    assert len({a, b, c}) == 3 and a == task_id_for("u1", SLOT + 0.4)
    assert a == a.lower() and len(a) == 36


def test_a_grouped_message_fires_each_slot_and_one_bad_slot_does_not_stop_the_others(redis_client, clusters,
                                                                                      schedules, tasks):
    from tasks import runtime as runtime_module
    from tasks.runtime import Runtime
    from tasks.schedules.firing import scheduled_backups

    sent = []

    class Recording(Runtime):
        def send(self, name, task_id, *, countdown=None):
            sent.append((name, task_id))

    a = schedules.create(make("a"), now=T0)
    b = schedules.create(make("b", cluster="gone"), now=T0)
    rt = Recording(settings=None, redis=redis_client, tasks=tasks, clusters=clusters)
    previous = runtime_module._runtime
    runtime_module.set_runtime(rt)
    try:
        now = __import__("time").time()
        slot = float(int(now))
        scheduled_backups([{"namespace": "demo", "name": "a", "uid": a.uid, "slot": slot, "missed": []},
                           {"namespace": "demo", "name": "b"},  # malformed: no uid
                           {"namespace": "demo", "name": "b", "uid": b.uid, "slot": slot, "missed": []}])
    finally:
        runtime_module._runtime = previous
    assert sent == [("brq.advance", task_id_for(a.uid, slot))]
    assert [h["reason"] for h in schedules.history(b)] == ["cluster-not-found"]
