"""Cluster records in Redis: what the API knows of each PostgreSQL cluster without asking Kubernetes.

The Kubernetes objects are the truth (the storage type is recorded on them at
creation); this record mirrors what the API needs to validate a request and
answer `GET …/clusters`: storage types, status, and the last backup per repo.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import redis

from . import keys

CREATING, READY, FAILED, DELETING = "creating", "ready", "failed", "deleting"


class ClusterExists(Exception):
    """A cluster of that name exists in the namespace."""


class UnknownCluster(Exception):
    """No cluster of that name in the namespace."""


@dataclass
class ClusterRecord:
    name: str
    namespace: str
    storage_types: list[str]  # ["local"], ["s3"] or ["local", "s3"]; fixed at creation
    status: str = CREATING
    created: float = field(default_factory=time.time)
    task_id: str | None = None  # the task that created it
    message: str | None = None  # why it failed, if it did
    last_backup: dict[str, Any] = field(default_factory=dict)  # repo ("local"/"s3") → {label, type, time, task}
    data_pvc: str | None = None  # the PVC holding PGDATA now (None: `<name>`, the first one); a restore moves it
    restoring: str | None = None  # the restore task running, if one: schedules skip their slots meanwhile
    restores: list[dict[str, Any]] = field(default_factory=list)  # finished restores: task, when, old/new PVC
    retention: dict[str, dict[str, Any]] = field(default_factory=dict)  # repo ("local"/"s3") → repo-retention-*
    retention_task: str | None = None  # the task that last wrote the retention into the repo host's config

    @property
    def storage_type(self) -> str:
        return ",".join(self.storage_types)

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, raw: str | bytes) -> "ClusterRecord":
        data = json.loads(raw)
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


class ClusterStore:
    def __init__(self, client: redis.Redis):
        self.r = client

    def create(self, record: ClusterRecord) -> ClusterRecord:
        key = keys.cluster(record.namespace, record.name)
        with self.r.pipeline() as pipe:
            pipe.set(key, record.to_json(), nx=True)
            # nx: a name taken keeps its place (a refused create must change nothing)
            pipe.zadd(keys.namespace_clusters(record.namespace), {record.name: record.created}, nx=True)
            created, _ = pipe.execute()
        if not created:
            raise ClusterExists(f"{record.namespace}/{record.name}")
        return record

    def get(self, namespace: str, name: str) -> ClusterRecord:
        raw = self.r.get(keys.cluster(namespace, name))
        if raw is None:
            raise UnknownCluster(f"{namespace}/{name}")
        return ClusterRecord.from_json(raw)

    def find(self, namespace: str, name: str) -> ClusterRecord | None:
        try:
            return self.get(namespace, name)
        except UnknownCluster:
            return None

    def list(self, namespace: str) -> list[ClusterRecord]:
        names = [n.decode() if isinstance(n, bytes) else n for n in self.r.zrange(keys.namespace_clusters(namespace),
                                                                                    0, -1)]
        if not names:
            return []
        raws = self.r.mget([keys.cluster(namespace, n) for n in names])
        return sorted((ClusterRecord.from_json(raw) for raw in raws if raw is not None), key=lambda c: c.name)

    def update(self, namespace: str, name: str, change: Callable[[ClusterRecord], Any]) -> ClusterRecord:
        key = keys.cluster(namespace, name)
        with self.r.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    if raw is None:
                        pipe.unwatch()
                        raise UnknownCluster(f"{namespace}/{name}")
                    rec = ClusterRecord.from_json(raw)
                    change(rec)
                    pipe.multi()
                    pipe.set(key, rec.to_json())
                    pipe.execute()
                    return rec
                except redis.WatchError:
                    continue

    def delete(self, namespace: str, name: str) -> None:
        with self.r.pipeline() as pipe:
            pipe.delete(keys.cluster(namespace, name))
            pipe.zrem(keys.namespace_clusters(namespace), name)
            pipe.execute()
