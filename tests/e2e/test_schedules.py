"""Schedules end to end: real Redis, beat (RedBeat), worker and watcher, clusters on kubesim, 6-field crons
of a few seconds.  Runs come on time and land in the catalogue; PATCH and DELETE act on the next tick; two
beats make one backup per slot; a killed leader hands over within the lock timeout; a slot that finds a
backup running is skipped and recorded; retention set on a cluster expires backups."""
from __future__ import annotations

import contextlib
import re
import signal
import time
import urllib.request
from datetime import datetime, timezone

import redis

from tasks.celery_app import make_celery
from tasks.schedules.cron import parse
from tasks.schedules.firing import task_id_for
from tasks.schedules.store import ScheduleStore
from tests.e2e.conftest import backup, create_cluster

SCHEDULES = "/api/v1/namespaces/demo/schedules"
LOCK_TIMEOUT, MAX_INTERVAL = 5.0, 1.0  # the Stack's beat settings (BRQ_BEAT_*)


def ts(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def create_schedule(stack, name: str, cluster: str, cron: str, **extra) -> dict:
    status, body = stack.call("POST", SCHEDULES, {"name": name, "cluster": cluster, "schedule": cron,
                                                  "backup_type": extra.pop("backup_type", "incr"), **extra})
    assert status == 201, body
    return body


def show(stack, name: str, runs: int = 200) -> dict:
    status, body = stack.call("GET", f"{SCHEDULES}/{name}?runs={runs}")
    assert status == 200, body
    return body


def wait_runs(stack, name: str, count: int, timeout: float, outcome: str | None = "run") -> list[dict]:
    """The schedule's recorded slots, oldest first, once `count` of them (of that outcome) are there."""
    deadline = time.monotonic() + timeout
    while True:
        runs = show(stack, name)["runs"][::-1]
        if len([r for r in runs if outcome is None or r["outcome"] == outcome]) >= count:
            return runs
        assert time.monotonic() < deadline, f"{name}: {runs}\n--- beat ---\n{stack.tail('beat')}\n" \
                                            f"--- worker ---\n{stack.tail('worker0')}"
        time.sleep(0.25)


def wait_for(stack, name: str, predicate, timeout: float) -> list[dict]:
    """The schedule's recorded slots, oldest first, once `predicate(slots)` holds."""
    deadline = time.monotonic() + timeout
    while True:
        runs = show(stack, name)["runs"][::-1]
        if predicate(runs):
            return runs
        assert time.monotonic() < deadline, f"{name}: {runs}\n--- beat ---\n{stack.tail('beat')}"
        time.sleep(0.25)


@contextlib.contextmanager
def schedule(stack, name: str, cluster: str, cron: str, **extra):
    try:
        yield create_schedule(stack, name, cluster, cron, **extra)
    finally:
        stack.call("DELETE", f"{SCHEDULES}/{name}")
        settle(stack, cluster)


def settle(stack, cluster: str, timeout: float = 120) -> None:
    """Wait for the cluster's backups to end (so the next test finds it idle)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _, tasks = stack.call("GET", f"/api/v1/namespaces/demo/tasks?cluster={cluster}")
        if all(t["state"] in ("SUCCESS", "FAILURE", "REVOKED") for t in tasks["items"]):
            return
        time.sleep(0.25)


def scheduled_tasks(stack, cluster: str, name: str) -> list[dict]:
    _, tasks = stack.call("GET", f"/api/v1/namespaces/demo/tasks?cluster={cluster}&kind=backup&limit=1000")
    return [t for t in tasks["items"] if t["origin"] == f"schedule:{name}"]


def test_runs_happen_on_time_and_produce_backups_in_the_catalogue(stack):
    create_cluster(stack, "sched-ontime", "local")
    with schedule(stack, "ontime", "sched-ontime", "*/10 * * * * *", backup_type="full"):
        runs = wait_runs(stack, "ontime", 3, timeout=60)
    done = [r for r in runs if r["outcome"] == "run"][:3]
    for r in done:
        assert ts(r["slot"]) % 10 == 0
        _, task = stack.call("GET", f"/api/v1/tasks/{r['task_id']}")
        assert 0 <= ts(task["created"]) - ts(r["slot"]) < 1.5, (r, task["created"])  # started on time
        assert stack.wait_task(r["task_id"], timeout=60)["state"] == "SUCCESS"
    labels = [stack.wait_task(r["task_id"])["result"]["repos"]["local"]["label"] for r in done]
    status, catalogue = stack.call("GET", "/api/v1/namespaces/demo/clusters/sched-ontime/backups")
    assert status == 200, catalogue
    assert set(labels) <= {b["label"] for b in catalogue["repos"]["local"]["backups"]}
    req = urllib.request.Request(f"{stack.api_url}/metrics",
                                 headers={"Authorization": f"Bearer {stack.tokens['admin']}"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        metrics = resp.read().decode()
    line = next(m for m in metrics.splitlines() if m.startswith("brq_backup_last_success_timestamp_seconds{")
                and 'cluster="sched-ontime"' in m)
    assert abs(float(line.split()[-1]) - time.time()) < 60
    assert re.search(r'brq_backup_runs_total\{cluster="sched-ontime",namespace="demo",repo="local"\} ([3-9]|\d\d)',
                     metrics)


def test_patch_and_delete_take_effect_on_the_next_tick(stack):
    create_cluster(stack, "sched-patch", "local")
    with schedule(stack, "patchme", "sched-patch", "0 0 1 1 *"):
        assert show(stack, "patchme")["next_run"].endswith("-01-01T00:00:00.000Z")
        patched_at = time.time()
        status, body = stack.call("PATCH", f"{SCHEDULES}/patchme", {"schedule": "*/4 * * * * *"})
        assert status == 200, body
        expected = parse("*/4 * * * * *").next_after(datetime.fromtimestamp(patched_at, timezone.utc)).timestamp()
        first = wait_runs(stack, "patchme", 1, timeout=15, outcome=None)[0]
        assert ts(first["slot"]) == expected  # the first slot of the new cron after the PATCH: nothing restarted
        # options and type: the next slots run with them, on the same timing
        next_before = show(stack, "patchme")["next_run"]
        status, body = stack.call("PATCH", f"{SCHEDULES}/patchme", {"backup_type": "full", "options": ["--start-fast"]})
        assert body["next_run"] == next_before
        changed = time.time()
        runs = wait_for(stack, "patchme", lambda rs: any(r["outcome"] == "run" and ts(r["slot"]) > changed
                                                         for r in rs), timeout=20)
        later = [r for r in runs if r["outcome"] == "run" and ts(r["slot"]) > changed]
        _, task = stack.call("GET", f"/api/v1/tasks/{later[0]['task_id']}")
        assert task["params"]["type"] == "full" and task["params"]["options"] == ["--start-fast"]
        # pause: no slot is fired any more
        stack.call("PATCH", f"{SCHEDULES}/patchme", {"paused": True})
        paused_at = time.time()
        time.sleep(9)
        assert [r for r in show(stack, "patchme")["runs"] if ts(r["slot"]) > paused_at + MAX_INTERVAL] == []
        # resume: from the next slot on
        stack.call("PATCH", f"{SCHEDULES}/patchme", {"paused": False})
        resumed_at = time.time()
        runs = wait_for(stack, "patchme", lambda rs: any(ts(r["slot"]) > paused_at for r in rs), timeout=15)
        assert min(ts(r["slot"]) for r in runs if ts(r["slot"]) > paused_at) > resumed_at
        # delete: nothing more is fired, nothing more is started
        status, _ = stack.call("DELETE", f"{SCHEDULES}/patchme")
        assert status == 204
        deleted_at = time.time()
        settle(stack, "sched-patch")
        time.sleep(9)
        assert [t for t in scheduled_tasks(stack, "sched-patch", "patchme")
                if ts(t["created"]) > deleted_at + MAX_INTERVAL] == []
        assert "patchme" not in [s["name"] for s in stack.call("GET", SCHEDULES)[1]["items"]]


def test_a_slot_during_a_running_backup_is_skipped_and_recorded_and_nothing_piles_up(stack):
    create_cluster(stack, "sched-busy", "local")
    stack.psql("demo", "sched-busy", "create table big as select g, md5(g::text) from generate_series(1, 200000) g")
    status, manual = stack.call("POST", "/api/v1/namespaces/demo/clusters/sched-busy/backups", {"type": "full"})
    assert status == 202
    with schedule(stack, "every-second", "sched-busy", "* * * * * *"):
        stack.wait_task(manual["task_id"], timeout=120)
        time.sleep(5)
        body = show(stack, "every-second")
    skipped = [r for r in body["runs"] if r["outcome"] == "skipped"]
    assert any(r["reason"] == "busy" and manual["task_id"] in r["message"] for r in skipped), body["runs"]
    assert body["counts"]["skipped_by_reason"]["busy"] >= 1 and body["counts"]["runs"] >= 1
    # every slot is recorded once, as a run or a skip, and never two backups of the cluster run at once
    assert len({r["slot"] for r in body["runs"]}) == len(body["runs"])
    finished = [stack.wait_task(t["id"]) for t in scheduled_tasks(stack, "sched-busy", "every-second")]
    finished.append(stack.wait_task(manual["task_id"]))
    spans = sorted((ts(t["created"]), ts(t["finished"])) for t in finished)
    for (_, end), (start, _) in zip(spans, spans[1:]):
        assert start >= end - 0.05, spans


def test_two_beats_at_once_make_one_backup_per_slot(stack):
    create_cluster(stack, "sched-twobeats", "local")
    stack.start_beat("beat-standby")  # same lock: waits
    stack.start_beat("beat-rogue", env={"BRQ_BEAT_LOCK_KEY": "brq:beat::other-lock"})  # a second leader
    try:
        with schedule(stack, "twice", "sched-twobeats", "*/3 * * * * *"):
            wait_runs(stack, "twice", 4, timeout=40, outcome=None)
            time.sleep(1)
            body = show(stack, "twice")
            uid_slots = {r["slot"]: r for r in body["runs"]}
    finally:
        stack.stop_process("beat-standby")
        stack.stop_process("beat-rogue")
    tasks = scheduled_tasks(stack, "sched-twobeats", "twice")
    ran = [r for r in uid_slots.values() if r["outcome"] == "run"]
    assert sorted(t["id"] for t in tasks) == sorted(r["task_id"] for r in ran)  # one backup per slot run
    assert len({r["task_id"] for r in ran}) == len(ran)
    assert "Acquired lock" in stack.tail("beat-rogue", 200)  # there were two leaders
    assert "Acquired lock" not in stack.tail("beat-standby", 200)  # and one standby, waiting


def test_killing_the_beat_leader_hands_over_to_a_standby_within_the_lock_timeout(stack):
    create_cluster(stack, "sched-failover", "local")
    assert "Acquired lock" in stack.tail("beat", 400)
    stack.start_beat("beat-standby")
    time.sleep(3)
    try:
        with schedule(stack, "failover", "sched-failover", "*/2 * * * * *"):
            wait_runs(stack, "failover", 1, timeout=15, outcome=None)
            killed_at = time.time()
            stack.stop_process("beat", sig=signal.SIGKILL)
            runs = wait_runs(stack, "failover", 1, timeout=30, outcome=None)
            deadline = time.monotonic() + 20
            while not [r for r in runs if ts(r["recorded"]) > killed_at] and time.monotonic() < deadline:
                time.sleep(0.2)
                runs = show(stack, "failover")["runs"][::-1]
            after = [r for r in runs if ts(r["recorded"]) > killed_at]
            assert after, runs
            took_over = min(ts(r["recorded"]) for r in after)
            assert took_over - killed_at <= LOCK_TIMEOUT + MAX_INTERVAL + 1.5, (killed_at, after)
            assert "Acquired lock" in stack.tail("beat-standby", 200)
            # slots nobody fired while no leader ran are recorded as missed, the latest one fired
            missed = [r for r in after if r["reason"] == "missed"]
            assert missed and all(ts(r["slot"]) > killed_at - 2 for r in missed), after
            time.sleep(2.5)
    finally:
        stack.start_beat("beat")  # back, as the standby now
        time.sleep(0.5)
    tasks = scheduled_tasks(stack, "sched-failover", "failover")
    assert len({t["id"] for t in tasks}) == len(tasks)


def test_retention_set_at_creation_and_by_patch_expires_older_backups(stack):
    status, body = stack.call("POST", "/api/v1/namespaces/demo/clusters",
                              {"name": "keep1", "pgbackrest_storage_type": "local",
                               "retention": {"local": {"full": 1}}})
    assert status == 202, body
    assert stack.wait_task(body["task_id"], timeout=120)["state"] == "SUCCESS"
    for _ in range(2):
        assert backup(stack, "keep1", "local", "full")["state"] == "SUCCESS"
    _, catalogue = stack.call("GET", "/api/v1/namespaces/demo/clusters/keep1/backups")
    assert [b["type"] for b in catalogue["repos"]["local"]["backups"]] == ["full"]

    create_cluster(stack, "keep2", "local")
    for _ in range(2):
        assert backup(stack, "keep2", "local", "full")["state"] == "SUCCESS"
    _, catalogue = stack.call("GET", "/api/v1/namespaces/demo/clusters/keep2/backups")
    assert len(catalogue["repos"]["local"]["backups"]) == 2
    pod_before = stack.kubesim.kubectl("-n", "demo", "get", "pods", "-l", "brq.io/cluster=keep2,brq.io/role=repo-host",
                                       "-o", "name", check=True).stdout.split()
    status, body = stack.call("PATCH", "/api/v1/namespaces/demo/clusters/keep2", {"retention": {"local": {"full": 1}}})
    assert status == 202, body
    task = stack.wait_task(body["task_id"], timeout=120)
    assert task["state"] == "SUCCESS", task
    assert [f"pod/{task['result']['repo_host_pod']}"] != pod_before  # the repo host was restarted
    _, cluster = stack.call("GET", "/api/v1/namespaces/demo/clusters/keep2")
    assert cluster["retention"] == {"local": {"full": 1}} and cluster["retention_task"] == task["id"]
    conf = stack.kubesim.kubectl("-n", "demo", "get", "configmap", "-l", "brq.io/cluster=keep2", "-o",
                                 "jsonpath={.items[0].data.repo\\.conf}", check=True).stdout
    assert "repo1-retention-full=1\n" in conf
    assert backup(stack, "keep2", "local", "full")["state"] == "SUCCESS"
    _, catalogue = stack.call("GET", "/api/v1/namespaces/demo/clusters/keep2/backups")
    assert [b["type"] for b in catalogue["repos"]["local"]["backups"]] == ["full"]  # expired after the backup


def test_a_slot_sent_twice_makes_one_backup(stack):
    """What two leaders, or a failover that re-sends a slot, do to the worker — made deterministic."""
    create_cluster(stack, "sched-dup", "local")
    create_schedule(stack, "dup", "sched-dup", "0 0 1 1 *")
    client = redis.Redis.from_url(stack.redis.url)
    celery = make_celery(stack.redis.url)
    try:
        uid = ScheduleStore(client).get("demo", "dup").uid
        slot = float(int(time.time()))
        for _ in range(2):
            celery.send_task("brq.scheduled_backup", kwargs={"namespace": "demo", "name": "dup", "uid": uid,
                                                               "slot": slot, "missed": []}, queue="brq")
        task_id = task_id_for(uid, slot)
        deadline = time.monotonic() + 30
        while stack.call("GET", f"/api/v1/tasks/{task_id}")[0] == 404:  # until the worker took the first message
            assert time.monotonic() < deadline, stack.tail("worker0")
            time.sleep(0.1)
        assert stack.wait_task(task_id, timeout=60)["state"] == "SUCCESS"
        time.sleep(1)
        assert [t["id"] for t in scheduled_tasks(stack, "sched-dup", "dup")] == [task_id]
        assert [(r["outcome"], r["task_id"]) for r in show(stack, "dup")["runs"]] == [("run", task_id)]
    finally:
        stack.call("DELETE", f"{SCHEDULES}/dup")
        celery.close()
        client.close()


def test_a_beat_leader_killed_mid_tick_loses_and_doubles_no_slot(stack):
    """The leader dies after sending a tick's slot and before recording it (failpoint `beat.slots-sent`); the
    standby takes over: that slot makes one backup, every slot from it on is accounted for once (a backup, or a
    skip with its reason), and no slot makes two backups."""
    cluster = "sched-midtick"
    create_cluster(stack, cluster, "local")
    for name in [n for n in stack.procs if n.startswith("beat")]:  # earlier tests may leave a standby leading
        stack.stop_process(name)
    stack.start_beat("beat-mid", env={"BRQ_FAILPOINTS": "beat.slots-sent"})
    deadline = time.monotonic() + LOCK_TIMEOUT + 10
    while "Acquired lock" not in stack.tail("beat-mid", 200):  # the failpoint beat leads
        assert time.monotonic() < deadline, stack.tail("beat-mid")
        time.sleep(0.2)
    stack.start_beat("beat")  # the standby
    cron = "*/3 * * * * *"
    try:
        with schedule(stack, "midtick", cluster, cron):
            uid = ScheduleStore(redis.Redis.from_url(stack.redis.url)).get("demo", "midtick").uid
            assert stack.procs["beat-mid"].wait(timeout=30) == -signal.SIGKILL, stack.tail("beat-mid")
            assert "failpoint beat.slots-sent" in stack.tail("beat-mid", 50)
            killed_at = time.time()
            runs = wait_for(stack, "midtick", lambda rs: len([r for r in rs if r["outcome"] == "run" and
                                                               ts(r["recorded"]) > killed_at + 1]) >= 2, timeout=60)
            assert "Acquired lock" in stack.tail("beat", 400)
    finally:
        stack.stop_process("beat-mid")
    slots = [int(ts(r["slot"])) for r in runs]
    assert len(slots) == len(set(slots)), runs  # no slot recorded twice
    first = min(slots)
    sent = task_id_for(uid, first)  # the slot the dying leader sent
    assert [r for r in runs if int(ts(r["slot"])) == first] == [
        r for r in runs if r.get("task_id") == sent and r["outcome"] == "run"], runs
    # every slot from the first to the last is there: nothing lost during the handover
    parsed, t, expected = parse(cron), datetime.fromtimestamp(first, timezone.utc), []
    while t.timestamp() <= max(slots):
        expected.append(int(t.timestamp()))
        t = parsed.next_after(t)
    assert slots == expected, runs
    assert all(r["outcome"] == "run" or r["reason"] for r in runs), runs
    # one backup per slot that ran, none for a skipped one
    tasks = scheduled_tasks(stack, cluster, "midtick")
    assert sorted(t["id"] for t in tasks) == sorted(r["task_id"] for r in runs if r["outcome"] == "run")
    assert stack.wait_task(sent, timeout=60)["state"] == "SUCCESS"
