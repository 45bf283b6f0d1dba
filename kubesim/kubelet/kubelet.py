"""The node: schedules pods onto itself, runs a `PodWorker` per pod, keeps pod IPs and hosts files.

Pods share the host's network stack; each gets its own 127.x.y.z address.
Service names resolve through a per-pod `/etc/hosts` naming every Service by
the address of a ready pod it selects, rewritten in place as readiness changes.
"""
from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import platform
from dataclasses import dataclass, field

from .. import errors
from ..faults import Faults
from ..pki import Pki
from ..registry import Registry
from ..resources import CONFIGMAPS, NODES, PODS, PVCS, SECRETS, SERVICES
from ..selectors import label_selector_from_object
from ..store import DELETED, Event, Obj, Store, now_rfc3339
from . import sandbox
from .pod import PodWorker
from .procs import ExecProc

log = logging.getLogger("kubesim.kubelet")


@dataclass(frozen=True)
class NodeConfig:
    state_dir: str
    api_port: int
    node_name: str = "kubesim"
    node_labels: dict[str, str] = field(default_factory=dict)
    path: str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    expose: tuple[str, ...] = ()
    crash_backoff: float = 10.0  # seconds before the first restart of a crashed container, doubling
    pod_octet: int = 1  # pods get addresses in 127.<pod_octet>.0.0/16 (see ipam.py)

    @property
    def sandbox_tag(self) -> str:
        """Names this node's pods in the host's mount table, so leftovers of a killed kubesim can be found."""
        import hashlib

        return "kubesim-" + hashlib.sha256(os.path.realpath(self.state_dir).encode()).hexdigest()[:12]

    @property
    def root_mountpoint(self) -> str:
        return os.path.join(self.state_dir, "rootfs")


class Kubelet:
    def __init__(self, config: NodeConfig, store: Store, registry: Registry, pki: Pki, faults: Faults):
        self.config = config
        self.store = store
        self.registry = registry
        self.pki = pki
        self.faults = faults
        self.node_ip = "127.0.0.1"
        self.workers: dict[str, PodWorker] = {}
        self._ips: dict[str, str] = {}
        self._ips_used: set[str] = set()
        self._first_ip = int(ipaddress.ip_address(f"127.{config.pod_octet}.0.1"))
        self._last_ip = int(ipaddress.ip_address(f"127.{config.pod_octet}.255.254"))
        self._next_ip = self._first_ip
        self._hosts_dirty = True
        self._hosts_scheduled = False
        self._service_entries: dict[str, list[tuple[str, str, str]]] = {}
        os.makedirs(config.root_mountpoint, exist_ok=True)
        os.makedirs(os.path.join(config.state_dir, "pods"), exist_ok=True)
        store.add_listener(self._on_event)

    # -- node object -----------------------------------------------------------------------------

    def register_node(self) -> None:
        labels = {"kubernetes.io/hostname": self.config.node_name, "kubernetes.io/os": "linux",
                  "kubernetes.io/arch": {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(),
                                                                                    platform.machine()),
                  "beta.kubernetes.io/os": "linux", "node-role.kubernetes.io/control-plane": "",
                  **self.config.node_labels}
        now = now_rfc3339()
        cpus = str(os.cpu_count() or 1)
        mem = f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') // 1024}Ki"
        node = {"metadata": {"name": self.config.node_name, "labels": labels},
                "spec": {"podCIDR": f"127.{self.config.pod_octet}.0.0/16",
                         "podCIDRs": [f"127.{self.config.pod_octet}.0.0/16"]},
                "status": {
                    "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                    "message": "kubelet is posting ready status", "lastHeartbeatTime": now,
                                    "lastTransitionTime": now}],
                    "addresses": [{"type": "InternalIP", "address": self.node_ip},
                                  {"type": "Hostname", "address": self.config.node_name}],
                    "capacity": {"cpu": cpus, "memory": mem, "pods": "1000", "ephemeral-storage": "100Gi"},
                    "allocatable": {"cpu": cpus, "memory": mem, "pods": "1000", "ephemeral-storage": "100Gi"},
                    "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                    "nodeInfo": {"machineID": "kubesim", "systemUUID": "kubesim", "bootID": "kubesim",
                                 "kernelVersion": platform.release(), "osImage": "kubesim on " + platform.system(),
                                 "containerRuntimeVersion": "kubesim://1.0", "kubeletVersion": "v1.32.0-kubesim",
                                 "kubeProxyVersion": "v1.32.0-kubesim", "operatingSystem": "linux",
                                 "architecture": labels["kubernetes.io/arch"]}}}
        if self.store.find(NODES, None, self.config.node_name) is None:
            status = node.pop("status")
            self.registry.create(NODES, node)
            self.store.mutate(NODES, None, self.config.node_name, lambda o: o.update(status=status))

    def node_labels(self) -> dict[str, str]:
        node = self.store.find(NODES, None, self.config.node_name)
        return (node or {}).get("metadata", {}).get("labels") or {}

    # -- events ----------------------------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        key = event.resource.key
        if key == PODS.key:
            self._on_pod(event)
        elif key == SERVICES.key:
            self._mark_hosts_dirty()
        elif key in (SECRETS.key, CONFIGMAPS.key, PVCS.key):
            ns = event.namespace
            for w in self.workers.values():
                if w.namespace == ns and not w.finished:
                    w.poke()
        elif key == NODES.key and event.type != DELETED:
            for pod in self.store.iter_all(PODS):
                if not pod["spec"].get("nodeName"):
                    self._schedule(pod)

    def _on_pod(self, event: Event) -> None:
        pod = event.obj
        uid = pod["metadata"]["uid"]
        worker = self.workers.get(uid)
        if event.type == DELETED:
            if worker is not None:
                asyncio.get_running_loop().create_task(self._forget(worker, grace=0))
            return
        if not pod["spec"].get("nodeName"):
            self._schedule(pod)
            return
        if pod["spec"]["nodeName"] != self.config.node_name:
            return
        if worker is None:
            if pod["metadata"].get("deletionTimestamp"):
                asyncio.get_running_loop().create_task(self._finish_delete(None, pod))
                return
            if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                return
            self.workers[uid] = PodWorker(self, pod)
            return
        worker.pod = pod
        if pod["metadata"].get("deletionTimestamp") and not worker.stopping:
            grace = pod["metadata"].get("deletionGracePeriodSeconds", 30)
            asyncio.get_running_loop().create_task(self._finish_delete(worker, pod, grace))

    def _schedule(self, pod: Obj) -> None:
        why = self._unschedulable(pod)
        md = pod["metadata"]
        if why is None:
            def bind(o: Obj) -> None:
                o["spec"]["nodeName"] = self.config.node_name
                conds = [c for c in (o.get("status") or {}).get("conditions") or [] if c["type"] != "PodScheduled"]
                conds.append({"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                              "lastTransitionTime": now_rfc3339()})
                o.setdefault("status", {})["conditions"] = conds
            asyncio.get_running_loop().call_soon(self._bind, md["namespace"], md["name"], bind)
            return
        conds = (pod.get("status") or {}).get("conditions") or []
        if any(c["type"] == "PodScheduled" and c.get("message") == why for c in conds):
            return

        def unschedulable(o: Obj) -> None:
            o.setdefault("status", {})["conditions"] = [{
                "type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": why,
                "lastProbeTime": None, "lastTransitionTime": now_rfc3339()}]
        asyncio.get_running_loop().call_soon(self._bind, md["namespace"], md["name"], unschedulable, why)

    def _bind(self, namespace: str, name: str, fn, event_message: str | None = None) -> None:
        try:
            pod = self.store.mutate(PODS, namespace, name, fn)
        except errors.NotFound:
            return
        if event_message:
            self.registry.record_event(pod, "Warning", "FailedScheduling", event_message, "default-scheduler")
        else:
            self.registry.record_event(pod, "Normal", "Scheduled", f"Successfully assigned {namespace}/{name} to "
                                       f"{self.config.node_name}", "default-scheduler")

    def _unschedulable(self, pod: Obj) -> str | None:
        labels = self.node_labels()
        spec = pod["spec"]
        selector = spec.get("nodeSelector") or {}
        match = all(labels.get(k) == v for k, v in selector.items())
        terms = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                 .get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms")
        if match and terms:
            match = any(label_selector_from_object({"matchExpressions": t.get("matchExpressions") or []}).matches(labels)
                        for t in terms)
        if not match:
            return ("0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. preemption: "
                    "0/1 nodes are available: 1 Preemption is not helpful for scheduling.")
        for vol in spec.get("volumes") or []:
            claim = (vol.get("persistentVolumeClaim") or {}).get("claimName")
            if claim and self.store.find(PVCS, pod["metadata"]["namespace"], claim) is None:
                return f'0/1 nodes are available: persistentvolumeclaim "{claim}" not found. preemption: 0/1 ' \
                       "nodes are available: 1 Preemption is not helpful for scheduling."
        return None

    async def _finish_delete(self, worker: PodWorker | None, pod: Obj, grace: float = 0) -> None:
        if worker is not None:
            await worker.stop(grace)
            self._release(worker)
        md = pod["metadata"]
        current = self.store.find(PODS, md["namespace"], md["name"])
        if current is not None and current["metadata"]["uid"] == md["uid"] and \
                not current["metadata"].get("finalizers"):
            self.store.remove(PODS, md["namespace"], md["name"])

    async def _forget(self, worker: PodWorker, grace: float) -> None:
        await worker.stop(grace)
        self._release(worker)

    def _release(self, worker: PodWorker) -> None:
        self.workers.pop(worker.uid, None)
        ip = self._ips.pop(worker.uid, None)
        if ip:
            self._ips_used.discard(ip)
        worker.remove_dir()
        self._mark_hosts_dirty()

    # -- addresses and hosts files ---------------------------------------------------------------

    def allocate_ip(self, uid: str) -> str:
        if uid in self._ips:
            return self._ips[uid]
        while True:
            candidate = self._next_ip
            self._next_ip = self._first_ip if candidate >= self._last_ip else candidate + 1
            ip = str(ipaddress.ip_address(candidate))
            if ip not in self._ips_used and not ip.endswith((".0", ".255")):
                break
        self._ips_used.add(ip)
        self._ips[uid] = ip
        return ip

    def on_pod_network(self, worker: PodWorker) -> None:
        if worker.pod["spec"].get("subdomain"):
            self._mark_hosts_dirty()

    def on_readiness(self, worker: PodWorker) -> None:
        self._mark_hosts_dirty()

    def _mark_hosts_dirty(self) -> None:
        self._hosts_dirty = True
        if not self._hosts_scheduled:
            self._hosts_scheduled = True
            asyncio.get_running_loop().call_later(0.005, self._refresh_hosts)

    def _compute_entries(self) -> None:
        """Per namespace: (ip, short name, namespace) for every Service with a ready pod behind it."""
        ready: dict[str, list[PodWorker]] = {}
        for w in self.workers.values():
            if w.ip and not w.finished and not w.stopping:
                ready.setdefault(w.namespace, []).append(w)
        entries: dict[str, list[tuple[str, str, str]]] = {}
        for svc in self.store.iter_all(SERVICES):
            md, spec = svc["metadata"], svc.get("spec") or {}
            ns = md["namespace"]
            selector = spec.get("selector")
            if not selector:
                if md["name"] == "kubernetes" and ns == "default":
                    entries.setdefault(ns, []).append((self.node_ip, md["name"], ns))
                continue
            publish = spec.get("publishNotReadyAddresses")
            candidates = sorted(
                (w for w in ready.get(ns, ()) if (publish or all(c.ready for c in w.containers))
                 and all((w.pod["metadata"].get("labels") or {}).get(k) == v for k, v in selector.items())),
                key=lambda w: w.name)
            if candidates:
                entries.setdefault(ns, []).append((candidates[0].ip, md["name"], ns))
            if spec.get("clusterIP") == "None":
                for w in candidates:
                    host, sub = w.pod["spec"].get("hostname"), w.pod["spec"].get("subdomain")
                    if host and sub == md["name"]:
                        entries.setdefault(ns, []).append((w.ip, f"{host}.{sub}", ns))
        self._service_entries = entries
        self._hosts_dirty = False

    def hosts_text(self, worker: PodWorker) -> str:
        if self._hosts_dirty:
            self._compute_entries()
        hostname = worker.pod["spec"].get("hostname") or worker.name
        lines = ["# Kubernetes-managed hosts file (kubesim).", "127.0.0.1\tlocalhost",
                 "::1\tlocalhost ip6-localhost ip6-loopback"]
        if worker.ip:
            subdomain = worker.pod["spec"].get("subdomain")
            if worker.pod["spec"].get("hostname") and subdomain:  # as the kubelet writes it: FQDN first
                lines.append(f"{worker.ip}\t{hostname}.{subdomain}.{worker.namespace}.svc.cluster.local\t{hostname}")
            else:
                lines.append(f"{worker.ip}\t{hostname}")
        for ns, items in sorted(self._service_entries.items()):
            for ip, name, _ in items:
                names = [f"{name}.{ns}", f"{name}.{ns}.svc", f"{name}.{ns}.svc.cluster.local"]
                if ns == worker.namespace:
                    names.insert(0, name)
                lines.append(ip + "\t" + " ".join(names))
        return "\n".join(lines) + "\n"

    def write_hosts(self, worker: PodWorker, path: str) -> None:
        text = self.hosts_text(worker)
        if getattr(worker, "_hosts_text", None) == text:
            return
        # rewrite in place: the file is bind-mounted into the pod, a rename would detach it
        with open(path, "w", encoding="ascii") as f:
            f.write(text)
        worker._hosts_text = text  # type: ignore[attr-defined]

    def _refresh_hosts(self) -> None:
        self._hosts_scheduled = False
        self._compute_entries()
        for w in list(self.workers.values()):
            if w.holder is not None and not w.finished:
                try:
                    self.write_hosts(w, os.path.join(w.dir, "hosts"))
                except OSError:
                    pass

    # -- what containers see ---------------------------------------------------------------------

    def base_env(self, worker: PodWorker, container: Obj) -> dict[str, str]:
        port = str(self.config.api_port)
        uid = ((container.get("securityContext") or {}).get("runAsUser",
               (worker.pod["spec"].get("securityContext") or {}).get("runAsUser", 0)))
        return {
            "PATH": self.config.path,
            "HOSTNAME": worker.pod["spec"].get("hostname") or worker.name,
            "HOME": "/root" if uid == 0 else _home_of(uid),
            "KUBERNETES_SERVICE_HOST": self.node_ip,
            "KUBERNETES_SERVICE_PORT": port,
            "KUBERNETES_SERVICE_PORT_HTTPS": port,
            "KUBERNETES_PORT": f"tcp://{self.node_ip}:{port}",
            "KUBERNETES_PORT_443_TCP": f"tcp://{self.node_ip}:{port}",
            "KUBERNETES_PORT_443_TCP_PROTO": "tcp",
            "KUBERNETES_PORT_443_TCP_PORT": port,
            "KUBERNETES_PORT_443_TCP_ADDR": self.node_ip,
        }

    async def exec_process(self, pod: Obj, container: str, argv: list[str], stdin: bool) -> ExecProc:
        worker = self.workers.get(pod["metadata"]["uid"])
        if worker is None:
            phase = (pod.get("status") or {}).get("phase")
            raise errors.BadRequest(f"pod {pod['metadata']['name']} is not running on this node (phase {phase})")
        return await worker.exec(container, argv, stdin)

    def log_path(self, pod: Obj, container: str, previous: bool = False) -> str | None:
        worker = self.workers.get(pod["metadata"]["uid"])
        if worker is None:
            return None
        cs = worker.container(container)
        if cs is None:
            return None
        restart = cs.restart_count - 1 if previous else cs.restart_count
        if restart < 0:
            return None
        if not previous and "waiting" in cs.state and cs.restart_count and \
                not os.path.exists(worker.log_path(container, restart)):
            restart -= 1
        return worker.log_path(container, restart)

    def container_running(self, uid: str, container: str) -> bool:
        worker = self.workers.get(uid)
        cs = worker.container(container) if worker else None
        return bool(cs and (cs.running or "waiting" in cs.state) and not worker.finished and not worker.stopping)

    # -- shutdown --------------------------------------------------------------------------------

    def kill_all(self) -> None:
        for worker in list(self.workers.values()):
            try:
                worker.kill_now()
            except Exception:  # noqa: BLE001 - keep killing the others
                log.exception("killing pod %s", worker.name)
        self.reap_leftovers()

    def reap_leftovers(self) -> None:
        """Kill whatever still runs in a pod of this state dir (a previous kubesim killed with SIGKILL)."""
        killed = sandbox.kill_tagged(self.config.sandbox_tag)
        if killed:
            log.warning("killed %d process(es) left in pods of %s", killed, self.config.state_dir)


def _home_of(uid: int) -> str:
    import pwd

    try:
        return pwd.getpwuid(uid).pw_dir
    except KeyError:
        return "/tmp"
