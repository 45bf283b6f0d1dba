"""Nothing is lost when a process dies: completions that happen while no watcher runs are recorded once it is
back; a worker killed and restarted leaves no task hanging."""
from __future__ import annotations

import signal

from tests.e2e.conftest import backup, create_cluster


def test_a_job_that_completes_while_no_watcher_runs_is_recorded_when_it_is_back(stack):
    create_cluster(stack, "nowatch", "local")
    stack.stop_process("watcher")
    try:
        status, body = stack.call("POST", "/api/v1/namespaces/demo/clusters/nowatch/backups", {"type": "full"})
        assert status == 202
        task_id = body["task_id"]
        job = f"backup-{task_id}-local"
        # the worker created the Job; it completes with nobody watching
        stack.kubesim.kubectl("-n", "demo", "wait", "--for=create", f"job/{job}", "--timeout=60s", check=True)
        stack.kubesim.kubectl("-n", "demo", "wait", "--for=condition=complete", f"job/{job}", "--timeout=120s",
                              check=True)
        _, task = stack.call("GET", f"/api/v1/tasks/{task_id}")
        assert task["state"] == "RUNNING" and task["steps"][0]["state"] == "RUNNING"
    finally:
        stack.start_watcher()
    task = stack.wait_task(task_id, timeout=60)
    assert task["state"] == "SUCCESS", task
    assert task["result"]["repos"]["local"]["label"]
    assert "reconciling 1 unfinished task(s)" in stack.tail("watcher", 200)


def test_a_worker_killed_and_restarted_leaves_no_task_hanging(stack):
    create_cluster(stack, "workerdies", "local")
    stack.stop_process("worker0", sig=signal.SIGKILL)
    try:
        status, body = stack.call("POST", "/api/v1/namespaces/demo/clusters/workerdies/backups", {"type": "full"})
        assert status == 202
        _, task = stack.call("GET", f"/api/v1/tasks/{body['task_id']}")
        assert task["state"] == "PENDING"  # queued in Redis, nobody to run it
    finally:
        stack.start_worker("worker0")
    assert stack.wait_task(body["task_id"], timeout=120)["state"] == "SUCCESS"
    assert backup(stack, "workerdies", "local", "incr")["state"] == "SUCCESS"
