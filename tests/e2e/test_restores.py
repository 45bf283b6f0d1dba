"""Restore and point-in-time recovery through the REST API, checked row by row in the restored primary."""
from __future__ import annotations

import time

import pytest

from tests.e2e.conftest import backup, create_cluster


def rows(stack, name: str) -> str:
    return stack.psql("demo", name, "select coalesce(string_agg(v, ',' order by v), '') from t")


def archive_now(stack, name: str) -> None:
    """Switch WAL and wait until the segment is archived, so every row so far is in the repos."""
    segment = stack.psql("demo", name, "select pg_walfile_name(pg_switch_wal())")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        last = stack.psql("demo", name, "select coalesce(last_archived_wal, '') from pg_stat_archiver")
        if last >= segment:
            return
        time.sleep(0.2)
    raise AssertionError(f"{segment} was not archived")


def restore(stack, name: str, body: dict) -> dict:
    status, answer = stack.call("POST", f"/api/v1/namespaces/demo/clusters/{name}/restores", body)
    assert status == 202, answer
    return stack.wait_task(answer["task_id"], timeout=300)


@pytest.mark.parametrize("storage_type", ["local", "s3"])
def test_restores_to_latest_a_time_and_a_backup_set_give_exactly_the_rows_of_that_moment(stack, storage_type):
    name = f"pitr-{storage_type}"
    create_cluster(stack, name, storage_type)
    stack.psql("demo", name, "create table t(v text); insert into t values ('A')")
    full = backup(stack, name, storage_type, "full")
    assert full["state"] == "SUCCESS", full
    time.sleep(1.1)  # a time target must lie in a later second than the backup's stop (pgBackRest's rule)
    stack.psql("demo", name, "insert into t values ('B')")
    target = stack.psql("demo", name, "select to_char(clock_timestamp() at time zone 'utc', "
                                      "'YYYY-MM-DD HH24:MI:SS.US') || '+00'")
    time.sleep(1.2)
    stack.psql("demo", name, "insert into t values ('C')")
    assert backup(stack, name, storage_type, "incr")["state"] == "SUCCESS"
    stack.psql("demo", name, "insert into t values ('D')")
    archive_now(stack, name)

    latest = restore(stack, name, {"storage_type": storage_type})
    assert latest["state"] == "SUCCESS", latest
    assert rows(stack, name) == "A,B,C,D"
    assert latest["result"]["old_pvc"] == name and latest["result"]["new_pvc"].startswith(f"{name}-pgdata-")
    assert [s["step"] for s in latest["steps"]] == [
        "preflight", "pause-schedules", "autofail-off", "new-pvc", "delete-primary", "repo-host-config",
        "restore-job", "new-primary", "wait-ready", "autofail-restore", "resume-schedules"]

    to_time = restore(stack, name, {"storage_type": storage_type, "target": {"type": "time", "value": target}})
    assert to_time["state"] == "SUCCESS", to_time
    assert rows(stack, name) == "A,B"

    label = full["result"]["repos"][storage_type]["label"]
    to_set = restore(stack, name, {"storage_type": storage_type, "set": label, "target": {"type": "immediate"},
                                   "backup_after": True})
    assert to_set["state"] == "SUCCESS", to_set
    assert rows(stack, name) == "A"
    followup = stack.wait_task(to_set["result"]["backup_task"])
    assert (followup["state"], followup["params"]["type"]) == ("SUCCESS", "full")
    # the old volumes are kept
    pvcs = stack.kubesim.kubectl("-n", "demo", "get", "pvc", "-l", f"brq.io/cluster={name}", "-o", "name",
                                 check=True).stdout.split()
    assert len([p for p in pvcs if "pgdata" in p or p.endswith(f"/{name}")]) == 4


def test_a_restore_is_refused_before_anything_changes_when_its_target_is_outside_the_window(stack):
    name = "refused"
    create_cluster(stack, name, "local")
    stack.psql("demo", name, "create table t(v text); insert into t values ('A')")
    status, body = stack.call("POST", f"/api/v1/namespaces/demo/clusters/{name}/restores",
                              {"storage_type": "local"})
    assert status == 422 and "backup" in body["error"]["message"], body  # no backup yet
    assert backup(stack, name, "local", "full")["state"] == "SUCCESS"
    pods_before = stack.kubesim.kubectl("-n", "demo", "get", "pods", "-l", f"brq.io/cluster={name}", "-o",
                                        "name", check=True).stdout
    pvcs_before = pvcs(stack, name)
    for request, field in [
        ({"storage_type": "local", "target": {"type": "time", "value": "2001-01-01 00:00:00+00"}}, "target.value"),
        ({"storage_type": "local", "set": "20010101-000000F"}, "set"),
    ]:
        status, body = stack.call("POST", f"/api/v1/namespaces/demo/clusters/{name}/restores", request)
        assert status == 422, body
        assert body["error"]["field"] == field, body
    status, body = stack.call("POST", f"/api/v1/namespaces/demo/clusters/{name}/restores",
                              {"storage_type": "local,s3"})
    assert status == 400 and body["error"]["field"] == "storage_type"
    assert stack.kubesim.kubectl("-n", "demo", "get", "pods", "-l", f"brq.io/cluster={name}", "-o", "name",
                                 check=True).stdout == pods_before
    assert pvcs(stack, name) == pvcs_before  # no PVC was created
    stack.kubesim.kubectl("-n", "demo", "get", "deploy", name, check=True)  # the primary is still there
    assert rows(stack, name) == "A"
    status, preview = stack.call("GET", f"/api/v1/namespaces/demo/clusters/{name}/restores/preview"
                                        "?storage_type=local&target_type=time&target=2001-01-01%2000:00:00%2B00")
    assert status == 200 and preview["ok"] is False and preview["reasons"][0]["field"] == "target.value"


def pvcs(stack, name: str) -> list[str]:
    return sorted(stack.kubesim.kubectl("-n", "demo", "get", "pvc", "-l", f"brq.io/cluster={name}", "-o", "name",
                                        check=True).stdout.split())


def test_a_restore_whose_job_fails_keeps_the_old_volume_and_a_second_restore_finishes(stack):
    name = "failing"
    create_cluster(stack, name, "local")
    stack.psql("demo", name, "create table t(v text); insert into t values ('A')")
    assert backup(stack, name, "local", "full")["state"] == "SUCCESS"
    failed = restore(stack, name, {"storage_type": "local", "options": ["--db-include=nosuchdb"]})
    assert failed["state"] == "FAILURE", failed
    assert failed["error"]["code"] == 80 and "nosuchdb" in failed["error"]["message"], failed["error"]
    assert "POST the restore again" in failed["error"]["action"]
    assert f"persistentvolumeclaim/{name}" in pvcs(stack, name)  # the old data is untouched
    again = restore(stack, name, {"storage_type": "local"})
    assert again["state"] == "SUCCESS", again
    delete = next(s for s in again["steps"] if s["step"] == "delete-primary")
    assert delete["skipped"] is True  # the first restore had already removed it
    assert rows(stack, name) == "A"


def test_a_worker_killed_during_a_restore_leaves_one_job_and_the_restore_finishes(stack):
    import signal

    name = "killed"
    create_cluster(stack, name, "local")
    stack.psql("demo", name, "create table t(v text); insert into t values ('A')")
    assert backup(stack, name, "local", "full")["state"] == "SUCCESS"
    status, answer = stack.call("POST", f"/api/v1/namespaces/demo/clusters/{name}/restores", {"storage_type": "local"})
    assert status == 202
    task_id = answer["task_id"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        _, task = stack.call("GET", f"/api/v1/tasks/{task_id}")
        if task["phase"] in ("delete-primary", "repo-host-config", "restore-job"):
            break
        time.sleep(0.05)
    stack.stop_process("worker0", sig=signal.SIGKILL)
    stack.start_worker("worker0")
    done = stack.wait_task(task_id, timeout=300)
    assert done["state"] == "SUCCESS", done
    jobs = stack.kubesim.kubectl("-n", "demo", "get", "jobs", "-l", f"brq.io/task={task_id}", "-o", "name",
                                 check=True).stdout.split()
    assert jobs == [f"job.batch/restore-{task_id}"]
    assert rows(stack, name) == "A"


def test_a_scheduled_backup_due_during_a_restore_is_skipped_and_recorded(stack):
    from tests.e2e.test_schedules import SCHEDULES, settle, show, ts
    name = "restore-sched"
    create_cluster(stack, name, "local")
    stack.psql("demo", name, "create table t(v text); insert into t values ('A')")
    assert backup(stack, name, "local", "full")["state"] == "SUCCESS"
    # a small restore in kubesim takes about a second: the worker holds the restore's Job step 4 s (failpoint
    # sleep), so several slots fall while it runs; wait=0: the schedule exists from the preflight on
    stack.stop_process("worker0")
    stack.start_worker("worker0", env={"BRQ_FAILPOINTS": "restore.job-noted=sleep:4"})
    try:
        status, answer = stack.call("POST", f"/api/v1/namespaces/demo/clusters/{name}/restores",
                                    {"storage_type": "local", "wait": 0})
        assert status == 202, answer
        status, body = stack.call("POST", SCHEDULES, {"name": "during-restore", "cluster": name,
                                                      "schedule": "* * * * * *", "backup_type": "incr"})
        assert status == 201, body
        try:
            done = stack.wait_task(answer["task_id"], timeout=300)
            restore_end = ts(done["finished"])
            shown = show(stack, "during-restore")
        finally:
            stack.call("DELETE", f"{SCHEDULES}/during-restore")
            settle(stack, name)
    finally:
        stack.stop_process("worker0")
        stack.start_worker("worker0")
    assert done["state"] == "SUCCESS", done
    assert rows(stack, name) == "A"
    during = [r for r in shown["runs"] if ts(r["slot"]) < restore_end - 1]
    assert during, (done["created"], done["started"], done["finished"], body.get("created"), shown["runs"])
    # every slot while the restore ran was skipped, with the restore named; none started a backup
    assert all(r["outcome"] == "skipped" and r["reason"] in ("restoring", "busy") for r in during), during
    assert any(r["reason"] == "restoring" and answer["task_id"] in r["message"] for r in during), during
    assert shown["counts"]["skipped_by_reason"].get("restoring", 0) >= 1
    _, tasks = stack.call("GET", f"/api/v1/namespaces/demo/tasks?cluster={name}&kind=backup&limit=1000")
    scheduled = [t for t in tasks["items"] if t["origin"] == "schedule:during-restore"]
    assert all(ts(t["created"]) >= restore_end - 1 for t in scheduled), (scheduled, restore_end)
