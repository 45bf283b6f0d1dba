"""Infrastructure faults end to end, on a stack of its own (a Redis restart or a faulty Kubernetes API must not
leak into the other e2e tests): every check is on the end state.

* Redis (AOF, as k8s/redis.yaml runs it) restarted while a backup Job runs: records, the cluster lock and
  schedules survive, the backup finishes, worker/watcher/beat/API reconnect by themselves; while Redis is down
  the API answers 503 with the reason at once and nothing is created.
* kubesim's faults (5xx answers, latency with jitter, cut watches, 410 on resume, exec streams without their
  status frame): backups, the catalogue and a restore still end right; the faults fired; retries reach /metrics.
* A restore Job whose pod fails, and one past its activeDeadlineSeconds: the task fails once with the reason,
  nothing re-runs it, the lock is released (a third restore succeeds).
"""
from __future__ import annotations

import json
import re
import shutil
import signal
import ssl
import time
import urllib.error
import urllib.request

import pytest
import redis

from tasks.state import keys
from tests.e2e.conftest import backup, create_cluster
from tests.support.servers import RedisServer
from tests.support.stack import Stack

NS = "demo"
NAME = "faulty"
SCHEDULES = f"/api/v1/namespaces/{NS}/schedules"
BACKUPS = f"/api/v1/namespaces/{NS}/clusters/{NAME}/backups"
RESTORES = f"/api/v1/namespaces/{NS}/clusters/{NAME}/restores"
TERMINAL = ("SUCCESS", "FAILURE", "REVOKED")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    s = Stack(str(tmp_path_factory.mktemp("faults")), namespaces=(NS,)).start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def cluster(stack):
    """One cluster for the whole file (creating one is the slow part), with a row and a full backup; every test
    leaves it usable."""
    create_cluster(stack, NAME, "local")
    stack.psql(NS, NAME, "create table t(v text); insert into t values ('A')")
    assert backup(stack, NAME, "local", "full")["state"] == "SUCCESS"
    return NAME


# -- helpers -------------------------------------------------------------------------------------------------

def faults(stack: Stack, method: str = "GET", body: dict | None = None) -> dict:
    """kubesim's fault switches and counters (GET), replaced (PUT) or changed (PATCH)."""
    k = stack.kubesim
    req = urllib.request.Request(k.server + "/kubesim/faults", method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Authorization": f"Bearer {k.token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, context=ssl.create_default_context(cafile=k.ca_file), timeout=30) as resp:
        return json.loads(resp.read())


def call(stack: Stack, method: str, path: str, body: dict | None = None, *, timeout: float) -> tuple[int, dict]:
    """`stack.call` with a short client timeout: an API that hangs instead of answering fails the test."""
    req = urllib.request.Request(stack.api_url + path, data=json.dumps(body).encode() if body is not None else None,
                                 method=method, headers={"Authorization": f"Bearer {stack.tokens['admin']}",
                                                         "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def metrics(stack: Stack) -> str:
    req = urllib.request.Request(f"{stack.api_url}/metrics", headers={"Authorization": f"Bearer {stack.tokens['admin']}"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return resp.read().decode()


def kubectl_names(stack: Stack, *args: str) -> list[str]:
    return sorted(stack.kubesim.kubectl("-n", NS, "get", *args, "-o", "name", check=True).stdout.split())


def wait_until(what: str, predicate, timeout: float = 60.0, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(every)


def job_outcome(stack: Stack, job: str) -> str:
    """The type of the Job's true Complete/Failed condition ("" while it runs)."""
    out = stack.kubesim.kubectl("-n", NS, "get", "job", job, "-o", "json", check=True).stdout
    conds = (json.loads(out).get("status") or {}).get("conditions") or []
    return next((c["type"] for c in conds if c["type"] in ("Complete", "Failed") and c["status"] == "True"), "")


def pod_phase(stack: Stack, job: str) -> str:
    return stack.kubesim.kubectl("-n", NS, "get", "pods", "-l", f"job-name={job}", "-o",
                                 "jsonpath={.items[*].status.phase}").stdout.strip()


def task_ids(stack: Stack) -> set[str]:
    status, body = stack.call("GET", f"/api/v1/namespaces/{NS}/tasks?cluster={NAME}&limit=1000")
    assert status == 200, body
    return {t["id"] for t in body["items"]}


def rows(stack: Stack) -> str:
    return stack.psql(NS, NAME, "select coalesce(string_agg(v, ',' order by v), '') from t")


def restore(stack: Stack, body: dict, timeout: float = 300) -> dict:
    status, answer = stack.call("POST", RESTORES, body)
    assert status == 202, answer
    return stack.wait_task(answer["task_id"], timeout=timeout)


def catalogue(stack: Stack) -> dict:
    status, body = stack.call("GET", BACKUPS + "?wait=30")
    if status == 202:
        task = stack.wait_task(body["task_id"], timeout=120)
        assert task["state"] == "SUCCESS", task
        return task["result"]
    assert status == 200, body
    return body


def retries_in_metrics(text: str) -> dict[tuple[str, str], float]:
    out = {}
    for m in re.finditer(r'^brq_retries_total\{process="([^"]*)",reason="([^"]*)"\} (\S+)$', text, re.M):
        out[(m.group(1), m.group(2))] = float(m.group(3))
    return out


# -- 1. Redis restarted mid-operation ------------------------------------------------------------------------

def saved_by_redis(stack: Stack, tmp_path) -> dict:
    """What Redis will load when it starts again: a copy of its directory read by a second redis-server."""
    copy = tmp_path / "redis-copy"
    shutil.copytree(stack.redis.directory, copy)
    probe = RedisServer(str(copy), appendonly=True).start()
    try:
        with redis.Redis(port=probe.port, decode_responses=True) as r:
            return {"lock": r.get(keys.cluster_lock(NS, NAME)), "tasks": r.keys(keys.task("*")),
                    "schedule": r.get(keys.schedule(NS, "nightly"))}
    finally:
        probe.stop()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_redis_restarted_during_a_backup_loses_nothing_and_every_process_reconnects(stack, cluster, tmp_path, sig):
    """SIGTERM is a pod's end (rollout, eviction, drain: Redis writes its AOF and exits); SIGKILL a crash or an
    OOM kill (AOF `appendfsync everysec`, as k8s/redis.yaml: what was written is in the kernel's cache already)."""
    pids = {name: proc.pid for name, proc in stack.procs.items()}
    status, body = stack.call("POST", SCHEDULES, {"name": "nightly", "cluster": NAME, "schedule": "0 3 * * *",
                                                  "backup_type": "full"})
    assert status == 201, body
    _, schedule_before = stack.call("GET", f"{SCHEDULES}/nightly")
    # the job-runner's exec waits 5 s in kubesim: the backup Job is surely still running when Redis stops
    faults(stack, "PATCH", {"latency_ms": 5000, "match_paths": ["/exec"]})
    try:
        status, body = stack.call("POST", BACKUPS, {"type": "full"})
        assert status == 202, body
        first = body["task_id"]
        job = f"backup-{first}-local"
        wait_until(f"the pod of {job} running", lambda: pod_phase(stack, job) == "Running")
        before = task_ids(stack)
        jobs_before = kubectl_names(stack, "jobs")
        watcher_log = len(stack.tail("watcher", 100000))

        stack.stop_redis(sig)
        try:
            assert job_outcome(stack, job) == "", "the Job ended before Redis stopped: the test proves nothing"
            # the API answers at once, with the reason, and starts nothing
            status, err = call(stack, "POST", BACKUPS, {"type": "incr"}, timeout=20)
            assert status == 503 and "Redis is unreachable" in err["error"]["message"], (status, err)
            status, err = call(stack, "GET", f"/api/v1/tasks/{first}", timeout=20)
            assert status == 503 and "Redis is unreachable" in err["error"]["message"], (status, err)
            # Redis stays down until the watcher has missed it and the Job has ended meanwhile
            wait_until("the watcher to notice", lambda: "cannot renew the lease" in stack.tail("watcher", 100000)[
                watcher_log:], timeout=30)
            wait_until(f"{job} to complete", lambda: job_outcome(stack, job) == "Complete", timeout=120)
            saved = saved_by_redis(stack, tmp_path)
        finally:
            faults(stack, "PATCH", {"latency_ms": 0, "match_paths": []})
            stack.start_redis()
    finally:
        faults(stack, "PATCH", {"latency_ms": 0, "match_paths": []})

    # what Redis reloaded: the cluster's lock (held by the running backup), every record, the schedule
    assert saved["lock"] == first, saved
    assert {keys.task(t) for t in before} <= set(saved["tasks"]), saved
    assert saved["schedule"] and json.loads(saved["schedule"])["cron"] == "0 3 * * *", saved
    # the completion the watcher saw while Redis was down is recorded once Redis is back
    done = stack.wait_task(first, timeout=180)
    assert done["state"] == "SUCCESS" and done["result"]["repos"]["local"]["label"], done
    assert stack.call("GET", f"{SCHEDULES}/nightly") == (200, schedule_before)
    # nothing was created by the requests made while Redis was down
    assert task_ids(stack) == before
    assert kubectl_names(stack, "jobs") == jobs_before

    # worker, watcher and API carry on without a restart: a new backup goes through all of them
    assert backup(stack, NAME, "local", "incr")["state"] == "SUCCESS"
    # beat too: a schedule made now fires
    status, body = stack.call("POST", SCHEDULES, {"name": "after-restart", "cluster": NAME,
                                                  "schedule": "*/2 * * * * *", "backup_type": "incr"})
    assert status == 201, body
    try:
        def fired():
            runs = stack.call("GET", f"{SCHEDULES}/after-restart")[1]["runs"]
            return [r for r in runs if r["outcome"] == "run"]
        run = wait_until("a run of the schedule made after the restart", fired, timeout=60)[0]
    finally:
        assert stack.call("DELETE", f"{SCHEDULES}/after-restart")[0] == 204
        assert stack.call("DELETE", f"{SCHEDULES}/nightly")[0] == 204
    assert stack.wait_task(run["task_id"], timeout=120)["state"] == "SUCCESS"
    wait_until("the cluster idle", lambda: all(
        t["state"] in TERMINAL for t in stack.call("GET", f"/api/v1/namespaces/{NS}/tasks?cluster={NAME}")[1]["items"]),
        timeout=120)
    for name, proc in stack.procs.items():
        assert proc.poll() is None and proc.pid == pids[name], f"{name} exited or was restarted:\n{stack.tail(name)}"


# -- 2. a faulty Kubernetes API ------------------------------------------------------------------------------

def test_backups_the_catalogue_and_a_restore_end_right_while_the_kubernetes_api_misbehaves(stack, cluster):
    retries_before = retries_in_metrics(metrics(stack))
    faults(stack, "PUT", {"counters": {}})
    try:
        # every exec during the backup loses its status frame: the progress samples' and the backup's own
        faults(stack, "PUT", {"error_rate": 0.05, "latency_ms": 5, "latency_jitter_ms": 25, "watch_drop_after": 3,
                              "watch_expire_next": 2, "exec_drop_status": 1000})
        full = backup(stack, NAME, "local", "full")
        dropped = faults(stack)["counters"].get("exec_drop_status", 0)
        faults(stack, "PATCH", {"exec_drop_status": 0})
        assert full["state"] == "SUCCESS", full
        label = full["result"]["repos"]["local"]["label"]
        assert label and label.endswith("F"), full

        faults(stack, "PATCH", {"exec_drop_status": 1})  # the info's exec
        shown = catalogue(stack)
        assert label in [b["label"] for b in shown["repos"]["local"]["backups"]], shown

        incr = backup(stack, NAME, "local", "incr")
        assert incr["state"] == "SUCCESS" and incr["result"]["repos"]["local"]["label"].endswith("I"), incr

        faults(stack, "PATCH", {"exec_drop_status": 1})  # the restore preflight's exec
        restored = restore(stack, {"storage_type": "local"})
        assert restored["state"] == "SUCCESS", restored

        # 5 % of calls fail: until some failed in the worker's own calls (a few rounds at most), read the catalogue
        def worker_retried() -> bool:
            grew = retries_in_metrics(metrics(stack))
            return any(p == "worker" and v > retries_before.get((p, r), 0) for (p, r), v in grew.items())
        for _ in range(60):
            if worker_retried() and faults(stack)["counters"].get("errors"):
                break
            shown = catalogue(stack)
            assert label in [b["label"] for b in shown["repos"]["local"]["backups"]], shown
        counters = faults(stack)["counters"]
    finally:
        faults(stack, "PUT", {})
    assert rows(stack) == "A"
    # every fault fired
    assert counters.get("errors", 0) > 0 and counters.get("delayed", 0) > 0, counters
    assert counters.get("watch_dropped", 0) > 0 and counters.get("watch_expire_next") == 2, counters
    assert counters.get("exec_drop_status") == dropped + 2 and dropped >= 1, counters
    # the backup's own exec was among them: the job-runner took the outcome from pgBackRest's log
    runner_log = stack.kubesim.kubectl("-n", NS, "logs", f"job/backup-{full['id']}-local", check=True).stdout
    assert "after the command logged its end: exit code 0" in runner_log, runner_log
    # and the retries they caused are counted where Prometheus reads them, from the worker and the watcher
    assert worker_retried()
    retries = wait_until("the watcher's retries in /metrics", lambda: (lambda r: r if r.get(
        ("watcher", "kubernetes watch"), 0) > retries_before.get(("watcher", "kubernetes watch"), 0) else None)(
        retries_in_metrics(metrics(stack))), timeout=30)
    assert all(v >= retries_before.get(k, 0) for k, v in retries.items()), (retries_before, retries)


# -- 3. Jobs that fail or run past their deadline ------------------------------------------------------------

def restore_jobs(stack: Stack, task_id: str) -> list[str]:
    return kubectl_names(stack, "jobs", "-l", f"brq.io/task={task_id}")


def test_a_restore_whose_pod_fails_or_runs_past_its_deadline_fails_once_with_the_reason(stack, cluster):
    faults(stack, "PATCH", {"job_pod_fail_next": 1})
    try:
        failed = restore(stack, {"storage_type": "local"})
    finally:
        counters = faults(stack, "PATCH", {"job_pod_fail_next": 0})["counters"]
    assert counters.get("job_pod_fail_next") == 1, counters
    assert failed["state"] == "FAILURE", failed
    error = failed["error"]
    assert (error["name"], error["code"]) == ("PodFailed", 1), error
    assert f"pod restore-{failed['id']}-" in error["message"] and "exit code 1" in error["message"], error
    assert "POST the restore again" in error["action"], error
    assert restore_jobs(stack, failed["id"]) == [f"job.batch/restore-{failed['id']}"]

    # a Job past its activeDeadlineSeconds: its pod can never be scheduled (no node has the label)
    stack.stop_process("worker0")
    stack.start_worker("worker0", env={"BRQ_JOB_DEADLINE_SECONDS": "3"})
    try:
        late = restore(stack, {"storage_type": "local", "node_label": "brq.io/no-such-node=true"})
    finally:
        stack.stop_process("worker0")
        stack.start_worker("worker0")
    assert late["state"] == "FAILURE", late
    assert late["error"]["name"] == "DeadlineExceeded" and "deadline" in late["error"]["message"], late["error"]
    assert restore_jobs(stack, late["id"]) == [f"job.batch/restore-{late['id']}"]

    # the lock was released each time, and nothing was left half-done: a third restore finishes
    again = restore(stack, {"storage_type": "local"})
    assert again["state"] == "SUCCESS", again
    assert rows(stack) == "A"
    # and nothing retried the failed ones behind our back
    for task in (failed, late):
        assert stack.call("GET", f"/api/v1/tasks/{task['id']}")[1]["state"] == "FAILURE"
        assert restore_jobs(stack, task["id"]) == [f"job.batch/restore-{task['id']}"]
