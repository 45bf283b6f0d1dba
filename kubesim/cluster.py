"""A whole kubesim cluster in one asyncio process: store, registry, controllers, kubelet, HTTPS API.

`Cluster.start()` serves the API, writes the kubeconfig once it answers, and
runs until `stop()`, which kills every pod process it started.
"""
from __future__ import annotations

import asyncio
import glob
import logging
import os
import socket
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from aiohttp import web

from . import ipam, pki as pkimod
from .controllers.autoscaling import HorizontalPodAutoscalerController
from .controllers.disruption import DisruptionController
from .controllers.endpointslice import EndpointSliceController
from .controllers.job import JobController
from .controllers.lifecycle import GarbageCollector, NamespaceController, VolumeController, bootstrap_namespace
from .controllers.statefulset import StatefulSetController
from .controllers.workloads import DeploymentController, ReplicaSetController
from .faults import Faults
from .kubelet.kubelet import Kubelet, NodeConfig
from .registry import Registry
from .resources import CLUSTERROLEBINDINGS, CLUSTERROLES, EVENTS, NAMESPACES, SERVICES
from .server import Audit, build_app
from .store import Store

log = logging.getLogger("kubesim")

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def postgres_bin_dir() -> str | None:
    """The newest PostgreSQL's bin directory (Debian: /usr/lib/postgresql/<major>/bin)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2])
                   if p.split("/")[-2].isdigit() else 0)
    return found[-1] if found else None


def default_expose() -> tuple[str, ...]:
    """Host paths pods must see even under /tmp, /run or /root: this Python and the project."""
    project = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    paths = {os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix), project}
    return tuple(sorted(paths))


def pod_path() -> str:
    parts = [os.path.join(sys.prefix, "bin")] if sys.prefix != sys.base_prefix else []
    parts.append(DEFAULT_PATH)
    pg = postgres_bin_dir()
    if pg:
        parts.append(pg)
    return ":".join(parts)


@dataclass
class ClusterConfig:
    state_dir: str
    kubeconfig: str | None = None
    host: str = "127.0.0.1"
    port: int = 0
    node_name: str = "kubesim"
    node_labels: dict[str, str] = field(default_factory=dict)
    job_backoff: float = 10.0
    crash_backoff: float = 10.0
    bookmark_interval: float = 60.0
    history_size: int = 50_000
    event_ttl: float = 3600.0  # Events older than this are removed, as kube-apiserver's --event-ttl
    faults: Faults = field(default_factory=Faults)
    expose: tuple[str, ...] = ()


def _server_ssl_context(pki: pkimod.Pki):
    """The API's TLS context, without TLS 1.3 session tickets: no client of ours resumes a session
    (aiohttp, kubernetes_asyncio and client-go keep no session cache), so each ticket would only cost
    both sides work on every new connection, an exec's included."""
    ctx = pki.server_ssl_context()
    ctx.num_tickets = 0
    return ctx


class Cluster:
    def __init__(self, config: ClusterConfig):
        self.config = config
        os.makedirs(config.state_dir, exist_ok=True)
        self.state_dir = os.path.abspath(config.state_dir)
        self.pki = pkimod.load_or_create(self.state_dir)
        self.store = Store(config.history_size)
        self.registry = Registry(self.store)
        self.faults = config.faults
        self.bookmark_interval = config.bookmark_interval
        self.kubelet: Kubelet | None = None
        self.controllers = []
        self._runner: web.AppRunner | None = None
        self._sweeper: asyncio.Task | None = None
        self.port = config.port
        self.audit = Audit(os.path.join(self.state_dir, "audit.jsonl"))
        self._range: ipam.RangeClaim | None = None

    @property
    def url(self) -> str:
        return f"https://{self.config.host}:{self.port}"

    async def start(self) -> None:
        if os.geteuid() != 0 or sys.platform != "linux":
            raise SystemExit("kubesim needs Linux and root: pods are processes in mount namespaces of their own")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.config.host, self.config.port))
        self.port = sock.getsockname()[1]
        self._range = ipam.claim()
        self.store.add_listener(bootstrap_namespace(self.store, self.registry, self.pki.ca_pem()))
        node = NodeConfig(state_dir=self.state_dir, api_port=self.port, node_name=self.config.node_name,
                          node_labels=dict(self.config.node_labels), path=pod_path(),
                          expose=tuple(dict.fromkeys(default_expose() + self.config.expose)),
                          crash_backoff=self.config.crash_backoff, pod_octet=self._range.octet)
        self.kubelet = Kubelet(node, self.store, self.registry, self.pki, self.faults)
        self.kubelet.reap_leftovers()
        self.controllers = [
            GarbageCollector(self.store, self.registry),
            NamespaceController(self.store, self.registry),
            VolumeController(self.store, self.registry, os.path.join(self.state_dir, "volumes")),
            ReplicaSetController(self.store, self.registry),
            DeploymentController(self.store, self.registry),
            JobController(self.store, self.registry, backoff_base=self.config.job_backoff),
            StatefulSetController(self.store, self.registry),
            DisruptionController(self.store, self.registry),
            HorizontalPodAutoscalerController(self.store, self.registry),
            EndpointSliceController(self.store, self.registry),
        ]
        for c in self.controllers:
            c.start()
        for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
            self.registry.create(NAMESPACES, {"metadata": {"name": ns}})
        self.registry.create(SERVICES, {"metadata": {"name": "kubernetes", "namespace": "default",
                                                     "labels": {"component": "apiserver", "provider": "kubernetes"}},
                                        "spec": {"clusterIP": "10.96.0.1", "ports": [
                                            {"name": "https", "port": 443, "protocol": "TCP",
                                             "targetPort": self.port}]}})
        self._bootstrap_rbac()
        self.kubelet.register_node()
        app = build_app(cluster=self, pki=self.pki, faults=self.faults, audit=self.audit)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.SockSite(self._runner, sock, ssl_context=_server_ssl_context(self.pki))
        await site.start()
        self._sweeper = asyncio.create_task(self._sweep_events())
        if self.config.kubeconfig:
            pkimod.write_kubeconfig(self.config.kubeconfig, pkimod.kubeconfig(self.url, self.pki))
        log.info("kubesim serving %s (state %s)", self.url, self.state_dir)

    def _bootstrap_rbac(self) -> None:
        """The `cluster-admin` role and its binding to `system:masters`, as every cluster has them (nothing
        enforces RBAC in kubesim: they are there for clients that read or reference them)."""
        labels = {"kubernetes.io/bootstrapping": "rbac-defaults"}
        annotations = {"rbac.authorization.kubernetes.io/autoupdate": "true"}
        self.registry.create(CLUSTERROLES, {
            "metadata": {"name": "cluster-admin", "labels": labels, "annotations": annotations},
            "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                      {"nonResourceURLs": ["*"], "verbs": ["*"]}]})
        self.registry.create(CLUSTERROLEBINDINGS, {
            "metadata": {"name": "cluster-admin", "labels": labels, "annotations": annotations},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:masters"}]})

    async def _sweep_events(self) -> None:
        while True:
            await asyncio.sleep(min(60.0, self.config.event_ttl))
            cutoff = time.time() - self.config.event_ttl
            for event in self.store.iter_all(EVENTS):
                stamp = event.get("lastTimestamp") or event["metadata"]["creationTimestamp"]
                if datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp() < cutoff:
                    md = event["metadata"]
                    self.store.remove(EVENTS, md["namespace"], md["name"])

    async def stop(self) -> None:
        """Kill every pod, close watches, stop serving."""
        if self._sweeper is not None:
            self._sweeper.cancel()
        if self.kubelet is not None:
            self.kubelet.kill_all()
        for c in self.controllers:
            c.stop()
        self.store.close_watches()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self.audit.close()
        if self._range is not None:
            self._range.release()
