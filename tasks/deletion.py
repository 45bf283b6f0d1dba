"""Deleting a cluster (`DELETE /api/v1/namespaces/{ns}/clusters/{name}`, PGO v4's `pgo delete cluster`).

The API has already, in the request: taken the cluster's lock with this task (so no backup, restore or
configuration change runs meanwhile, and none can start), marked the cluster `deleting` (schedules skip it,
backups are refused) and deleted its schedules (so nothing fires).  This step deletes, by the cluster's label,
its Jobs, Deployments (their pods go with them), Services, ConfigMaps and Secrets, then its volumes: the PGDATA
volumes (the current one and the ones earlier restores kept) unless `keep_data`, the local repository volume
unless `keep_backups` (the default keeps it, as PGO did).  An S3 repository is never touched: its backups stay
in the bucket.  Every deletion is idempotent (a worker killed half-way repeats the step), and the cluster's
record goes last, in the transaction that ends the task.
"""
from __future__ import annotations

import logging
import time

from kubernetes_asyncio import client

from . import topology
from .kube import objects
from .runtime import Runtime
from .schedules.store import ScheduleStore
from .state.records import RUNNING, SUCCESS, TaskRecord

log = logging.getLogger("brq.deletion")


def _names(listed: dict) -> list[str]:
    return sorted(item["metadata"]["name"] for item in listed.get("items") or [])


async def advance_delete_cluster(rt: Runtime, rec: TaskRecord, api: client.ApiClient) -> None:
    ns, name = rec.namespace, rec.cluster
    keep_data = bool(rec.params.get("keep_data"))
    keep_backups = bool(rec.params.get("keep_backups", True))
    selector = f"{topology.L_CLUSTER}={name}"
    deleted: dict[str, list[str]] = {}
    kept: dict[str, list[str]] = {}

    def running(r: TaskRecord) -> None:
        r.state, r.phase = RUNNING, "deleting objects"
        r.started = r.started or time.time()

    rt.tasks.update(rec.id, running)
    ScheduleStore(rt.redis).delete_for_cluster(ns, name)  # again: a schedule created meanwhile goes too

    for job in _names(await objects.list_(api, kind="Job", namespace=ns, labels=selector)):
        await objects.delete(api, kind="Job", namespace=ns, name=job, propagation="Foreground")
        deleted.setdefault("Job", []).append(job)
    for deploy in _names(await objects.list_(api, kind="Deployment", namespace=ns, labels=selector)):
        await objects.delete(api, kind="Deployment", namespace=ns, name=deploy, propagation="Foreground")
        deleted.setdefault("Deployment", []).append(deploy)
    for svc in _names(await objects.list_(api, kind="Service", namespace=ns, labels=selector)):
        await objects.delete(api, kind="Service", namespace=ns, name=svc)
        deleted.setdefault("Service", []).append(svc)
    for cm in _names(await objects.list_(api, kind="ConfigMap", namespace=ns, labels=selector)):
        await objects.delete(api, kind="ConfigMap", namespace=ns, name=cm)
        deleted.setdefault("ConfigMap", []).append(cm)
    for secret in _names(await objects.list_(api, kind="Secret", namespace=ns, labels=selector)):
        await objects.delete(api, kind="Secret", namespace=ns, name=secret)
        deleted.setdefault("Secret", []).append(secret)
    for pvc in _names(await objects.list_(api, kind="PersistentVolumeClaim", namespace=ns, labels=selector)):
        is_repo = pvc == f"{name}-pgbr-repo"
        if (is_repo and keep_backups) or (not is_repo and keep_data):
            kept.setdefault("PersistentVolumeClaim", []).append(pvc)
            continue
        await objects.delete(api, kind="PersistentVolumeClaim", namespace=ns, name=pvc)
        deleted.setdefault("PersistentVolumeClaim", []).append(pvc)

    result = {"deleted": deleted, "kept": kept,
              "s3": "an S3 repository's backups stay in the bucket"}
    log.info("cluster %s/%s deleted; kept %s", ns, name, kept or "nothing")

    def finish(r: TaskRecord) -> None:
        r.state, r.phase, r.result = SUCCESS, "done", result

    rt.tasks.update(rec.id, finish)
    rt.clusters.delete(ns, name)
