"""PodDisruptionBudgets: the disruption controller's status, and the eviction check that reads it.

Status as kube-controller-manager 1.32 computes it: `expectedPods` (the pods selected, or, for a
percentage or `maxUnavailable`, the scale of their controllers: Deployment, ReplicaSet,
StatefulSet), `currentHealthy` (selected pods Ready, not being deleted, not just evicted),
`desiredHealthy`, `disruptionsAllowed` and the `DisruptionAllowed` condition.  A pod without a
scalable controller makes the budget fail safe (`SyncFailed`, no disruptions allowed), as there.

`admit_eviction` is what `POST pods/<name>/eviction` asks before deleting: a 429 when the pod's
budget allows no disruption now, else the budget is charged (`disruptedPods`) until the pod goes.
"""
from __future__ import annotations

import math
import time
from datetime import datetime, timezone
from typing import Iterable

from .. import errors
from ..registry import Registry
from ..resources import DEPLOYMENTS, PDBS, PODS, REPLICASETS, STATEFULSETS
from ..selectors import label_selector_from_object
from ..store import DELETED, Event, Obj, Store, now_rfc3339
from .base import Controller, Key

DISRUPTED_POD_TIMEOUT = 120.0  # an evicted pod not deleted by then counts again (DeletionTimeout)


def _selects(pdb: Obj, pod: Obj | None) -> bool:
    if pod is None:
        return False
    selector = (pdb.get("spec") or {}).get("selector")
    if selector is None:  # policy/v1: a null selector selects nothing, {} everything
        return False
    try:
        return label_selector_from_object(selector).matches(pod["metadata"].get("labels") or {})
    except Exception:  # noqa: BLE001
        return False


def _ready(pod: Obj) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def _stamp(value: str) -> float:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()


def _scaled(value, total: int) -> int:
    """intstr.GetScaledValueFromIntOrPercent, rounding up."""
    if isinstance(value, str) and value.endswith("%"):
        return math.ceil(int(value[:-1]) * total / 100)
    return int(value)


class DisruptionController(Controller):
    name = "disruption-controller"

    def __init__(self, store: Store, registry: Registry):
        super().__init__(store)
        self.registry = registry

    def keys_for(self, event: Event) -> Iterable[Key]:
        key = event.resource.key
        if key == PDBS.key:
            return [(event.namespace, event.name)] if event.type != DELETED else ()
        if key == PODS.key:
            return [(event.namespace, pdb["metadata"]["name"]) for pdb in self.store.list(PDBS, event.namespace)
                    if _selects(pdb, event.obj) or _selects(pdb, event.old)]
        if key in (DEPLOYMENTS.key, REPLICASETS.key, STATEFULSETS.key) and event.type != DELETED:
            return [(event.namespace, pdb["metadata"]["name"]) for pdb in self.store.list(PDBS, event.namespace)]
        return ()

    def reconcile(self, key: Key) -> None:
        ns, name = key
        pdb = self.store.find(PDBS, ns, name)
        if pdb is None or pdb["metadata"].get("deletionTimestamp"):
            return
        spec, old = pdb.get("spec") or {}, pdb.get("status") or {}
        pods = [p for p in self.store.list(PODS, ns) if _selects(pdb, p)]
        now = time.time()
        by_name = {p["metadata"]["name"]: p for p in pods}
        disrupted = {}
        for pod_name, when in (old.get("disruptedPods") or {}).items():
            pod = by_name.get(pod_name)
            if pod is None or pod["metadata"].get("deletionTimestamp"):
                continue
            if _stamp(when) + DISRUPTED_POD_TIMEOUT <= now:
                continue
            disrupted[pod_name] = when
            self.requeue_after(key, _stamp(when) + DISRUPTED_POD_TIMEOUT - now + 0.05)
        healthy = sum(1 for p in pods if not p["metadata"].get("deletionTimestamp")
                      and p["metadata"]["name"] not in disrupted and _ready(p))
        error = None
        expected = desired = 0
        min_available, max_unavailable = spec.get("minAvailable"), spec.get("maxUnavailable")
        if isinstance(min_available, int) and not isinstance(min_available, bool):
            expected, desired = len(pods), min_available
        else:
            scale, error = self._expected_scale(pods)
            if error is None:
                expected = scale
                if min_available is not None:
                    desired = _scaled(min_available, expected)
                elif max_unavailable is not None:
                    desired = max(expected - _scaled(max_unavailable, expected), 0)
                else:
                    desired = expected  # neither set: no disruption (maxUnavailable 0 in effect)
        allowed = max(healthy - desired, 0) if error is None else 0
        if error is None:
            ok, reason, message = allowed > 0, "SufficientPods" if allowed > 0 else "InsufficientPods", ""
        else:
            ok, reason, message = False, "SyncFailed", error
            healthy = desired = expected = 0
        cond_old = next((c for c in old.get("conditions") or [] if c.get("type") == "DisruptionAllowed"), None)
        status_text = "True" if ok else "False"
        condition = {"type": "DisruptionAllowed", "status": status_text, "reason": reason, "message": message,
                     "lastTransitionTime": cond_old["lastTransitionTime"]
                     if cond_old and cond_old.get("status") == status_text else now_rfc3339()}
        status: Obj = {"observedGeneration": pdb["metadata"].get("generation", 1)}
        if disrupted:
            status["disruptedPods"] = disrupted
        status.update({"disruptionsAllowed": allowed, "currentHealthy": healthy, "desiredHealthy": desired,
                       "expectedPods": expected, "conditions": [condition]})
        if status == old:
            return

        def apply(o: Obj) -> None:
            o["status"] = status
        self.store.mutate(PDBS, ns, name, apply)

    def _expected_scale(self, pods: list[Obj]) -> tuple[int, str | None]:
        scales: dict[str, int] = {}
        for pod in pods:
            ref = next((r for r in pod["metadata"].get("ownerReferences") or [] if r.get("controller")), None)
            if ref is None:
                return 0, f'found no controller ref for pod "{pod["metadata"]["name"]}"'
            if ref["uid"] in scales:
                continue
            ns = pod["metadata"]["namespace"]
            found = None
            if ref.get("kind") == "ReplicaSet":
                rs = self.store.find(REPLICASETS, ns, ref["name"])
                if rs is not None and rs["metadata"]["uid"] == ref["uid"]:
                    dep_ref = next((r for r in rs["metadata"].get("ownerReferences") or []
                                    if r.get("controller") and r.get("kind") == "Deployment"), None)
                    dep = self.store.find(DEPLOYMENTS, ns, dep_ref["name"]) if dep_ref else None
                    if dep is not None:
                        scales[ref["uid"]] = 0  # a Deployment's scale counts once, not per ReplicaSet
                        found = (dep["metadata"]["uid"], dep["spec"].get("replicas", 1))
                    else:
                        found = (ref["uid"], rs["spec"].get("replicas", 1))
            elif ref.get("kind") == "StatefulSet":
                sts = self.store.find(STATEFULSETS, ns, ref["name"])
                if sts is not None and sts["metadata"]["uid"] == ref["uid"]:
                    found = (ref["uid"], sts["spec"].get("replicas", 1))
            if found is None:
                return 0, f'found no controllers for pod "{pod["metadata"]["name"]}"'
            scales[found[0]] = found[1]
        return sum(scales.values()), None


def admit_eviction(store: Store, pod: Obj) -> None:
    """Raise 429 TooManyRequests if the pod's PodDisruptionBudget allows no disruption; else charge it."""
    md = pod["metadata"]
    phase = (pod.get("status") or {}).get("phase")
    if md.get("deletionTimestamp") or phase in ("Succeeded", "Failed", "Pending"):
        return
    pdbs = [p for p in store.list(PDBS, md["namespace"]) if _selects(p, pod)]
    if not pdbs:
        return
    if len(pdbs) > 1:
        raise errors.InternalError("This pod has more than one PodDisruptionBudget, which the eviction subresource "
                                   "does not support.")
    pdb = pdbs[0]
    name, status = pdb["metadata"]["name"], pdb.get("status") or {}
    if not _ready(pod):
        policy = (pdb.get("spec") or {}).get("unhealthyPodEvictionPolicy", "IfHealthyBudget")
        if policy == "AlwaysAllow" or status.get("currentHealthy", 0) >= status.get("desiredHealthy", 0) > 0:
            return
    too_many = "Cannot evict pod as it would violate the pod's disruption budget."
    if status.get("observedGeneration", 0) < pdb["metadata"].get("generation", 1):
        raise errors.TooManyRequests(too_many, details={"causes": [{
            "reason": "DisruptionBudget", "message": f"The disruption budget {name} is still being processed by the "
                                                     "server."}]})
    if status.get("disruptionsAllowed", 0) <= 0:
        raise errors.TooManyRequests(too_many, details={"causes": [{
            "reason": "DisruptionBudget",
            "message": f"The disruption budget {name} needs {status.get('desiredHealthy', 0)} healthy pods and has "
                       f"{status.get('currentHealthy', 0)} currently"}]})

    def charge(o: Obj) -> None:
        st = o.setdefault("status", {})
        st["disruptionsAllowed"] = st.get("disruptionsAllowed", 0) - 1
        st.setdefault("disruptedPods", {})[md["name"]] = now_rfc3339()
    store.mutate(PDBS, md["namespace"], name, charge)
