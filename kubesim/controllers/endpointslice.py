"""EndpointSlices (discovery.k8s.io/v1): the endpoint slice controller's view of each Service with a selector.

What kube-controller-manager 1.32 keeps, and what clients read to find a Service's backends (`kubectl get
endpointslices -l kubernetes.io/service-name=NAME`): for every pod the selector matches that has an address and
has not finished, an endpoint with the pod's IP, `conditions` (`serving`: the pod is Ready; `terminating`: it
is being deleted; `ready`: serving and not terminating, or always with `publishNotReadyAddresses`),
`targetRef`, `nodeName`, and `hostname` for a pod whose `subdomain` is the (headless) Service. Ports are the
Service's, each resolved against the pod (a named `targetPort` is the container port of that name; a pod
without it is left out of that mapping), and pods are grouped into one slice per distinct port mapping. A
Service without backends has one empty slice. Slices are named `<service>-<random>`, labelled
`kubernetes.io/service-name` and `endpointslice.kubernetes.io/managed-by`, owned by the Service (the garbage
collector deletes them with it). Slices not managed by this controller (a selectorless Service's) are left alone.

Not done: the 100-endpoint slice limit (one slice per mapping, however many pods), topology hints, zones, the
`endpoints.kubernetes.io/last-change-trigger-time` annotation, IPv6, and the legacy core/v1 Endpoints kind.
"""
from __future__ import annotations

from typing import Iterable

from ..registry import Registry
from ..resources import ENDPOINTSLICES, PODS, SERVICES
from ..store import Event, Obj, Store
from .base import Controller, Key, controller_ref

SERVICE_NAME = "kubernetes.io/service-name"
MANAGED_BY = "endpointslice.kubernetes.io/managed-by"
CONTROLLER_NAME = "endpointslice-controller.k8s.io"
HEADLESS = "service.kubernetes.io/headless"


def _selector(svc: Obj | None) -> dict | None:
    if svc is None:
        return None
    spec = svc.get("spec") or {}
    if spec.get("type") == "ExternalName":
        return None
    return spec.get("selector") or None   # nil or empty: a selectorless Service, no managed slices


def _matches(selector: dict | None, pod: Obj | None) -> bool:
    if selector is None or pod is None:
        return False
    labels = pod["metadata"].get("labels") or {}
    return all(labels.get(k) == v for k, v in selector.items())


def _in_endpoints(pod: Obj) -> bool:
    """endpointutil.ShouldPodBeInEndpoints with terminating pods included (as for slices)."""
    status = pod.get("status") or {}
    if not status.get("podIP"):
        return False
    return status.get("phase") not in ("Succeeded", "Failed")


def _pod_ready(pod: Obj) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def _find_port(pod: Obj, svc_port: dict) -> int | None:
    """podutil.FindPort: the container port a Service port targets in this pod."""
    target = svc_port.get("targetPort", svc_port.get("port"))
    if isinstance(target, int):
        return target or svc_port.get("port")
    if isinstance(target, str) and target.isdigit():
        return int(target)
    protocol = svc_port.get("protocol", "TCP")
    for container in (pod.get("spec") or {}).get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("name") == target and port.get("protocol", "TCP") == protocol:
                return port.get("containerPort")
    return None


def _ports(svc: Obj, pod: Obj) -> tuple | None:
    out = []
    for svc_port in (svc.get("spec") or {}).get("ports") or []:
        number = _find_port(pod, svc_port)
        if number is None:
            return None   # as the controller: a pod that cannot serve every port is left out of the mapping
        entry = {"name": svc_port.get("name", ""), "port": number, "protocol": svc_port.get("protocol", "TCP")}
        if svc_port.get("appProtocol"):
            entry["appProtocol"] = svc_port["appProtocol"]
        out.append(tuple(sorted(entry.items())))
    return tuple(out)


def _endpoint(svc: Obj, pod: Obj) -> Obj:
    md, spec = pod["metadata"], pod.get("spec") or {}
    terminating = bool(md.get("deletionTimestamp"))
    serving = _pod_ready(pod)
    ready = (svc.get("spec") or {}).get("publishNotReadyAddresses") is True or (serving and not terminating)
    ep: Obj = {"addresses": [pod["status"]["podIP"]],
               "conditions": {"ready": ready, "serving": serving, "terminating": terminating},
               "targetRef": {"kind": "Pod", "namespace": md["namespace"], "name": md["name"], "uid": md["uid"]}}
    if spec.get("nodeName"):
        ep["nodeName"] = spec["nodeName"]
    if spec.get("hostname") and spec.get("subdomain") == svc["metadata"]["name"]:
        ep["hostname"] = spec["hostname"]
    return ep


def _labels(svc: Obj) -> dict[str, str]:
    labels = dict(svc["metadata"].get("labels") or {})
    labels.pop(HEADLESS, None)
    labels[SERVICE_NAME] = svc["metadata"]["name"]
    labels[MANAGED_BY] = CONTROLLER_NAME
    if (svc.get("spec") or {}).get("clusterIP") == "None":
        labels[HEADLESS] = ""
    return labels


class EndpointSliceController(Controller):
    """Keys are (namespace, Service name)."""

    name = "endpointslice-controller"

    def __init__(self, store: Store, registry: Registry):
        super().__init__(store)
        self.registry = registry

    def keys_for(self, event: Event) -> Iterable[Key]:
        key = event.resource.key
        if key == SERVICES.key:
            return [(event.namespace, event.name)]
        if key == PODS.key:
            return [(event.namespace, svc["metadata"]["name"]) for svc in self.store.list(SERVICES, event.namespace)
                    if _matches(_selector(svc), event.obj) or _matches(_selector(svc), event.old)]
        if key == ENDPOINTSLICES.key:   # a managed slice changed or went behind our back: put it right
            labels = event.obj["metadata"].get("labels") or {}
            if labels.get(MANAGED_BY) == CONTROLLER_NAME and labels.get(SERVICE_NAME):
                return [(event.namespace, labels[SERVICE_NAME])]
        return ()

    def _managed(self, ns: str, name: str) -> list[Obj]:
        return [s for s in self.store.list(ENDPOINTSLICES, ns)
                if (s["metadata"].get("labels") or {}).get(SERVICE_NAME) == name
                and (s["metadata"].get("labels") or {}).get(MANAGED_BY) == CONTROLLER_NAME
                and not s["metadata"].get("deletionTimestamp")]

    def reconcile(self, key: Key) -> None:
        ns, name = key
        svc = self.store.find(SERVICES, ns, name)
        slices = self._managed(ns, name)
        if svc is None or svc["metadata"].get("deletionTimestamp") or _selector(svc) is None:
            for s in slices:   # the garbage collector would too (they are owned by the Service)
                self.registry.delete(ENDPOINTSLICES, ns, s["metadata"]["name"])
            return
        groups: dict[tuple, list[Obj]] = {}
        selector = _selector(svc)
        pods = sorted((p for p in self.store.list(PODS, ns) if _matches(selector, p) and _in_endpoints(p)),
                      key=lambda p: p["metadata"]["name"])
        for pod in pods:
            mapping = _ports(svc, pod)
            if mapping is not None:
                groups.setdefault(mapping, []).append(_endpoint(svc, pod))
        if not groups:
            groups[()] = []   # the placeholder slice of a Service without backends
        by_ports = {}
        for s in slices:
            mapping = tuple(tuple(sorted(p.items())) for p in s.get("ports") or [])
            if mapping in groups and mapping not in by_ports:
                by_ports[mapping] = s
            else:
                self.registry.delete(ENDPOINTSLICES, ns, s["metadata"]["name"])
        labels = _labels(svc)
        owner = {"apiVersion": "v1", "kind": "Service", "metadata": svc["metadata"]}
        for mapping, endpoints in groups.items():
            ports = [dict(p) for p in mapping]
            existing = by_ports.get(mapping)
            if existing is None:
                body = {"metadata": {"generateName": f"{name}-", "namespace": ns, "labels": labels,
                                     "ownerReferences": [controller_ref(owner)]},
                        "addressType": "IPv4", "endpoints": endpoints}
                if ports:   # the placeholder has none
                    body["ports"] = ports
                self.registry.create(ENDPOINTSLICES, body)
                continue
            if existing.get("endpoints") == endpoints and existing["metadata"].get("labels") == labels:
                continue

            def apply(o: Obj, endpoints=endpoints) -> None:
                o["endpoints"] = endpoints
                o["metadata"]["labels"] = labels
            self.store.mutate(ENDPOINTSLICES, ns, existing["metadata"]["name"], apply)
