"""Deployment → ReplicaSets → Pods.

The Deployment controller keeps one ReplicaSet per pod template (named
`<deployment>-<pod-template-hash>`), rolls from old to new (Recreate: old to
zero first; RollingUpdate: old to zero once the new one is available) and
writes the status `kubectl rollout status` and `wait --for=condition=available`
read.  The ReplicaSet controller keeps `replicas` pods.
"""
from __future__ import annotations

import math
from typing import Iterable

from .. import defaults, errors
from ..registry import Registry, rand_suffix
from ..resources import DEPLOYMENTS, PODS, REPLICASETS
from ..store import DELETED, Event, Obj, Store, copy_obj, now_rfc3339
from .base import Controller, Key, controller_ref, owned_by, owner_keys

HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"


def _ready(pod: Obj) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in (pod.get("status") or {}).get("conditions")
               or [])


def _live(pod: Obj) -> bool:
    return not pod["metadata"].get("deletionTimestamp") and \
        (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")


def _int_or_percent(value, total: int, round_up: bool) -> int:
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.endswith("%"):
        raw = total * int(value[:-1]) / 100
        return math.ceil(raw) if round_up else math.floor(raw)
    return int(value or 0)


class ReplicaSetController(Controller):
    name = "replicaset-controller"

    def __init__(self, store: Store, registry: Registry):
        super().__init__(store)
        self.registry = registry

    def keys_for(self, event: Event) -> Iterable[Key]:
        if event.resource.key == REPLICASETS.key and event.type != DELETED:
            return [(event.namespace, event.name)]
        if event.resource.key == PODS.key:
            return owner_keys(event, "ReplicaSet")
        return ()

    def reconcile(self, key: Key) -> None:
        ns, name = key
        rs = self.store.find(REPLICASETS, ns, name)
        if rs is None or rs["metadata"].get("deletionTimestamp"):
            return
        uid = rs["metadata"]["uid"]
        pods = [p for p in self.store.list(PODS, ns) if owned_by(p, uid)]
        for pod in pods:  # a failed pod of a ReplicaSet is replaced
            if (pod.get("status") or {}).get("phase") in ("Failed", "Succeeded") and \
                    not pod["metadata"].get("deletionTimestamp"):
                self._delete(pod)
        live = [p for p in pods if _live(p)]
        want = rs["spec"].get("replicas", 1)
        if len(live) < want:
            for _ in range(want - len(live)):
                self._create(rs)
        elif len(live) > want:
            victims = sorted(live, key=lambda p: (_ready(p), p["metadata"]["creationTimestamp"]), reverse=False)
            for pod in victims[:len(live) - want]:
                self._delete(pod)
        live = [p for p in self.store.list(PODS, ns) if owned_by(p, uid) and _live(p)]
        ready = sum(1 for p in live if _ready(p))
        status = {"replicas": len(live), "fullyLabeledReplicas": len(live), "readyReplicas": ready,
                  "availableReplicas": ready, "observedGeneration": rs["metadata"].get("generation", 1)}
        if status != rs.get("status"):
            def apply(o: Obj) -> None:
                o["status"] = status
            self.store.mutate(REPLICASETS, ns, name, apply)

    def _create(self, rs: Obj) -> None:
        template = rs["spec"]["template"]
        md = rs["metadata"]
        pod = {"metadata": {"name": f"{md['name']}-{rand_suffix()}", "namespace": md["namespace"],
                            "labels": dict((template.get("metadata") or {}).get("labels") or {}),
                            "annotations": dict((template.get("metadata") or {}).get("annotations") or {}),
                            "ownerReferences": [controller_ref(rs)]},
               "spec": copy_obj(template.get("spec") or {})}
        try:
            created = self.registry.create(PODS, pod, namespace=md["namespace"])
        except errors.StatusError as exc:
            self.registry.record_event(rs, "Warning", "FailedCreate", f"Error creating: {exc.message}",
                                       "replicaset-controller")
            self.requeue_after((md["namespace"], md["name"]), 1.0)
            return
        self.registry.record_event(rs, "Normal", "SuccessfulCreate", f"Created pod: {created['metadata']['name']}",
                                   "replicaset-controller")

    def _delete(self, pod: Obj) -> None:
        try:
            self.registry.delete(PODS, pod["metadata"]["namespace"], pod["metadata"]["name"])
        except errors.NotFound:
            pass


class DeploymentController(Controller):
    name = "deployment-controller"

    def __init__(self, store: Store, registry: Registry):
        super().__init__(store)
        self.registry = registry

    def keys_for(self, event: Event) -> Iterable[Key]:
        key = event.resource.key
        if key == DEPLOYMENTS.key and event.type != DELETED:
            return [(event.namespace, event.name)]
        if key == REPLICASETS.key:
            return owner_keys(event, "Deployment")
        if key == PODS.key and event.type == DELETED:
            # Recreate waits for the old pods to be gone
            labels = event.obj["metadata"].get("labels") or {}
            if HASH_LABEL in labels:
                return [(event.namespace, r["name"]) for r in self._rs_owners(event.obj)]
        return ()

    def _rs_owners(self, pod: Obj) -> list[dict]:
        out = []
        for ref in pod["metadata"].get("ownerReferences") or []:
            if ref.get("kind") == "ReplicaSet":
                rs = self.store.find(REPLICASETS, pod["metadata"]["namespace"], ref["name"])
                for dref in (rs or {}).get("metadata", {}).get("ownerReferences") or []:
                    if dref.get("kind") == "Deployment":
                        out.append(dref)
        return out

    def reconcile(self, key: Key) -> None:
        ns, name = key
        dep = self.store.find(DEPLOYMENTS, ns, name)
        if dep is None or dep["metadata"].get("deletionTimestamp"):
            return
        spec = dep["spec"]
        uid = dep["metadata"]["uid"]
        owned = [rs for rs in self.store.list(REPLICASETS, ns) if owned_by(rs, uid)]
        template = copy_obj(spec["template"])
        (template.setdefault("metadata", {}).get("labels") or {}).pop(HASH_LABEL, None)
        hash_ = defaults.template_hash(template)
        new_name = f"{name}-{hash_}"
        new = next((rs for rs in owned if rs["metadata"]["name"] == new_name), None)
        olds = [rs for rs in owned if rs["metadata"]["name"] != new_name]
        replicas = spec.get("replicas", 1)
        recreate = (spec.get("strategy") or {}).get("type") == "Recreate"
        if spec.get("paused"):
            self._write_status(dep, new, olds)
            return
        revisions = [int(rs["metadata"].get("annotations", {}).get(REVISION, "0")) for rs in owned]
        if new is None:
            new = self._create_rs(dep, template, hash_, max(revisions, default=0) + 1,
                                  0 if recreate and self._old_pods_exist(olds) else replicas)
            if new is None:
                return
        old_pods = self._old_pods_exist(olds)
        if recreate:
            for rs in olds:
                self._scale(rs, 0)
            if not old_pods:
                self._scale(new, replicas)
        else:
            self._scale(new, replicas)
            new_available = (new.get("status") or {}).get("availableReplicas", 0)
            if new_available >= replicas:
                for rs in olds:
                    self._scale(rs, 0)
        self._prune_history(dep, olds)
        new = self.store.find(REPLICASETS, ns, new_name)
        self._write_status(dep, new, olds)

    def _old_pods_exist(self, olds: list[Obj]) -> bool:
        uids = {rs["metadata"]["uid"] for rs in olds}
        if not uids:
            return False
        ns = olds[0]["metadata"]["namespace"]
        return any(any(r.get("uid") in uids for r in p["metadata"].get("ownerReferences") or [])
                   for p in self.store.list(PODS, ns))

    def _create_rs(self, dep: Obj, template: Obj, hash_: str, revision: int, replicas: int) -> Obj | None:
        md = dep["metadata"]
        labels = dict((template.get("metadata") or {}).get("labels") or {})
        labels[HASH_LABEL] = hash_
        tmpl = copy_obj(template)
        tmpl.setdefault("metadata", {})["labels"] = labels
        selector = copy_obj(dep["spec"]["selector"])
        selector.setdefault("matchLabels", {})[HASH_LABEL] = hash_
        rs = {"metadata": {"name": f"{md['name']}-{hash_}", "namespace": md["namespace"], "labels": labels,
                           "annotations": {REVISION: str(revision),
                                           "deployment.kubernetes.io/desired-replicas": str(dep["spec"]["replicas"]),
                                           "deployment.kubernetes.io/max-replicas": str(dep["spec"]["replicas"] + 1)},
                           "ownerReferences": [controller_ref(dep)]},
              "spec": {"replicas": replicas, "minReadySeconds": dep["spec"].get("minReadySeconds", 0),
                       "selector": selector, "template": tmpl}}
        try:
            created = self.registry.create(REPLICASETS, rs, namespace=md["namespace"])
        except errors.AlreadyExists:
            return self.store.find(REPLICASETS, md["namespace"], rs["metadata"]["name"])
        self.registry.record_event(dep, "Normal", "ScalingReplicaSet",
                                   f"Scaled up replica set {created['metadata']['name']} to {replicas}",
                                   "deployment-controller")

        def annotate(o: Obj) -> None:
            o["metadata"].setdefault("annotations", {})[REVISION] = str(revision)
        self.store.mutate(DEPLOYMENTS, md["namespace"], md["name"], annotate)
        return created

    def _scale(self, rs: Obj, replicas: int) -> None:
        if rs["spec"].get("replicas") == replicas:
            return

        def apply(o: Obj) -> None:
            o["spec"]["replicas"] = replicas
            o["metadata"]["generation"] = o["metadata"].get("generation", 1) + 1
        self.store.mutate(REPLICASETS, rs["metadata"]["namespace"], rs["metadata"]["name"], apply)

    def _prune_history(self, dep: Obj, olds: list[Obj]) -> None:
        limit = dep["spec"].get("revisionHistoryLimit", 10)
        idle = [rs for rs in olds if rs["spec"].get("replicas", 0) == 0 and
                not (rs.get("status") or {}).get("replicas")]
        idle.sort(key=lambda rs: int(rs["metadata"].get("annotations", {}).get(REVISION, "0")))
        for rs in idle[:max(len(idle) - limit, 0)]:
            try:
                self.registry.delete(REPLICASETS, rs["metadata"]["namespace"], rs["metadata"]["name"])
            except errors.NotFound:
                pass

    def _write_status(self, dep: Obj, new: Obj | None, olds: list[Obj]) -> None:
        spec = dep["spec"]
        replicas = spec.get("replicas", 1)
        all_rs = ([new] if new else []) + [self.store.find(REPLICASETS, rs["metadata"]["namespace"],
                                                            rs["metadata"]["name"]) or rs for rs in olds]
        total = sum((rs.get("status") or {}).get("replicas", 0) for rs in all_rs)
        ready = sum((rs.get("status") or {}).get("readyReplicas", 0) for rs in all_rs)
        available = sum((rs.get("status") or {}).get("availableReplicas", 0) for rs in all_rs)
        updated = (new.get("status") or {}).get("replicas", 0) if new else 0
        new_available = (new.get("status") or {}).get("availableReplicas", 0) if new else 0
        strategy = spec.get("strategy") or {}
        max_unavailable = 0
        if strategy.get("type") == "RollingUpdate":
            max_unavailable = _int_or_percent((strategy.get("rollingUpdate") or {}).get("maxUnavailable", "25%"),
                                              replicas, round_up=False)
        old = dep.get("status") or {}
        conds = {c["type"]: c for c in old.get("conditions") or []}
        now = now_rfc3339()
        is_available = available >= replicas - max_unavailable
        avail_reason = "MinimumReplicasAvailable" if is_available else "MinimumReplicasUnavailable"
        avail_msg = "Deployment has minimum availability." if is_available else \
            "Deployment does not have minimum availability."
        complete = updated == replicas and new_available >= replicas and total == updated
        rs_name = new["metadata"]["name"] if new else ""
        if complete:
            prog_reason, prog_msg = "NewReplicaSetAvailable", f'ReplicaSet "{rs_name}" has successfully progressed.'
        elif new is not None and "Progressing" in conds:
            prog_reason, prog_msg = "ReplicaSetUpdated", f'ReplicaSet "{rs_name}" is progressing.'
        else:
            prog_reason, prog_msg = "NewReplicaSetCreated", f'Created new replica set "{rs_name}"'
        status: Obj = {"observedGeneration": dep["metadata"].get("generation", 1), "replicas": total,
                       "updatedReplicas": updated, "readyReplicas": ready, "availableReplicas": available}
        if replicas - available > 0:
            status["unavailableReplicas"] = replicas - available
        for key in ("readyReplicas", "availableReplicas", "replicas", "updatedReplicas"):
            if not status[key]:
                del status[key]
        status["conditions"] = [
            _condition(conds.get("Available"), "Available", is_available, avail_reason, avail_msg, now),
            _condition(conds.get("Progressing"), "Progressing", True, prog_reason, prog_msg, now),
        ]
        if status == old:
            return
        md = dep["metadata"]

        def apply(o: Obj) -> None:
            o["status"] = status
        self.store.mutate(DEPLOYMENTS, md["namespace"], md["name"], apply)


def _condition(old: Obj | None, type_: str, ok: bool, reason: str, message: str, now: str) -> Obj:
    status = "True" if ok else "False"
    if old and old["status"] == status and old.get("reason") == reason and old.get("message") == message:
        return old
    transition = old["lastTransitionTime"] if old and old["status"] == status else now
    return {"type": type_, "status": status, "lastUpdateTime": now, "lastTransitionTime": transition,
            "reason": reason, "message": message}
