"""Lifecycles around the workloads: garbage collection, namespaces, volumes, per-namespace defaults.

- `GarbageCollector`: dependents of a removed owner are deleted; `orphan`
  and `foregroundDeletion` finalizers are carried out.
- `NamespaceController`: a deleted namespace empties, then goes.
- `VolumeController`: a claim is bound at once to a directory under the state
  dir (a PersistentVolume with `hostPath`), protected while a pod uses it, and
  its directory removed with it.
- `bootstrap_namespace`: the `default` ServiceAccount and `kube-root-ca.crt`
  every namespace gets.
"""
from __future__ import annotations

import os
import shutil
import time
from typing import Iterable

from .. import errors
from ..registry import BACKGROUND, FOREGROUND, Registry
from ..resources import (BY_KEY, CONFIGMAPS, CONTROLLERREVISIONS, ENDPOINTSLICES, JOBS, NAMESPACES, PODS, PVCS, PVS,
                         REPLICASETS, RESOURCES, SERVICEACCOUNTS, Resource)
from ..store import ADDED, DELETED, Event, Obj, Store
from .base import Controller, Key

DEPENDENT_KINDS = (PODS, REPLICASETS, JOBS, CONTROLLERREVISIONS, PVCS, ENDPOINTSLICES)
PVC_PROTECTION = "kubernetes.io/pvc-protection"
PV_PROTECTION = "kubernetes.io/pv-protection"
# A deleted namespace is emptied this long after its deletion starts (the real namespace controller takes
# seconds): `kubectl delete -f`/`-k` of a manifest that holds the Namespace first then deletes each object
# in it, and would find them already gone.
NAMESPACE_CONTENT_DELAY = 1.0


class GarbageCollector(Controller):
    """Keys are owner uids; the index maps an owner uid to its dependents."""

    name = "garbage-collector"

    def __init__(self, store: Store, registry: Registry):
        super().__init__(store)
        self.registry = registry
        self._dependents: dict[str, set[tuple[str, str, str]]] = {}  # owner uid → (res key, ns, name)
        self._owners: dict[str, Obj] = {}  # uid → latest owner object seen with a GC finalizer
        self._removed: set[str] = set()

    def keys_for(self, event: Event) -> Iterable[Key]:
        obj = event.obj
        md = obj["metadata"]
        ident = (event.resource.key, md.get("namespace", ""), md["name"])
        keys = []
        if event.resource in DEPENDENT_KINDS:
            for old_ref in (event.old or {}).get("metadata", {}).get("ownerReferences") or []:
                self._dependents.get(old_ref["uid"], set()).discard(ident)
            if event.type != DELETED:
                for ref in md.get("ownerReferences") or []:
                    self._dependents.setdefault(ref["uid"], set()).add(ident)
                    if ref["uid"] in self._removed:
                        keys.append(("", ref["uid"]))
            else:
                for ref in md.get("ownerReferences") or []:
                    deps = self._dependents.get(ref["uid"])
                    if deps is not None:
                        deps.discard(ident)
                        if ref["uid"] in self._owners:
                            keys.append(("", ref["uid"]))
        uid = md["uid"]
        if event.type == DELETED:
            self._owners.pop(uid, None)
            if self._dependents.get(uid):
                self._removed.add(uid)
                keys.append(("", uid))
            else:
                self._dependents.pop(uid, None)
        elif {"orphan", "foregroundDeletion"} & set(md.get("finalizers") or []):
            self._owners[uid] = obj
            keys.append(("", uid))
        return keys

    def reconcile(self, key: Key) -> None:
        uid = key[1]
        deps = sorted(self._dependents.get(uid, set()))
        owner = self._owners.get(uid)
        if owner is not None:
            owner = self._current(owner)
            if owner is None:
                self._owners.pop(uid, None)
                return
            finalizers = owner["metadata"].get("finalizers") or []
            res = _resource_of(owner)
            if "orphan" in finalizers:
                for dep in deps:
                    self._drop_ref(dep, uid)
                self.registry.remove_finalizer(res, owner["metadata"].get("namespace"), owner["metadata"]["name"],
                                               "orphan")
                return
            if "foregroundDeletion" in finalizers:
                for res_key, ns, name in deps:
                    self._delete((res_key, ns, name), FOREGROUND)
                if not deps:
                    self.registry.remove_finalizer(res, owner["metadata"].get("namespace"),
                                                   owner["metadata"]["name"], "foregroundDeletion")
                return
        if uid in self._removed:
            for dep in deps:
                self._delete_or_unlink(dep, uid)
            if not self._dependents.get(uid):
                self._removed.discard(uid)
                self._dependents.pop(uid, None)

    def _current(self, owner: Obj) -> Obj | None:
        md = owner["metadata"]
        obj = self.store.find(_resource_of(owner), md.get("namespace"), md["name"])
        return obj if obj is not None and obj["metadata"]["uid"] == md["uid"] else None

    def _delete_or_unlink(self, dep: tuple[str, str, str], owner_uid: str) -> None:
        res_key, ns, name = dep
        res = _by_key(res_key)
        obj = self.store.find(res, ns, name)
        if obj is None:
            return
        others = [r for r in obj["metadata"].get("ownerReferences") or [] if r["uid"] != owner_uid
                  and r["uid"] not in self._removed]
        if others:
            self._drop_ref(dep, owner_uid)
        else:
            self._delete(dep, BACKGROUND)

    def _delete(self, dep: tuple[str, str, str], propagation: str) -> None:
        res_key, ns, name = dep
        obj = self.store.find(_by_key(res_key), ns, name)
        if obj is None or obj["metadata"].get("deletionTimestamp"):
            return
        try:
            self.registry.delete(_by_key(res_key), ns, name, propagation=propagation)
        except errors.NotFound:
            pass

    def _drop_ref(self, dep: tuple[str, str, str], owner_uid: str) -> None:
        res_key, ns, name = dep

        def drop(o: Obj) -> None:
            refs = [r for r in o["metadata"].get("ownerReferences") or [] if r["uid"] != owner_uid]
            if refs:
                o["metadata"]["ownerReferences"] = refs
            else:
                o["metadata"].pop("ownerReferences", None)
        try:
            self.store.mutate(_by_key(res_key), ns, name, drop)
        except errors.NotFound:
            pass


class NamespaceController(Controller):
    name = "namespace-controller"

    def __init__(self, store: Store, registry: Registry):
        super().__init__(store)
        self.registry = registry
        self._deleting_since: dict[str, float] = {}

    def keys_for(self, event: Event) -> Iterable[Key]:
        if event.resource.key == NAMESPACES.key:
            if event.type != DELETED and event.obj["metadata"].get("deletionTimestamp"):
                self._deleting_since.setdefault(event.name, time.monotonic())
                return [("", event.name)]
            if event.type == DELETED:
                self._deleting_since.pop(event.name, None)
            return ()
        if event.type == DELETED and event.resource.namespaced:
            ns = self.store.find(NAMESPACES, None, event.namespace)
            if ns is not None and ns["metadata"].get("deletionTimestamp"):
                return [("", event.namespace)]
        return ()

    def reconcile(self, key: Key) -> None:
        name = key[1]
        ns = self.store.find(NAMESPACES, None, name)
        if ns is None or not ns["metadata"].get("deletionTimestamp"):
            return
        waited = time.monotonic() - self._deleting_since.setdefault(name, time.monotonic())
        if waited < NAMESPACE_CONTENT_DELAY:
            self.requeue_after(key, NAMESPACE_CONTENT_DELAY - waited)
            return
        namespaced = [res for res in RESOURCES if res.namespaced]
        for res in namespaced:
            for obj in self.store.list(res, name):
                if obj["metadata"].get("deletionTimestamp"):
                    continue
                try:
                    self.registry.delete(res, name, obj["metadata"]["name"], propagation=BACKGROUND)
                except errors.NotFound:
                    pass
        if any(self.store.list(res, name) for res in namespaced):
            self.requeue_after(key, 1.0)
            return

        def finalize(o: Obj) -> None:
            o["spec"]["finalizers"] = []
        self.store.mutate(NAMESPACES, None, name, finalize)
        self.store.remove(NAMESPACES, None, name)


class VolumeController(Controller):
    name = "volume-controller"

    def __init__(self, store: Store, registry: Registry, volume_dir: str):
        super().__init__(store)
        self.registry = registry
        self.volume_dir = volume_dir
        os.makedirs(volume_dir, exist_ok=True)

    def keys_for(self, event: Event) -> Iterable[Key]:
        if event.resource.key == PVCS.key:
            if event.type == DELETED:
                self._release(event.obj)
                return ()
            return [(event.namespace, event.name)]
        if event.resource.key == PODS.key:
            # a pod that stops or goes may free a claim waiting to be deleted
            keys = []
            for vol in event.obj["spec"].get("volumes") or []:
                claim = (vol.get("persistentVolumeClaim") or {}).get("claimName")
                if claim:
                    keys.append((event.namespace, claim))
            return keys
        return ()

    def reconcile(self, key: Key) -> None:
        ns, name = key
        pvc = self.store.find(PVCS, ns, name)
        if pvc is None:
            return
        if pvc["metadata"].get("deletionTimestamp"):
            if not self._in_use(pvc):
                self.registry.remove_finalizer(PVCS, ns, name, PVC_PROTECTION)
            return
        if (pvc.get("status") or {}).get("phase") == "Bound":
            return
        self._bind(pvc)

    def _in_use(self, pvc: Obj) -> bool:
        name = pvc["metadata"]["name"]
        for pod in self.store.list(PODS, pvc["metadata"]["namespace"]):
            if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                continue
            for vol in pod["spec"].get("volumes") or []:
                if (vol.get("persistentVolumeClaim") or {}).get("claimName") == name:
                    return True
        return False

    def _bind(self, pvc: Obj) -> None:
        md = pvc["metadata"]
        pv_name = "pvc-" + md["uid"]
        path = os.path.join(self.volume_dir, pv_name)
        os.makedirs(path, exist_ok=True)
        os.chmod(path, 0o777)  # like the local-path provisioner: any runAsUser may write its subdirectory
        storage = pvc["spec"]["resources"]["requests"]["storage"]
        modes = pvc["spec"].get("accessModes") or ["ReadWriteOnce"]
        if self.store.find(PVS, None, pv_name) is None:
            self.registry.create(PVS, {
                "metadata": {"name": pv_name, "finalizers": [PV_PROTECTION],
                             "annotations": {"pv.kubernetes.io/provisioned-by": "kubesim.io/hostpath"}},
                "spec": {"capacity": {"storage": storage}, "accessModes": modes, "hostPath": {"path": path,
                                                                                              "type": ""},
                         "persistentVolumeReclaimPolicy": "Delete", "storageClassName": "standard",
                         "volumeMode": pvc["spec"].get("volumeMode", "Filesystem"),
                         "claimRef": {"kind": "PersistentVolumeClaim", "namespace": md["namespace"],
                                      "name": md["name"], "uid": md["uid"], "apiVersion": "v1"}}})

            def pv_bound(o: Obj) -> None:
                o["status"] = {"phase": "Bound"}
            self.store.mutate(PVS, None, pv_name, pv_bound)

        def bind(o: Obj) -> None:
            o["spec"]["volumeName"] = pv_name
            o["spec"].setdefault("storageClassName", "standard")
            o["metadata"].setdefault("finalizers", [])
            if PVC_PROTECTION not in o["metadata"]["finalizers"]:
                o["metadata"]["finalizers"].append(PVC_PROTECTION)
            o["metadata"].setdefault("annotations", {}).update({
                "pv.kubernetes.io/bind-completed": "yes", "pv.kubernetes.io/bound-by-controller": "yes",
                "volume.kubernetes.io/storage-provisioner": "kubesim.io/hostpath"})
            o["status"] = {"phase": "Bound", "accessModes": modes, "capacity": {"storage": storage}}
        self.store.mutate(PVCS, md["namespace"], md["name"], bind)

    def _release(self, pvc: Obj) -> None:
        pv_name = pvc["spec"].get("volumeName")
        pv = self.store.find(PVS, None, pv_name) if pv_name else None
        if pv is None:
            return
        path = pv["spec"]["hostPath"]["path"]
        if os.path.realpath(path).startswith(os.path.realpath(self.volume_dir) + os.sep):
            shutil.rmtree(path, ignore_errors=True)
        self.store.remove(PVS, None, pv_name)


def bootstrap_namespace(store: Store, registry: Registry, ca_pem: str):
    """A store listener: every new namespace gets its default ServiceAccount and the root CA ConfigMap."""
    def on_event(event: Event) -> None:
        if event.resource.key != NAMESPACES.key or event.type != ADDED:
            return
        name = event.name
        if store.find(SERVICEACCOUNTS, name, "default") is None:
            registry.create(SERVICEACCOUNTS, {"metadata": {"name": "default"}}, namespace=name)
        if store.find(CONFIGMAPS, name, "kube-root-ca.crt") is None:
            registry.create(CONFIGMAPS, {"metadata": {"name": "kube-root-ca.crt", "annotations": {
                "kubernetes.io/description": "Contains a CA bundle that can be used to verify the kube-apiserver "
                                             "when using internal endpoints such as the internal service IP or "
                                             "kubernetes.default.svc. No other usage is guaranteed across "
                                             "distributions of Kubernetes clusters."}},
                                          "data": {"ca.crt": ca_pem}}, namespace=name)
    return on_event


def _resource_of(obj: Obj) -> Resource:
    api_version, kind = obj.get("apiVersion", "v1"), obj.get("kind", "")
    for res in RESOURCES:
        if res.api_version == api_version and res.kind == kind:
            return res
    raise KeyError(f"{api_version} {kind}")


def _by_key(key: str) -> Resource:
    return BY_KEY[key]

