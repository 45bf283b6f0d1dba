"""The Job controller: one pod per attempt, backoff, deadline, pod failure policy, TTL, 1.31+ conditions.

Terminal conditions are written as Kubernetes 1.31+ does: `SuccessCriteriaMet`
then `Complete`, or `FailureTarget` then `Failed` (with the reason), the
second only once no pod of the job is still running.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterable

from .. import errors
from ..registry import BACKGROUND, Registry
from ..resources import JOBS, PODS
from ..store import DELETED, Event, Obj, Store, copy_obj, now_rfc3339
from .base import Controller, Key, controller_ref, owned_by, owner_keys

BACKOFF_CAP = 360.0
MSG_BACKOFF = "Job has reached the specified backoff limit"
MSG_DEADLINE = "Job was active longer than specified deadline"
MSG_COMPLETE = "Reached expected number of succeeded pods"


def parse_time(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def _cond(type_: str, reason: str, message: str) -> Obj:
    now = now_rfc3339()
    return {"type": type_, "status": "True", "reason": reason, "message": message,
            "lastProbeTime": now, "lastTransitionTime": now}


def _has(status: Obj, type_: str) -> Obj | None:
    return next((c for c in status.get("conditions") or [] if c["type"] == type_ and c["status"] == "True"), None)


class JobController(Controller):
    name = "job-controller"

    def __init__(self, store: Store, registry: Registry, *, backoff_base: float = 10.0):
        super().__init__(store)
        self.registry = registry
        self.backoff_base = backoff_base
        # per job uid: pods already counted as succeeded/failed, and when the last failure was seen
        self._counted: dict[str, set[str]] = {}
        self._seen_active: dict[str, set[str]] = {}
        self._last_failure: dict[str, float] = {}

    def keys_for(self, event: Event) -> Iterable[Key]:
        if event.resource.key == JOBS.key:
            if event.type == DELETED:
                uid = event.obj["metadata"]["uid"]
                for d in (self._counted, self._seen_active, self._last_failure):
                    d.pop(uid, None)
                return ()
            return [(event.namespace, event.name)]
        if event.resource.key == PODS.key:
            return owner_keys(event, "Job")
        return ()

    def reconcile(self, key: Key) -> None:
        ns, name = key
        job = self.store.find(JOBS, ns, name)
        if job is None:
            return
        uid = job["metadata"]["uid"]
        spec, status = job["spec"], dict(job.get("status") or {})
        pods = [p for p in self.store.list(PODS, ns) if owned_by(p, uid)]
        active = [p for p in pods if p["status"].get("phase") not in ("Succeeded", "Failed")
                  and not p["metadata"].get("deletionTimestamp")]
        terminating = [p for p in pods if p["metadata"].get("deletionTimestamp")
                       and p["status"].get("phase") not in ("Succeeded", "Failed")]
        if job["metadata"].get("deletionTimestamp"):
            return
        if _has(status, "Complete") or _has(status, "Failed"):
            self._delete_pods(active)
            self._ttl(job, status)
            return
        counted = self._counted.setdefault(uid, set())
        seen = self._seen_active.setdefault(uid, set())
        succeeded, failed = status.get("succeeded", 0), status.get("failed", 0)
        failure: tuple[str, str] | None = None
        now = datetime.now(timezone.utc).timestamp()
        present = set()
        for pod in pods:
            puid = pod["metadata"]["uid"]
            present.add(puid)
            phase = pod["status"].get("phase")
            if puid in counted or phase not in ("Succeeded", "Failed"):
                if phase not in ("Succeeded", "Failed"):
                    seen.add(puid)
                continue
            counted.add(puid)
            if phase == "Succeeded":
                succeeded += 1
                continue
            action, message = self._failure_policy(spec, pod)
            if action == "Ignore":
                continue
            failed += 1
            self._last_failure[uid] = now
            if action == "FailJob":
                failure = ("PodFailurePolicy", message)
        for puid in seen - present - counted:  # a running pod vanished: it counts as failed
            counted.add(puid)
            failed += 1
            self._last_failure[uid] = now
        seen &= present

        if spec.get("suspend"):
            self._delete_pods(active)
            self._write(job, {**status, "active": 0, "succeeded": succeeded, "failed": failed,
                              "conditions": _merge_cond(status, _cond("Suspended", "JobSuspended", "Job suspended"))})
            return
        if "startTime" not in status:
            status["startTime"] = now_rfc3339()
        deadline = spec.get("activeDeadlineSeconds")
        if failure is None and _has(status, "FailureTarget"):
            target = _has(status, "FailureTarget")
            failure = (target["reason"], target["message"])
        if failure is None and deadline is not None:
            left = parse_time(status["startTime"]).timestamp() + deadline - now
            if left <= 0:
                failure = ("DeadlineExceeded", MSG_DEADLINE)
            else:
                self.requeue_after(key, left)
        if failure is None and failed > spec.get("backoffLimit", 6):
            failure = ("BackoffLimitExceeded", MSG_BACKOFF)

        ready = sum(1 for p in active if _pod_ready(p))
        new = {**status, "active": len(active), "ready": ready, "succeeded": succeeded, "failed": failed,
               "terminating": len(terminating), "uncountedTerminatedPods": {}}
        if failure is not None:
            reason, message = failure
            if not _has(status, "FailureTarget"):
                new["conditions"] = _merge_cond(new, _cond("FailureTarget", reason, message))
                self.registry.record_event(job, "Warning", reason, message, "job-controller")
            self._delete_pods(active)
            if not active and not terminating:
                new["conditions"] = _merge_cond(new, _cond("Failed", reason, message))
                new["active"] = 0
            self._write(job, new)
            if not active and not terminating:
                self._ttl(job, new)
            return
        if succeeded >= spec.get("completions", 1):
            if not _has(status, "SuccessCriteriaMet"):
                new["conditions"] = _merge_cond(new, _cond("SuccessCriteriaMet", "CompletionsReached", MSG_COMPLETE))
            self._delete_pods(active)
            if not active and not terminating:
                new["conditions"] = _merge_cond(new, _cond("Complete", "CompletionsReached", MSG_COMPLETE))
                new["completionTime"] = now_rfc3339()
                new["active"] = 0
                self.registry.record_event(job, "Normal", "Completed", "Job completed", "job-controller")
            self._write(job, new)
            if "completionTime" in new:
                self._ttl(job, new)
            return
        want = min(spec.get("parallelism", 1), spec.get("completions", 1) - succeeded) - len(active)
        if want > 0:
            wait = self._backoff_left(uid, failed, now)
            if wait > 0:
                self.requeue_after(key, wait)
            else:
                for _ in range(want):
                    pod = self._create_pod(job)
                    if pod is None:
                        break
                    new["active"] = new.get("active", 0) + 1
        self._write(job, new)

    def _backoff_left(self, uid: str, failed: int, now: float) -> float:
        if failed == 0 or uid not in self._last_failure:
            return 0.0
        delay = min(self.backoff_base * (2 ** (failed - 1)), BACKOFF_CAP)
        return self._last_failure[uid] + delay - now

    def _failure_policy(self, spec: Obj, pod: Obj) -> tuple[str, str]:
        policy = spec.get("podFailurePolicy") or {}
        statuses = (pod.get("status") or {}).get("containerStatuses") or []
        for i, rule in enumerate(policy.get("rules") or []):
            codes = rule.get("onExitCodes")
            if codes:
                for cs in statuses:
                    term = (cs.get("state") or {}).get("terminated")
                    if not term or (codes.get("containerName") and codes["containerName"] != cs["name"]):
                        continue
                    code = term.get("exitCode", 0)
                    if code == 0:
                        continue
                    hit = code in codes.get("values", [])
                    if (codes.get("operator") == "In") == hit:
                        md = pod["metadata"]
                        return rule["action"], (f"Container {cs['name']} for pod {md['namespace']}/{md['name']} "
                                                f"failed with exit code {code} matching {rule['action']} rule "
                                                f"at index {i}")
            for pc in rule.get("onPodConditions") or []:
                conds = (pod.get("status") or {}).get("conditions") or []
                if any(c["type"] == pc.get("type") and c["status"] == pc.get("status", "True") for c in conds):
                    md = pod["metadata"]
                    return rule["action"], (f"Pod {md['namespace']}/{md['name']} has condition {pc['type']} "
                                            f"matching {rule['action']} rule at index {i}")
        return "Count", ""

    def _create_pod(self, job: Obj) -> Obj | None:
        template = job["spec"]["template"]
        md = job["metadata"]
        pod = {"metadata": {"generateName": md["name"] + "-", "namespace": md["namespace"],
                            "labels": dict((template.get("metadata") or {}).get("labels") or {}),
                            "annotations": dict((template.get("metadata") or {}).get("annotations") or {}),
                            "ownerReferences": [controller_ref(job)]},
               "spec": copy_obj(template.get("spec") or {})}
        try:
            created = self.registry.create(PODS, pod, namespace=md["namespace"])
        except errors.StatusError as exc:
            self.registry.record_event(job, "Warning", "FailedCreate", f"Error creating: {exc.message}",
                                       "job-controller")
            self.requeue_after((md["namespace"], md["name"]), 1.0)
            return None
        self.registry.record_event(job, "Normal", "SuccessfulCreate", f"Created pod: {created['metadata']['name']}",
                                   "job-controller")
        return created

    def _delete_pods(self, pods: list[Obj]) -> None:
        for pod in pods:
            try:
                self.registry.delete(PODS, pod["metadata"]["namespace"], pod["metadata"]["name"])
            except errors.NotFound:
                pass

    def _ttl(self, job: Obj, status: Obj) -> None:
        ttl = job["spec"].get("ttlSecondsAfterFinished")
        if ttl is None:
            return
        finished = status.get("completionTime") or next(
            (c["lastTransitionTime"] for c in status.get("conditions") or [] if c["type"] == "Failed"), None)
        if finished is None:
            return
        left = parse_time(finished).timestamp() + ttl - datetime.now(timezone.utc).timestamp()
        md = job["metadata"]
        if left > 0:
            self.requeue_after((md["namespace"], md["name"]), left)
            return
        try:
            self.registry.delete(JOBS, md["namespace"], md["name"], propagation=BACKGROUND)
        except errors.NotFound:
            pass

    def _write(self, job: Obj, status: Obj) -> None:
        if status == job.get("status"):
            return
        md = job["metadata"]

        def apply(o: Obj) -> None:
            o["status"] = status
        try:
            self.store.mutate(JOBS, md["namespace"], md["name"], apply)
        except errors.NotFound:
            pass


def _merge_cond(status: Obj, cond: Obj) -> list[Obj]:
    conds = [c for c in status.get("conditions") or [] if c["type"] != cond["type"]]
    return conds + [cond]


def _pod_ready(pod: Obj) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions") or [])

