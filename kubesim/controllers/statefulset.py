"""StatefulSet → Pods `<name>-<ordinal>`, a claim per volumeClaimTemplate, ControllerRevisions.

As kube-controller-manager's StatefulSet controller (1.32) does it:

- Pods are named `<set>-<ordinal>` (ordinals from `spec.ordinals.start`, default 0), carry the
  labels `statefulset.kubernetes.io/pod-name`, `apps.kubernetes.io/pod-index` and
  `controller-revision-hash`, `hostname` = the pod name and `subdomain` = `spec.serviceName`
  (so a headless Service makes `<pod>.<service>` resolve, see the kubelet's hosts files).
- Each volumeClaimTemplate gives every pod a claim `<template>-<set>-<ordinal>`, created before
  the pod and mounted in place of the template's volume of that name.  Claims are kept when pods
  or the set go (`persistentVolumeClaimRetentionPolicy` Retain, the default); `whenDeleted: Delete`
  makes the set their owner (the garbage collector removes them with it) and `whenScaled: Delete`
  removes the claims of ordinals scaled away.
- `OrderedReady` (the default): pods are created one at a time, lowest ordinal first, each only
  once every lower one is Running and Ready; removed highest ordinal first, one at a time.
  `Parallel`: all at once.  A Failed (or Succeeded) pod is deleted and made again.
- Updates: the pod template's hash names a ControllerRevision (`<set>-<hash>`, its `data` the
  strategic-merge patch `kubectl rollout undo` applies).  `RollingUpdate` replaces pods whose
  revision is not the update revision, highest ordinal first, one at a time, each once the others
  are healthy, down to `partition`; `OnDelete` leaves it to whoever deletes the pods.
- Status: replicas, readyReplicas, availableReplicas (ready for `minReadySeconds`),
  currentReplicas, updatedReplicas, current/updateRevision, observedGeneration, collisionCount —
  what `kubectl rollout status statefulset/x` reads.
"""
from __future__ import annotations

import re
import time
from datetime import datetime, timezone
from typing import Iterable

from .. import defaults, errors
from ..registry import Registry
from ..resources import CONTROLLERREVISIONS, PODS, PVCS, STATEFULSETS
from ..selectors import label_selector_from_object
from ..store import DELETED, Event, Obj, Store, copy_obj
from .base import Controller, Key, controller_ref, owned_by, owner_keys

POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
REVISION_LABEL = "controller-revision-hash"
HASH_LABEL = "controller.kubernetes.io/hash"
COMPONENT = "statefulset-controller"
# A pod is made again no sooner than this after its namesake went.  On a real node that takes
# longer anyway (kubelet → API → controller); without it `kubectl delete pod x-0` (which lists the
# name once it has sent the DELETE, then waits for a DELETED event) could list the replacement,
# made within milliseconds, and wait for its deletion forever.
RECREATE_DELAY = 1.0


def running_and_ready(pod: Obj) -> bool:
    status = pod.get("status") or {}
    return status.get("phase") == "Running" and any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])


def _terminating(pod: Obj) -> bool:
    return bool(pod["metadata"].get("deletionTimestamp"))


def _finished(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Failed", "Succeeded")


def _ready_since(pod: Obj) -> float | None:
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready" and c.get("status") == "True" and c.get("lastTransitionTime"):
            return datetime.strptime(c["lastTransitionTime"], "%Y-%m-%dT%H:%M:%SZ").replace(
                tzinfo=timezone.utc).timestamp()
    return None


def claim_name(template: str, set_name: str, ordinal: int) -> str:
    return f"{template}-{set_name}-{ordinal}"


class StatefulSetController(Controller):
    name = COMPONENT

    def __init__(self, store: Store, registry: Registry):
        super().__init__(store)
        self.registry = registry
        self._gone: dict[tuple[str, str], float] = {}  # (namespace, pod name) → when the pod was removed

    def keys_for(self, event: Event) -> Iterable[Key]:
        key = event.resource.key
        if key == STATEFULSETS.key and event.type != DELETED:
            return [(event.namespace, event.name)]
        if key == PODS.key:
            keys = owner_keys(event, "StatefulSet")
            if keys and event.type == DELETED:
                now = time.monotonic()
                self._gone = {k: t for k, t in self._gone.items() if now - t < RECREATE_DELAY}
                self._gone[(event.namespace, event.name)] = now
            if not keys and event.type != DELETED and not _controller_of(event.obj):
                keys = self._selecting(event.obj)  # an orphan a set may adopt
            return keys
        if key == PVCS.key and event.type == DELETED:
            # a claim a set waits on (being deleted when its pod was due) is gone
            return [(event.namespace, s["metadata"]["name"]) for s in self.store.list(STATEFULSETS, event.namespace)]
        return ()

    def _selecting(self, pod: Obj) -> list[Key]:
        labels = pod["metadata"].get("labels") or {}
        if not labels:
            return []
        ns = pod["metadata"]["namespace"]
        out = []
        for sts in self.store.list(STATEFULSETS, ns):
            try:
                if label_selector_from_object(sts["spec"].get("selector")).matches(labels):
                    out.append((ns, sts["metadata"]["name"]))
            except Exception:  # noqa: BLE001 - a bad selector selects nothing
                continue
        return out

    # -- reconcile --------------------------------------------------------------------------------

    def reconcile(self, key: Key) -> None:
        ns, name = key
        sts = self.store.find(STATEFULSETS, ns, name)
        if sts is None or sts["metadata"].get("deletionTimestamp"):
            return
        self._adopt(sts)
        current, update = self._revisions(sts)
        if current is None or update is None:
            return
        self._sync(sts, current, update)
        self._prune_revisions(sts, current, update)
        self._write_status(sts, current, update)

    def _pods(self, sts: Obj) -> dict[int, Obj]:
        md = sts["metadata"]
        pattern = re.compile(re.escape(md["name"]) + r"-(0|[1-9][0-9]*)")
        out = {}
        for pod in self.store.list(PODS, md["namespace"]):
            if owned_by(pod, md["uid"]):
                m = pattern.fullmatch(pod["metadata"]["name"])
                if m:
                    out[int(m.group(1))] = pod
        return out

    def _adopt(self, sts: Obj) -> None:
        """Orphans named like the set's pods and matching its selector become its own (kubectl delete
        --cascade=orphan, then apply again)."""
        md = sts["metadata"]
        try:
            selector = label_selector_from_object(sts["spec"].get("selector"))
        except Exception:  # noqa: BLE001
            return
        pattern = re.compile(re.escape(md["name"]) + r"-(0|[1-9][0-9]*)")
        for pod in self.store.list(PODS, md["namespace"]):
            pmd = pod["metadata"]
            if _controller_of(pod) or pmd.get("deletionTimestamp") or not pattern.fullmatch(pmd["name"]) \
                    or not selector.matches(pmd.get("labels") or {}):
                continue

            def own(o: Obj) -> None:
                o["metadata"].setdefault("ownerReferences", []).append(controller_ref(sts))
            self.store.mutate(PODS, md["namespace"], pmd["name"], own)

    def _sync(self, sts: Obj, current: Obj, update: Obj) -> None:
        spec = sts["spec"]
        pods = self._pods(sts)
        start = (spec.get("ordinals") or {}).get("start") or 0
        replicas = spec.get("replicas", 1)
        wanted = range(start, start + replicas)
        monotonic = spec.get("podManagementPolicy", "OrderedReady") != "Parallel"
        strategy = spec.get("updateStrategy") or {}
        rolling = strategy.get("type", "RollingUpdate") == "RollingUpdate"
        partition = ((strategy.get("rollingUpdate") or {}).get("partition") or 0) if rolling else 0

        # 1. every wanted ordinal gets a pod, in order (OrderedReady: each waits for the ones below)
        for ordinal in wanted:
            pod = pods.get(ordinal)
            if pod is None:
                revision = current if rolling and ordinal - start < partition else update
                self._create_pod(sts, ordinal, revision)
                if monotonic:
                    return
                continue
            if _terminating(pod):
                if monotonic:
                    return
                continue
            if _finished(pod):
                self._delete_pod(sts, pod)
                if monotonic:
                    return
                continue
            if not running_and_ready(pod) and monotonic:
                return
        # 2. ordinals beyond the wanted range go, highest first
        for ordinal in sorted((o for o in pods if o not in wanted), reverse=True):
            pod = pods[ordinal]
            if not _terminating(pod):
                self._delete_pod(sts, pod)
            if monotonic:
                return
        self._release_scaled_claims(sts, wanted, pods)
        # 3. a rolling update: the highest pod not at the update revision is replaced, once all are healthy
        if not rolling:
            return
        for ordinal in reversed(wanted):
            if ordinal - start < partition:
                break
            pod = pods.get(ordinal)
            if pod is None:
                return
            if pod["metadata"].get("labels", {}).get(REVISION_LABEL) != update["metadata"]["name"] \
                    and not _terminating(pod):
                self._delete_pod(sts, pod)
                return
            if not running_and_ready(pod) or _terminating(pod):
                return

    def _create_pod(self, sts: Obj, ordinal: int, revision: Obj) -> None:
        md, spec = sts["metadata"], sts["spec"]
        ns, set_name = md["namespace"], md["name"]
        pod_name = f"{set_name}-{ordinal}"
        if self.store.find(PODS, ns, pod_name) is not None:
            return  # someone else's pod holds the name; the set waits
        gone = self._gone.get((ns, pod_name))
        if gone is not None and time.monotonic() - gone < RECREATE_DELAY:
            self.requeue_after((ns, set_name), RECREATE_DELAY - (time.monotonic() - gone) + 0.01)
            return
        retention = spec.get("persistentVolumeClaimRetentionPolicy") or {}
        claims = []
        for template in spec.get("volumeClaimTemplates") or []:
            tname = template["metadata"]["name"]
            cname = claim_name(tname, set_name, ordinal)
            claims.append((tname, cname))
            existing = self.store.find(PVCS, ns, cname)
            if existing is not None:
                if existing["metadata"].get("deletionTimestamp"):
                    self.requeue_after((ns, set_name), 1.0)
                    return  # the old claim must be gone before the pod may use a new one
                continue
            claim = {"metadata": {"name": cname, "namespace": ns,
                                  "labels": {**(template["metadata"].get("labels") or {}),
                                             **(spec["selector"].get("matchLabels") or {})}},
                     "spec": copy_obj(template.get("spec") or {})}
            if template["metadata"].get("annotations"):
                claim["metadata"]["annotations"] = dict(template["metadata"]["annotations"])
            if retention.get("whenDeleted") == "Delete":
                claim["metadata"]["ownerReferences"] = [{**controller_ref(sts), "controller": False,
                                                         "blockOwnerDeletion": False}]
            try:
                self.registry.create(PVCS, claim, namespace=ns)
            except errors.StatusError as exc:
                self.registry.record_event(sts, "Warning", "FailedCreate", f"create Claim {cname} for Pod {pod_name} "
                                           f"in StatefulSet {set_name} failed error: {exc.message}", COMPONENT)
                self.requeue_after((ns, set_name), 1.0)
                return
            self.registry.record_event(sts, "Normal", "SuccessfulCreate",
                                       f"create Claim {cname} Pod {pod_name} in StatefulSet {set_name} success",
                                       COMPONENT)
        template = _revision_template(revision) or spec["template"]
        tmeta = template.get("metadata") or {}
        labels = {**(tmeta.get("labels") or {}), REVISION_LABEL: revision["metadata"]["name"],
                  POD_NAME_LABEL: pod_name, POD_INDEX_LABEL: str(ordinal)}
        pod_spec = copy_obj(template.get("spec") or {})
        pod_spec["hostname"] = pod_name
        if spec.get("serviceName"):
            pod_spec["subdomain"] = spec["serviceName"]
        claim_of = dict(claims)
        volumes = [{"name": t, "persistentVolumeClaim": {"claimName": c}} for t, c in claims]
        volumes += [v for v in pod_spec.get("volumes") or [] if v.get("name") not in claim_of]
        if volumes:
            pod_spec["volumes"] = volumes
        pod = {"metadata": {"name": pod_name, "generateName": f"{set_name}-", "namespace": ns, "labels": labels,
                            "ownerReferences": [controller_ref(sts)]},
               "spec": pod_spec}
        if tmeta.get("annotations"):
            pod["metadata"]["annotations"] = dict(tmeta["annotations"])
        try:
            self.registry.create(PODS, pod, namespace=ns)
        except errors.AlreadyExists:
            return
        except errors.StatusError as exc:
            self.registry.record_event(sts, "Warning", "FailedCreate",
                                       f"create Pod {pod_name} in StatefulSet {set_name} failed error: {exc.message}",
                                       COMPONENT)
            self.requeue_after((ns, set_name), 1.0)
            return
        self.registry.record_event(sts, "Normal", "SuccessfulCreate",
                                   f"create Pod {pod_name} in StatefulSet {set_name} successful", COMPONENT)

    def _delete_pod(self, sts: Obj, pod: Obj) -> None:
        md = pod["metadata"]
        try:
            self.registry.delete(PODS, md["namespace"], md["name"])
        except errors.NotFound:
            return
        self.registry.record_event(sts, "Normal", "SuccessfulDelete",
                                   f"delete Pod {md['name']} in StatefulSet {sts['metadata']['name']} successful",
                                   COMPONENT)

    def _release_scaled_claims(self, sts: Obj, wanted: range, pods: dict[int, Obj]) -> None:
        """`whenScaled: Delete`: the claims of ordinals scaled away go once their pods have."""
        spec = sts["spec"]
        if (spec.get("persistentVolumeClaimRetentionPolicy") or {}).get("whenScaled") != "Delete":
            return
        md = sts["metadata"]
        for template in spec.get("volumeClaimTemplates") or []:
            pattern = re.compile(re.escape(f"{template['metadata']['name']}-{md['name']}-") + r"(0|[1-9][0-9]*)")
            for pvc in self.store.list(PVCS, md["namespace"]):
                m = pattern.fullmatch(pvc["metadata"]["name"])
                if not m or pvc["metadata"].get("deletionTimestamp"):
                    continue
                ordinal = int(m.group(1))
                if ordinal >= wanted.stop and ordinal not in pods:
                    try:
                        self.registry.delete(PVCS, md["namespace"], pvc["metadata"]["name"])
                    except errors.NotFound:
                        pass

    # -- revisions --------------------------------------------------------------------------------

    def _owned_revisions(self, sts: Obj) -> list[Obj]:
        uid = sts["metadata"]["uid"]
        return [cr for cr in self.store.list(CONTROLLERREVISIONS, sts["metadata"]["namespace"]) if owned_by(cr, uid)]

    def _revisions(self, sts: Obj) -> tuple[Obj | None, Obj | None]:
        """(current, update) ControllerRevisions; the update one is made (or renumbered, on a rollback)."""
        md = sts["metadata"]
        ns, set_name = md["namespace"], md["name"]
        owned = self._owned_revisions(sts)
        template = sts["spec"]["template"]
        hash_ = defaults.template_hash(template)
        update_name = f"{set_name}-{hash_}"
        latest = max((cr.get("revision", 0) for cr in owned), default=0)
        update = next((cr for cr in owned if cr["metadata"]["name"] == update_name), None)
        if update is None:
            tmpl = copy_obj(template)
            tmpl["$patch"] = "replace"
            cr = {"metadata": {"name": update_name, "namespace": ns,
                               "labels": {**((template.get("metadata") or {}).get("labels") or {}), HASH_LABEL: hash_},
                               "ownerReferences": [controller_ref(sts)]},
                  "data": {"spec": {"template": tmpl}}, "revision": latest + 1}
            try:
                update = self.registry.create(CONTROLLERREVISIONS, cr, namespace=ns)
            except errors.AlreadyExists:
                existing = self.store.find(CONTROLLERREVISIONS, ns, update_name)
                if existing is None or _controller_of(existing):
                    self.requeue_after((ns, set_name), 1.0)
                    return None, None

                def adopt(o: Obj) -> None:  # left by a set deleted with --cascade=orphan
                    o["metadata"].setdefault("ownerReferences", []).append(controller_ref(sts))
                update = self.store.mutate(CONTROLLERREVISIONS, ns, update_name, adopt)
        elif update.get("revision", 0) < latest:
            def renumber(o: Obj) -> None:
                o["revision"] = latest + 1
            update = self.store.mutate(CONTROLLERREVISIONS, ns, update_name, renumber)
        current_name = (sts.get("status") or {}).get("currentRevision")
        current = next((cr for cr in owned if cr["metadata"]["name"] == current_name), None) or update
        return current, update

    def _prune_revisions(self, sts: Obj, current: Obj, update: Obj) -> None:
        limit = sts["spec"].get("revisionHistoryLimit", 10)
        live = {current["metadata"]["name"], update["metadata"]["name"]}
        live |= {(p["metadata"].get("labels") or {}).get(REVISION_LABEL) for p in self._pods(sts).values()}
        history = sorted((cr for cr in self._owned_revisions(sts) if cr["metadata"]["name"] not in live),
                         key=lambda cr: cr.get("revision", 0))
        for cr in history[:max(len(history) - limit, 0)]:
            try:
                self.registry.delete(CONTROLLERREVISIONS, cr["metadata"]["namespace"], cr["metadata"]["name"])
            except errors.NotFound:
                pass

    # -- status -----------------------------------------------------------------------------------

    def _write_status(self, sts: Obj, current: Obj, update: Obj) -> None:
        md, spec = sts["metadata"], sts["spec"]
        pods = list(self._pods(sts).values())
        min_ready = spec.get("minReadySeconds") or 0
        now = datetime.now(timezone.utc).timestamp()
        current_name, update_name = current["metadata"]["name"], update["metadata"]["name"]
        replicas = ready = available = current_n = updated = 0
        wake: float | None = None
        for pod in pods:
            replicas += 1
            if running_and_ready(pod):
                ready += 1
                since = _ready_since(pod) if min_ready else None
                if not min_ready or since is None or since + min_ready <= now:
                    available += 1
                else:
                    wake = min(wake if wake is not None else 1e18, since + min_ready - now)
            if not _terminating(pod):
                revision = (pod["metadata"].get("labels") or {}).get(REVISION_LABEL)
                current_n += revision == current_name
                updated += revision == update_name
        rolling = (spec.get("updateStrategy") or {}).get("type", "RollingUpdate") == "RollingUpdate"
        if rolling and updated == replicas and ready == replicas:
            current_name, current_n = update_name, updated
        status: Obj = {"observedGeneration": md.get("generation", 1), "replicas": replicas}
        for key, value in (("readyReplicas", ready), ("currentReplicas", current_n), ("updatedReplicas", updated)):
            if value:
                status[key] = value
        status.update({"currentRevision": current_name, "updateRevision": update_name, "collisionCount": 0,
                       "availableReplicas": available})
        if wake is not None:
            self.requeue_after((md["namespace"], md["name"]), wake + 0.05)
        if status == sts.get("status"):
            return

        def apply(o: Obj) -> None:
            o["status"] = status
        self.store.mutate(STATEFULSETS, md["namespace"], md["name"], apply)


def _controller_of(obj: Obj) -> dict | None:
    return next((r for r in obj["metadata"].get("ownerReferences") or [] if r.get("controller")), None)


def _revision_template(revision: Obj) -> Obj | None:
    template = (((revision.get("data") or {}).get("spec") or {}).get("template"))
    if not isinstance(template, dict):
        return None
    template = copy_obj(template)
    template.pop("$patch", None)
    return template
