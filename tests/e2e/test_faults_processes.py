"""Process deaths (issue 7, faults): a worker SIGKILLed at every step of a backup and of a restore, the watcher
SIGKILLed while Jobs finish, a worker SIGTERMed mid-step in a rolling update.  Every test checks the end state:
exactly one Job per step, the task's final state, every completion recorded once, the cluster's lock released.

The worker dies at exact points through failpoints (tasks/failpoints.py, `BRQ_FAILPOINTS`): the worker SIGKILLs
its own process group there, so the step's message stays unacknowledged as after a real crash.  Its message is
then lost until the broker's visibility timeout (an hour); the watcher re-sends a task nobody works on after
`BRQ_WATCHER_STALE_SECONDS`, shortened here to 3 s (15 s by default) so each case takes seconds, not minutes.

Clusters are created once for the module (in parallel) and shared: each case waits for its task to end and
for a follow-up backup, so the next case finds the cluster free.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest
import redis

from tasks.state.clusters import ClusterRecord, ClusterStore
from tasks.state.records import RESTORE_PHASES

NS = "demo"
FAST_WATCHER = {"BRQ_WATCHER_STALE_SECONDS": "3", "BRQ_WATCHER_SWEEP_SECONDS": "1"}
BACKUPS = "fp-backup"      # local,s3: two steps (two Jobs) per backup
RESTORES = "fp-restore"    # local
SPARE = ("fp-w1", "fp-w2")  # local: more Jobs for the watcher test; fp-w2 also for the rolling update
ALL = (BACKUPS, RESTORES, *SPARE)
BOTH_REPOS = {"type": "full", "storage_type": "local,s3"}


# -- helpers ------------------------------------------------------------------------------------------

def restart_watcher(stack, env: dict[str, str] | None, sig: int = signal.SIGTERM) -> None:
    stack.stop_process("watcher", sig=sig)
    stack.start_watcher(env=env)


def fresh_worker(stack, name: str = "worker0", env: dict[str, str] | None = None,
                 config: list[str] | None = None) -> subprocess.Popen:
    stack.stop_process(name)
    return stack.start_worker(name, env=env, config=config)


def submit(stack, path: str, body: dict) -> str:
    status, answer = stack.call("POST", f"/api/v1/namespaces/{NS}/{path}", body)
    assert status == 202, answer
    return answer["task_id"]


def jobs_of(stack, task_id: str) -> list[str]:
    out = stack.kubesim.kubectl("-n", NS, "get", "jobs", "-l", f"brq.io/task={task_id}", "-o", "name", check=True)
    return sorted(name.split("/", 1)[1] for name in out.stdout.split())


def recorded(stack, job: str) -> int:
    """How many times the watcher recorded the end of that Job: it logs one line per recording, across restarts."""
    with open(os.path.join(stack.directory, "watcher.log"), encoding="utf-8", errors="replace") as f:
        return sum(1 for line in f if f": job {job} ended " in line)


def resent(stack, task_id: str) -> int:
    """How many times the watcher re-sent the task as stale (tasks/watcher.py `sweep`)."""
    with open(os.path.join(stack.directory, "watcher.log"), encoding="utf-8", errors="replace") as f:
        return sum(1 for line in f if f"task {task_id} (" in line and "re-sending it" in line)


def crash_at(stack, point: str, start) -> str:
    """Start a worker armed with `point`, start the task, wait until the worker kills itself there, then start a
    clean worker (a restarted pod).  Returns the task id."""
    proc = fresh_worker(stack, env={"BRQ_FAILPOINTS": point})
    task_id = start()
    try:
        proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"the worker did not reach {point}:\n{stack.tail('worker0')}") from None
    assert proc.returncode == -signal.SIGKILL, (proc.returncode, stack.tail("worker0"))
    assert f"failpoint {point}: killing the worker" in stack.tail("worker0", 400)
    fresh_worker(stack)
    return task_id


def next_backup_is_accepted(stack, cluster: str) -> None:
    """The lock was released: another backup is accepted (202, not 409) and runs."""
    task_id = submit(stack, f"clusters/{cluster}/backups", {"type": "incr", "storage_type": "local"})
    done = stack.wait_task(task_id, timeout=120)
    assert done["state"] == "SUCCESS", done


def cluster_record(stack, cluster: str) -> ClusterRecord:
    client = redis.Redis.from_url(stack.redis.url)
    try:
        return ClusterStore(client).get(NS, cluster)
    finally:
        client.close()


def rows(stack, cluster: str) -> str:
    return stack.psql(NS, cluster, "select coalesce(string_agg(v, ',' order by v), '') from t")


@pytest.fixture(scope="module")
def faults(stack):
    """The session stack with a quick watcher and this module's clusters, each with a table and a full backup."""
    restart_watcher(stack, FAST_WATCHER)
    try:
        creating = [submit(stack, "clusters", {"name": name, "pgbackrest_storage_type": "local,s3" if name == BACKUPS
                                               else "local"}) for name in ALL]
        for task_id in creating:
            assert stack.wait_task(task_id, timeout=240)["state"] == "SUCCESS"
        backups = []
        for name in ALL:
            stack.psql(NS, name, "create table t(v text); insert into t values ('A')")
            body = BOTH_REPOS if name == BACKUPS else {"type": "full"}
            backups.append(submit(stack, f"clusters/{name}/backups", body))
        for task_id in backups:
            assert stack.wait_task(task_id, timeout=240)["state"] == "SUCCESS"
        yield stack
    finally:
        fresh_worker(stack)
        restart_watcher(stack, None)


# -- 1. a worker SIGKILLed at each step of a backup -----------------------------------------------------

BACKUP_POINTS = ["backup.steps-planned", "backup.job-created", "backup.job-noted", "backup.finishing"]


@pytest.mark.parametrize("point", BACKUP_POINTS)
def test_a_worker_killed_at_a_backup_step_leaves_one_job_per_step_and_the_backup_succeeds(faults, point):
    stack = faults
    task_id = crash_at(stack, point, lambda: submit(stack, f"clusters/{BACKUPS}/backups", BOTH_REPOS))
    done = stack.wait_task(task_id, timeout=120)
    assert done["state"] == "SUCCESS", done
    expected = [f"backup-{task_id}-local", f"backup-{task_id}-s3"]
    assert jobs_of(stack, task_id) == expected
    assert sorted(done["jobs"]) == expected
    assert [(s["repo"], s["state"]) for s in done["steps"]] == [("local", "SUCCESS"), ("s3", "SUCCESS")]
    assert all(done["result"]["repos"][repo]["label"] for repo in ("local", "s3")), done["result"]
    assert [recorded(stack, job) for job in expected] == [1, 1]
    next_backup_is_accepted(stack, BACKUPS)


# -- 1b. a worker SIGKILLed at each phase of a restore that creates or deletes something -------------------

RESTORE_POINTS = ["restore.pvc-created", "restore.primary-deleting", "restore.job-created", "restore.job-noted",
                  "restore.primary-created", "restore.backup-chained"]


@pytest.mark.parametrize("point", RESTORE_POINTS)
def test_a_worker_killed_at_a_restore_phase_leaves_one_of_each_object_and_the_restore_succeeds(faults, point):
    stack = faults
    body = {"storage_type": "local", "backup_after": point == "restore.backup-chained"}
    task_id = crash_at(stack, point, lambda: submit(stack, f"clusters/{RESTORES}/restores", body))
    done = stack.wait_task(task_id, timeout=300)
    assert done["state"] == "SUCCESS", done
    # every phase passed once, in order
    assert [s["step"] for s in done["steps"]] == list(RESTORE_PHASES[:-1])
    assert all(s["state"] == "SUCCESS" for s in done["steps"]), done["steps"]
    assert jobs_of(stack, task_id) == [f"restore-{task_id}"] and done["jobs"] == [f"restore-{task_id}"]
    assert recorded(stack, f"restore-{task_id}") == 1
    # one new volume, mounted by the one new primary; the old one kept
    new_pvc = done["result"]["new_pvc"]
    assert new_pvc == f"{RESTORES}-pgdata-{task_id[:8]}"
    stack.kubesim.kubectl("-n", NS, "get", "pvc", new_pvc, done["result"]["old_pvc"], check=True)
    dep = json.loads(stack.kubesim.kubectl("-n", NS, "get", "deploy", RESTORES, "-o", "json", check=True).stdout)
    claims = [v["persistentVolumeClaim"]["claimName"] for v in dep["spec"]["template"]["spec"]["volumes"]
              if "persistentVolumeClaim" in v]
    assert new_pvc in claims, claims
    pods = stack.kubesim.kubectl("-n", NS, "get", "pods", "-l", f"brq.io/cluster={RESTORES},brq.io/role=primary",
                                 "-o", "name", check=True).stdout.split()
    assert len(pods) == 1, pods
    assert rows(stack, RESTORES) == "A"
    cluster = cluster_record(stack, RESTORES)  # the restore is noted once; the cluster is no longer restoring
    assert [r["task"] for r in cluster.restores].count(task_id) == 1
    assert (cluster.data_pvc, cluster.restoring) == (new_pvc, None)
    if body["backup_after"]:
        follower = stack.wait_task(done["result"]["backup_task"], timeout=120)
        assert follower["state"] == "SUCCESS", follower
        assert jobs_of(stack, follower["id"]) == [f"backup-{follower['id']}-local"]
    next_backup_is_accepted(stack, RESTORES)


# -- 2. the watcher SIGKILLed while Jobs finish ----------------------------------------------------------

def test_a_watcher_killed_while_jobs_finish_records_every_completion_once_when_it_is_back(faults):
    stack = faults
    fresh_worker(stack)
    first = submit(stack, f"clusters/{BACKUPS}/backups", {**BOTH_REPOS, "type": "incr"})  # local, then s3
    deadline = time.monotonic() + 120
    while True:  # the local Job's end is recorded by this watcher; the s3 Job is created
        _, task = stack.call("GET", f"/api/v1/tasks/{first}")
        if task["steps"] and task["steps"][0]["state"] == "SUCCESS" and len(task["jobs"]) == 2:
            break
        assert time.monotonic() < deadline and task["state"] in ("PENDING", "RUNNING"), task
        time.sleep(0.1)
    stack.stop_process("watcher", sig=signal.SIGKILL)
    try:
        others = [submit(stack, f"clusters/{name}/backups", {"type": "incr"}) for name in (RESTORES, *SPARE)]
        pending = [f"backup-{first}-s3"] + [f"backup-{t}-local" for t in others]
        for job in pending:  # they all end with no watcher
            stack.kubesim.kubectl("-n", NS, "wait", "--for=create", f"job/{job}", "--timeout=60s", check=True)
        for job in pending:
            stack.kubesim.kubectl("-n", NS, "wait", "--for=condition=complete", f"job/{job}", "--timeout=120s",
                                  check=True)
        for task_id in [first, *others]:
            _, task = stack.call("GET", f"/api/v1/tasks/{task_id}")
            assert task["state"] == "RUNNING" and task["steps"][-1]["state"] == "RUNNING", task
    finally:
        stack.start_watcher(env=FAST_WATCHER)  # it waits for the dead one's lease to expire, then re-lists
    for task_id in [first, *others]:
        done = stack.wait_task(task_id, timeout=120)
        assert done["state"] == "SUCCESS", done
        assert all(s["state"] == "SUCCESS" and s.get("label") for s in done["steps"]), done["steps"]
    assert [recorded(stack, job) for job in [f"backup-{first}-local", *pending]] == [1] * (1 + len(pending))
    for name in ALL:
        _, cluster = stack.call("GET", f"/api/v1/namespaces/{NS}/clusters/{name}")
        assert cluster["last_backup"]["local"]["task"] in [first, *others]
    next_backup_is_accepted(stack, BACKUPS)


# -- 3. a worker SIGTERMed mid-step (a rolling update) ----------------------------------------------------

ROLLING = {
    # k8s/worker.yaml: SIGTERM to the container's first process, remapped to Celery's soft shutdown
    "soft-shutdown": ({"REMAP_SIGTERM": "SIGQUIT"}, ["worker_soft_shutdown_timeout=8"], "main"),
    # Celery's default: SIGTERM is a warm shutdown (running steps finish, then it exits)
    "warm-shutdown": ({}, None, "main"),
    # SIGTERM to the whole process group (an init that forwards it to every process): the pool child dies mid-step
    "group": ({}, None, "group"),
}


@pytest.mark.parametrize("how", list(ROLLING))
def test_a_worker_stopped_mid_step_in_a_rolling_update_hands_the_task_on_and_it_succeeds(faults, how):
    stack = faults
    env, config, target = ROLLING[how]
    name = f"rolling-{how}"
    stack.stop_process("worker0")  # the task must go to the worker that will be stopped
    # a long step: held 5 s before its Job exists, with nothing else (no Job, no watcher event) touching the task
    old = stack.start_worker(name, env={**env, "BRQ_FAILPOINTS": "backup.steps-planned=sleep:5"}, config=config)
    task_id = submit(stack, f"clusters/{SPARE[1]}/backups", {"type": "incr"})
    deadline = time.monotonic() + 60
    while "failpoint backup.steps-planned: holding" not in stack.tail(name, 400):  # it works on the step
        assert time.monotonic() < deadline and old.poll() is None, stack.tail(name)
        time.sleep(0.05)
    stack.start_worker("worker0")  # the new pod is up
    os.kill(old.pid, signal.SIGTERM) if target == "main" else os.killpg(old.pid, signal.SIGTERM)
    try:
        old.wait(timeout=60)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"{name} did not stop:\n{stack.tail(name)}") from None
    if target == "main":  # it finished the step it held, then exited
        assert "succeeded in" in stack.tail(name, 400), stack.tail(name)
    else:  # its pool child died mid-step: the message went back to the queue (reject_on_worker_lost)
        assert "WorkerLostError" in stack.tail(name, 400), stack.tail(name)
    done = stack.wait_task(task_id, timeout=120)
    assert done["state"] == "SUCCESS", done
    assert jobs_of(stack, task_id) == [f"backup-{task_id}-local"] and done["jobs"] == [f"backup-{task_id}-local"]
    # the stopping worker marked the task alive while it held the step: the watcher never re-sent it beside its message
    assert resent(stack, task_id) == 0
    assert recorded(stack, f"backup-{task_id}-local") == 1
    assert done["result"]["repos"]["local"]["label"]
    next_backup_is_accepted(stack, SPARE[1])


# -- 2b. both at once: the worker dies after creating a Job, which ends while no watcher runs ---------------

@pytest.mark.parametrize("point", ["backup.job-created", "restore.job-created"])
def test_a_job_whose_worker_died_before_noting_it_and_that_ended_with_no_watcher_is_recorded(faults, point):
    stack = faults
    stack.stop_process("watcher")
    try:
        if point.startswith("backup"):
            task_id = crash_at(stack, point, lambda: submit(stack, f"clusters/{SPARE[0]}/backups", {"type": "incr"}))
            job = f"backup-{task_id}-local"
        else:
            task_id = crash_at(stack, point, lambda: submit(stack, f"clusters/{RESTORES}/restores",
                                                            {"storage_type": "local"}))
            job = f"restore-{task_id}"
        stack.kubesim.kubectl("-n", NS, "wait", "--for=condition=complete", f"job/{job}", "--timeout=120s",
                              check=True)
        _, task = stack.call("GET", f"/api/v1/tasks/{task_id}")
        # nobody noted the Job, nobody saw it end
        assert task["jobs"] == [] and task["state"] in ("PENDING", "RUNNING"), task
    finally:
        stack.start_watcher(env=FAST_WATCHER)
    done = stack.wait_task(task_id, timeout=120)
    assert done["state"] == "SUCCESS", done
    assert jobs_of(stack, task_id) == [job] and done["jobs"] == [job]
    assert recorded(stack, job) == 1
    next_backup_is_accepted(stack, SPARE[0] if point.startswith("backup") else RESTORES)


# -- 6. a task queued behind nobody is re-sent with back-off, not every period ---------------------------------

def test_a_task_whose_message_waits_in_the_queue_is_re_sent_ever_more_rarely_and_runs_once(faults):
    """No worker runs for a while (a long backlog looks the same to the watcher): the queued task is stale, and
    each re-send waits twice as long as the one before (3, 6, 12 … s here); the duplicates cost nothing once a
    worker is back: one Job, one recorded end."""
    stack = faults
    stack.stop_process("worker0")
    try:
        task_id = submit(stack, f"clusters/{SPARE[0]}/backups", {"type": "incr"})
        # stale after 3 s, then gaps of 3, 6, 12 s (+ up to 1 s each, the sweep's period): re-sent at 3–4, 6–8,
        # 12–15, 24–28 s — at most 4 times in 25 s; every 3–4 s without the back-off (7 or 8 times)
        time.sleep(25)
        count = resent(stack, task_id)
        assert 2 <= count <= 4, (count, stack.tail("watcher", 40))
    finally:
        fresh_worker(stack)
    done = stack.wait_task(task_id, timeout=120)
    assert done["state"] == "SUCCESS", done
    (job,) = jobs_of(stack, task_id)
    assert recorded(stack, job) == 1
