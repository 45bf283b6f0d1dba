"""Every Redis key the service uses, in one place (prefix `brq:`)."""
from __future__ import annotations

PREFIX = "brq:"


def task(task_id: str) -> str:
    return f"{PREFIX}task:{task_id}"


def task_done(task_id: str) -> str:
    """A list that gets the terminal state pushed onto it: waiters BLPOP it."""
    return f"{PREFIX}task-done:{task_id}"


def task_alive(task_id: str) -> str:
    """When a worker last worked on the task (epoch seconds; refreshed while a step runs): the watcher re-sends only
    tasks that neither changed nor were worked on for a while (tasks/watcher.py `sweep`)."""
    return f"{PREFIX}task-alive:{task_id}"


def task_resent(task_id: str) -> str:
    """How many times the watcher re-sent the task as stale: each re-send waits twice as long as the one before
    (tasks/watcher.py `sweep`), so tasks queued behind a long backlog are not re-sent every period."""
    return f"{PREFIX}task-resent:{task_id}"


def active_tasks() -> str:
    """The set of ids of every task not yet in a terminal state (what reconciliation walks)."""
    return f"{PREFIX}tasks-active"


def namespace_tasks(namespace: str) -> str:
    return f"{PREFIX}tasks:{namespace}"


def cluster_tasks(namespace: str, cluster: str) -> str:
    return f"{PREFIX}tasks:{namespace}/{cluster}"


def cluster_lock(namespace: str, cluster: str) -> str:
    return f"{PREFIX}lock:{namespace}/{cluster}"


def cluster(namespace: str, name: str) -> str:
    return f"{PREFIX}cluster:{namespace}/{name}"


def namespace_clusters(namespace: str) -> str:
    return f"{PREFIX}clusters:{namespace}"


def watcher_lock() -> str:
    return f"{PREFIX}watcher:leader"


# -- schedules (tasks/schedules/store.py) and their RedBeat entries ---------------------------------

def schedule(namespace: str, name: str) -> str:
    """A schedule's definition (JSON)."""
    return f"{PREFIX}schedule:{namespace}/{name}"


def namespace_schedules(namespace: str) -> str:
    """Sorted set of a namespace's schedule names, by creation time."""
    return f"{PREFIX}schedules:{namespace}"


def cluster_schedules(namespace: str, cluster: str) -> str:
    """Set of the names of a cluster's schedules."""
    return f"{PREFIX}schedules:{namespace}/{cluster}"


def schedule_runs(uid: str) -> str:
    """Hash: slot (epoch seconds) → the run or skip recorded for it (JSON); first writer wins."""
    return f"{PREFIX}schedule-runs:{uid}"


def schedule_slots(uid: str) -> str:
    """Sorted set of the slots in `schedule_runs`, by slot time (to list and trim the history)."""
    return f"{PREFIX}schedule-slots:{uid}"


def schedule_counts(uid: str) -> str:
    """Hash: runs, skipped, and skipped:<reason> counters of one schedule."""
    return f"{PREFIX}schedule-counts:{uid}"


BEAT_PREFIX = f"{PREFIX}beat:"
"""RedBeat's `redbeat_key_prefix`: its entries are `<prefix><namespace>/<name>`, its sorted set `<prefix>:schedule`."""


def beat_entry(namespace: str, name: str) -> str:
    return f"{BEAT_PREFIX}{namespace}/{name}"


def beat_schedule() -> str:
    """RedBeat's sorted set of entry keys by due time (a score of -1: never loaded — a paused schedule)."""
    return f"{BEAT_PREFIX}:schedule"


def beat_lock() -> str:
    """RedBeat's leader lock: one beat fires, the others wait for it."""
    return f"{BEAT_PREFIX}:lock"


# -- counters behind /metrics (tasks/state/stats.py) ------------------------------------------------

def backup_stats(namespace: str, cluster: str) -> str:
    """Hash of per-repo backup counters, last success/failure times and duration buckets of one cluster."""
    return f"{PREFIX}stats:backups:{namespace}/{cluster}"


def task_stats() -> str:
    """Hash of task duration buckets per kind and final state."""
    return f"{PREFIX}stats:tasks"


def retry_stats() -> str:
    """Hash `<process>:<reason>` → retries of Kubernetes calls made by the workers and the watcher."""
    return f"{PREFIX}stats:retries"
