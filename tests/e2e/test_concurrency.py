"""Concurrency: two API processes and two Celery workers against one Redis and one kubesim, one watcher.

Many backups and infos are submitted through both APIs at once; afterwards every task is checked to have been
handled once: one Job per step (no second Job for a step, no second pod for a Job), each step's completion
recorded once (one watcher record, one finish), each task terminal once (one done signal, counted once in the
stats written by the finishing transaction), and the one-backup-per-cluster lock never let two backups of a
cluster overlap: concurrent POSTs for one cluster through both APIs get exactly one 202, the rest 409.

Cheap clusters (tests/support/cheap_jobs.py): ready cluster records written into Redis, backup Jobs that sleep
instead of running the job-runner (one value changed in the production worker), and per cluster a stand-in
repo host (a Deployment of a pod named like the real one, labelled like it, whose `pgbackrest` container holds
a pgbackrest.conf with an empty repo), so `info` is the real exec of the real `pgbackrest info` (it answers
"missing stanza path", which the catalogue parser reads).  The watcher, the task records, the locks, the
workers' steps and the API are the production code.  No timing is asserted; about 20-30 s here.
"""
from __future__ import annotations

import json
import os
import random
import sys
import threading
import time
import urllib.request
from collections import Counter, defaultdict

import pytest
import redis

from tasks import steps
from tasks.state import keys
from tasks.state.records import TaskRecord
from tests.support import cheap_jobs
from tests.support.servers import free_port
from tests.support.stack import Stack, api_call

NS = "conc"
CLUSTERS = [f"k{i}" for i in range(12)]
STORAGE = {c: ("local", "s3") if i % 2 else ("local",) for i, c in enumerate(CLUSTERS)}  # a local,s3 backup: 2 Jobs
STORM = 8            # concurrent POSTs for one cluster, half through each API
ROUNDS = 4           # backups that must have been accepted per cluster in the mixed storm
INFOS_PER_THREAD = 6
THREADS_PER_API = 4
JOB_SECONDS = 0.5    # what each backup Job sleeps
TERMINAL = ("SUCCESS", "FAILURE", "REVOKED")

REPO_HOST = """
apiVersion: v1
kind: ConfigMap
metadata: {{name: {name}-pgbackrest-config, namespace: {ns}}}
data:
  repo.conf: |
    [global]
    repo1-path=/tmp/repo1
    log-level-file=off
    [db]
    pg1-path=/tmp/pgdata
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}-backrest-shared-repo
  namespace: {ns}
  labels: {{brq.io/cluster: {name}, brq.io/role: repo-host}}
spec:
  replicas: 1
  selector: {{matchLabels: {{brq.io/cluster: {name}, brq.io/role: repo-host}}}}
  template:
    metadata: {{labels: {{brq.io/cluster: {name}, brq.io/role: repo-host}}}}
    spec:
      containers:
      - name: pgbackrest
        image: pgbackrest
        command: [sleep, infinity]
        volumeMounts: [{{name: conf, mountPath: /etc/pgbackrest, readOnly: true}}]
      volumes:
      - name: conf
        configMap: {{name: {name}-pgbackrest-config, items: [{{key: repo.conf, path: pgbackrest.conf}}]}}
"""


class Client:
    def __init__(self, url: str, token: str):
        self.url, self.token = url, token

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        return api_call(self.url, self.token, method, path, body)

    def backup(self, cluster: str) -> tuple[int, dict]:
        return self.call("POST", f"/api/v1/namespaces/{NS}/clusters/{cluster}/backups",
                         {"type": "full", "storage_type": ",".join(STORAGE[cluster])})

    def info(self, cluster: str) -> tuple[int, dict]:
        return self.call("GET", f"/api/v1/namespaces/{NS}/clusters/{cluster}/backups?wait=0")


def _wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.fixture(scope="module")
def conc(tmp_path_factory):
    stack = Stack(str(tmp_path_factory.mktemp("conc")), namespaces=(NS,), workers=0, beats=0).start()
    try:
        for name in ("worker-a", "worker-b"):
            cheap_jobs.start_worker(stack, name, JOB_SECONDS)
        argv = list(stack.procs["api"].args)           # the same gunicorn command line, another port
        port = free_port()
        argv[argv.index("-b") + 1] = f"127.0.0.1:{port}"
        stack._spawn("api2", argv)
        second = f"http://127.0.0.1:{port}"
        _wait_http(second)
        cheap_jobs.ensure_job_runner_account(stack, NS)
        r = redis.Redis.from_url(stack.redis.url)
        for types in set(STORAGE.values()):
            cheap_jobs.write_ready_clusters(r, NS, [c for c in CLUSTERS if STORAGE[c] == types], types)
        stack.kubesim.kubectl("apply", "-f", "-", check=True,
                              input="---".join(REPO_HOST.format(name=c, ns=NS) for c in CLUSTERS))
        for c in CLUSTERS:
            stack.kubesim.kubectl("-n", NS, "rollout", "status", f"deployment/{c}-backrest-shared-repo",
                                  "--timeout=90s", check=True, timeout=100)
        apis = [Client(stack.api_url, stack.tokens["admin"]), Client(second, stack.tokens["admin"])]
        yield stack, apis, r
    finally:
        stack.stop()


def _wait_terminal(stack: Stack, r, ids, timeout: float = 120.0) -> dict[str, TaskRecord]:
    """Poll the records (never BLPOP: each task's done signal is counted afterwards)."""
    ids = list(ids)
    deadline = time.monotonic() + timeout
    while True:
        recs = {i: TaskRecord.from_json(raw) for i, raw in zip(ids, r.mget([keys.task(i) for i in ids]))
                if raw is not None}
        waiting = [i for i in ids if i not in recs or recs[i].state not in TERMINAL]
        if not waiting:
            return recs
        if time.monotonic() > deadline:
            rec = recs.get(waiting[0])
            raise AssertionError(f"{len(waiting)} task(s) not terminal after {timeout:g}s, e.g. {waiting[0]}: "
                                 f"{rec and rec.as_dict()}\n--- worker-a ---\n{stack.tail('worker-a', 30)}\n"
                                 f"--- watcher ---\n{stack.tail('watcher', 30)}")
        time.sleep(0.2)


def _storm_one_cluster(apis: list[Client], cluster: str) -> list[tuple[int, dict]]:
    barrier = threading.Barrier(STORM)
    answers: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def post(i: int) -> None:
        barrier.wait()
        answer = apis[i % 2].backup(cluster)
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(STORM)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


def test_concurrent_posts_for_one_cluster_get_one_202(conc):
    stack, apis, r = conc
    results: dict[str, list[tuple[int, dict]]] = {}

    def storm(cluster: str) -> None:
        results[cluster] = _storm_one_cluster(apis, cluster)

    threads = [threading.Thread(target=storm, args=(c,)) for c in CLUSTERS]  # every cluster at once too
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    accepted = []
    for cluster, answers in results.items():
        codes = Counter(status for status, _ in answers)
        assert codes == {202: 1, 409: STORM - 1}, (cluster, answers)
        winner = next(body["task_id"] for status, body in answers if status == 202)
        holders = {body["error"]["details"]["task_id"] for status, body in answers if status == 409}
        assert holders == {winner}, (cluster, answers)  # every refusal names the one accepted task
        accepted.append(winner)
    recs = _wait_terminal(stack, r, accepted)
    assert {rec.state for rec in recs.values()} == {"SUCCESS"}, [rec.error for rec in recs.values()][:2]


def test_many_backups_and_infos_through_both_apis_each_handled_once(conc):
    stack, apis, r = conc
    before = set(_ns_task_ids(r))
    accepted: dict[str, list[str]] = defaultdict(list)   # cluster → backup task ids
    infos: list[str] = []
    refused = Counter()
    unexpected: list = []    # answers other than 202/409 (backups) or 200/202 (infos), asserted on below
    lock = threading.Lock()
    stop = threading.Event()
    rng = random.Random(7)
    orders = [rng.sample(CLUSTERS, len(CLUSTERS)) for _ in range(2 * THREADS_PER_API)]

    def backups(n: int) -> None:
        api = apis[n % 2]
        order = orders[n]
        i = 0
        while not stop.is_set():
            cluster = order[i % len(order)]
            i += 1
            with lock:
                if len(accepted[cluster]) >= ROUNDS:
                    if all(len(accepted[c]) >= ROUNDS for c in CLUSTERS):
                        return
                    continue
            status, body = api.backup(cluster)
            with lock:
                if status == 202:
                    accepted[cluster].append(body["task_id"])
                elif status == 409:
                    refused[cluster] += 1
                else:
                    unexpected.append((cluster, status, body))
                    return
            if status == 409:
                time.sleep(0.05)

    def information(n: int) -> None:
        api = apis[n % 2]
        for k in range(INFOS_PER_THREAD):
            status, body = api.info(CLUSTERS[(n + k) % len(CLUSTERS)])
            with lock:
                if status in (200, 202):
                    infos.append(body["task_id"])
                else:
                    unexpected.append(("info", status, body))

    threads = [threading.Thread(target=backups, args=(n,)) for n in range(2 * THREADS_PER_API)]
    threads += [threading.Thread(target=information, args=(n,)) for n in range(2 * THREADS_PER_API)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    stop.set()
    assert not any(t.is_alive() for t in threads)
    assert not unexpected, unexpected

    backup_ids = [i for ids in accepted.values() for i in ids]
    assert all(len(accepted[c]) >= ROUNDS for c in CLUSTERS), dict(accepted)
    assert sum(refused.values()) > 0, "the storm never found a cluster busy: it tested nothing"
    recs = _wait_terminal(stack, r, backup_ids + infos, timeout=180)
    # what the API index holds is what was accepted: no task was created but not answered, or twice
    assert set(_ns_task_ids(r)) - before == set(backup_ids) | set(infos)

    # -- every task ended well --------------------------------------------------------------------------
    assert {recs[i].state for i in backup_ids} == {"SUCCESS"}, Counter(recs[i].state for i in backup_ids)
    bad = {i: recs[i].error for i in infos if recs[i].state != "SUCCESS"}
    assert not bad, bad
    for i in infos:
        assert recs[i].result["repos"]["local"]["status"]["message"] == "missing stanza path", recs[i].result

    # -- exactly one Job per step, one pod per Job ------------------------------------------------------
    jobs = json.loads(stack.kubesim.kubectl("-n", NS, "get", "jobs", "-l", "brq.io/kind=backup", "-o", "json",
                                            check=True).stdout)["items"]
    pods = json.loads(stack.kubesim.kubectl("-n", NS, "get", "pods", "-l", "brq.io/kind=backup", "-o", "json",
                                            check=True).stdout)["items"]
    jobs_of = defaultdict(list)
    for job in jobs:
        jobs_of[job["metadata"]["labels"]["brq.io/task"]].append(job["metadata"]["name"])
    pods_of = Counter(p["metadata"]["labels"]["job-name"] for p in pods)
    for i in backup_ids:
        rec = recs[i]
        repos = STORAGE[rec.cluster]
        assert [s["job"] for s in rec.steps] == [steps.backup_job_name(i, repo) for repo in repos], rec.steps
        assert rec.jobs == [s["job"] for s in rec.steps], rec.jobs
        assert sorted(jobs_of[i]) == sorted(rec.jobs), (i, jobs_of[i])
        for step in rec.steps:
            assert pods_of[step["job"]] == 1, (step["job"], pods_of[step["job"]])
            assert step["state"] == "SUCCESS" and step["finished"] >= step["started"], step
        for before_, after in zip(rec.steps, rec.steps[1:]):  # one repo after the other, never both at once
            assert after["started"] >= before_["finished"], rec.steps

    # -- each step's completion recorded once (the watcher's record_step logs only a write that recorded) --
    recorded = Counter()
    with open(os.path.join(stack.directory, "watcher.log"), encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                message = json.loads(line).get("message", "")
            except ValueError:
                continue
            if " ended " in message and message.startswith("task "):
                recorded[message.split()[3]] += 1
    for i in backup_ids:
        for job in recs[i].jobs:
            assert recorded[job] == 1, (job, recorded[job])

    # -- each task terminal once: one done signal (pushed by the finishing transaction; nobody popped it) --
    for i in backup_ids + infos:
        assert r.llen(keys.task_done(i)) == 1, (i, r.lrange(keys.task_done(i), 0, -1))
    # … and counted once, by the same transaction, per cluster (both tests' backups: every record of the cluster)
    for c in CLUSTERS:
        ids = [x.decode() for x in r.zrange(keys.cluster_tasks(NS, c), 0, -1)]
        all_backups = [rec for rec in (TaskRecord.from_json(raw) for raw in r.mget([keys.task(x) for x in ids]))
                       if rec.kind == "backup"]
        for repo in STORAGE[c]:
            assert int(r.hget(keys.backup_stats(NS, c), f"{repo}:runs")) == len(all_backups), (c, repo)

        # -- the lock: a cluster's backups never overlap. A backup's Job starts after it took the lock, and it
        # was marked finished before the lock was released: each start comes after the previous finish.
        spans = sorted((rec.steps[0]["started"], rec.finished, rec.id) for rec in all_backups)
        for (_, end, first), (start, _, second) in zip(spans, spans[1:]):
            assert start > end, f"cluster {c}: backup {second} started at {start} before {first} ended at {end}"
    # both workers took part (the steps above were shared between two processes)
    for name in ("worker-a", "worker-b"):
        with open(os.path.join(stack.directory, f"{name}.log"), encoding="utf-8", errors="replace") as f:
            assert sum("brq.advance[" in line and "succeeded" in line for line in f) > 0, name

    finished = r.hgetall(keys.task_stats())
    total = {k.decode(): int(v) for k, v in finished.items() if k.decode().endswith(":count")}
    all_ids = _ns_task_ids(r)
    kinds = Counter(f"{rec.kind}:{rec.state}" for rec in (TaskRecord.from_json(raw)
                                                          for raw in r.mget([keys.task(x) for x in all_ids])))
    assert {k: v for k, v in total.items()} == {f"{k}:count": v for k, v in kinds.items()}


def _ns_task_ids(r) -> list[str]:
    return [x.decode() for x in r.zrange(keys.namespace_tasks(NS), 0, -1)]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
