"""The kinds kubesim serves: one table, read by the API server, discovery and tables.

A `Resource` names a REST collection (`group`, `version`, `plural`) and what
clients may learn of it through discovery (short names, categories, verbs,
subresources).  Nothing here does I/O.
"""
from __future__ import annotations

from dataclasses import dataclass, field

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
READ_VERBS = ("get", "list", "watch")


@dataclass(frozen=True)
class Resource:
    group: str  # "" for the core group
    version: str
    kind: str
    plural: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    subresources: tuple[str, ...] = ()
    # the strict JSON schema's definition name, e.g. io.k8s.api.apps.v1.Deployment
    definition: str = ""
    singular: str = field(default="")

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_version(self) -> str:
        return self.api_version

    @property
    def key(self) -> str:
        """Unique key: `plural.group` (`pods`, `deployments.apps`) as kubectl prints it."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def list_kind(self) -> str:
        return self.kind + "List"

    @property
    def singular_name(self) -> str:
        return self.singular or self.kind.lower()

    def base_path(self, namespace: str | None = None) -> str:
        root = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace is not None:
            return f"{root}/namespaces/{namespace}/{self.plural}"
        return f"{root}/{self.plural}"


def _core(kind: str, plural: str, pkg: str = "core", **kw) -> Resource:
    return Resource("", "v1", kind, plural, definition=f"io.k8s.api.{pkg}.v1.{kind}", **kw)


RBAC = "rbac.authorization.k8s.io"

RESOURCES: tuple[Resource, ...] = (
    _core("Namespace", "namespaces", namespaced=False, short_names=("ns",),
          verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
          subresources=("status", "finalize")),
    _core("Node", "nodes", namespaced=False, short_names=("no",), subresources=("status",)),
    _core("Pod", "pods", short_names=("po",), categories=("all",),
          subresources=("status", "log", "exec", "eviction")),
    _core("PersistentVolumeClaim", "persistentvolumeclaims", short_names=("pvc",),
          subresources=("status",)),
    _core("PersistentVolume", "persistentvolumes", namespaced=False, short_names=("pv",),
          subresources=("status",)),
    _core("ConfigMap", "configmaps", short_names=("cm",)),
    _core("Secret", "secrets"),
    _core("Service", "services", short_names=("svc",), categories=("all",), subresources=("status",)),
    _core("ServiceAccount", "serviceaccounts", short_names=("sa",), subresources=("token",)),
    _core("Event", "events", short_names=("ev",)),
    Resource("apps", "v1", "Deployment", "deployments", short_names=("deploy",), categories=("all",),
             subresources=("status", "scale"), definition="io.k8s.api.apps.v1.Deployment"),
    Resource("apps", "v1", "ReplicaSet", "replicasets", short_names=("rs",), categories=("all",),
             subresources=("status", "scale"), definition="io.k8s.api.apps.v1.ReplicaSet"),
    Resource("apps", "v1", "StatefulSet", "statefulsets", short_names=("sts",), categories=("all",),
             subresources=("status", "scale"), definition="io.k8s.api.apps.v1.StatefulSet"),
    Resource("apps", "v1", "ControllerRevision", "controllerrevisions",
             definition="io.k8s.api.apps.v1.ControllerRevision"),
    Resource("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", short_names=("hpa",),
             categories=("all",), subresources=("status",),
             definition="io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler"),
    Resource("batch", "v1", "Job", "jobs", categories=("all",), subresources=("status",),
             definition="io.k8s.api.batch.v1.Job"),
    Resource("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices",
             definition="io.k8s.api.discovery.v1.EndpointSlice"),
    Resource("networking.k8s.io", "v1", "Ingress", "ingresses", short_names=("ing",), subresources=("status",),
             definition="io.k8s.api.networking.v1.Ingress"),
    Resource("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", short_names=("pdb",),
             subresources=("status",), definition="io.k8s.api.policy.v1.PodDisruptionBudget"),
    # stored and served; no authorizer reads them (every valid token may do everything)
    Resource(RBAC, "v1", "ClusterRole", "clusterroles", namespaced=False, definition="io.k8s.api.rbac.v1.ClusterRole"),
    Resource(RBAC, "v1", "ClusterRoleBinding", "clusterrolebindings", namespaced=False,
             definition="io.k8s.api.rbac.v1.ClusterRoleBinding"),
    Resource(RBAC, "v1", "Role", "roles", definition="io.k8s.api.rbac.v1.Role"),
    Resource(RBAC, "v1", "RoleBinding", "rolebindings", definition="io.k8s.api.rbac.v1.RoleBinding"),
)

BY_KEY: dict[str, Resource] = {r.key: r for r in RESOURCES}
BY_PATH: dict[tuple[str, str, str], Resource] = {(r.group, r.version, r.plural): r for r in RESOURCES}
BY_KIND: dict[tuple[str, str], Resource] = {(r.api_version, r.kind): r for r in RESOURCES}


def groups() -> dict[str, list[str]]:
    """Group name → its versions, in the order they appear (the core group is "")."""
    out: dict[str, list[str]] = {}
    for r in RESOURCES:
        versions = out.setdefault(r.group, [])
        if r.version not in versions:
            versions.append(r.version)
    return out


def in_group_version(group: str, version: str) -> list[Resource]:
    return [r for r in RESOURCES if r.group == group and r.version == version]


def lookup(key: str) -> Resource:
    """Resource by `plural.group` key (`pods`, `jobs.batch`); KeyError if unknown."""
    return BY_KEY[key]


# short handles for in-process callers (controllers, kubelet)
NAMESPACES = BY_KEY["namespaces"]
NODES = BY_KEY["nodes"]
PODS = BY_KEY["pods"]
PVCS = BY_KEY["persistentvolumeclaims"]
PVS = BY_KEY["persistentvolumes"]
CONFIGMAPS = BY_KEY["configmaps"]
SECRETS = BY_KEY["secrets"]
SERVICES = BY_KEY["services"]
SERVICEACCOUNTS = BY_KEY["serviceaccounts"]
EVENTS = BY_KEY["events"]
DEPLOYMENTS = BY_KEY["deployments.apps"]
REPLICASETS = BY_KEY["replicasets.apps"]
JOBS = BY_KEY["jobs.batch"]
STATEFULSETS = BY_KEY["statefulsets.apps"]
CONTROLLERREVISIONS = BY_KEY["controllerrevisions.apps"]
HPAS = BY_KEY["horizontalpodautoscalers.autoscaling"]
INGRESSES = BY_KEY["ingresses.networking.k8s.io"]
ENDPOINTSLICES = BY_KEY["endpointslices.discovery.k8s.io"]
PDBS = BY_KEY["poddisruptionbudgets.policy"]
ROLES = BY_KEY[f"roles.{RBAC}"]
ROLEBINDINGS = BY_KEY[f"rolebindings.{RBAC}"]
CLUSTERROLES = BY_KEY[f"clusterroles.{RBAC}"]
CLUSTERROLEBINDINGS = BY_KEY[f"clusterrolebindings.{RBAC}"]
