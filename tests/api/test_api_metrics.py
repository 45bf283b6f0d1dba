"""`/metrics`: per cluster and repo, from Redis at scrape time — two API processes answer the same."""
from __future__ import annotations

import time

from prometheus_client.parser import text_string_to_metric_families

from app import create_app
from tasks.schedules.firing import fire
from tasks.schedules.store import Schedule, ScheduleStore
from tasks.state.clusters import READY, ClusterRecord
from tasks.state.records import FAILURE, RUNNING, SUCCESS, TaskRecord, new_id


def samples(resp) -> dict[tuple, float]:
    assert resp.status_code == 200, resp.data
    assert resp.content_type.startswith("text/plain; version=")
    out = {}
    for family in text_string_to_metric_families(resp.data.decode()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def finish_backup(rt, cluster: str, state: str, repos: list[str], seconds: float = 12.0) -> None:
    rec = rt.tasks.create(TaskRecord(id=new_id(), kind="backup", namespace="demo", cluster=cluster,
                                     params={"repos": repos, "type": "full"}))
    t0 = time.time() - seconds

    def done(r):
        r.state = RUNNING
        r.steps = [{"repo": repo, "job": f"j-{repo}", "state": state if i == 0 else "PENDING", "started": t0 if i == 0 else None,
                    "finished": t0 + seconds if i == 0 else None} for i, repo in enumerate(repos)]
    rt.tasks.update(rec.id, done)
    rt.tasks.update(rec.id, lambda r: setattr(r, "state", state))


def lab(cluster: str, repo: str) -> tuple:
    return (("cluster", cluster), ("namespace", "demo"), ("repo", repo))


def test_metrics_count_runs_failures_skips_and_times_per_cluster_and_repo(as_, rt, settings):
    rt.clusters.create(ClusterRecord(name="c1", namespace="demo", storage_types=["local", "s3"], status=READY))
    finish_backup(rt, "c1", SUCCESS, ["local"], seconds=12)
    finish_backup(rt, "c1", FAILURE, ["s3", "local"], seconds=3)
    schedules = ScheduleStore(rt.redis)
    s = schedules.create(Schedule(name="n", namespace="demo", cluster="c1", cron="*/10 * * * * *",
                                  storage_type="local,s3"))
    busy = rt.tasks.create(TaskRecord(id=new_id(), kind="backup", namespace="demo", cluster="c1"))
    fire(tasks=rt.tasks, clusters=rt.clusters, schedules=schedules, send=lambda *a: None, namespace="demo",
         name="n", uid=s.uid, slot=int(time.time()), now=int(time.time()) + 0.1)
    assert busy
    got = samples(as_("viewer").get("/metrics"))
    assert got[("brq_backup_runs_total", lab("c1", "local"))] == 1
    assert got[("brq_backup_runs_total", lab("c1", "s3"))] == 1
    assert got[("brq_backup_failures_total", lab("c1", "s3"))] == 1
    assert got[("brq_backup_failures_total", lab("c1", "local"))] == 0
    assert got[("brq_backup_skips_total", lab("c1", "local"))] == 1
    assert got[("brq_backup_skips_total", lab("c1", "s3"))] == 1
    assert abs(got[("brq_backup_last_success_timestamp_seconds", lab("c1", "local"))] - time.time()) < 5
    assert abs(got[("brq_backup_last_failure_timestamp_seconds", lab("c1", "s3"))] - (time.time() - 0)) < 5
    assert ("brq_backup_last_success_timestamp_seconds", lab("c1", "s3")) not in got
    assert got[("brq_backup_duration_seconds_count", lab("c1", "local"))] == 1
    assert got[("brq_backup_duration_seconds_sum", lab("c1", "local"))] == 12
    buckets = {dict(labels)["le"]: v for (name, labels), v in got.items()
               if name == "brq_backup_duration_seconds_bucket" and dict(labels)["cluster"] == "c1"
               and dict(labels)["repo"] == "local"}
    assert (buckets["5"], buckets["15"], buckets["+Inf"]) == (0, 1, 1)
    sched = (("cluster", "c1"), ("namespace", "demo"), ("schedule", "n"))
    assert got[("brq_schedule_skips_total", tuple(sorted(sched + (("reason", "busy"),))))] == 1
    assert got[("brq_schedule_paused", sched)] == 0
    assert got[("brq_schedule_next_run_timestamp_seconds", sched)] > time.time() - 1
    # a namespace-scoped token does not see the global task histogram; admin does
    assert not any(name.startswith("brq_task_duration") for name, _ in got)
    admin = samples(as_("admin").get("/metrics"))
    assert admin[("brq_task_duration_seconds_count", (("kind", "backup"), ("state", "SUCCESS")))] == 1


def test_two_api_processes_answer_the_same_numbers(as_, rt, settings, tokens):
    rt.clusters.create(ClusterRecord(name="c1", namespace="demo", storage_types=["local"], status=READY))
    finish_backup(rt, "c1", SUCCESS, ["local"])
    other = create_app(runtime=rt).test_client()
    headers = {"Authorization": f"Bearer {tokens['viewer']}"}
    assert samples(other.get("/metrics", headers=headers)) == samples(as_("viewer").get("/metrics"))


def test_metrics_need_a_token_and_show_only_the_tokens_namespaces(as_, rt, client):
    rt.clusters.create(ClusterRecord(name="c1", namespace="demo", storage_types=["local"], status=READY))
    rt.clusters.create(ClusterRecord(name="c9", namespace="other", storage_types=["local"], status=READY))
    assert client.get("/metrics").status_code == 401
    clusters = {dict(labels).get("cluster") for name, labels in samples(as_("viewer").get("/metrics"))}
    assert "c1" in clusters and "c9" not in clusters


def test_a_last_backup_from_before_the_counters_still_shows(as_, rt):
    rt.clusters.create(ClusterRecord(name="old", namespace="demo", storage_types=["local"], status=READY,
                                     last_backup={"local": {"label": "L", "type": "full", "finished": 1.7e9}}))
    got = samples(as_("viewer").get("/metrics"))
    assert got[("brq_backup_last_success_timestamp_seconds", lab("old", "local"))] == 1.7e9


def test_retries_of_the_workers_and_the_watcher_show_for_tokens_that_see_every_namespace(as_, rt):
    from collections import Counter

    from tasks.state.stats import RetryFlusher
    RetryFlusher(Counter({"kubernetes create": 3, "kubernetes exec": 1}), "worker").flush(rt.redis)
    RetryFlusher(Counter({"kubernetes watch": 5}), "watcher").flush(rt.redis)
    got = samples(as_("admin").get("/metrics"))
    assert got[("brq_retries_total", (("process", "worker"), ("reason", "kubernetes create")))] == 3
    assert got[("brq_retries_total", (("process", "worker"), ("reason", "kubernetes exec")))] == 1
    assert got[("brq_retries_total", (("process", "watcher"), ("reason", "kubernetes watch")))] == 5
    # process-wide figures are not a namespace's: a namespace-scoped token does not see them
    assert not any(name.startswith("brq_retries") for name, _ in samples(as_("viewer").get("/metrics")))
