"""`update-cluster`: write a cluster's new retention into its repo host's configuration, and restart it.

pgBackRest reads its configuration on every command, so a backup exec'd in the repo host after
`repo.conf` changed — and the `expire` it runs at its end — follows the new retention.  But the pod
sees the ConfigMap through a volume, and kubesim writes volume files once, at pod start (a real
kubelet refreshes them, a minute or so later); so the step after the ConfigMap patch changes an
annotation on the repo host Deployment's pod template (`brq.io/config-hash`, the new text's hash),
which rolls the pod (strategy Recreate), and the task waits for the new pod to be ready.  Declarative
and idempotent: a redelivered step patches the same values again.  The task holds the cluster lock
(no backup runs while the repo host restarts; scheduled slots meanwhile are skipped as busy).

Phases: queued → config → rollout → done.
"""
from __future__ import annotations

import hashlib
import time

from kubernetes_asyncio import client

from . import topology
from .kube import objects
from .pgbackrest import config as pbconfig
from .runtime import Runtime
from .state.records import FAILURE, RUNNING, SUCCESS, TaskRecord

CONFIG_HASH = "brq.io/config-hash"
READY_TIMEOUT = 300.0
POLL = 1.0


def config_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _set(**fields):
    def change(r: TaskRecord) -> None:
        for key, value in fields.items():
            setattr(r, key, value)
    return change


async def advance_update_cluster(rt: Runtime, rec: TaskRecord, api: client.ApiClient) -> None:
    from .steps import cluster_spec, pgbackrest_config

    cluster = rt.clusters.get(rec.namespace, rec.cluster)
    spec = cluster_spec(rt, rec.namespace, rec.cluster, cluster.storage_type)
    cfg = pgbackrest_config(rt, rec.namespace, rec.cluster, cluster.storage_type, rec.params.get("retention"))
    text = pbconfig.repo_host_conf(cfg)
    digest = config_hash(text)
    if rec.phase in ("queued", "config"):
        rt.tasks.update(rec.id, _set(state=RUNNING, phase="config"))
        await objects.patch(api, kind="ConfigMap", namespace=rec.namespace, name=spec.config_map,
                            body={"data": {"repo.conf": text}})
        await objects.patch(api, kind="Deployment", namespace=rec.namespace, name=spec.repo_host,
                            body={"spec": {"template": {"metadata": {"annotations": {CONFIG_HASH: digest}}}}})
        rec = rt.tasks.update(rec.id, _set(phase="rollout", progress={"config_hash": digest}))
    if rec.phase == "rollout":
        pods = (await objects.list_(api, kind="Pod", namespace=rec.namespace,
                                    labels=f"{topology.L_CLUSTER}={rec.cluster},{topology.L_ROLE}=repo-host"))["items"]
        new = [p for p in pods if (p["metadata"].get("annotations") or {}).get(CONFIG_HASH) == digest]
        old = [p for p in pods if p not in new]
        ready = [p for p in new if _ready(p)]
        if ready and not old:
            rt.tasks.update(rec.id, _set(state=SUCCESS, phase="done", progress=None, result={
                "retention": rec.params.get("retention") or {}, "config_hash": digest,
                "repo_host_pod": ready[0]["metadata"]["name"]}))
            return
        if time.time() - (rec.started or rec.created) > READY_TIMEOUT:
            rt.tasks.update(rec.id, _set(state=FAILURE, phase="failed", error={
                "code": None, "name": "RepoHostNotReady", "action": "look at the repo host's pods and events",
                "message": f"the repo host did not come back with the new configuration within {READY_TIMEOUT:g}s"}))
            return
        rt.send("brq.advance", rec.id, countdown=POLL)


def _ready(pod: dict) -> bool:
    st = pod.get("status") or {}
    return st.get("phase") == "Running" and not pod["metadata"].get("deletionTimestamp") and any(
        c["type"] == "Ready" and c["status"] == "True" for c in st.get("conditions") or [])
