"""`/metrics` (Prometheus text format), computed from Redis at scrape time so every API process agrees.

Scrape it with a bearer token (`authorization: {credentials: …}` in the scrape config); a token sees the
namespaces where it has ShowBackup.  Per cluster and repo (`repo` = local or s3):

    brq_backup_last_success_timestamp_seconds   alert on `time() - … > 25*3600`
    brq_backup_last_failure_timestamp_seconds
    brq_backup_runs_total, brq_backup_failures_total, brq_backup_skips_total (scheduled slots skipped)
    brq_backup_duration_seconds (histogram of each repo's backup)

Per schedule: `brq_schedule_info`, `_paused`, `_next_run_timestamp_seconds`, `_runs_total`,
`_skips_total{reason}`.  Per task kind and final state (tokens that see every namespace):
`brq_task_duration_seconds`; and `brq_retries_total{process,reason}`, Kubernetes calls the workers and the
watcher retried (a rising rate: the API server or the network is failing).  Nothing here is held in the process: counters live in Redis
(tasks/state/stats.py), written once by the transaction that makes each fact true.
"""
from __future__ import annotations

from flask import Blueprint, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from tasks.schedules.store import ScheduleStore
from tasks.state import stats

from .auth import sees
from .common import runtime

blp = Blueprint("metrics", __name__)


class Snapshot:
    """One scrape's metrics for the namespaces given (a prometheus_client custom collector)."""

    def __init__(self, namespaces: list[str], *, with_tasks: bool):
        self.namespaces = namespaces
        self.with_tasks = with_tasks

    def collect(self):
        rt = runtime()
        labels = ["namespace", "cluster", "repo"]
        last_ok = GaugeMetricFamily("brq_backup_last_success_timestamp_seconds",
                                    "When the last successful backup of the cluster to the repo finished",
                                    labels=labels)
        last_bad = GaugeMetricFamily("brq_backup_last_failure_timestamp_seconds",
                                     "When the last failed backup of the cluster to the repo ended", labels=labels)
        runs = CounterMetricFamily("brq_backup_runs", "Backups of the cluster to the repo that ended", labels=labels)
        failures = CounterMetricFamily("brq_backup_failures", "Backups of the cluster to the repo that failed",
                                       labels=labels)
        skips = CounterMetricFamily("brq_backup_skips", "Scheduled backup slots skipped (busy, restoring, late, "
                                    "missed, …)", labels=labels)
        durations = HistogramMetricFamily("brq_backup_duration_seconds", "How long each repo's backup took",
                                          labels=labels)
        clusters = [c for ns in self.namespaces for c in rt.clusters.list(ns)]
        counters = stats.read_backups(rt.redis, [(c.namespace, c.name) for c in clusters])
        for c in clusters:
            per_repo = counters[(c.namespace, c.name)]
            for repo in c.storage_types:
                s = per_repo.get(repo, stats.RepoStats())
                values = [c.namespace, c.name, repo]
                success = s.last_success or (c.last_backup.get(repo) or {}).get("finished")
                if success is not None:
                    last_ok.add_metric(values, success)
                if s.last_failure is not None:
                    last_bad.add_metric(values, s.last_failure)
                runs.add_metric(values, s.runs)
                failures.add_metric(values, s.failures)
                skips.add_metric(values, s.skips)
                durations.add_metric(values, s.duration.cumulative(), s.duration.sum)
        yield from (last_ok, last_bad, runs, failures, skips, durations)
        yield from self._schedules(rt)
        if self.with_tasks:
            tasks = HistogramMetricFamily("brq_task_duration_seconds", "Task durations, start to end, by kind and "
                                          "final state", labels=["kind", "state"])
            for (kind, state), hist in sorted(stats.read_tasks(rt.redis).items()):
                tasks.add_metric([kind, state], hist.cumulative(), hist.sum)
            yield tasks
            retries = CounterMetricFamily("brq_retries", "Kubernetes API calls retried after a transient failure "
                                          "(5xx, 429, reset, cut watch), by process and call", labels=["process", "reason"])
            for (process, reason), count in sorted(stats.read_retries(rt.redis).items()):
                retries.add_metric([process, reason], count)
            yield retries

    def _schedules(self, rt):
        store = ScheduleStore(rt.redis)
        labels = ["namespace", "schedule", "cluster"]
        info = GaugeMetricFamily("brq_schedule_info", "A backup schedule", labels=labels + [
            "cron", "timezone", "backup_type", "storage_type"])
        paused = GaugeMetricFamily("brq_schedule_paused", "1 while the schedule is paused", labels=labels)
        nxt = GaugeMetricFamily("brq_schedule_next_run_timestamp_seconds", "When beat fires the schedule next",
                                labels=labels)
        runs = CounterMetricFamily("brq_schedule_runs", "Slots that started a backup", labels=labels)
        skips = CounterMetricFamily("brq_schedule_skips", "Slots skipped, by reason", labels=labels + ["reason"])
        schedules = [s for ns in self.namespaces for s in store.list(ns)]
        for s, last, count in zip(schedules, store.last_runs(schedules), store.counts(schedules)):
            values = [s.namespace, s.name, s.cluster]
            info.add_metric(values + [s.cron, s.timezone, s.backup_type, s.storage_type], 1)
            paused.add_metric(values, 1 if s.paused else 0)
            when = store.next_run(s, last) if last else None
            if when is not None:
                nxt.add_metric(values, when.timestamp())
            runs.add_metric(values, count.get("runs", 0))
            for key, value in sorted(count.items()):
                if key.startswith("skipped:"):
                    skips.add_metric(values + [key.split(":", 1)[1]], value)
        yield from (info, paused, nxt, runs, skips)


@blp.get("/metrics")
def metrics():
    managed = list(runtime().settings.kubernetes.namespaces)
    visible = [ns for ns in managed if sees("ShowBackup", ns)]
    registry = CollectorRegistry(auto_describe=False)
    registry.register(Snapshot(visible, with_tasks=visible == managed))
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
