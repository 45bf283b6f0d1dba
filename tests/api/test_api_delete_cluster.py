"""DELETE …/clusters/{name}: a task that holds the cluster's lock; the schedules go at once; refusals change nothing."""
from __future__ import annotations

import pytest

from tasks.schedules.store import Schedule, ScheduleStore
from tasks.state.clusters import READY, ClusterRecord
from tasks.state.records import RUNNING, TaskRecord, new_id

CLUSTERS = "/api/v1/namespaces/demo/clusters"


@pytest.fixture
def c1(rt):
    rt.clusters.create(ClusterRecord(name="c1", namespace="demo", storage_types=["local"], status=READY))
    ScheduleStore(rt.redis).create(Schedule(name="nightly", namespace="demo", cluster="c1", cron="0 1 * * *"))


def test_delete_starts_a_locking_task_marks_the_cluster_and_removes_its_schedules(as_, rt, c1, redis_client):
    resp = as_("admin").delete(f"{CLUSTERS}/c1?keep_data=true")
    assert resp.status_code == 202, resp.get_json()
    task = resp.get_json()["task"]
    assert (task["kind"], task["params"]) == ("delete-cluster", {"keep_data": True, "keep_backups": True})
    assert resp.headers["Location"] == f"/api/v1/tasks/{task['id']}"
    assert rt.tasks.lock_holder("demo", "c1") == task["id"]
    assert rt.clusters.get("demo", "c1").status == "deleting"
    assert as_("admin").get("/api/v1/namespaces/demo/schedules/nightly").status_code == 404
    assert not [k for k in redis_client.keys("brq:beat:*") if b"nightly" in k]
    # nothing new starts on a cluster being deleted
    backup = as_("admin").post(f"{CLUSTERS}/c1/backups", json={"type": "full"})
    assert backup.status_code == 409
    sched = as_("admin").post("/api/v1/namespaces/demo/schedules",
                              json={"name": "again", "cluster": "c1", "schedule": "0 2 * * *", "backup_type": "full"})
    assert sched.status_code == 409 and "being deleted" in sched.get_json()["error"]["message"]


def test_refusals_answer_their_code_and_change_nothing(as_, rt, c1):
    assert as_("admin").delete(f"{CLUSTERS}/nope").status_code == 404
    assert as_("operator").delete(f"{CLUSTERS}/c1").status_code == 403  # no DeleteCluster role
    assert as_("other").delete(f"{CLUSTERS}/c1").status_code == 403  # not its namespace
    bad = as_("admin").delete(f"{CLUSTERS}/c1?keep_data=maybe")
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "keep_data"
    running = rt.tasks.create(TaskRecord(id=new_id(), kind="backup", namespace="demo", cluster="c1", state=RUNNING))
    busy = as_("admin").delete(f"{CLUSTERS}/c1")
    assert busy.status_code == 409 and running.id in busy.get_json()["error"]["message"]
    assert rt.clusters.get("demo", "c1").status == READY
    assert ScheduleStore(rt.redis).find("demo", "nightly") is not None
