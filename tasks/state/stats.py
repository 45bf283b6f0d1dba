"""Counters behind `/metrics`, kept in Redis so every API process answers the same numbers.

Written at the one moment each fact becomes true, inside the transaction that makes it true:
a task's end (`count_finished`, queued in `TaskStore`'s MULTI that moves the record to its terminal
state — a record finishes once, so it is counted once) and a schedule's skip (`tasks/schedules/store.py`,
in the script that records the skip once per slot).  Read back whole by `read_backups` / `read_tasks`.

Per cluster and repo (`keys.backup_stats`): `<repo>:runs`, `<repo>:failures`, `<repo>:skips`,
`<repo>:last_success`, `<repo>:last_failure` (epoch seconds), and a duration histogram
(`<repo>:duration:count`, `:sum`, `:le:<bound>` cumulative).  Per task kind and final state
(`keys.task_stats`): `<kind>:<state>:count`, `:sum`, `:le:<bound>`.

Retries (`keys.retry_stats`, `<process>:<reason>`) are the exception to "at the moment it becomes true": a
retry happens inside a Kubernetes call, where a Redis round trip (or Redis being down) has no place, so
each process counts them in memory (`tasks/retries.py` RETRIES) and a `RetryFlusher` adds what is new to
Redis — after each Celery task in a worker, every few seconds in the watcher; the job-runner (no Redis)
ends its Job's log with them and the watcher counts them when it records the Job's end.  A flush that fails keeps
its delta for the next one; MULTI makes a flush all or nothing, so nothing is counted twice.
"""
from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import keys

if TYPE_CHECKING:  # pragma: no cover
    from .records import TaskRecord

log = logging.getLogger("brq.stats")

BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 21600.0)
"""Upper bounds (seconds) of the duration histograms; +Inf is the count."""


def _observe(pipe: Any, key: str, prefix: str, seconds: float) -> None:
    pipe.hincrby(key, f"{prefix}:count", 1)
    pipe.hincrbyfloat(key, f"{prefix}:sum", round(seconds, 3))
    for bound in BUCKETS:
        if seconds <= bound:
            pipe.hincrby(key, f"{prefix}:le:{bound:g}", 1)


def count_finished(pipe: Any, rec: "TaskRecord") -> None:
    """Queue the counters of a task reaching its terminal state (called inside the finishing MULTI)."""
    end = rec.finished or rec.created
    _observe(pipe, keys.task_stats(), f"{rec.kind}:{rec.state}", max(0.0, end - (rec.started or rec.created)))
    if rec.kind != "backup" or not rec.cluster:
        return
    key = keys.backup_stats(rec.namespace, rec.cluster)
    attempted = [s for s in rec.steps if s.get("started") or s.get("state") in ("SUCCESS", "FAILURE")]
    if not attempted and rec.state == "FAILURE":  # failed before any Job ran: every repo it was for failed
        attempted = [{"repo": repo, "state": "FAILURE"} for repo in rec.params.get("repos") or []]
    for step in attempted:
        repo = step["repo"]
        pipe.hincrby(key, f"{repo}:runs", 1)
        if step.get("state") == "SUCCESS":
            finished = step.get("finished") or end
            pipe.hset(key, f"{repo}:last_success", repr(float(finished)))
            if step.get("started"):
                _observe(pipe, key, f"{repo}:duration", max(0.0, finished - step["started"]))
        elif rec.state != "REVOKED":  # a cancelled backup is a run, not a failure
            pipe.hincrby(key, f"{repo}:failures", 1)
            pipe.hset(key, f"{repo}:last_failure", repr(float(step.get("finished") or end)))


def count_skip(pipe: Any, namespace: str, cluster: str, repos: list[str]) -> None:
    """Queue a skipped slot of a schedule, for each repo it would have backed up."""
    for repo in repos:
        pipe.hincrby(keys.backup_stats(namespace, cluster), f"{repo}:skips", 1)


@dataclass
class Histogram:
    count: int = 0
    sum: float = 0.0
    buckets: dict[float, int] = field(default_factory=dict)  # bound → cumulative count

    def cumulative(self) -> list[tuple[str, int]]:
        """(le, count) pairs as Prometheus wants them, +Inf last."""
        return [(f"{b:g}", self.buckets.get(b, 0)) for b in BUCKETS] + [("+Inf", self.count)]


@dataclass
class RepoStats:
    runs: int = 0
    failures: int = 0
    skips: int = 0
    last_success: float | None = None
    last_failure: float | None = None
    duration: Histogram = field(default_factory=Histogram)


def _histograms(raw: dict[str, str]) -> dict[str, Histogram]:
    out: dict[str, Histogram] = {}
    for name, value in raw.items():
        if name.endswith(":count"):
            out.setdefault(name[:-len(":count")], Histogram()).count = int(value)
        elif name.endswith(":sum"):
            out.setdefault(name[:-len(":sum")], Histogram()).sum = float(value)
        else:
            head, sep, bound = name.rpartition(":le:")
            if sep:
                out.setdefault(head, Histogram()).buckets[float(bound)] = int(value)
    return out


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def parse_backups(raw: dict) -> dict[str, RepoStats]:
    """A `keys.backup_stats` hash as {repo: RepoStats}."""
    data = {_text(k): _text(v) for k, v in (raw or {}).items()}
    out: dict[str, RepoStats] = {}
    for prefix, hist in _histograms(data).items():
        repo, _, what = prefix.partition(":")
        if what == "duration":
            out.setdefault(repo, RepoStats()).duration = hist
    for name, value in data.items():
        repo, _, what = name.partition(":")
        stats = out.setdefault(repo, RepoStats())
        if what in ("runs", "failures", "skips"):
            setattr(stats, what, int(value))
        elif what in ("last_success", "last_failure"):
            setattr(stats, what, float(value))
    return out


def read_backups(client: Any, clusters: list[tuple[str, str]]) -> dict[tuple[str, str], dict[str, RepoStats]]:
    """{(namespace, cluster): {repo: RepoStats}} for the given clusters, in one round trip."""
    with client.pipeline(transaction=False) as pipe:
        for namespace, cluster in clusters:
            pipe.hgetall(keys.backup_stats(namespace, cluster))
        raws = pipe.execute() if clusters else []
    return {c: parse_backups(raw) for c, raw in zip(clusters, raws)}


def read_tasks(client: Any) -> dict[tuple[str, str], Histogram]:
    """{(kind, state): Histogram} of task durations."""
    data = {_text(k): _text(v) for k, v in (client.hgetall(keys.task_stats()) or {}).items()}
    out = {}
    for prefix, hist in _histograms(data).items():
        kind, _, state = prefix.rpartition(":")
        out[(kind, state)] = hist
    return out


# -- retries (tasks/retries.py RETRIES) ----------------------------------------------------------------------

class RetryFlusher:
    """Adds a process's in-memory retry counts (`counter`: reason → retries) to Redis, the part not yet added."""

    def __init__(self, counter: Counter, process: str):
        self.counter = counter
        self.process = process
        self.flushed: Counter = Counter()
        self._lock = threading.Lock()

    def flush(self, client: Any) -> int:
        """Add what is new since the last flush; returns how many retries that was. Raises if Redis fails
        (nothing is then marked flushed: the next flush adds it)."""
        with self._lock:
            delta = {reason: n - self.flushed[reason] for reason, n in list(self.counter.items())
                     if n > self.flushed[reason]}
            if not delta:
                return 0
            add_retries(client, self.process, delta)
            self.flushed.update(delta)
            return sum(delta.values())

    def flush_quietly(self, client: Any) -> None:
        try:
            self.flush(client)
        except Exception as exc:  # noqa: BLE001 - metrics never fail the work; kept for the next flush
            log.debug("retry counters not flushed: %s", exc)

    def start(self, client: Any, every: float = 5.0) -> threading.Thread:
        """Flush every `every` seconds in a daemon thread (for a process without a natural point to flush)."""
        def loop() -> None:
            stop = threading.Event()
            while not stop.wait(every):
                self.flush_quietly(client)
        thread = threading.Thread(target=loop, name=f"retry-flusher-{self.process}", daemon=True)
        thread.start()
        return thread


def count_logged_retries(client: Any, log_text: str, process: str = "job-runner") -> None:
    """Add the retries a Job's log ends with (tasks/retries.py `summary`: the job-runner has no Redis); called once
    per Job, when its end is recorded.  Best effort: a failure loses these counts, never the recording."""
    from ..retries import parse_summary

    count_retries(client, parse_summary(log_text or ""), process)


def count_retries(client: Any, found: dict[str, int], process: str = "job-runner") -> None:
    """Add `found` ({reason: retries}, e.g. what a Job's `brq.io/outcome` annotation names) to the counts."""
    found = {str(reason): int(n) for reason, n in (found or {}).items() if isinstance(n, int) and n > 0}
    if not found:
        return
    try:
        add_retries(client, process, found)
    except Exception as exc:  # noqa: BLE001 - metrics never fail the work
        log.warning("the job-runner's retries were not counted: %s", exc)


def add_retries(client: Any, process: str, counts: dict[str, int]) -> None:
    """Add `counts` (reason → retries) to the process's, all or nothing (MULTI); raises if Redis fails."""
    with client.pipeline(transaction=True) as pipe:
        for reason, n in counts.items():
            pipe.hincrby(keys.retry_stats(), f"{process}:{reason}", n)
        pipe.execute()


def read_retries(client: Any) -> dict[tuple[str, str], int]:
    """{(process, reason): retries} of every process that flushed."""
    out = {}
    for name, value in (client.hgetall(keys.retry_stats()) or {}).items():
        process, _, reason = _text(name).partition(":")
        out[(process, reason)] = int(_text(value))
    return out
