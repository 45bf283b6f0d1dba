"""Every Redis key the service uses, in one place (prefix `brq:`)."""
from __future__ import annotations

PREFIX = "brq:"


def task(task_id: str) -> str:
    return f"{PREFIX}task:{task_id}"


def task_done(task_id: str) -> str:
    """A list that gets the terminal state pushed onto it: waiters BLPOP it."""
    return f"{PREFIX}task-done:{task_id}"


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
