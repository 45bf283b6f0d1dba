"""HorizontalPodAutoscalers (autoscaling/v2): bounds kept, status written, no metrics.

kubesim has no metrics API (`metrics.k8s.io`), so no decision is ever taken on a metric: the
HPA keeps its target between `minReplicas` and `maxReplicas` (as the real controller does before
it looks at metrics: a target below the minimum is scaled up to it, above the maximum down to
it, one at zero replicas is left alone) and otherwise leaves the replica count where it is.
Status: `currentReplicas` is the target's `spec.replicas`, `desiredReplicas` what the HPA wants
(= current inside the bounds), and the conditions say why (`ScalingActive` False with the
`FailedGet…Metric` reason a cluster without a metrics server shows).
"""
from __future__ import annotations

from typing import Iterable

from .. import errors
from ..registry import Registry
from ..resources import DEPLOYMENTS, HPAS, REPLICASETS, STATEFULSETS, Resource
from ..store import DELETED, Event, Obj, Store, copy_obj, now_rfc3339
from .base import Controller, Key

COMPONENT = "horizontal-pod-autoscaler"
SCALABLE: dict[tuple[str, str], Resource] = {(r.group, r.kind): r for r in (DEPLOYMENTS, REPLICASETS, STATEFULSETS)}
_METRIC_REASON = {"Resource": "FailedGetResourceMetric", "Pods": "FailedGetPodsMetric",
                  "Object": "FailedGetObjectMetric", "External": "FailedGetExternalMetric",
                  "ContainerResource": "FailedGetContainerResourceMetric"}


def target_of(hpa: Obj) -> tuple[Resource | None, str]:
    ref = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
    api_version = ref.get("apiVersion") or ""
    group = api_version.split("/", 1)[0] if "/" in api_version else ""
    return SCALABLE.get((group, ref.get("kind", ""))), ref.get("name", "")


def _condition(old: dict[str, Obj], type_: str, ok: bool, reason: str, message: str) -> Obj:
    status = "True" if ok else "False"
    prev = old.get(type_)
    since = prev["lastTransitionTime"] if prev and prev.get("status") == status else now_rfc3339()
    return {"type": type_, "status": status, "lastTransitionTime": since, "reason": reason, "message": message}


class HorizontalPodAutoscalerController(Controller):
    name = COMPONENT

    def __init__(self, store: Store, registry: Registry):
        super().__init__(store)
        self.registry = registry

    def keys_for(self, event: Event) -> Iterable[Key]:
        key = event.resource.key
        if key == HPAS.key:
            return [(event.namespace, event.name)] if event.type != DELETED else ()
        if key in (DEPLOYMENTS.key, REPLICASETS.key, STATEFULSETS.key):
            return [(event.namespace, hpa["metadata"]["name"]) for hpa in self.store.list(HPAS, event.namespace)
                    if target_of(hpa) == (event.resource, event.name)]
        return ()

    def reconcile(self, key: Key) -> None:
        ns, name = key
        hpa = self.store.find(HPAS, ns, name)
        if hpa is None or hpa["metadata"].get("deletionTimestamp"):
            return
        spec, old = hpa.get("spec") or {}, hpa.get("status") or {}
        conds = {c["type"]: c for c in old.get("conditions") or []}
        ref = spec.get("scaleTargetRef") or {}
        res, target_name = target_of(hpa)
        target = self.store.find(res, ns, target_name) if res is not None else None
        status: Obj = {"observedGeneration": hpa["metadata"].get("generation", 1)}
        if old.get("lastScaleTime"):
            status["lastScaleTime"] = old["lastScaleTime"]
        if target is None:
            what = f'{res.key} "{target_name}" not found' if res is not None else \
                f'no scale subresource for {ref.get("apiVersion", "")} {ref.get("kind", "")} in kubesim'
            if old.get("currentReplicas"):
                status["currentReplicas"] = old["currentReplicas"]
            status["desiredReplicas"] = old.get("desiredReplicas", 0)
            status["conditions"] = [_condition(conds, "AbleToScale", False, "FailedGetScale",
                                               f"the HPA controller was unable to get the target's current scale: "
                                               f"{what}")]
            self._write(hpa, status)
            return
        current = target["spec"].get("replicas", 1)
        low, high = spec.get("minReplicas", 1), spec.get("maxReplicas", 1)
        metric = ((spec.get("metrics") or [{}])[0] or {}).get("type", "Resource")
        active = (False, _METRIC_REASON.get(metric, "FailedGetResourceMetric"),
                  "the HPA was unable to compute the replica count: kubesim serves no metrics API (metrics.k8s.io); "
                  "replicas are only kept within minReplicas and maxReplicas")
        limited = (False, "DesiredWithinRange", "the desired count is within the acceptable range")
        reason = ""
        if current == 0 and low != 0:
            desired = 0
            active = (False, "ScalingDisabled", "scaling is disabled since the replica count of the target is zero")
        elif current > high:
            desired, reason = high, "Current number of replicas above Spec.MaxReplicas"
            limited = (True, "TooManyReplicas", "the desired replica count is more than the maximum replica count")
        elif current < low:
            desired, reason = low, "Current number of replicas below Spec.MinReplicas"
            limited = (True, "TooFewReplicas", "the desired replica count is less than the minimum replica count")
        else:
            desired = current
        able = (True, "ReadyForNewScale", "recommended size matches current size")
        if desired != current and current != 0:
            try:
                new = copy_obj(target)
                new["spec"]["replicas"] = desired
                self.registry.update(res, new, namespace=ns, name=target_name)
            except errors.StatusError as exc:
                able = (False, "FailedUpdateScale", f"the HPA controller was unable to update the target scale: "
                                                    f"{exc.message}")
                self.registry.record_event(hpa, "Warning", "FailedRescale", f"New size: {desired}; reason: {reason}; "
                                           f"error: {exc.message}", COMPONENT)
                self.requeue_after(key, 1.0)
            else:
                able = (True, "SucceededRescale",
                        f"the HPA controller was able to update the target scale to {desired}")
                self.registry.record_event(hpa, "Normal", "SuccessfulRescale", f"New size: {desired}; reason: {reason}",
                                           COMPONENT)
                status["lastScaleTime"] = now_rfc3339()
        if current:
            status["currentReplicas"] = current
        status["desiredReplicas"] = desired
        status["conditions"] = [_condition(conds, "AbleToScale", *able), _condition(conds, "ScalingActive", *active),
                                _condition(conds, "ScalingLimited", *limited)]
        self._write(hpa, status)

    def _write(self, hpa: Obj, status: Obj) -> None:
        if status == hpa.get("status"):
            return
        md = hpa["metadata"]

        def apply(o: Obj) -> None:
            o["status"] = status
        self.store.mutate(HPAS, md["namespace"], md["name"], apply)
