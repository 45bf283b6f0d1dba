"""The API server's semantics over the store: create, update, delete, kind by kind.

The HTTP layer (`server.py`) and the controllers both write through a
`Registry`, so an object created by a controller gets the same defaults,
validation and bookkeeping (generation, status subresource, finalizers,
graceful pod deletion, garbage-collection finalizers) as one sent by kubectl.
"""
from __future__ import annotations

import ipaddress
import secrets as pysecrets
import string
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from . import defaults, errors, validation as v
from .resources import (CLUSTERROLEBINDINGS, CLUSTERROLES, CONFIGMAPS, CONTROLLERREVISIONS, DEPLOYMENTS, EVENTS, HPAS,
                        INGRESSES, JOBS, NAMESPACES, NODES, PDBS, PODS, PVCS, PVS, REPLICASETS, ROLEBINDINGS, ROLES,
                        SECRETS, SERVICEACCOUNTS, SERVICES, STATEFULSETS, Resource)
from .store import Obj, Store, copy_obj, now_rfc3339

SA_MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
WITH_STATUS = {PODS.key, DEPLOYMENTS.key, REPLICASETS.key, JOBS.key, PVCS.key, PVS.key, SERVICES.key,
               NAMESPACES.key, NODES.key, STATEFULSETS.key, HPAS.key, PDBS.key, INGRESSES.key}
RBAC_KINDS = {ROLES.key, ROLEBINDINGS.key, CLUSTERROLES.key, CLUSTERROLEBINDINGS.key}
# the kinds whose objects own others (for Orphan / Foreground deletion: is there anything to wait for?)
DEPENDENTS = {JOBS.key: (PODS,), DEPLOYMENTS.key: (REPLICASETS,), REPLICASETS.key: (PODS,),
              STATEFULSETS.key: (PODS, CONTROLLERREVISIONS, PVCS)}
ORPHAN, BACKGROUND, FOREGROUND = "Orphan", "Background", "Foreground"
JOB_ORPHAN_WARNING = ("child pods are preserved by default when jobs are deleted; set propagationPolicy=Background "
                      "to remove them or set propagationPolicy=Orphan to suppress this warning")

_RAND_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def rand_suffix(n: int = 5) -> str:
    return "".join(pysecrets.choice(_RAND_ALPHABET) for _ in range(n))


def _name_style(resource: Resource) -> tuple[str, int | None]:
    if resource.key in (NAMESPACES.key,):
        return "label", None
    if resource.key == SERVICES.key:
        return "dns1035", None
    if resource.key == JOBS.key:
        return "subdomain", 63
    if resource.key in RBAC_KINDS:
        return "path", None
    return "subdomain", None


class Registry:
    """Kind-aware writes. `warnings` collects the Warning headers of the current request."""

    def __init__(self, store: Store, *, sa_token: Callable[[str, str], str] | None = None):
        self.store = store
        self.warnings: list[str] = []
        self._next_service_ip = int(ipaddress.ip_address("10.96.0.10"))
        self._sa_token = sa_token

    # -- create ----------------------------------------------------------------------------------

    def create(self, resource: Resource, obj: Any, *, namespace: str | None = None, dry_run: bool = False) -> Obj:
        obj = self._check_body(resource, obj, namespace)
        md = obj["metadata"]
        if not md.get("name") and md.get("generateName"):
            md["name"] = md["generateName"] + rand_suffix()
        for key in ("uid", "resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "generation",
                    "creationTimestamp"):
            md.pop(key, None)
        md["uid"] = str(uuid.uuid4())
        if resource.namespaced:
            self._check_namespace_open(md["namespace"])
        if resource.key in WITH_STATUS and resource.key not in (SERVICES.key,):
            obj.pop("status", None)
        self._default(resource, obj)
        self._validate(resource, obj)
        if resource.key == PODS.key:
            self._admit_pod(obj)
        if dry_run:
            md["creationTimestamp"] = now_rfc3339()
            md["resourceVersion"] = ""
            return obj
        return self.store.create(resource, obj)

    def _check_body(self, resource: Resource, obj: Any, namespace: str | None) -> Obj:
        if not isinstance(obj, dict):
            raise errors.BadRequest("the body of the request was in an unknown format - accepted media types "
                                    "include: application/json, application/yaml")
        obj = copy_obj(obj)
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if api_version and api_version != resource.api_version:
            raise errors.BadRequest(f"the API version in the data ({api_version}) does not match the expected "
                                    f"API version ({resource.api_version})")
        if kind and kind != resource.kind:
            raise errors.BadRequest(f"the kind in the data ({kind}) does not match the expected kind "
                                    f"({resource.kind})")
        md = obj.get("metadata")
        if md is None:
            md = obj["metadata"] = {}
        if not isinstance(md, dict):
            raise errors.BadRequest("metadata must be an object")
        if resource.namespaced:
            if md.get("namespace") and namespace and md["namespace"] != namespace:
                raise errors.BadRequest("the namespace of the provided object does not match the namespace sent "
                                        "on the request")
            md["namespace"] = namespace or md.get("namespace") or "default"
        else:
            md.pop("namespace", None)
        return obj

    def _check_namespace_open(self, namespace: str) -> None:
        ns = self.store.find(NAMESPACES, None, namespace)
        if ns is None:
            raise errors.NotFound.of(NAMESPACES, namespace)
        if ns["metadata"].get("deletionTimestamp"):
            raise errors.StatusError(
                f"unable to create new content in namespace {namespace} because it is being terminated",
                code=403, details={"name": namespace, "kind": "namespaces"})

    def _default(self, resource: Resource, obj: Obj, creating: bool = True) -> None:
        key = resource.key
        if key == PODS.key:
            defaults.pod_spec(obj.setdefault("spec", {}))
            obj.setdefault("status", {"phase": "Pending", "qosClass": "BestEffort"})
        elif key == DEPLOYMENTS.key:
            defaults.deployment(obj)
        elif key == REPLICASETS.key:
            defaults.replicaset(obj)
        elif key == JOBS.key:
            defaults.job(obj)
        elif key == SERVICES.key:
            defaults.service(obj, self._allocate_service_ip)
        elif key == SECRETS.key:
            defaults.secret(obj)
        elif key == PVCS.key:
            defaults.pvc(obj, creating)
        elif key == NAMESPACES.key and creating:
            defaults.namespace(obj)
        elif key == STATEFULSETS.key:
            defaults.statefulset(obj)
        elif key == HPAS.key:
            defaults.horizontal_pod_autoscaler(obj, creating)
        elif key == PDBS.key:
            defaults.pod_disruption_budget(obj, creating)
        elif key == INGRESSES.key:
            defaults.ingress(obj, creating)
        elif key in (ROLEBINDINGS.key, CLUSTERROLEBINDINGS.key):
            defaults.role_binding(obj)

    def _allocate_service_ip(self) -> str:
        ip = str(ipaddress.ip_address(self._next_service_ip))
        self._next_service_ip += 1
        return ip

    def _validate(self, resource: Resource, obj: Obj, old: Obj | None = None) -> None:
        style, max_len = _name_style(resource)
        causes = v.check_metadata(obj, style, max_len)
        spec = obj.get("spec") or {}
        key = resource.key
        if key == PODS.key:
            causes += v.check_pod_spec(obj.get("spec"), "spec")
        elif key == DEPLOYMENTS.key:
            causes += v.check_selector(spec.get("selector"), "spec.selector")
            causes += v.check_template(spec.get("template"), spec.get("selector"), "spec.template",
                                       restart_policies=["Always"])
            if isinstance(spec.get("replicas"), int) and spec["replicas"] < 0:
                causes.append(v.invalid("spec.replicas", spec["replicas"], "must be greater than or equal to 0"))
        elif key == REPLICASETS.key:
            causes += v.check_selector(spec.get("selector"), "spec.selector")
            causes += v.check_template(spec.get("template"), spec.get("selector"), "spec.template",
                                       restart_policies=["Always"])
        elif key == JOBS.key:
            causes += v.check_template(spec.get("template"), spec.get("selector"), "spec.template",
                                       restart_policies=["OnFailure", "Never"])
            for fld in ("backoffLimit", "activeDeadlineSeconds", "ttlSecondsAfterFinished", "parallelism",
                        "completions"):
                val = spec.get(fld)
                if val is not None and (not isinstance(val, int) or val < 0):
                    causes.append(v.invalid(f"spec.{fld}", val, "must be greater than or equal to 0"))
        elif key == SERVICES.key:
            causes += v.check_service(spec)
        elif key == PVCS.key:
            causes += v.check_pvc(spec)
        elif key == STATEFULSETS.key:
            causes += v.check_statefulset(spec)
        elif key in (ROLES.key, CLUSTERROLES.key):
            causes += v.check_policy_rules(obj.get("rules"), namespaced=key == ROLES.key)
        elif key in (ROLEBINDINGS.key, CLUSTERROLEBINDINGS.key):
            causes += v.check_binding(obj, namespaced=key == ROLEBINDINGS.key)
        elif key == HPAS.key:
            causes += v.check_hpa(spec)
        elif key == PDBS.key:
            causes += v.check_pdb(spec)
        elif key == INGRESSES.key:
            causes += v.check_ingress(spec)
        elif key in (CONFIGMAPS.key, SECRETS.key):
            causes += v.check_data_keys(obj.get("data"), "data")
            if key == CONFIGMAPS.key:
                causes += v.check_data_keys(obj.get("binaryData"), "binaryData")
        if old is not None:
            causes += self._immutable(resource, obj, old)
        if causes:
            raise errors.Invalid(resource, resource.kind, obj["metadata"].get("name") or "", causes)

    def _immutable(self, resource: Resource, obj: Obj, old: Obj) -> list[dict]:
        key, spec, old_spec = resource.key, obj.get("spec") or {}, old.get("spec") or {}
        out = []
        if key == JOBS.key:
            for fld in ("selector", "template", "completions"):
                if spec.get(fld) != old_spec.get(fld):
                    out.append(v.immutable(f"spec.{fld}", spec.get(fld)))
        elif key in (DEPLOYMENTS.key, REPLICASETS.key):
            if spec.get("selector") != old_spec.get("selector"):
                out.append(v.immutable("spec.selector", spec.get("selector")))
        elif key == STATEFULSETS.key:
            fixed = {k: val for k, val in spec.items() if k not in v.STATEFULSET_MUTABLE}
            old_fixed = {k: val for k, val in old_spec.items() if k not in v.STATEFULSET_MUTABLE}
            if fixed != old_fixed:
                out.append(v.forbidden("spec", "updates to statefulset spec for fields other than 'replicas', "
                                       "'ordinals', 'template', 'updateStrategy', "
                                       "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"))
        elif key in (ROLEBINDINGS.key, CLUSTERROLEBINDINGS.key):
            if obj.get("roleRef") != old.get("roleRef"):
                out.append(v.invalid("roleRef", "", "cannot change roleRef") | {
                    "message": f"Invalid value: {v.role_ref_text(obj.get('roleRef'))}: cannot change roleRef"})
        elif key == PODS.key:
            strip = [{k: c for k, c in cont.items() if k != "image"} for cont in spec.get("containers") or []]
            strip_old = [{k: c for k, c in cont.items() if k != "image"} for cont in old_spec.get("containers") or []]
            if strip != strip_old or spec.get("volumes") != old_spec.get("volumes"):
                out.append(v.forbidden("spec", "pod updates may not change fields other than `spec.containers[*]"
                                       ".image`, `spec.initContainers[*].image`, `spec.activeDeadlineSeconds`, "
                                       "`spec.tolerations` (only additions to existing tolerations), "
                                       "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was "
                                       "previously negative)"))
        elif key == SERVICES.key:
            if old_spec.get("clusterIP") and spec.get("clusterIP") != old_spec.get("clusterIP"):
                out.append(v.immutable("spec.clusterIP", spec.get("clusterIP")))
        elif key in (SECRETS.key, CONFIGMAPS.key) and old.get("immutable"):
            if obj.get("data") != old.get("data") or obj.get("immutable") is not True:
                out.append(v.forbidden("data", "field is immutable when `immutable` is set"))
        elif key == PVCS.key:
            if spec.get("accessModes") != old_spec.get("accessModes") or \
                    spec.get("volumeName", old_spec.get("volumeName")) != old_spec.get("volumeName"):
                out.append(v.forbidden("spec", "spec is immutable after creation except resources.requests and "
                                       "volumeAttributesClassName for bound claims"))
        return out

    def _admit_pod(self, pod: Obj) -> None:
        """ServiceAccount admission: the account must exist; its token is mounted unless opted out."""
        spec = pod["spec"]
        ns = pod["metadata"]["namespace"]
        sa_name = spec.setdefault("serviceAccountName", "default")
        spec["serviceAccount"] = sa_name
        sa = self.store.find(SERVICEACCOUNTS, ns, sa_name)
        if sa is None:
            raise errors.StatusError(
                f'pods "{pod["metadata"]["name"]}" is forbidden: error looking up service account '
                f'{ns}/{sa_name}: serviceaccount "{sa_name}" not found',
                code=403, details={"name": pod["metadata"]["name"], "kind": "pods"})
        automount = spec.get("automountServiceAccountToken")
        if automount is None:
            automount = sa.get("automountServiceAccountToken", True)
        if not automount:
            return
        vol_name = "kube-api-access-" + "".join(pysecrets.choice(string.ascii_lowercase + string.digits)
                                                for _ in range(5))
        spec.setdefault("volumes", []).append({"name": vol_name, "projected": {"defaultMode": 0o644, "sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {
                "apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
        ]}})
        for group in ("initContainers", "containers"):
            for c in spec.get(group) or []:
                mounts = c.setdefault("volumeMounts", [])
                if not any(m.get("mountPath") == SA_MOUNT_PATH for m in mounts):
                    mounts.append({"name": vol_name, "readOnly": True, "mountPath": SA_MOUNT_PATH})

    # -- update ----------------------------------------------------------------------------------

    def update(self, resource: Resource, obj: Any, *, namespace: str | None, name: str,
               subresource: str | None = None, dry_run: bool = False) -> Obj:
        """PUT semantics (PATCH ends here too). `subresource="status"` changes only the status."""
        old = self.store.get(resource, namespace, name)
        obj = self._check_body(resource, obj, namespace)
        md = obj["metadata"]
        if md.get("name") and md["name"] != name:
            raise errors.BadRequest("the name of the object (%s) does not match the name on the URL (%s)"
                                    % (md["name"], name))
        md["name"] = name
        expect_rv = md.get("resourceVersion") or None
        old_md = old["metadata"]
        if subresource == "status":
            new = copy_obj(old)
            new["status"] = obj.get("status")
            if new["status"] is None:
                new.pop("status")
        else:
            new = obj
            for key in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                        "generation"):
                if key in old_md:
                    md[key] = old_md[key]
                else:
                    md.pop(key, None)
            if resource.key in WITH_STATUS:
                if "status" in old:
                    new["status"] = old["status"]
                else:
                    new.pop("status", None)
            if resource.key == JOBS.key:
                # the generated selector and labels are part of the job and survive a re-apply
                new.setdefault("spec", {}).setdefault("selector", old["spec"].get("selector"))
                tmeta = new["spec"].setdefault("template", {}).setdefault("metadata", {})
                tmeta.setdefault("labels", {}).update(old["spec"]["template"]["metadata"].get("labels") or {})
            if resource.key == SERVICES.key and old["spec"].get("clusterIP"):
                new.setdefault("spec", {}).setdefault("clusterIP", old["spec"]["clusterIP"])
            self._default(resource, new, creating=False)
            if resource.key == NAMESPACES.key:
                new["spec"] = old.get("spec")
            if resource.key == PODS.key:
                self._keep_pod_admission(new, old)
            if (new.get("spec") != old.get("spec") or
                    (resource.key in (CONFIGMAPS.key, SECRETS.key) and new.get("data") != old.get("data"))):
                md["generation"] = old_md.get("generation", 1) + 1
            if old_md.get("deletionTimestamp"):
                added = set(md.get("finalizers") or []) - set(old_md.get("finalizers") or [])
                if added:
                    raise errors.Invalid(resource, resource.kind, name, [v.forbidden(
                        "metadata.finalizers", f"no new finalizers can be added if the object is being deleted, "
                        f"found new finalizers {sorted(added)}")])
        self._validate(resource, new, old)
        if dry_run:
            return new
        stored = self.store.replace(resource, new, expect_rv=expect_rv)
        self._finish_if_finalized(resource, stored)
        return stored

    def _keep_pod_admission(self, new: Obj, old: Obj) -> None:
        for key in ("serviceAccountName", "serviceAccount", "nodeName"):
            if key in old["spec"]:
                new["spec"].setdefault(key, old["spec"][key])
        new["spec"]["volumes"] = new["spec"].get("volumes") or old["spec"].get("volumes")
        if not new["spec"]["volumes"]:
            new["spec"].pop("volumes")

    def update_status(self, resource: Resource, namespace: str | None, name: str,
                      fn: Callable[[Obj], Any]) -> Obj:
        """For controllers: change the object's status (or anything) in place, atomically."""
        return self.store.mutate(resource, namespace, name, fn)

    def _finish_if_finalized(self, resource: Resource, obj: Obj) -> None:
        md = obj["metadata"]
        if md.get("deletionTimestamp") and not md.get("finalizers"):
            if resource.key == PODS.key and (obj.get("spec") or {}).get("nodeName") \
                    and md.get("deletionGracePeriodSeconds", 0) > 0:
                return  # the kubelet finishes a graceful pod deletion
            if resource.key == NAMESPACES.key and (obj.get("spec") or {}).get("finalizers"):
                return
            self.store.remove(resource, md.get("namespace"), md["name"])

    # -- delete ----------------------------------------------------------------------------------

    def delete(self, resource: Resource, namespace: str | None, name: str, *,
               propagation: str | None = None, grace: int | None = None,
               preconditions: dict | None = None, dry_run: bool = False) -> tuple[Obj, bool]:
        """Returns (object, removed). removed=False: the object lives on with a deletionTimestamp."""
        obj = self.store.get(resource, namespace, name)
        md = obj["metadata"]
        if preconditions:
            if preconditions.get("uid") and preconditions["uid"] != md["uid"]:
                raise errors.Conflict(f"Precondition failed: UID in precondition: {preconditions['uid']}, UID in "
                                      f"object meta: {md['uid']}", details={"name": name, "kind": resource.plural})
            if preconditions.get("resourceVersion") and preconditions["resourceVersion"] != md["resourceVersion"]:
                raise errors.Conflict.stale(resource, name)
        if propagation is None:
            if resource.key == JOBS.key:
                propagation = ORPHAN
                self.warnings.append(JOB_ORPHAN_WARNING)
            else:
                propagation = BACKGROUND
        if propagation not in (ORPHAN, BACKGROUND, FOREGROUND):
            raise errors.Invalid(resource, resource.kind, name, [v.unsupported(
                "propagationPolicy", propagation, [FOREGROUND, BACKGROUND, ORPHAN])])
        if dry_run:
            return obj, False
        finalizers = list(md.get("finalizers") or [])
        if propagation == ORPHAN and self._has_dependents(resource, obj):
            finalizers.append("orphan")
        elif propagation == FOREGROUND and self._has_dependents(resource, obj):
            finalizers.append("foregroundDeletion")
        if resource.key == NAMESPACES.key:
            return self._delete_namespace(obj), False
        if resource.key == PODS.key:
            pending = self._delete_pod(obj, grace, finalizers)
            if pending is not None:
                return pending, False
        elif finalizers:
            if md.get("deletionTimestamp"):
                return obj, False

            def mark(o: Obj) -> None:
                o["metadata"]["deletionTimestamp"] = now_rfc3339()
                o["metadata"]["deletionGracePeriodSeconds"] = 0
                o["metadata"]["finalizers"] = list(dict.fromkeys(finalizers))
            return self.store.mutate(resource, namespace, name, mark), False
        return self.store.remove(resource, namespace, name), True

    def _has_dependents(self, resource: Resource, owner: Obj) -> bool:
        uid = owner["metadata"]["uid"]
        ns = owner["metadata"].get("namespace")
        return any(ref.get("uid") == uid for res in DEPENDENTS.get(resource.key, ()) for o in self.store.list(res, ns)
                   for ref in o["metadata"].get("ownerReferences") or [])

    def _delete_pod(self, pod: Obj, grace: int | None, finalizers: list[str]) -> Obj | None:
        md = pod["metadata"]
        spec_grace = pod["spec"].get("terminationGracePeriodSeconds", 30)
        if grace is None:
            grace = spec_grace
        phase = (pod.get("status") or {}).get("phase")
        if not pod["spec"].get("nodeName") or phase in ("Succeeded", "Failed"):
            grace = 0
        if md.get("deletionTimestamp") and grace >= md.get("deletionGracePeriodSeconds", 0) and not (
                grace == 0 and not finalizers):
            return pod
        if grace == 0 and not finalizers:
            return None  # removed now; the kubelet kills what still runs

        def mark(o: Obj) -> None:
            when = datetime.now(timezone.utc) + timedelta(seconds=grace)
            o["metadata"]["deletionTimestamp"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
            o["metadata"]["deletionGracePeriodSeconds"] = grace
            if finalizers:
                o["metadata"]["finalizers"] = list(dict.fromkeys(finalizers))
        return self.store.mutate(PODS, md["namespace"], md["name"], mark)

    def _delete_namespace(self, ns: Obj) -> Obj:
        if ns["metadata"].get("deletionTimestamp"):
            return ns

        def mark(o: Obj) -> None:
            o["metadata"]["deletionTimestamp"] = now_rfc3339()
            o["metadata"]["deletionGracePeriodSeconds"] = 0
            o["status"] = {"phase": "Terminating"}
        return self.store.mutate(NAMESPACES, None, ns["metadata"]["name"], mark)

    def remove_finalizer(self, resource: Resource, namespace: str | None, name: str, finalizer: str) -> None:
        obj = self.store.find(resource, namespace, name)
        if obj is None or finalizer not in (obj["metadata"].get("finalizers") or []):
            return

        def drop(o: Obj) -> None:
            o["metadata"]["finalizers"] = [f for f in o["metadata"]["finalizers"] if f != finalizer]
            if not o["metadata"]["finalizers"]:
                del o["metadata"]["finalizers"]
        self._finish_if_finalized(resource, self.store.mutate(resource, namespace, name, drop))

    # -- events ----------------------------------------------------------------------------------

    def record_event(self, involved: Obj, type_: str, reason: str, message: str,
                     component: str = "kubesim") -> None:
        """A core/v1 Event about `involved`, as `kubectl describe` lists them."""
        md = involved["metadata"]
        ns = md.get("namespace") or "default"
        ns_obj = self.store.find(NAMESPACES, None, ns)
        if ns_obj is None or ns_obj["metadata"].get("deletionTimestamp"):
            return
        now = now_rfc3339()
        event = {
            "metadata": {"name": f"{md['name']}.{uuid.uuid4().hex[:16]}", "namespace": ns},
            "involvedObject": {"kind": involved.get("kind"), "namespace": md.get("namespace"),
                               "name": md["name"], "uid": md.get("uid"), "apiVersion": involved.get("apiVersion"),
                               "resourceVersion": md.get("resourceVersion")},
            "reason": reason, "message": message, "type": type_,
            "source": {"component": component}, "firstTimestamp": now, "lastTimestamp": now, "count": 1,
            "reportingComponent": component, "reportingInstance": "",
        }
        if not md.get("namespace"):
            del event["involvedObject"]["namespace"]
        event["metadata"]["uid"] = str(uuid.uuid4())
        self.store.create(EVENTS, event)

